package interp

import (
	"encoding/binary"
	"fmt"
	stdmaps "maps"
	"runtime"
	"slices"

	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// CollectionOptions configures NewCollection. A nil *CollectionOptions
// means the defaults.
type CollectionOptions struct {
	// Program is the Options every program of the collection is loaded
	// with. Its Maps replace the object's maps of the same names (for
	// instance a map shared with another collection); the collection
	// creates the others.
	Program *Options
}

// Collection is the programs of an object loaded into interp, sharing one
// set of userspace maps, as prog.NewCollection loads them into the
// kernel. Global data sections (.data, .rodata, .bss, ...) are array maps
// under their section names holding the object's initial bytes; a test
// reads and writes variables through them (prog.VariableSpec gives each
// variable's map, offset and size). Program arrays hold the programs
// their initialisers name, so tail calls between them work.
type Collection struct {
	Programs map[string]*VM
	Maps     map[string]maps.Map
}

// NewCollection creates the maps of spec (prog.LoadCollectionSpec) and
// loads its programs into interp. The object's features that userspace
// cannot provide yet are errors that name them: calls to kfuncs, ksym
// and kconfig externs, and map types package maps lacks. Programs whose
// Autoload is false are left out, as prog.NewCollection does.
func NewCollection(spec *prog.CollectionSpec, opts *CollectionOptions) (*Collection, error) {
	ms, err := NewCollectionMaps(spec, opts)
	if err != nil {
		return nil, err
	}
	c := &Collection{Programs: map[string]*VM{}, Maps: ms}
	var popts Options
	if opts != nil && opts.Program != nil {
		popts = *opts.Program
	}
	popts.Maps = ms
	if popts.Coverage != nil {
		popts.Coverage.AddCollection(spec)
	}
	for _, name := range slices.Sorted(stdmaps.Keys(spec.Programs)) {
		ps := spec.Programs[name]
		if !ps.Autoload {
			continue
		}
		vm, err := New(&ps.Spec, &popts)
		if err != nil {
			return nil, fmt.Errorf("interp: collection: program %q (section %s): %w", name, ps.SectionName, err)
		}
		c.Programs[name] = vm
	}
	if err := FillProgramArrays(spec, ms, func(name string) any {
		if vm := c.Programs[name]; vm != nil {
			return vm
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// NewCollectionMaps checks that userspace can run spec's programs and
// creates its maps with their initial contents (the bytes of global data
// sections), sharing the maps opts supplies by name. Program arrays stay
// empty: FillProgramArrays fills them once the programs are loaded. It is
// the common part of NewCollection and jit.NewCollection.
func NewCollectionMaps(spec *prog.CollectionSpec, opts *CollectionOptions) (map[string]maps.Map, error) {
	if spec == nil {
		return nil, fmt.Errorf("interp: collection: nil spec")
	}
	for _, name := range slices.Sorted(stdmaps.Keys(spec.Programs)) {
		ps := spec.Programs[name]
		if !ps.Autoload {
			continue
		}
		for _, r := range ps.Relocations {
			switch r.Kind {
			case "kfunc", "ksym":
				return nil, fmt.Errorf("interp: collection: program %q calls or references %s %q, which userspace does not provide yet: %w", name, r.Kind, r.Target, prog.ErrNotSupported)
			case "kconfig":
				return nil, fmt.Errorf("interp: collection: program %q reads kconfig extern %q, which userspace has no value for yet: %w", name, r.Target, prog.ErrNotSupported)
			}
		}
	}
	var given map[string]maps.Map
	var mopts *maps.Options
	if opts != nil && opts.Program != nil {
		given, mopts = opts.Program.Maps, opts.Program.MapOptions
	}
	out := map[string]maps.Map{}
	for _, name := range slices.Sorted(stdmaps.Keys(spec.Maps)) {
		ms := spec.Maps[name]
		if m, ok := given[name]; ok {
			out[name] = m
			continue
		}
		if ms.StructOps != nil {
			return nil, fmt.Errorf("interp: collection: map %q is a struct_ops map, which userspace does not support: %w", name, prog.ErrNotSupported)
		}
		mspec := ms.MapSpec
		if mspec.Type == prog.PerfEventArray && mspec.MaxEntries == 0 {
			// One slot per possible CPU, as libbpf and prog.NewCollection
			// size it.
			mspec.MaxEntries = uint32(runtime.NumCPU())
			if mopts != nil && mopts.CPUs > 0 {
				mspec.MaxEntries = uint32(mopts.CPUs)
			}
		}
		m, err := maps.New(mspec, mopts)
		if err != nil {
			return nil, fmt.Errorf("interp: collection: map %q (section %s): %w", name, ms.Section, err)
		}
		if ms.Data != nil {
			if err := m.UpdateRaw(make([]byte, ms.KeySize), ms.Data, prog.UpdateAny, 0); err != nil {
				return nil, fmt.Errorf("interp: collection: map %q: initial data: %w", name, err)
			}
		}
		for _, e := range ms.Contents {
			b, ok := e.Value.([]byte)
			if !ok {
				continue // program and map names: FillProgramArrays
			}
			if ms.Data != nil && e.Key == 0 {
				continue
			}
			key := make([]byte, ms.KeySize)
			if len(key) >= 4 {
				binary.NativeEndian.PutUint32(key, e.Key)
			}
			if err := m.UpdateRaw(key, b, prog.UpdateAny, 0); err != nil {
				return nil, fmt.Errorf("interp: collection: map %q: initial entry %d: %w", name, e.Key, err)
			}
		}
		out[name] = m
	}
	return out, nil
}

// FillProgramArrays puts the programs the prog-array initialisers of
// spec name into the program arrays of ms; program returns the loaded
// program of a name, or nil when it was not loaded (its slot stays
// empty). Map-in-map initialisers are errors: package maps has no map
// of maps yet.
func FillProgramArrays(spec *prog.CollectionSpec, ms map[string]maps.Map, program func(name string) any) error {
	for _, name := range slices.Sorted(stdmaps.Keys(spec.Maps)) {
		s := spec.Maps[name]
		for _, e := range s.Contents {
			target, ok := e.Value.(string)
			if !ok {
				continue
			}
			pa, ok := ms[name].(*maps.ProgArray)
			if !ok {
				return fmt.Errorf("interp: collection: map %q: entry %d names %q, but only program arrays are supported: %w", name, e.Key, target, prog.ErrNotSupported)
			}
			p := program(target)
			if p == nil {
				continue
			}
			if err := pa.SetProgram(e.Key, p); err != nil {
				return fmt.Errorf("interp: collection: map %q: entry %d (program %q): %w", name, e.Key, target, err)
			}
		}
	}
	return nil
}
