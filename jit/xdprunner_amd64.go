//go:build amd64 && unix

package jit

import (
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
)

// A Runner's XDP runs keep their binding: the Env stays bound to the
// Runner's XDP page from one run to the next (engine.RebindXDP copies the
// next frame in and resets what a run may change), with the fast paths
// on and the region tables built, so that a run whose program never
// leaves the machine code costs a frame copy, a table update and the
// trampoline. Everything a run may leave behind is reset exactly as a
// fresh bind would: the stack bytes the program can reach, the regions
// helpers and the code's fast paths granted, the cached regions, the map
// value grants (state.mvOn), the budget and the call state.

// runXDPKept is Runner.RunXDP for compiled XDP code in r, which is the
// Runner's own run state.
func (rn *Runner) runXDPKept(frame []byte, meta *interp.XDPMeta) (uint32, []byte, error) {
	r, vm := rn.r, rn.vm
	if rn.xdpBound {
		r1, ok, err := engine.RebindXDP(r.env, frame, meta, &r.out)
		if err != nil {
			return 0, nil, err // the binding is as it was
		}
		if ok {
			r.startBound(vm, true)
			r.rebuildTables()
			return rn.enterXDP(r1)
		}
		rn.unbindXDP()
	}
	r.startBound(vm, true)
	vm.ivm.BindEnv(r.env)
	r1, err := engine.BindXDP(r.env, frame, meta, &r.out)
	if err != nil {
		vm.ivm.EndEnv(r.env)
		r.end()
		r.setTabOK(false)
		return 0, nil, err
	}
	r.startFast(vm)
	r.rebuildTables()
	return rn.enterXDP(r1)
}

// startFast turns on the fast paths of a bound run of vm in r (endFast
// turns them off).
func (r *run) startFast(vm *VM) {
	st := &r.st
	r.fast = true
	st.stdOK = engine.StdHelpers(vm.ivm)
	st.cpu = uint64(engine.CPU(vm.ivm))
	if r.flushFn == nil {
		r.flushFn = r.flush
	}
	engine.SetPendingRegions(r.env, r.flushFn)
}

// rebuildTables builds the region tables of a bound run from its Env,
// which holds only the regions its bind made: whatever the code appended
// in an earlier run is not this run's.
func (r *run) rebuildTables() {
	st := &r.st
	st.mvOwner, st.mvOn = uint64(r.entry), 0
	r.goR, r.goW, r.goMade = st.nread, st.nwrite, 0
	r.syncRegions()
}

// enterXDP runs the code of the Runner's XDP program from its start with
// r1, and ends the run: the binding stays for the next run when the
// program left it so that RebindXDP can rebind it, and is ended
// otherwise.
func (rn *Runner) enterXDP(r1 uint64) (uint32, []byte, error) {
	r, vm := rn.r, rn.vm
	st := &r.st
	ret, err := vm.enterBound(r, r1)
	r.setTabOK(false)
	rn.xdpBound = err == nil && r.tailCalls == 0 && st.depth == 0 && engine.KeepXDP(r.env)
	if !rn.xdpBound {
		r.endFast()
		vm.ivm.EndEnv(r.env) // sets r.out
	}
	out := r.out
	r.out = nil
	r.end()
	if err != nil {
		return uint32(ret), nil, err
	}
	return uint32(ret), out, nil
}

// unbindXDP ends the binding the Runner's last XDP run kept, if any.
func (rn *Runner) unbindXDP() {
	if rn.xdpBound {
		rn.xdpBound = false
		rn.r.endFast()
		rn.vm.ivm.EndEnv(rn.r.env)
	}
}
