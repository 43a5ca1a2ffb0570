//go:build amd64 && unix

package jit

import (
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// isTC reports whether t takes the tc __sk_buff context.
func isTC(t prog.Type) bool { return t == prog.SchedCLS || t == prog.SchedACT }

// runTC is a tc run in r, for a Runner or the VM's slot (kept: r's stack
// needs zeroing) or for a fresh Env from AcquireStack. As for XDP, the Env
// is bound before the code is entered (the packet region must be in the
// tables the code checks; the context's bytes are still written only on
// first access) and ended after it, which copies the packet out and the
// context's fields to *meta, and gives the buffer back.
func (vm *VM) runTC(r *run, kept bool, frame []byte, meta *interp.TCMeta) (uint32, []byte, error) {
	if r.owner != vm {
		r.cache(vm)
	}
	if kept {
		zeroStack(r.zero)
	}
	st := &r.st
	st.setStack(r.top, r.lo)
	st.budget, st.reserve = r.slice, r.reserve
	r.begin(vm)
	r.lazy = false
	vm.ivm.BindEnv(r.env)
	var out []byte
	var saved interp.TCMeta
	if meta != nil {
		saved = *meta
	}
	r1, err := engine.BindTC(r.env, frame, meta, &out)
	if err != nil {
		vm.ivm.EndEnv(r.env)
		r.end()
		r.tabOK = false
		return 0, nil, err
	}
	r.tc = true
	r.syncRegions() // the packet region, and what LD_ABS reads
	var ret uint64
	if st.entry = r.xm.entry(); st.entry == 0 {
		err = errFreed()
	} else {
		enterMem(st, r1, 0, r.top)
		if st.exit == exitDone || st.exit == exitAbort {
			ret = st.regs[0]
		} else {
			ret, err = vm.code.handle(st, r)
		}
	}
	r.tabOK = false
	r.tc = false
	vm.ivm.EndEnv(r.env) // copies the packet to out and the fields to *meta
	r.end()
	if err != nil {
		if meta != nil {
			*meta = saved
		}
		return uint32(ret), nil, err
	}
	return uint32(ret), out, nil
}

// RunTC runs a sched_cls or sched_act program on frame with an __sk_buff
// context, like interp.VM.RunTC.
func (vm *VM) RunTC(frame []byte, meta *interp.TCMeta) (uint32, []byte, error) {
	if vm.code == nil {
		return vm.ivm.RunTC(frame, meta)
	}
	if !isTC(vm.typ) {
		_, _, err := vm.ivm.RunTC(frame, meta)
		return 0, nil, err
	}
	if r := vm.slot.Swap(nil); r != nil { // see RunMemory
		if vm.closed.Load() {
			vm.putSlot(r)
			return 0, nil, errFreed()
		}
		ret, out, err := vm.runTC(r, true, frame, meta)
		vm.putSlot(r)
		return ret, out, err
	}
	if !vm.acquire() {
		return 0, nil, errFreed()
	}
	env := vm.ivm.AcquireStack()
	ret, out, err := vm.runTC(runOf(env), false, frame, meta)
	vm.ivm.ReleaseStack(env)
	vm.release()
	return ret, out, err
}

// RunTC runs a tc program on frame, exactly like VM.RunTC, in the
// Runner's own state.
func (rn *Runner) RunTC(frame []byte, meta *interp.TCMeta) (uint32, []byte, error) {
	r, vm := rn.r, rn.vm
	if r == nil || !isTC(vm.typ) || vm.closed.Load() {
		if rn.ir != nil {
			return rn.ir.RunTC(frame, meta)
		}
		return 0, nil, rn.otherErr(prog.SchedCLS)
	}
	return vm.runTC(r, true, frame, meta)
}
