//go:build amd64 && unix

package jit

import (
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// runBound is a run in r whose context bind installs in r's Env (and
// returns r1 for) before the code is entered, so that its regions are in
// the tables the code checks (the packet of XDP and tc, a tracing context
// and kmem's kernel memory), and that ends the Env (EndEnv) after it,
// which copies a packet out and gives its buffer back: r is for a Runner
// or the VM's slot (kept: r's stack needs zeroing) or a fresh Env from
// AcquireStack. A bind error ends the run before it starts. tc says that
// LD_ABS reads the packet, which tc helpers move.
func (vm *VM) runBound(r *run, kept, tc bool, bind func(*engine.Env) (uint64, error)) (uint64, error) {
	r.startBound(vm, kept)
	vm.ivm.BindEnv(r.env)
	r1, err := bind(r.env)
	if err != nil {
		vm.ivm.EndEnv(r.env)
		r.end()
		r.setTabOK(false)
		return 0, err
	}
	r.tc = tc
	r.startFast(vm)
	r.rebuildTables()
	ret, err := vm.enterBound(r, r1)
	r.setTabOK(false)
	r.tc = false
	r.endFast()
	vm.ivm.EndEnv(r.env) // copies the packet out
	r.end()
	return ret, err
}

// startBound prepares r for a run of vm whose context is bound before
// the code is entered (runBound, Runner.runnerTrace); kept says that r's
// stack needs zeroing.
func (r *run) startBound(vm *VM, kept bool) {
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
}

// enterBound runs vm's code in r, which startBound prepared and a bind
// bound, from its first instruction with r1 to its end, handling the
// exits to Go.
func (vm *VM) enterBound(r *run, r1 uint64) (uint64, error) {
	st := &r.st
	if st.entry = r.xm.entry(); st.entry == 0 {
		return 0, errFreed()
	}
	enterMem(st, r1, 0, r.top)
	if st.exit == exitDone || st.exit == exitAbort {
		return st.regs[0], nil
	}
	return vm.code.handle(st, r)
}

// runPacket runs f, an XDP or tc run, in the VM's own run state when it is
// idle, or else in a fresh one, as RunMemory does.
func (vm *VM) runPacket(f func(r *run, kept bool) (uint32, []byte, error)) (uint32, []byte, error) {
	if r := vm.slot.Swap(nil); r != nil { // see RunMemory
		if vm.closed.Load() {
			vm.putSlot(r)
			return 0, nil, errFreed()
		}
		ret, out, err := f(r, true)
		vm.putSlot(r)
		return ret, out, err
	}
	if !vm.acquire() {
		return 0, nil, errFreed()
	}
	env := vm.ivm.AcquireStack()
	ret, out, err := f(runOf(env), false)
	vm.ivm.ReleaseStack(env)
	vm.release()
	return ret, out, err
}

// runXDP is an XDP run in r (see runBound).
func (vm *VM) runXDP(r *run, kept bool, frame []byte, meta *interp.XDPMeta) (uint32, []byte, error) {
	// The output goes to r.out, which lives on the heap anyway, so that
	// the closure and its pointer need no allocation.
	ret, err := vm.runBound(r, kept, false, func(e *engine.Env) (uint64, error) { return engine.BindXDP(e, frame, meta, &r.out) })
	out := r.out
	r.out = nil
	if err != nil {
		return uint32(ret), nil, err
	}
	return uint32(ret), out, nil // EndEnv copied the packet to out, or made it a view (keepPackets)
}

// keepPackets makes r's Env keep its XDP page and tc buffer across runs
// and give views of them as output packets (a Runner's run state), or
// stop doing so (engine.KeepPackets).
func (r *run) keepPackets(keep bool) { engine.KeepPackets(r.env, keep) }

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
	return vm.runPacket(func(r *run, kept bool) (uint32, []byte, error) { return vm.runXDP(r, kept, frame, meta) })
}

// RunXDP runs an XDP program on frame, exactly like VM.RunXDP, in the
// Runner's own state, except that the output packet is not a copy: it lies
// in the Runner's frame page (or buffer, for a frame with fragments) and
// is valid only until the Runner's next run or Close (see Runner).
func (rn *Runner) RunXDP(frame []byte, meta *interp.XDPMeta) (uint32, []byte, error) {
	r, vm := rn.r, rn.vm
	if r == nil || vm.typ != prog.XDP || vm.closed.Load() {
		if rn.ir != nil {
			return rn.ir.RunXDP(frame, meta)
		}
		return 0, nil, rn.otherErr(prog.XDP)
	}
	return rn.runXDPKept(frame, meta)
}

// endFast turns the fast paths of a bound run off.
func (r *run) endFast() {
	st := &r.st
	engine.SetPendingRegions(r.env, nil)
	r.dropKeeps()
	r.fast = false
	st.nmax, st.stdOK, st.mvOwner, st.mvOn, st.ctxLim, st.pmax = 0, 0, 0, 0, 0, 0
}
