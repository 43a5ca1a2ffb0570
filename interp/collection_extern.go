package interp

import (
	"fmt"
	"strings"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// CollectionProgram returns the spec and options program ps of spec
// loads with in a collection (base holds the collection's maps): the
// common part of NewCollection and jit.NewCollection. As libbpf prepares
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
func CollectionProgram(spec *prog.CollectionSpec, ps *prog.ProgramSpec, opts *CollectionOptions, base *Options) (*prog.Spec, *Options, error) {
	if opts == nil {
		opts = &CollectionOptions{}
	}
	insns, poisoned, err := spec.CORERelocate(ps, opts.CORETargets)
	if err != nil {
		return nil, nil, err
	}
	o := *base
	kf := map[string]Helper{}
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
			kf[name] = func(*Env, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
				return 0, fmt.Errorf("%w: the program reached a call of __weak kfunc %q, which Options.Kfuncs does not implement (the kernel's verifier refuses a reachable call of a missing kfunc)", ErrHelper, name)
			}
		case i.OpCode == insn.OpCall && i.Src == 0 && i.Imm == btf.COREPoisonImm && len(poisoned) > 0:
			// A poisoned CO-RE relocation: a call of a kfunc that fails,
			// giving the reasons.
			*i = insn.CallBTF(0).WithLabel(i.Label)
			i.Ref = corePoison
			why := strings.Join(poisoned, "; ")
			kf[corePoison] = func(*Env, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
				return 0, fmt.Errorf("%w: the program reached a CO-RE relocation that found no target: %s", ErrHelper, why)
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
func kconfigData(spec *prog.CollectionSpec, opts *CollectionOptions) ([]byte, error) {
	cfg := opts.KernelConfig
	if cfg == nil && needsConfig(spec) {
		var err error
		if cfg, err = prog.HostKernelConfig(); err != nil {
			return nil, err
		}
	}
	helpers := DefaultHelpers()
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
