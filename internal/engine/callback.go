package engine

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// Callbacks: an LD_IMM64 with src BPF_PSEUDO_FUNC (4) loads the address of
// a subprogram, which helpers such as bpf_loop (Linux 5.17) and
// bpf_for_each_map_elem (5.13) call. Here the address is an opaque handle:
// callbackHandleBase plus the target slot times callbackHandleStride, in
// the kernel half of the address space where no region and no map handle
// lies, so a load or store through it fails as any wild access does. A
// helper enters the callback only when the handle names a slot that a
// function address load of the running program names (program.callbacks):
// a forged or shifted handle is a run error.
//
// A callback runs as a bpf-to-bpf call (a new frame with r6..r9 and r10
// saved, counted against MaxCallFrames) in a nested run of exec's loop that
// returns when the callback's frame exits; its instructions are charged to
// the run's budget. A tail call inside a callback is an error, as the
// kernel's verifier refuses it. A helper's ErrHalt and an LD_ABS past the
// packet inside a callback end the whole run.
const (
	callbackHandleBase   = 0xffff_ffc0_0000_0000
	callbackHandleStride = 8
)

// maxBPFLoops is the most iterations bpf_loop makes: BPF_MAX_LOOPS
// (include/linux/bpf.h, 8M).
const maxBPFLoops = 1 << 23

// errCallbackTailCall is the error of a tail call inside a callback.
var errCallbackTailCall = fmt.Errorf("%w: tail call inside a callback (the kernel's verifier refuses it)", ErrHelper)

// callbackHandle records the target of the function address load i at
// slot pc and returns the handle it loads. As in the kernel, the target is
// pc + 1 + the low 32 bits of the immediate, read as signed; the upper
// half is not looked at (verifier.c: resolve_pseudo_ldimm64 checks it only
// for map loads, check_ld_imm uses insn->imm).
func (d *decoder) callbackHandle(i insn.Instruction, pc int) (uint64, error) {
	target := pc + 1 + int(int32(i.Imm))
	// Validate checked that target is an instruction inside the program.
	if d.callbacks == nil {
		d.callbacks = make(map[int]bool)
	}
	d.callbacks[target] = true
	return CallbackHandle(target), nil
}

// CallbackHandle returns the value a function address load of the slot
// target puts in a register.
func CallbackHandle(target int) uint64 {
	return callbackHandleBase + uint64(target)*callbackHandleStride
}

// HasCallbacks reports whether the program loads function addresses (for
// the JIT, which does not compile them).
func (vm *VM) HasCallbacks() bool { return len(vm.prog.callbacks) > 0 }

