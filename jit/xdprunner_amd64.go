//go:build amd64 && unix

package jit

import (
	"unsafe"

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
		if rn.xdpQuick && meta == nil {
			if pkt, ok := engine.ReloadXDP(r.env, frame, &r.out); ok {
				return rn.quickXDP(pkt)
			}
		}
		r1, ok, err := engine.RebindXDP(r.env, frame, meta, &r.out)
		if err != nil {
			return 0, nil, err // the binding is as it was
		}
		if ok {
			r.startBound(vm, true)
			r.st.stdOK = engine.StdHelpers(vm.ivm) // a test may have registered another helper
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
// which holds only the regions its bind made: whatever the code granted
// in an earlier run is not this run's.
func (r *run) rebuildTables() {
	st := &r.st
	st.mvOwner, st.mvOn = uint64(r.entry), 0
	r.dropKeeps() // an earlier run's grants are not this run's
	r.syncRegions()
}

// enterXDP runs the code of the Runner's XDP program from its start with
// r1, and ends the run: the binding stays for the next run when the
// program left it so that RebindXDP can rebind it, and is ended
// otherwise.
func (rn *Runner) enterXDP(r1 uint64) (uint32, []byte, error) {
	r, vm := rn.r, rn.vm
	st := &r.st
	if st.entry = r.xm.entry(); st.entry == 0 {
		return rn.endXDP(0, errFreed(), false)
	}
	enterMem(st, r1, 0, r.top)
	if st.exit == exitDone {
		return rn.endXDP(st.regs[0], nil, true)
	}
	ret, err := vm.code.handle(st, r)
	return rn.endXDP(ret, err, false)
}

// quickXDP is a Runner's XDP run after one that never left the machine
// code, on a frame without metadata that ReloadXDP loaded as pkt: the Env
// holds only the regions of the bind, which the tables hold, so only the
// packet's entry changes; the grants the code recorded in the last run
// go (dropKeeps), with the map value grants (mvOn); the stack bytes the
// program can reach are zeroed and the call state, budget and cached
// regions reset as at a bound run's start.
// The Go side of the run (run.begin) is set up only if the code leaves
// to Go; a run that does not leaves the Env as it found it, and its
// output is pkt, which the program changed in place.
func (rn *Runner) quickXDP(pkt []byte) (uint32, []byte, error) {
	r, vm := rn.r, rn.vm
	st := &r.st
	zeroSmall(r.zero)
	st.setStack(r.top, r.lo)
	st.budget, st.reserve = r.slice, r.reserve
	st.stdOK = engine.StdHelpers(vm.ivm)
	// Both entries are written, not one copied from the other: a copy
	// reads back the other's fresh stores as wider loads, which the
	// processor cannot forward (a stall that cost a third of this
	// function's time).
	a, n := addrOfSlice(pkt), uint64(len(pkt))
	st.rtab[0].setPacket(a, n)
	st.wtab[0].setPacket(a, n)
	// The grants the code recorded in the last run (map values, array
	// elements, hash values) are not this run's.
	if st.npend != 0 {
		r.dropKeeps()
	}
	// The tables hold only the packet (endXDP armed the quick path only
	// then, and a run that stays in the code never adds an entry).
	// The cached stack region and the one-shot grant go (only their
	// limits matter).
	st.stk.lim = [4]uint64{}
	st.grant.lim = [4]uint64{}
	st.mvOn = 0
	if st.entry = r.xm.entry(); st.entry != 0 {
		enterMem(st, r.env.Context(), 0, r.top)
		if st.exit == exitDone {
			return uint32(st.regs[0]), pkt, nil
		}
	}
	r.begin(vm)
	if st.entry == 0 {
		return rn.endXDP(0, errFreed(), false)
	}
	ret, err := vm.code.handle(st, r)
	return rn.endXDP(ret, err, false)
}

// endXDP ends a Runner's XDP run that returned ret and err; clean says
// that its code never left to Go.
func (rn *Runner) endXDP(ret uint64, err error, clean bool) (uint32, []byte, error) {
	r, vm := rn.r, rn.vm
	st := &r.st
	r.setTabOK(false)
	rn.xdpBound = err == nil && r.tailCalls == 0 && st.depth == 0 && engine.KeepXDP(r.env)
	// The next run may take quickXDP when this one left the Env and the
	// tables as the bind made them (the code records its grants in
	// state.pend, not the tables): the packet is the tables' only entry.
	rn.xdpQuick = false
	if regs := engine.Regions(r.env); rn.xdpBound && clean && len(regs) == engine.XDPPacketRegion+1 {
		rn.xdpQuick = st.nread == 1 && st.nwrite == 1 &&
			st.rtab[0].start == regs[engine.XDPPacketRegion].Start && st.wtab[0].start == regs[engine.XDPPacketRegion].Start
	}
	if !rn.xdpBound {
		rn.xdpQuick = false
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
		rn.xdpBound, rn.xdpQuick = false, false
		rn.r.endFast()
		rn.vm.ivm.EndEnv(rn.r.env)
		rn.r.out = nil // EndEnv gave the last run's view, which nobody reads
	}
}

// setPacket is set(a, a+n) for n >= 8 (a packet of at least an Ethernet
// header), in straight-line code.
func (r *region) setPacket(a, n uint64) {
	r.start = a
	r.lim = [4]uint64{n, n - 1, n - 3, n - 7}
}

// zeroSmall zeroes b, the stack bytes a program can reach, with inline
// stores when it is a few words (memclr's call costs more than the
// stores).
func zeroSmall(b []byte) {
	if n := len(b); n <= 128 && n%8 == 0 {
		p := unsafe.Pointer(unsafe.SliceData(b))
		for k := 0; k < n; k += 8 {
			*(*uint64)(unsafe.Add(p, k)) = 0
		}
		return
	}
	clear(b)
}
