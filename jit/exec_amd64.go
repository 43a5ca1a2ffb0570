//go:build amd64 && unix

package jit

import (
	"fmt"
	"sort"
	"unsafe"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// run is the per-run state of the JIT: the machine state the generated
// code uses and the interp.Env it runs in. It lives in that Env
// (engine.EngineState), so that taking an Env from the interp VM gives both.
type run struct {
	st state
	// vm is the VM whose code is running: at every exit to Go, the one
	// whose machine code holds the resume address (vmAt), so that after a
	// bpf-to-bpf return into a caller that a tail call had left, maps,
	// map values and helpers are the caller's again.
	vm   *VM
	root *VM // the VM the run started in
	env  *engine.Env
	// entered lists the VMs whose code this run has entered: the root,
	// then each tail-call target, which holds a reference (VM.acquire)
	// until the run ends. While a VM is listed neither its Close nor a
	// garbage-collection cleanup can unmap its code, so every frame the
	// run may still return into stays mapped.
	entered   []*VM
	tailCalls int
	// lazy says that env has only its stack prepared (RunMemory) and
	// needs BindEnv and BindMemory(mem) before Go uses it (ready).
	lazy bool
	mem  []byte
	// kind is the context a lazily prepared Env binds: ctxMem (mem),
	// ctxSKB (pkt and meta) or ctxKprobe (kregs).
	kind  int
	pkt   []byte
	meta  *interp.SKBMeta
	kregs *interp.PtRegs
	// tc says that a tc run is bound: syncRegions also points LD_ABS at
	// the packet, which tc helpers move.
	tc bool
	// tabOK says that the region tables hold exactly the memory region
	// [tabA, tabA+tabN) of the last raw-memory run and that the cached
	// regions hold nothing a new run on the same memory could not use:
	// that run never left to Go (which rebuilds the tables and grants)
	// and ended at depth 0 (exitDone), so the cached stack region, if
	// any, is the main frame's. A raw-memory run on the same memory then
	// keeps the tables. (An exit to Go other than through bind cannot
	// change the tables either, but the run may end at any depth.)
	tabOK      bool
	tabA, tabN uint64
	// quickMem and quickSKB are the VM (the owner) whose Runner runs may
	// take the short path, enterQuick, for its raw-memory program on
	// memory [tabA, tabA+tabN) or for its socket filter: the tables are
	// good (tabOK), the run's setup is cached in the state's q fields
	// (cache), and the stack to zero is at most one slot. nil otherwise;
	// setTabOK keeps them.
	quickMem, quickSKB *VM
	// What the raw-memory runs of VM owner (a raw-memory program) need,
	// cached to keep them off the path of a short run: its code, its
	// budget, the stack top (r10), the stack bytes a Runner zeroes before
	// each run.
	owner   *VM
	xm      *execMem
	entry   uintptr // the code's address; owner's Runners keep it mapped
	slice   int64   // the budget slice a run starts with (see budgetSlice)
	reserve int64   // and the rest of the budget
	top     uint64
	lo      uint64 // the main frame's lowest address: top - len(zero)
	zero    []byte
	// out receives the output packet of an XDP or tc run (EndEnv).
	out []byte
	// fast says that the run is bound (runBound) and may take the fast
	// paths (state.nmax and the fields after it).
	fast bool
	// flushed says that flush gave the Env grants the tables do not hold
	// yet (syncRegions puts them there).
	flushed bool
	// lastStorage is the storage storageAt found last (its VM is
	// entered while the run lasts; end drops it).
	lastStorage []byte
	flushFn     func() bool // flush, made once (engine.SetPendingRegions)
}

// zeroStack zeroes b, the stack bytes a Runner's program can reach,
// without a call to memclr for the common one-slot case.
func zeroStack(b []byte) {
	switch len(b) {
	case 0: // a program that never touches its stack
	case 8:
		*(*uint64)(unsafe.Pointer(unsafe.SliceData(b))) = 0
	default:
		clear(b)
	}
}

// runOf returns the run state kept in env, creating it on first use.
func runOf(env *engine.Env) *run {
	r, _ := engine.EngineState(env).(*run)
	if r == nil {
		r = &run{env: env}
		engine.SetEngineState(env, r)
	}
	return r
}

// RunMemory runs a raw-memory program with r1 = the address of mem and
// r2 = len(mem), like interp.VM.RunMemory.
func (vm *VM) RunMemory(mem []byte) (uint64, error) {
	if vm.code == nil {
		return vm.ivm.RunMemory(mem)
	}
	if vm.typ != prog.UnspecifiedProgram {
		return 0, vm.wantType(prog.UnspecifiedProgram)
	}
	if r := vm.slot.Swap(nil); r != nil {
		// The VM's own run state, for a run that does not overlap
		// another: one atomic exchange each way, as for a Runner's Env.
		if vm.closed.Load() {
			vm.putSlot(r)
			return 0, errFreed()
		}
		ret, _, err := vm.runMemory(r, mem, nil, true)
		vm.putSlot(r)
		return ret, err
	}
	if !vm.acquire() {
		return 0, errFreed()
	}
	// Only the stack is prepared: a run that never leaves the machine
	// code needs nothing else from the Env.
	env := vm.ivm.AcquireStack()
	ret, bound, err := vm.runMemory(runOf(env), mem, nil, false)
	if bound {
		vm.ivm.ReleaseEnv(env)
	} else {
		vm.ivm.ReleaseStack(env) // the program never left the machine code
	}
	vm.release()
	return ret, err
}

// RunMemory runs the program with r1 = the address of mem and
// r2 = len(mem), exactly like VM.RunMemory, in the Runner's own state.
func (rn *Runner) RunMemory(mem []byte) (uint64, error) { return runnerMemory(rn, mem) }

// runnerMemory is Runner.RunMemory (trampoline_amd64.s). A run whose setup
// repeats the last one's (run.quickMem is the Runner's VM, which is not
// closed, and mem is the memory of the tables) it makes itself, as
// enterQuick would, so that such a run is one frame below the caller's;
// for others it jumps to runnerMemorySlow, and when the code leaves to Go
// for something other than its end, to runnerMemoryResume.
//
// It is not go:noescape: the Go functions it jumps to keep mem in the
// Env (regions, tables) while Go code runs, and a caller's buffer the
// compiler put on the goroutine stack would move when that stack grows
// or shrinks during a helper call, leaving the run to store into freed
// stack (TestAttackRunnerStackMemory).
func runnerMemory(rn *Runner, mem []byte) (uint64, error)

// runnerMemorySlow is Runner.RunMemory for runs that are not quick.
//
//lint:ignore U1000 called from runnerMemory (trampoline_amd64.s)
func runnerMemorySlow(rn *Runner, mem []byte) (uint64, error) {
	ret, _, err := rn.vm.runMemory(rn.r, mem, rn, true)
	return ret, err
}

// runnerMemoryResume finishes a quick run whose code returned to Go for
// something other than its end, with the state as the trampoline stored it.
//
//lint:ignore U1000 called from runnerMemory (trampoline_amd64.s)
func runnerMemoryResume(rn *Runner, mem []byte) (uint64, error) {
	ret, _, err := rn.vm.afterMem(rn.r, mem, true)
	return ret, err
}

// other is a Runner's RunMemory when it is closed, runs in interp, or
// its program does not take raw memory.
func (rn *Runner) other(mem []byte) (uint64, error) {
	if rn.ir != nil {
		return rn.ir.RunMemory(mem)
	}
	if rn.r == nil || rn.vm.closed.Load() {
		return 0, errRunnerClosed()
	}
	return 0, rn.vm.wantType(prog.UnspecifiedProgram)
}

// newRun takes an Env from the VM for a Runner.
func (vm *VM) newRun() *run { return runOf(vm.ivm.AcquireStack()) }

// releaseRun gives a Runner's Env back; runs leave it unbound.
func (vm *VM) releaseRun(r *run) { vm.ivm.ReleaseStack(r.env) }

// cache fills in what the raw-memory runs of vm in r need.
func (r *run) cache(vm *VM) {
	r.owner, r.xm = vm, vm.code.mem
	r.entry = r.xm.entry()
	r.quickMem, r.quickSKB = nil, nil
	r.slice = min(vm.budget, budgetSlice)
	r.reserve = vm.budget - r.slice
	r.top = engine.StackTop(r.env)
	r.zero = vm.ivm.ReachableStack(r.env)
	r.lo = r.top - uint64(len(r.zero))
	st := &r.st
	st.qTop, st.qLo, st.qBudget, st.qReserve, st.qEntry = r.top, r.lo, r.slice, r.reserve, r.entry
	st.qZero = 0
	if len(r.zero) == 8 {
		st.qZero = uintptr(unsafe.Pointer(unsafe.SliceData(r.zero)))
	}
}

// setTabOK sets r.tabOK, and opens or closes the short paths with it.
func (r *run) setTabOK(ok bool) {
	r.tabOK = ok
	r.quickMem, r.quickSKB = nil, nil
	if !ok || r.owner == nil || (len(r.zero) != 0 && len(r.zero) != 8) {
		return
	}
	switch r.owner.typ {
	case prog.UnspecifiedProgram:
		r.quickMem = r.owner
	case prog.SocketFilter:
		if r.tabA == 0 && r.tabN == 0 {
			r.quickSKB = r.owner
		}
	}
}

// runMemory is a raw-memory run in r, for Runner rn or (rn nil) for
// VM.RunMemory. For VM.RunMemory, r's Env comes from AcquireStack, is
// bound only when the code first leaves to Go, and bound reports whether
// it was: the Env then needs ReleaseEnv rather than ReleaseStack. A
// Runner's Env stays with the Runner: runMemory zeroes its reachable stack
// first and ends a bound run with EndEnv itself. The region tables are
// what syncRegions builds after BindMemory: mem, readable and writable.
// This is the path of every short run, so it enters the code itself and
// calls out only for exits other than the end of the program.
func (vm *VM) runMemory(r *run, mem []byte, rn *Runner, kept bool) (ret uint64, bound bool, err error) {
	if rn != nil && (r == nil || vm.typ != prog.UnspecifiedProgram || vm.closed.Load()) {
		ret, err = rn.other(mem)
		return ret, false, err
	}
	if r.owner != vm {
		r.cache(vm)
	}
	if kept {
		zeroStack(r.zero)
	}
	st := &r.st
	a, n := addrOfSlice(mem), uint64(len(mem))
	st.setStack(r.top, r.lo)
	st.budget, st.reserve = r.slice, r.reserve
	st.pkt, st.pktLen = a, n
	if !r.tabOK || a != r.tabA || n != r.tabN {
		r.memTables(a, n)
	}
	// enterMem sets the registers itself: r1 = mem, r2 = its length,
	// r10 = the stack top, the rest zero.
	if st.entry = r.xm.entry(); st.entry == 0 {
		return 0, false, errFreed()
	}
	enterMem(st, a, n, r.top)
	if st.exit == exitDone {
		// Go was not needed: the Env is still unbound and the tables
		// are as memTables left them.
		r.setTabOK(true)
		return st.regs[0], false, nil
	}
	return vm.afterMem(r, mem, kept)
}

// afterMem finishes a raw-memory run in r whose code returned to Go for
// something other than its end.
func (vm *VM) afterMem(r *run, mem []byte, kept bool) (ret uint64, bound bool, err error) {
	st := &r.st
	if st.exit == exitAbort { // as in runContext
		r.setTabOK(st.depth == 0)
		return st.regs[0], false, nil
	}
	ret, bound, err = vm.resumeMemory(r, mem)
	if bound && kept {
		vm.ivm.EndEnv(r.env) // as ReleaseEnv does, keeping the Env
	}
	return ret, bound, err
}

// resumeMemory continues a raw-memory run whose code returned to Go for
// something other than its end; only then does the run state need the
// VM and the memory (to bind the Env).
func (vm *VM) resumeMemory(r *run, mem []byte) (ret uint64, bound bool, err error) {
	r.begin(vm)
	r.lazy, r.kind, r.mem = true, ctxMem, mem
	r.setTabOK(false)
	ret, err = vm.code.handle(&r.st, r)
	bound = !r.lazy
	r.end()
	return ret, bound, err
}

// begin starts the Go side of a run of vm in r.
func (r *run) begin(vm *VM) {
	r.vm, r.root, r.tailCalls = vm, vm, 0
	r.entered = append(r.entered[:0], vm) // the caller holds vm's reference
}

// end ends the Go side of a run: it drops the references to the
// tail-call targets the run entered (no frame can return into them any
// more), and everything else, so that an idle Env keeps no JIT VM or
// buffer alive.
func (r *run) end() {
	for k := 1; k < len(r.entered); k++ {
		r.entered[k].release()
		r.entered[k] = nil
	}
	if len(r.entered) > 0 {
		r.entered[0] = nil
		r.entered = r.entered[:0]
	}
	r.vm, r.root, r.mem, r.lazy = nil, nil, nil, false
	r.lastStorage = nil
	r.pkt, r.meta, r.kregs = nil, nil, nil
}

// vmAt returns the entered VM whose machine code holds pc.
func (r *run) vmAt(pc uintptr) *VM {
	for k := len(r.entered) - 1; k > 0; k-- {
		if v := r.entered[k]; v.code.holds(pc) {
			return v
		}
	}
	return r.root
}

// sync prepares the Go side for an exit at st: it binds a lazily
// prepared Env, makes the VM whose code the exit left from the running
// one (for the Env too: its maps and helpers), and sets the Env's stack
// region to the current frame.
func (r *run) sync(st *state) {
	r.ready()
	r.vm = r.vmAt(st.entry)
	engine.SetRunning(r.env, r.vm.ivm)
	if regs := engine.Regions(r.env); len(regs) > 0 {
		regs[0].Start = st.stkLo
	}
}

// memTables makes [a, a+n) the only region of the tables and forgets the
// cached stack region.
func (r *run) memTables(a, n uint64) {
	st := &r.st
	oldR, oldW := st.nread, st.nwrite
	r.dropKeeps()
	st.nread, st.nwrite = 0, 0
	if n > 0 {
		st.rtab[0].set(a, a+n)
		st.wtab[0] = st.rtab[0]
		st.nread, st.nwrite = 1, 1
	}
	st.truncate(oldR, oldW)
	st.stk.clear()
	st.grant.clear()
	r.tabA, r.tabN = a, n
	st.nmax, st.ctxLim, st.pmax = 0, 0, 0
}

// flush gives the Env the grants the code recorded since Go last saw
// them (state.pend: map values it resolved, array elements and hash
// values it looked up), as the helpers and LD_IMM64 loads interp runs
// would have, so that Go sees the same regions as interp from here on,
// and reports whether there were any. The Env calls it when it needs
// them (the source engine.SetPendingRegions sets for a bound run), and
// syncRegions before it rebuilds the tables. The regions reach the
// tables at the next syncRegions (run.flushed says one is due).
func (r *run) flush() bool {
	st := &r.st
	n := min(st.npend, maxPend)
	if n == 0 {
		return false
	}
	st.npend = 0 // before AddRegion, which may call flush
	r.flushed = true
	for k := range n {
		g := st.pend[k]
		if p := st.pkeep[k]; p != nil {
			// A hash map value (fastpath_hash_amd64.go): pkeep kept it
			// alive since the code granted it; the Env's region keeps
			// it from here on.
			st.pkeep[k] = nil
			r.env.AddRegion(unsafe.Slice((*byte)(p), g.n), interp.PermRead|interp.PermWrite)
			continue
		}
		if b := r.storageAt(g.start, g.n); b != nil {
			// The room state.pmax left means AddRegion cannot fail.
			r.env.AddRegion(b, interp.PermRead|interp.PermWrite)
		}
	}
	st.pmax -= min(st.pmax, n) // the Env holds them now
	return true
}

// dropKeeps forgets the grants the code recorded since Go last took them
// (state.pend), and the hash map values they kept alive, for a run that
// ends or starts without needing them.
func (r *run) dropKeeps() {
	st := &r.st
	for k := range min(st.npend, maxPend) {
		if st.pkeep[k] != nil {
			st.pkeep[k] = nil
		}
	}
	st.npend = 0
}

// storageAt returns the n bytes at addr in the storage of the maps whose
// regions the code of the VMs the run entered may make.
func (r *run) storageAt(addr, n uint64) []byte {
	if b := r.lastStorage; b != nil {
		if off := addr - addrOfSlice(b); off < uint64(len(b)) && n <= uint64(len(b))-off {
			return b[off : off+n : off+n]
		}
	}
	for _, v := range r.entered {
		for _, b := range v.code.comp.storages {
			if off := addr - addrOfSlice(b); off < uint64(len(b)) && n <= uint64(len(b))-off {
				r.lastStorage = b
				return b[off : off+n : off+n]
			}
		}
	}
	return nil
}

// ready binds a lazily prepared Env (see RunMemory) before Go uses it.
// Every host method calls it first.
func (r *run) ready() {
	if r.lazy {
		r.bind()
	}
}

// bind gives a lazily prepared Env the same state and region tables as an
// eager bind of its context would, with the stack as the program left it.
func (r *run) bind() {
	r.lazy = false
	r.root.ivm.BindEnv(r.env)
	switch r.kind {
	case ctxSKB:
		engine.BindSocketFilter(r.env, r.pkt, r.meta)
	case ctxKprobe:
		engine.BindKprobe(r.env, r.kregs)
	default:
		engine.BindMemory(r.env, r.mem)
	}
	r.syncRegions()
}

// The contexts a lazily prepared run binds (run.kind).
const (
	ctxMem = iota
	ctxSKB
	ctxKprobe
)

// runContext is a socket-filter (kind ctxSKB, on pkt and meta) or kprobe
// (ctxKprobe, on regs) run in r, for Runner rn or (rn nil) for the VM's
// method, which took r's Env with AcquireStack. As runMemory does, it
// enters the code with only the stack prepared: r1 is the address the
// context will have in the Env, and the context itself is bound, and its
// bytes written, only when the code first leaves to Go (and then only
// when the program reads them), so a filter that reads only the packet
// pays for neither. bound reports whether the Env was bound.
func (vm *VM) runContext(r *run, kept bool, kind int, pkt []byte, meta *interp.SKBMeta, regs *interp.PtRegs) (ret uint64, bound bool, err error) {
	if r.owner != vm {
		r.cache(vm)
	}
	if kept {
		zeroStack(r.zero)
	}
	st := &r.st
	var r1 uint64
	if kind == ctxSKB {
		r1 = engine.SocketFilterContext(r.env)
	} else {
		r1 = engine.KprobeContext(r.env)
	}
	st.setStack(r.top, r.lo)
	st.budget, st.reserve = r.slice, r.reserve
	st.pkt, st.pktLen = addrOfSlice(pkt), uint64(len(pkt))
	if !r.tabOK || r.tabA != 0 || r.tabN != 0 {
		r.memTables(0, 0) // no region but the stack until the bind
	}
	// enterMem sets the registers: r1 = the context, r10 = the stack top,
	// the rest zero.
	if st.entry = r.xm.entry(); st.entry == 0 {
		return 0, false, errFreed()
	}
	enterMem(st, r1, 0, r.top)
	if st.exit == exitDone {
		r.setTabOK(true)
		return st.regs[0], false, nil
	}
	return vm.afterContext(r, kept, kind, pkt, meta, regs)
}

// afterContext finishes a socket-filter or kprobe run in r whose code
// returned to Go for something other than its end.
func (vm *VM) afterContext(r *run, kept bool, kind int, pkt []byte, meta *interp.SKBMeta, regs *interp.PtRegs) (ret uint64, bound bool, err error) {
	st := &r.st
	if st.exit == exitAbort {
		// LD_ABS/LD_IND past the packet: r0 = 0, no Go needed. A run
		// that ended in a callee may have its frame cached: the tables
		// are rebuilt next time. At depth 0 they are as good as after
		// an exitDone.
		r.setTabOK(st.depth == 0)
		return st.regs[0], false, nil
	}
	r.begin(vm)
	r.lazy, r.kind, r.pkt, r.meta, r.kregs = true, kind, pkt, meta, regs
	r.setTabOK(false)
	ret, err = vm.code.handle(st, r)
	bound = !r.lazy
	r.end()
	if bound && kept {
		vm.ivm.EndEnv(r.env) // as ReleaseEnv does, keeping the Env
	}
	return ret, bound, err
}

// runVM is a VM's (not a Runner's) socket-filter or kprobe run.
func (vm *VM) runVM(kind int, pkt []byte, meta *interp.SKBMeta, regs *interp.PtRegs) (uint64, error) {
	if r := vm.slot.Swap(nil); r != nil { // see RunMemory
		if vm.closed.Load() {
			vm.putSlot(r)
			return 0, errFreed()
		}
		ret, _, err := vm.runContext(r, true, kind, pkt, meta, regs)
		vm.putSlot(r)
		return ret, err
	}
	if !vm.acquire() {
		return 0, errFreed()
	}
	env := vm.ivm.AcquireStack()
	ret, bound, err := vm.runContext(runOf(env), false, kind, pkt, meta, regs)
	if bound {
		vm.ivm.ReleaseEnv(env)
	} else {
		vm.ivm.ReleaseStack(env) // the program never left the machine code
	}
	vm.release()
	return ret, err
}

// RunSocketFilter runs a socket filter on pkt, exactly like
// VM.RunSocketFilter, in the Runner's own state.
func (rn *Runner) RunSocketFilter(pkt []byte, meta *interp.SKBMeta) (uint32, error) {
	r, vm := rn.r, rn.vm
	if r != nil && r.quickSKB == vm && !vm.closed.Load() {
		// The short path of a run that repeats the last one's setup
		// (see run.quickSKB).
		r0 := enterQuick(&r.st, engine.SocketFilterContext(r.env), 0, addrOfSlice(pkt), uint64(len(pkt)))
		if r.st.exit == exitDone {
			return uint32(r0), nil
		}
		ret, _, err := vm.afterContext(r, true, ctxSKB, pkt, meta, nil)
		return uint32(ret), err
	}
	if r == nil || vm.typ != prog.SocketFilter || vm.closed.Load() {
		if rn.ir != nil {
			return rn.ir.RunSocketFilter(pkt, meta)
		}
		return 0, rn.otherErr(prog.SocketFilter)
	}
	ret, _, err := vm.runContext(r, true, ctxSKB, pkt, meta, nil)
	return uint32(ret), err
}

// RunKprobe runs a kprobe program on regs, exactly like VM.RunKprobe, in
// the Runner's own state.
func (rn *Runner) RunKprobe(regs *interp.PtRegs) (uint64, error) {
	r, vm := rn.r, rn.vm
	if r == nil || vm.typ != prog.Kprobe || vm.closed.Load() {
		if rn.ir != nil {
			return rn.ir.RunKprobe(regs)
		}
		return 0, rn.otherErr(prog.Kprobe)
	}
	ret, _, err := vm.runContext(r, true, ctxKprobe, nil, nil, regs)
	return ret, err
}

// otherErr is the error of a Runner's RunSocketFilter or RunKprobe (t)
// when it is closed or its program takes another context.
func (rn *Runner) otherErr(t prog.Type) error {
	if rn.r == nil || rn.vm.closed.Load() {
		return errRunnerClosed()
	}
	return rn.vm.wantType(t)
}

// RunSocketFilter runs a socket filter on pkt with an __sk_buff context,
// like interp.VM.RunSocketFilter.
func (vm *VM) RunSocketFilter(pkt []byte, meta *interp.SKBMeta) (uint32, error) {
	if vm.code == nil {
		return vm.ivm.RunSocketFilter(pkt, meta)
	}
	if vm.typ != prog.SocketFilter {
		return 0, vm.wantType(prog.SocketFilter)
	}
	ret, err := vm.runVM(ctxSKB, pkt, meta, nil)
	return uint32(ret), err
}

// RunKprobe runs a kprobe program on a pt_regs context, like
// interp.VM.RunKprobe.
func (vm *VM) RunKprobe(regs *interp.PtRegs) (uint64, error) {
	if vm.code == nil {
		return vm.ivm.RunKprobe(regs)
	}
	if vm.typ != prog.Kprobe {
		return 0, vm.wantType(prog.Kprobe)
	}
	return vm.runVM(ctxKprobe, nil, nil, regs)
}

// wantType returns the error interp gives for running a program of another
// type with the context of t.
func (vm *VM) wantType(t prog.Type) error {
	if vm.typ != t {
		// Delegate to interp for the exact error it gives.
		switch t {
		case prog.UnspecifiedProgram:
			_, err := vm.ivm.RunMemory(nil)
			return err
		case prog.SocketFilter:
			_, err := vm.ivm.RunSocketFilter(nil, nil)
			return err
		case prog.XDP:
			_, _, err := vm.ivm.RunXDP(nil, nil)
			return err
		case prog.SchedCLS, prog.SchedACT:
			_, _, err := vm.ivm.RunTC(nil, nil)
			return err
		default:
			_, err := vm.ivm.RunKprobe(&interp.PtRegs{})
			return err
		}
	}
	return nil
}

// setStack resets the call stack state for a run whose frame pointer is
// top: one frame, no calls, a full may_goto allowance. The main frame's
// region is [lo, top): the bytes the program can reach, which the run
// zeroed (interp.VM.ReachableStack); an address below them is outside
// every region, so no route (a guessed pointer, probe_read_kernel) leads
// to bytes an earlier run left.
func (st *state) setStack(top, lo uint64) {
	st.stkTop = top
	st.stkLo = lo
	st.depth = 0
	st.loops = maxLoops
}

// syncRegions copies the Env's region table (except region 0, the stack,
// which the generated code tracks itself) into the tables the generated
// code scans (emptying the entries it drops: state.sites), and forgets the
// cached stack region and any grant. Region 0's start follows the
// current call depth so that helpers see the same stack as interp's.
func (r *run) syncRegions() {
	st := &r.st
	r.flush()
	r.setTabOK(false)
	regs := engine.Regions(r.env)
	if len(regs) > 0 {
		regs[0].Start = st.stkLo
	}
	oldR, oldW := st.nread, st.nwrite
	st.nread, st.nwrite = 0, 0
	for k := 1; k < len(regs); k++ {
		g := &regs[k]
		if g.Checked() {
			continue
		}
		if g.Perm&interp.PermRead != 0 && st.nread < maxRegions {
			st.rtab[st.nread].set(g.Start, g.End)
			st.nread++
		}
		if g.Perm&interp.PermWrite != 0 && st.nwrite < maxRegions {
			st.wtab[st.nwrite].set(g.Start, g.End)
			st.nwrite++
		}
	}
	st.truncate(oldR, oldW)
	st.stk.clear()
	st.grant.clear()
	st.nmax, st.ctxLim, st.pmax = 0, 0, 0
	r.flushed = false
	if r.fast {
		envRoom := uint64(engine.MaxDynamicRegions - engine.DynamicRegions(r.env))
		room := min(maxRegions-st.nread, maxRegions-st.nwrite, envRoom)
		st.nmax = st.nread + room
		st.pmax = min(maxPend, envRoom)
		r.directReads()
	}
	if r.tc { // tc helpers move the packet, which LD_ABS reads
		p := r.env.Packet()
		st.pkt, st.pktLen = addrOfSlice(p), uint64(len(p))
	}
}

func (r *run) runErr(err error) error {
	return &interp.RunError{PC: int(r.st.pc), Err: err}
}

// call runs a helper through the Env exactly as interp's run loop does
// (engine.Call: the same registry, the same errors); helper 12
// (tail_call) switches to the target program.
func (r *run) call(st *state, callx bool) (bool, error) {
	r.sync(st)
	num := int64(st.arg)
	if !callx && insn.HelperFunc(num) == insn.FnTailCall {
		return false, r.tailCall(st)
	}
	if !callx && num == int64(insn.FnMapLookupElem) && r.vm.code.comp.leansOn(st.pc) && engine.StdHelpers(r.vm.ivm)&engine.StdMapLookup == 0 {
		return false, r.runErr(fmt.Errorf("%w: map_lookup_elem is no longer the engine's own helper, which jit.New compiled the accesses to its results for (register helpers before jit.New)", interp.ErrHelper))
	}
	ret, err := engine.Call(r.env, num, callx, st.regs[1], st.regs[2], st.regs[3], st.regs[4], st.regs[5])
	if err != nil {
		if err == interp.ErrHalt {
			st.regs[0] = ret
			return true, nil
		}
		return false, r.runErr(err)
	}
	st.regs[0] = ret
	if !callx && engine.RegionFree(r.vm.ivm, num) {
		return false, nil // the helper touched no region: the tables stand
	}
	if ret != 0 && num == int64(insn.FnMapLookupElem) && st.stdOK&engine.StdMapLookup != 0 && st.nread < st.nmax {
		// (Lookups grant read access, so each table grows by at most
		// one entry, which nmax leaves room for.)
		// The engine's map_lookup_elem added one region, for the value
		// at ret, to the Env: put only it in the tables.
		if g := dynamicRegion(r.env, ret); g != nil && g.Perm&interp.PermRead != 0 {
			r.addTables(g)
			return false, nil
		}
	}
	r.syncRegions()
	return false, nil
}

// directReads sets the context reads the code may make itself
// (engine.DirectReads).
func (r *run) directReads() {
	st := &r.st
	st.ctxLim = 0
	if start, mask, ok := engine.DirectReads(r.env); ok {
		st.ctxStart, st.ctxMask, st.ctxLim = start, mask, 4*64
	}
}

// dynamicRegion returns the helper-made region of e that starts at addr.
func dynamicRegion(e *engine.Env, addr uint64) *engine.Region {
	regs := engine.Regions(e)
	dyn := regs[len(regs)-engine.DynamicRegions(e):]
	k := sort.Search(len(dyn), func(k int) bool { return dyn[k].Start >= addr })
	if k < len(dyn) && dyn[k].Start == addr && !dyn[k].Checked() {
		return &dyn[k]
	}
	return nil
}

// addTables puts region g, which the Env knows of, in the tables (the
// caller checked nread < nmax).
func (r *run) addTables(g *engine.Region) {
	st := &r.st
	if g.Perm&interp.PermRead != 0 {
		st.rtab[st.nread].set(g.Start, g.End)
		st.nread++
	}
	if g.Perm&interp.PermWrite != 0 {
		st.wtab[st.nwrite].set(g.Start, g.End)
		st.nwrite++
	}
	// The Env holds one more helper-made region: the code may record one
	// grant fewer before Go takes them (flush must never find the Env
	// full).
	if st.pmax > 0 {
		st.pmax--
	}
}

// tailCall resolves a tail call through program array r2 at index r3 (its
// low 32 bits, as in the kernel and interp) as interp does; on success the
// run continues at the target's first instruction, otherwise after the
// call. A target that is closed (and not already running in this run)
// is an empty slot. A checked program may not tail-call an unchecked VM
// unless its Options.AllowUncheckedTailCalls says so.
func (r *run) tailCall(st *state) error {
	m, err := r.env.Map(st.regs[2])
	if err != nil {
		return nil
	}
	pa, ok := m.(*maps.ProgArray)
	index := uint32(st.regs[3])
	if !ok || index >= m.MapSpec().MaxEntries || r.tailCalls >= interp.MaxTailCalls {
		return nil
	}
	target := lookupTarget(pa.Program(index))
	if target == nil || target.code == nil || target.typ != r.root.typ {
		return nil
	}
	if target.opts.Unchecked && !r.vm.opts.Unchecked && !r.vm.opts.AllowUncheckedTailCalls {
		return r.runErr(fmt.Errorf("%w: entry %d of %s holds an unchecked VM, and this checked program may not run it (Options.AllowUncheckedTailCalls)", ErrUncheckedTailCall, index, m.MapSpec().Name))
	}
	if !r.enter(target) {
		return nil
	}
	r.tailCalls++
	st.stdOK &= engine.StdHelpers(target.ivm)
	r.vm = target
	engine.SetRunning(r.env, target.ivm)
	st.loops = maxLoops
	st.entry = target.code.base
	return nil
}

// enter adds vm to the VMs the run has entered, taking a reference that
// keeps its code mapped until the run ends; false if vm is closed.
func (r *run) enter(vm *VM) bool {
	for _, v := range r.entered {
		if v == vm {
			return true
		}
	}
	if !vm.acquire() {
		return false
	}
	r.entered = append(r.entered, vm)
	return true
}

// miss checks an access the generated code found in no cached region with
// Env.Bytes, which gives interp's verdict and error.
func (r *run) miss(st *state, addr uint64, n int, write bool) error {
	r.sync(st)
	pending := engine.ContextPending(r.env)
	if _, err := r.env.Bytes(addr, n, write); err != nil {
		if !write && r.probeMem(st, err) { // a BPF_PROBE_MEM load reads 0 (trace_amd64.go)
			return nil
		}
		return r.runErr(err)
	}
	if pending && !engine.ContextPending(r.env) || r.flushed {
		// The context is built, or the code's grants went to the Env:
		// their regions may join the tables.
		r.syncRegions()
	} else if r.fast && !write {
		// A read through Go normalised the context (or left a narrow
		// read's quirk): direct reads may start or must stop.
		r.directReads()
	}
	if write && addr-st.ctxStart < st.ctxLim {
		// A store to the context: what it leaves may need the
		// context's rules before a read (tcNormalize); reads go
		// through Go until the next syncRegions checks.
		st.ctxLim = 0
	}
	st.grantAccess(addr, n, write)
	return nil
}

// mapValue computes an LD_IMM64 map value address as interp does: the
// array's storage becomes a region, the result is its address plus the
// offset.
func (r *run) mapValue(st *state, idx int) (uint64, error) {
	r.sync(st)
	ref := r.vm.code.comp.mapValues[idx]
	mi, err := mapIndex(r.vm.ivm, ref.ins)
	if err != nil {
		return 0, r.runErr(err)
	}
	addr, err := engine.MapValue(r.env, mi, uint64(ref.ins.MapValueOffset()))
	if err != nil {
		return 0, r.runErr(err)
	}
	r.syncRegions()
	return addr, nil
}

func (r *run) fail(st *state, reason uint64) error {
	r.ready()
	switch reason {
	case exitBudget:
		return r.runErr(fmt.Errorf("%w after %d instructions", interp.ErrBudgetExhausted, r.root.budget))
	case exitDepth:
		return r.runErr(fmt.Errorf("%w: a bpf-to-bpf call would make %d frames, the limit is %d (MAX_CALL_FRAMES)", interp.ErrCallDepth, st.depth+2, interp.MaxCallFrames))
	case exitAlign:
		return r.runErr(engine.MisalignedAtomic(int(st.info&0xff), st.arg))
	}
	return r.runErr(fmt.Errorf("jit: unexpected exit reason %d", reason))
}