// callbackTarget returns the slot handle names in the running program.
func (e *Env) callbackTarget(handle uint64) (int, error) {
	off := handle - callbackHandleBase
	if p := e.cur; p != nil && handle >= callbackHandleBase && off%callbackHandleStride == 0 && off/callbackHandleStride < uint64(len(p.code)) {
		if t := int(off / callbackHandleStride); p.callbacks[t] {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w: 0x%x is not a callback of this program", ErrMemoryAccess, handle)
}

// callCallback runs the callback handle names with r1..r5 and returns its
// r0. Errors are *RunError values naming the failing slot, or errHalted
// (the run ends with the returned r0).
func (e *Env) callCallback(handle, r1, r2, r3, r4, r5 uint64) (uint64, error) {
	pc, err := e.callbackTarget(handle)
	if err != nil {
		return 0, err
	}
	regs := &e.reg
	if err := e.pushFrame(-1, regs); err != nil {
		return 0, err
	}
	outer := e.cbBase
	e.cbBase = e.depth
	regs[1], regs[2], regs[3], regs[4], regs[5] = r1, r2, r3, r4, r5
	ret, err := e.resume(pc, e.cbLeft, 0, false)
	e.cbBase = outer
	if err != nil {
		return ret, err
	}
	e.popFrame(regs)
	return ret, nil
}

// callbackResult is the result of a callback helper whose callback failed: a callback's run error
// or halt as is (exec passes them on), ErrHelper otherwise.
func callbackResult(ret uint64, err error) (uint64, error) {
	if err == errHalted {
		return ret, ErrHalt
	}
	var re *RunError
	if errors.As(err, &re) {
		return 0, re
	}
	return 0, err
}

// helperLoop is bpf_loop(nr_loops, callback, ctx, flags) (kernel/bpf/
// bpf_iter.c, Linux 5.17): callback(index, ctx) for index 0..nr_loops-1
// until it returns non-zero; the result is the number of calls made.
// Flags other than 0 are -EINVAL (the helper's long, sign-extended).
//
// With flags 0 the result is that of the code the verifier puts in place
// of the call since Linux 5.19 (commit 1ade23711971, "bpf: Inline calls to
// bpf_loop when callback is known"; verifier.c, inline_bpf_loop), which
// compares all 64 bits of nr_loops with 1<<23 and returns -E2BIG with a
// 32-bit move: 0xfffffff9, zero-extended, as the kernel's test runs show
// (the corpus's callbacks.bpf.o). The kernel inlines only a call whose
// flags the verifier knows are 0; a call with flags in a register that
// holds 0 at run time gets the same result here.
func helperLoop(e *Env, r1, r2, r3, r4, _ uint64) (uint64, error) {
	if _, err := e.callbackTarget(r2); err != nil {
		return 0, err // the verifier's check, even for no call
	}
	if r4 != 0 {
		return Errno(syscall.EINVAL), nil
	}
	n := r1
	if n > maxBPFLoops {
		return uint64(uint32(Errno(syscall.E2BIG))), nil
	}
	for i := uint64(0); i < n; i++ {
		ret, err := e.callCallback(r2, i, r3, 0, 0, 0)
		if err != nil {
			return callbackResult(ret, err)
		}
		if ret != 0 {
			return i + 1, nil
		}
	}
	return n, nil
}

// helperForEachMapElem is bpf_for_each_map_elem(map, callback, ctx, flags)
// (Linux 5.13): callback(map, &key, &value, ctx) for each element until it
// returns non-zero; the result is the number of elements visited. Flags
// other than 0 are -EINVAL. Array maps (kernel/bpf/arraymap.c,
// bpf_for_each_array_elem) visit every index; hash maps visit their
// elements in iteration order, at most max_entries of them, taking the
// next key before each call so that the callback may delete the element
// it is given. The key is a read-only copy, the value the element's
// storage (for this CPU in per-CPU maps) with a lookup's access.
func helperForEachMapElem(e *Env, r1, r2, r3, r4, _ uint64) (uint64, error) {
	m, err := e.Map(r1)
	if err != nil {
		return 0, err
	}
	if _, err := e.callbackTarget(r2); err != nil {
		return 0, err
	}
	if r4 != 0 {
		return Errno(syscall.EINVAL), nil
	}
	spec := m.MapSpec()
	array := false
	switch spec.Type {
	case prog.Array, prog.PerCPUArray:
		array = true
	case prog.Hash, prog.PerCPUHash, prog.LRUHash, prog.LRUPerCPUHash:
	default:
		return 0, fmt.Errorf("%w: map %q of type %s cannot be iterated (array and hash maps only)", ErrHelper, spec.Name, spec.Type)
	}
	perm := lookupPerm(spec)
	key := make([]byte, spec.KeySize)
	next := make([]byte, spec.KeySize)
	keyAddr, err := e.AddRegion(key, PermRead)
	if err != nil {
		return 0, err
	}
	whole := false // the values lie in one region for the whole array
	if arr, ok := m.(*maps.Array); ok {
		// One region for all the values (as a direct value load makes),
		// not one per element, whatever the array's size.
		if st := arr.Storage(e.cpu()); len(st) > 0 {
			if _, err := e.AddRegion(st, perm); err != nil {
				return 0, err
			}
			whole = true
		}
	}
	have := array && spec.MaxEntries > 0 || !array && m.NextKey(nil, next) == nil
	n := uint64(0)
	for it := uint32(0); have && it < spec.MaxEntries; it++ {
		if array {
			ne.PutUint32(key, it)
			have = it+1 < spec.MaxEntries
		} else {
			copy(key, next)
			have = m.NextKey(key, next) == nil
		}
		v := m.LookupRaw(key, e.cpu())
		if v == nil {
			continue // deleted by an earlier call
		}
		valAddr := addrOf(v)
		if !whole {
			if valAddr, err = e.AddRegion(v, perm); err != nil {
				return 0, err
			}
		}
		n++
		ret, err := e.callCallback(r2, r1, keyAddr, valAddr, r3, 0)
		if err != nil {
			return callbackResult(ret, err)
		}
		if ret != 0 {
			break
		}
	}
	return n, nil
}
