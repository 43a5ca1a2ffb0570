package collection

import (
	"encoding/binary"
	"fmt"
	stdmaps "maps"
	"runtime"
	"slices"
	"strings"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// Options configures the loading of a collection (interp.NewCollection,
// jit.NewCollection; interp.CollectionOptions). A nil *Options means the
// defaults.
type Options struct {
	// Program is the Options every program of the collection is loaded
	// with. Its Maps replace the object's maps of the same names (for
	// instance a map shared with another collection); the collection
	// creates the others. Its Kfuncs implement the kfuncs the programs
	// call.
	Program *engine.Options
	// KernelConfig gives the values of the object's kconfig externs
	// (extern ... __kconfig): CONFIG_* name to value as a .config file
	// writes it ("y", "n", "m", a number, a quoted string), plus, if the
	// test wants them fixed, LINUX_KERNEL_VERSION (a number),
	// LINUX_HAS_BPF_COOKIE and LINUX_HAS_SYSCALL_WRAPPER. nil means the
	// host's: /proc/config.gz or /boot/config-$(uname -r), and the
	// running kernel's version. Values are encoded for each extern's type
	// as libbpf does; a non-weak extern nobody sets is an error naming it,
	// a __weak one is zero.
	KernelConfig map[string]string
	// Ksyms gives the addresses of the object's ksym externs (extern ...
	// __ksym variables; kfuncs are Program.Kfuncs), by name: for
	// instance objects of package interp/kmem. A non-weak ksym not here
	// is an error naming it; a __weak one is 0 (NULL), as libbpf leaves a
	// ksym the kernel lacks.
	Ksyms map[string]uint64
	// CORETargets are the BTF specs the programs' CO-RE relocations are
	// resolved against, in order, as prog.CollectionOptions.CORETargets:
	// a spec built in the test (btf.NewBuilder), one read from a file
	// (btf.LoadSpec), or empty for the running kernel's BTF and its
	// modules'. Lay out kernel memory with the same spec (package
	// interp/kmem) so that the relocated offsets find the fields.
	CORETargets []*btf.Spec
}

// Maps checks that userspace can run spec's programs and
// creates its maps with their initial contents (the bytes of global data
// sections), sharing the maps opts supplies by name. Program arrays stay
// empty: FillProgramArrays fills them once the programs are loaded. It is
// the common part of interp.NewCollection and jit.NewCollection.
func Maps(spec *prog.CollectionSpec, opts *Options) (map[string]maps.Map, error) {
	if spec == nil {
		return nil, fmt.Errorf("interp: collection: nil spec")
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
		if ms.InnerMap != nil && mspec.InnerMap == nil {
			inner := ms.InnerMap.MapSpec
			mspec.InnerMap = &inner
		}
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
		data := ms.Data
		if name == ".kconfig" {
			var kopts *Options
			if kopts = opts; kopts == nil {
				kopts = &Options{}
			}
			if data, err = kconfigData(spec, kopts); err != nil {
				return nil, fmt.Errorf("interp: collection: %w", err)
			}
		}
		if data != nil {
			if err := m.UpdateRaw(make([]byte, ms.KeySize), data, prog.UpdateAny, 0); err != nil {
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
	if err := fillMapsOfMaps(spec, out); err != nil {
		return nil, err
	}
	return out, nil
}

// fillMapsOfMaps puts the maps the initialisers of spec's maps of maps
// name (.values = { [0] = &inner_a }) into them, as libbpf does after
// creating all maps (init_map_in_map_slots). The inner maps must match the templates
// (maps.MetaEqual).
func fillMapsOfMaps(spec *prog.CollectionSpec, ms map[string]maps.Map) error {
	for _, name := range slices.Sorted(stdmaps.Keys(spec.Maps)) {
		s := spec.Maps[name]
		if s.Type != prog.ArrayOfMaps && s.Type != prog.HashOfMaps {
			continue
		}
		for _, e := range s.Contents {
			target, ok := e.Value.(string)
			if !ok {
				continue
			}
			outer, ok := ms[name].(*maps.OfMaps)
			if !ok {
				return fmt.Errorf("interp: collection: map %q is a %T, not a map of maps of package maps", name, ms[name])
			}
			inner, ok := ms[target]
			if !ok {
				return fmt.Errorf("interp: collection: map %q: entry %d names map %q, which the object does not define", name, e.Key, target)
			}
			if err := outer.Set(e.Key, inner, prog.UpdateAny); err != nil {
				return fmt.Errorf("interp: collection: map %q: entry %d (map %q): %w", name, e.Key, target, err)
			}
		}
	}
	return nil
}

// FillProgramArrays puts the programs the prog-array initialisers of
// spec name into the program arrays of ms; program returns the loaded
// program of a name, or nil when it was not loaded (its slot stays
// empty). Maps already filled the maps of maps.
func FillProgramArrays(spec *prog.CollectionSpec, ms map[string]maps.Map, program func(name string) any) error {
	for _, name := range slices.Sorted(stdmaps.Keys(spec.Maps)) {
		s := spec.Maps[name]
		if s.Type == prog.ArrayOfMaps || s.Type == prog.HashOfMaps {
			continue // fillMapsOfMaps
		}
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

// Program returns the spec and options program ps of spec
// loads with in a collection (base holds the collection's maps): the
// common part of interp.NewCollection and jit.NewCollection. As libbpf prepares
// a program for the kernel:
//
//   - CO-RE relocations are applied against opts.CORETargets (default:
//     the running kernel's BTF). A relocation that finds no target
//     poisons its instruction; reaching it is a run error that gives the
//     reason (libbpf's loader leaves the verifier to refuse it).
//   - ksym externs load their address from opts.Ksyms; a __weak one that
//     is missing loads 0.
//   - kfunc calls call base.Kfuncs by name. A __weak kfunc that is not
//     there may stay uncalled (libbpf's `if (kfunc)` idiom, which loads
//     its address as a __weak ksym: 0); reaching its call is a run error
//     naming it. A missing non-weak kfunc is a load error naming it.
func Program(spec *prog.CollectionSpec, ps *prog.ProgramSpec, opts *Options, base *engine.Options) (*prog.Spec, *engine.Options, error) {
	if opts == nil {
		opts = &Options{}
	}
	insns, poisoned, err := spec.CORERelocate(ps, opts.CORETargets)
	if err != nil {
		return nil, nil, err
	}
	o := *base
	kf := map[string]engine.Helper{}
	for name, h := range base.Kfuncs {
		kf[name] = h
	}
	weak := map[string]bool{}
	for _, e := range spec.Externs {
		if e.Kind == "ksym" && e.Weak {
			weak[e.Name] = true
		}
	}
	for k := range insns {
		i := &insns[k]
		switch {
		case i.IsKfuncCall() && i.Ref != "" && kf[i.Ref] == nil && weak[i.Ref]:
			name := i.Ref
			kf[name] = func(*engine.Env, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
				return 0, fmt.Errorf("%w: the program reached a call of __weak kfunc %q, which Options.Kfuncs does not implement (the kernel's verifier refuses a reachable call of a missing kfunc)", engine.ErrHelper, name)
			}
		case i.OpCode == insn.OpCall && i.Src == 0 && i.Imm == btf.COREPoisonImm && len(poisoned) > 0:
			// A poisoned CO-RE relocation: a call of a kfunc that fails,
			// giving the reasons.
			*i = insn.CallBTF(0).WithLabel(i.Label)
			i.Ref = corePoison
			why := strings.Join(poisoned, "; ")
			kf[corePoison] = func(*engine.Env, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
				return 0, fmt.Errorf("%w: the program reached a CO-RE relocation that found no target: %s", engine.ErrHelper, why)
			}
		case i.IsLoadImm64() && insn.PseudoSrc(i.Src) == insn.PseudoBTFID && i.Ref != "":
			addr, ok := opts.Ksyms[i.Ref]
			if !ok && kf[i.Ref] != nil {
				addr, ok = KfuncAddress, true // `if (kfunc)` tests a registered kfunc's address
			}
			if !ok && !weak[i.Ref] {
				return nil, nil, fmt.Errorf("ksym %q: no address in CollectionOptions.Ksyms (declare it __weak to read NULL): %w", i.Ref, prog.ErrNotSupported)
			}
			*i = insn.LoadImm64(i.Dst, int64(addr)).WithLabel(i.Label)
		}
	}
	if len(kf) > 0 {
		o.Kfuncs = kf
	}
	s := ps.Spec
	s.Instructions = insns
	// The copy's instructions are ps's, patched in place: its coverage
	// counts are ps's lines.
	o.Coverage.AddPatched(&s, ps)
	return &s, &o, nil
}

// corePoison names the kfunc a poisoned CO-RE relocation calls.
const corePoison = "<poisoned CO-RE relocation>"

// KfuncAddress is the address a program that takes the address of a
// kfunc Options.Kfuncs implements sees (`if (bpf_kfunc)`): not NULL, and
// no memory.
const KfuncAddress = 0xffff_ffff_c000_0000

// kconfigData is the value of spec's .kconfig map for opts: its
// KernelConfig, else the host's configuration (read only if the object
// has CONFIG_* externs), and LINUX_KERNEL_VERSION from the running
// kernel unless KernelConfig sets it. LINUX_HAS_BPF_COOKIE says, as
// libbpf computes it, whether bpf_get_attach_cookie (helper 174, Linux
// 5.15) is there: in the programs' helper registry, where a test
// registers it; LINUX_HAS_SYSCALL_WRAPPER is "y" (x86-64 since Linux
// 4.17). KernelConfig overrides both.
func kconfigData(spec *prog.CollectionSpec, opts *Options) ([]byte, error) {
	cfg := opts.KernelConfig
	if cfg == nil && needsConfig(spec) {
		var err error
		if cfg, err = prog.HostKernelConfig(); err != nil {
			return nil, err
		}
	}
	helpers := engine.DefaultHelpers()
	if opts.Program != nil && opts.Program.Helpers != nil {
		helpers = opts.Program.Helpers
	}
	cookie := "n"
	if helpers.Lookup(insn.HelperFunc(174)) != nil {
		cookie = "y"
	}
	special := map[string]string{"LINUX_HAS_BPF_COOKIE": cookie, "LINUX_HAS_SYSCALL_WRAPPER": "y"}
	for name := range special {
		if v, ok := cfg[name]; ok {
			special[name] = v
		}
	}
	if v, ok := cfg["LINUX_KERNEL_VERSION"]; ok {
		special["LINUX_KERNEL_VERSION"] = v
	} else if needsExtern(spec, "LINUX_KERNEL_VERSION") {
		code, err := prog.HostKernelVersion()
		if err != nil {
			return nil, fmt.Errorf("kconfig extern LINUX_KERNEL_VERSION: %w (set it in CollectionOptions.KernelConfig)", err)
		}
		special["LINUX_KERNEL_VERSION"] = fmt.Sprint(code)
	}
	return spec.KconfigData(cfg, special)
}

func needsConfig(spec *prog.CollectionSpec) bool {
	for _, e := range spec.Externs {
		if e.Kind == "kconfig" && strings.HasPrefix(e.Name, "CONFIG_") {
			return true
		}
	}
	return false
}

func needsExtern(spec *prog.CollectionSpec, name string) bool {
	for _, e := range spec.Externs {
		if e.Kind == "kconfig" && e.Name == name {
			return true
		}
	}
	return false
}
