package engine

import (
	"errors"
	"fmt"

	"github.com/purebpf/purebpf/insn"
)

// ErrUnknownKfunc is wrapped by the load error of a program that calls a
// kernel function (a BPF_PSEUDO_KFUNC_CALL, Linux 5.13+) for which
// Options.Kfuncs has no implementation. Userspace has no kernel
// functions: a test registers fakes for the ones its program calls.
var ErrUnknownKfunc = errors.New("unknown kfunc")

// kfuncBase is the call number of a VM's first kfunc. Once loaded, a call
// of a registered kfunc is an ordinary helper call with number
// kfuncBase+k (k its index in VM.kfuncs), which both engines dispatch
// through callNum; no helper has such a number (helpers are below
// 1<<16), and an immediate that large fits an int32 as the JIT needs.
const kfuncBase = 1 << 30

// kfunc is a kfunc a program calls: its name (the extern's, as the
// object's relocation gives it) and its implementation.
type kfunc struct {
	name string
	fn   Helper
}

// kfuncIndex returns the call number of the kfunc call i names, adding
// the kfunc to the VM's table on its first call site. A kfunc is found by
// name (the instruction's Ref, which prog's ELF loader sets to the
// extern's name) in Options.Kfuncs; raw bytecode names kfuncs only by BTF
// id, which has no meaning without a kernel.
func (vm *VM) kfuncIndex(i insn.Instruction) (int64, error) {
	name := i.Ref
	if name == "" {
		return 0, fmt.Errorf("%w: call to the kfunc with BTF id %d: userspace knows kfuncs only by name (load the program from an object, whose relocation names it)", ErrUnknownKfunc, i.Imm)
	}
	for k, f := range vm.kfuncs {
		if f.name == name {
			return kfuncBase + int64(k), nil
		}
	}
	h := vm.opts.Kfuncs[name]
	if h == nil {
		return 0, fmt.Errorf("%w: call to kfunc %q: no implementation in Options.Kfuncs (kernel functions do not exist in userspace; register a fake)", ErrUnknownKfunc, name)
	}
	vm.kfuncs = append(vm.kfuncs, kfunc{name: name, fn: h})
	return kfuncBase + int64(len(vm.kfuncs)-1), nil
}

// kfuncCall is the helper-call form of kfunc call i with call number num.
func kfuncCall(i insn.Instruction, num int64) insn.Instruction {
	return insn.Call(int32(num)).WithLabel(i.Label)
}

// lookupCall returns what call number num calls in vm, a helper or a
// kfunc (nil if none). A callx reaches helpers only: kfuncs are called by
// the numbers the decoder gives their direct calls.
func (vm *VM) lookupCall(num int64, callx bool) Helper {
	if !callx && num >= kfuncBase && num-kfuncBase < int64(len(vm.kfuncs)) {
		return vm.kfuncs[num-kfuncBase].fn
	}
	if num != int64(int32(num)) || num >= kfuncBase {
		return nil
	}
	return vm.helpers.lookup(insn.HelperFunc(num))
}

// callName names call number num (lookupCall) for errors. It is made
// only when an error needs it: a helper call is too short to pay for a
// string.
func (vm *VM) callName(num int64, callx bool) string {
	if !callx && num >= kfuncBase && num-kfuncBase < int64(len(vm.kfuncs)) {
		return "kfunc " + vm.kfuncs[num-kfuncBase].name
	}
	if num != int64(int32(num)) || num >= kfuncBase {
		// Only a callx reaches here: HelperFunc(num) would name the
		// helper of num's low 32 bits, which is not the one called.
		return "no helper number"
	}
	return insn.HelperFunc(num).String()
}
