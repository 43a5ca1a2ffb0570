//go:build amd64 && unix

package jit

import (
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// runXDP is an XDP run in r, for a Runner or the VM's slot (kept: r's
// stack needs zeroing) or for a fresh Env from AcquireStack. Unlike the
// other contexts, the Env is bound before the code is entered (the packet
// region must be in the tables the code checks) and ended after it, which
// copies the packet out and gives the frame page back.
func (vm *VM) runXDP(r *run, kept bool, frame []byte, meta *interp.XDPMeta) (uint32, []byte, error) {
	if r.owner != vm {
		r.cache(vm)
	}
	if kept {
		zeroStack(r.zero)
	}
	st := &r.st
	st.setStack(r.top, r.lo)
	st.budget, st.reserve = r.slice, r.reserve
	st.pkt, st.pktLen = 0, 0
	r.begin(vm)
	r.lazy = false
	vm.ivm.BindEnv(r.env)
	var out []byte
	r1, err := engine.BindXDP(r.env, frame, meta, &out)
	if err != nil {
		vm.ivm.EndEnv(r.env)
		r.end()
		r.setTabOK(false)
		return 0, nil, err
	}
	r.syncRegions()
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
	r.setTabOK(false)
	vm.ivm.EndEnv(r.env) // copies the packet to out
	r.end()
	if err != nil {
		return uint32(ret), nil, err
	}
	return uint32(ret), out, nil
}

// RunXDP runs an XDP program on frame with an xdp_md context, like
// interp.VM.RunXDP.
func (vm *VM) RunXDP(frame []byte, meta *interp.XDPMeta) (uint32, []byte, error) {
	if vm.code == nil {
		return vm.ivm.RunXDP(frame, meta)
	}
	if vm.typ != prog.XDP {
		_, _, err := vm.ivm.RunXDP(frame, meta)
		return 0, nil, err
	}
	if r := vm.slot.Swap(nil); r != nil { // see RunMemory
		if vm.closed.Load() {
			vm.putSlot(r)
			return 0, nil, errFreed()
		}
		ret, out, err := vm.runXDP(r, true, frame, meta)
		vm.putSlot(r)
		return ret, out, err
	}
	if !vm.acquire() {
		return 0, nil, errFreed()
	}
	env := vm.ivm.AcquireStack()
	ret, out, err := vm.runXDP(runOf(env), false, frame, meta)
	vm.ivm.ReleaseStack(env)
	vm.release()
	return ret, out, err
}

// RunXDP runs an XDP program on frame, exactly like VM.RunXDP, in the
// Runner's own state.
func (rn *Runner) RunXDP(frame []byte, meta *interp.XDPMeta) (uint32, []byte, error) {
	r, vm := rn.r, rn.vm
	if r == nil || vm.typ != prog.XDP || vm.closed.Load() {
		if rn.ir != nil {
			return rn.ir.RunXDP(frame, meta)
		}
		return 0, nil, rn.otherErr(prog.XDP)
	}
	return vm.runXDP(r, true, frame, meta)
}
