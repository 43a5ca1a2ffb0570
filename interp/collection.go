package interp

import (
	"fmt"
	stdmaps "maps"
	"slices"

	"github.com/purebpf/purebpf/internal/collection"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

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
// loads its programs into interp, with the object's externs and CO-RE
// relocations resolved as CollectionOptions says. The object's features
// that userspace cannot provide are errors that name them: struct_ops
// maps and map types package maps lacks. Map-in-map initialisers fill
// the maps of maps (maps.OfMaps) with the object's inner maps.
// Programs whose Autoload is false are left out, as prog.NewCollection
// does.
func NewCollection(spec *prog.CollectionSpec, opts *CollectionOptions) (*Collection, error) {
	ms, err := collection.Maps(spec, opts)
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
		pspec, o, err := collection.Program(spec, ps, opts, &popts)
		if err != nil {
			return nil, fmt.Errorf("interp: collection: program %q (section %s): %w", name, ps.SectionName, err)
		}
		vm, err := New(pspec, o)
		if err != nil {
			return nil, fmt.Errorf("interp: collection: program %q (section %s): %w", name, ps.SectionName, err)
		}
		c.Programs[name] = vm
	}
	if err := collection.FillProgramArrays(spec, ms, func(name string) any {
		if vm := c.Programs[name]; vm != nil {
			return vm
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// CollectionOptions configures NewCollection and jit.NewCollection. A nil
// *CollectionOptions means the defaults.
type CollectionOptions = collection.Options

// KfuncAddress is the address a program that takes the address of a
// kfunc Options.Kfuncs implements sees (`if (bpf_kfunc)`): not NULL, and
// no memory.
const KfuncAddress = collection.KfuncAddress
