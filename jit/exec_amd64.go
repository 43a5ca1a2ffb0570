//go:build amd64 && unix

package jit

import (
	"errors"
	"fmt"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// run is the per-run state of the JIT: the machine state the generated
// code uses and the interp.Env it runs in. It lives in that Env
// (interp.Env.Engine), so that taking an Env from the interp VM gives both.
type run struct {
	st        state
	vm        *VM // the VM whose code is running (changes on tail calls)
	root      *VM // the VM the run started in
	env       *interp.Env
	tailCalls int
	// lazy says that env has only its stack prepared (RunMemory) and
	// needs BindEnv and BindMemory(mem) before Go uses it (ready).
	lazy bool
	mem  []byte
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
	// What the raw-memory runs of VM owner (a raw-memory program) need,
	// cached to keep them off the path of a short run: its code, its
	// budget, the stack top (r10), the stack bytes a Runner zeroes before
	// each run.
	owner  *VM
	xm     *execMem
	budget int64
	top    uint64
	zero   []byte
}

// runOf returns the run state kept in env, creating it on first use.
func runOf(env *interp.Env) *run {
	r, _ := env.Engine().(*run)
	if r == nil {
		r = &run{env: env}
		env.SetEngine(r)
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
	// Only the stack is prepared: a run that never leaves the machine
	// code needs nothing else from the Env.
	env := vm.ivm.AcquireStack()
	ret, bound, err := vm.runMemory(runOf(env), mem, nil)
	if bound {
		vm.ivm.ReleaseEnv(env)
	} else {
		vm.ivm.ReleaseStack(env) // the program never left the machine code
	}
	return ret, err
}

// RunMemory runs the program with r1 = the address of mem and
// r2 = len(mem), exactly like VM.RunMemory, in the Runner's own state.
func (rn *Runner) RunMemory(mem []byte) (uint64, error) {
	ret, _, err := rn.vm.runMemory(rn.r, mem, rn)
	return ret, err
}

// other is a Runner's RunMemory when it is closed, runs in interp, or
// its program does not take raw memory.
func (rn *Runner) other(mem []byte) (uint64, error) {
	if rn.ir != nil {
		return rn.ir.RunMemory(mem)
	}
	if rn.r == nil {
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
	r.owner, r.xm, r.budget = vm, vm.code.mem, vm.budget
	r.top = r.env.StackTop()
	r.zero = vm.ivm.ReachableStack(r.env)
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
func (vm *VM) runMemory(r *run, mem []byte, rn *Runner) (ret uint64, bound bool, err error) {
	if rn != nil {
		if r == nil || r.owner != vm {
			if r == nil || vm.typ != prog.UnspecifiedProgram {
				ret, err = rn.other(mem)
				return ret, false, err
			}
			r.cache(vm)
		}
		clear(r.zero)
	} else if r.owner != vm {
		r.cache(vm)
	}
	st := &r.st
	a, n := addrOfSlice(mem), uint64(len(mem))
	st.setStack(r.top)
	st.budget = r.budget
	st.pkt, st.pktLen = a, n
	if !r.tabOK || a != r.tabA || n != r.tabN {
		r.memTables(a, n)
	}
	// enterMem sets the registers itself: r1 = mem, r2 = its length,
	// r10 = the stack top, the rest zero (what setRegs stores).
	if !r.xm.enterMem(st, a, n, r.top) {
		return 0, false, errFreed()
	}
	if st.exit == exitDone {
		// Go was not needed: the Env is still unbound and the tables
		// are as memTables left them.
		r.tabOK = true
		return st.regs[0], false, nil
	}
	ret, bound, err = vm.resumeMemory(r, mem)
	if bound && rn != nil {
		vm.ivm.EndEnv(r.env) // as ReleaseEnv does, keeping the Env
	}
	return ret, bound, err
}

// resumeMemory continues a raw-memory run whose code returned to Go for
// something other than its end; only then does the run state need the
// VM and the memory (to bind the Env).
func (vm *VM) resumeMemory(r *run, mem []byte) (ret uint64, bound bool, err error) {
	r.vm, r.root, r.tailCalls, r.lazy, r.mem = vm, vm, 0, true, mem
	r.tabOK = false
	ret, err = vm.code.handle(&r.st, r)
	bound = !r.lazy
	r.vm, r.root, r.mem, r.lazy = nil, nil, nil, false // an idle Env keeps no JIT VM or buffer alive
	return ret, bound, err
}

// memTables makes [a, a+n) the only region of the tables and forgets the
// cached regions.
func (r *run) memTables(a, n uint64) {
	st := &r.st
	st.nread, st.nwrite = 0, 0
	if n > 0 {
		st.rtab[0].set(a, a+n)
		st.wtab[0] = st.rtab[0]
		st.nread, st.nwrite = 1, 1
	}
	st.mruR.clear()
	st.mruW.clear()
	st.grant.clear()
	r.tabA, r.tabN = a, n
}

// ready binds a lazily prepared Env (see RunMemory) before Go uses it.
// Every host method calls it first.
func (r *run) ready() {
	if r.lazy {
		r.bind()
	}
}

// bind gives a lazily prepared Env the same state and region tables as an
// eager BindMemory, with the stack as the program left it.
func (r *run) bind() {
	r.lazy = false
	r.root.ivm.BindEnv(r.env)
	r.env.BindMemory(r.mem)
	r.syncRegions()
}

// RunSocketFilter runs a socket filter on pkt with an __sk_buff context,
// like interp.VM.RunSocketFilter.
func (vm *VM) RunSocketFilter(pkt []byte, meta *interp.SKBMeta) (uint64, error) {
	if vm.code == nil {
		return vm.ivm.RunSocketFilter(pkt, meta)
	}
	if vm.typ != prog.SocketFilter {
		return 0, vm.wantType(prog.SocketFilter)
	}
	env := vm.ivm.AcquireEnv()
	r1 := env.BindSocketFilter(pkt, meta)
	return vm.run(env, r1, 0)
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
	env := vm.ivm.AcquireEnv()
	r1 := env.BindKprobe(regs)
	return vm.run(env, r1, 0)
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
		default:
			_, err := vm.ivm.RunKprobe(&interp.PtRegs{})
			return err
		}
	}
	return nil
}

func (vm *VM) run(env *interp.Env, r1, r2 uint64) (uint64, error) {
	r := runOf(env)
	vm.prepare(r, r1, r2, env.Packet())
	r.syncRegions()
	return vm.finish(r)
}

// prepare sets up the machine state of a run of vm with r1 and r2 and the
// packet LD_ABS and LD_IND read.
func (vm *VM) prepare(r *run, r1, r2 uint64, pkt []byte) {
	r.vm, r.root, r.tailCalls = vm, vm, 0
	st := &r.st
	st.setRegs(r1, r2, r.env.StackTop())
	st.budget = vm.budget
	st.pkt, st.pktLen = addrOfSlice(pkt), uint64(len(pkt))
}

// setRegs sets the registers, the stack and the call depth a run starts
// with.
func (st *state) setRegs(r1, r2, top uint64) {
	// One 8-byte store per register, as the trampoline loads them: a
	// composite literal would be zeroed with 16-byte stores, which the
	// trampoline's loads right after cannot always forward from.
	st.regs[0], st.regs[1], st.regs[2], st.regs[3] = 0, r1, r2, 0
	st.regs[4], st.regs[5], st.regs[6], st.regs[7] = 0, 0, 0, 0
	st.regs[8], st.regs[9], st.regs[10] = 0, 0, top
	st.setStack(top)
}

// setStack resets the call stack state for a run whose frame pointer is
// top: one frame, no calls, a full may_goto allowance.
func (st *state) setStack(top uint64) {
	st.stkTop = top
	st.stkLo = top - stackSize
	st.depth = 0
	st.loops = maxLoops
}

// finish runs the prepared machine state and gives the Env back.
func (vm *VM) finish(r *run) (uint64, error) {
	ret, err := vm.code.exec(&r.st, r)
	env, unbound := r.env, r.lazy
	r.vm, r.root, r.mem, r.lazy = nil, nil, nil, false // an idle Env keeps no JIT VM or buffer alive
	if unbound {
		vm.ivm.ReleaseStack(env) // the program never left the machine code
	} else {
		vm.ivm.ReleaseEnv(env)
	}
	return ret, err
}

// syncRegions copies the Env's region table (except region 0, the stack,
// which the generated code tracks itself) into the tables the generated
// code scans, and forgets the cached regions. Region 0's start follows the
// current call depth so that helpers see the same stack as interp's.
func (r *run) syncRegions() {
	st := &r.st
	r.tabOK = false
	regs := r.env.Regions()
	if len(regs) > 0 {
		regs[0].Start = st.stkLo
	}
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
	st.mruR.clear()
	st.mruW.clear()
	st.grant.clear()
}

func (r *run) runErr(err error) error {
	return &interp.RunError{PC: int(r.st.pc), Err: err}
}

// call runs a helper the way interp's run loop does, with the same
// errors; helper 12 (tail_call) switches to the target program.
func (r *run) call(st *state, callx bool) (bool, error) {
	r.ready()
	num := int64(st.arg)
	if !callx && insn.HelperFunc(num) == insn.FnTailCall {
		return false, r.tailCall(st)
	}
	h := r.vm.ivm.Helpers().Lookup(insn.HelperFunc(num))
	if h == nil {
		return false, r.runErr(fmt.Errorf("%w %d (%s): not in the VM's helper registry", interp.ErrUnknownHelper, num, insn.HelperFunc(num)))
	}
	if regs := r.env.Regions(); len(regs) > 0 {
		regs[0].Start = st.stkLo
	}
	ret, err := h(r.env, st.regs[1], st.regs[2], st.regs[3], st.regs[4], st.regs[5])
	if err != nil {
		if errors.Is(err, interp.ErrHalt) {
			st.regs[0] = ret
			return true, nil
		}
		if !errors.Is(err, interp.ErrMemoryAccess) {
			err = fmt.Errorf("%w: %s: %w", interp.ErrHelper, insn.HelperFunc(num), err)
		} else {
			err = fmt.Errorf("helper %s: %w", insn.HelperFunc(num), err)
		}
		return false, r.runErr(err)
	}
	st.regs[0] = ret
	r.syncRegions()
	return false, nil
}

// tailCall resolves a tail call through program array r2 at index r3 as
// interp does; on success the run continues at the target's first
// instruction, otherwise after the call.
func (r *run) tailCall(st *state) error {
	m, err := r.env.Map(st.regs[2])
	if err != nil {
		return nil
	}
	pa, ok := m.(*maps.ProgArray)
	index := st.regs[3]
	if !ok || index >= uint64(m.MapSpec().MaxEntries) || r.tailCalls >= interp.MaxTailCalls {
		return nil
	}
	target := lookupTarget(pa.Program(uint32(index)))
	if target == nil || target.code == nil || target.ivm.Spec().Type != r.root.ivm.Spec().Type || target.code.mem.mem == nil {
		return nil
	}
	r.tailCalls++
	r.vm = target
	st.loops = maxLoops
	st.entry = target.code.mem.addr()
	return nil
}

// miss checks an access the generated code found in no cached region with
// Env.Bytes, which gives interp's verdict and error.
func (r *run) miss(st *state, addr uint64, n int, write bool) error {
	r.ready()
	if regs := r.env.Regions(); len(regs) > 0 {
		regs[0].Start = st.stkLo
	}
	if _, err := r.env.Bytes(addr, n, write); err != nil {
		return r.runErr(err)
	}
	st.grantAccess(addr, n, write)
	return nil
}

// mapValue computes an LD_IMM64 map value address as interp does: the
// array's storage becomes a region, the result is its address plus the
// offset.
func (r *run) mapValue(st *state, idx int) (uint64, error) {
	r.ready()
	ref := r.vm.code.comp.mapValues[idx]
	mi, err := mapIndex(r.vm.ivm, ref.ins)
	if err != nil {
		return 0, r.runErr(err)
	}
	arr, ok := r.vm.ivm.Maps()[mi].(*maps.Array)
	if !ok {
		return 0, r.runErr(fmt.Errorf("%w: direct value access needs an array map", interp.ErrMemoryAccess))
	}
	addr, err := r.env.AddRegion(arr.Storage(0), interp.PermRead|interp.PermWrite)
	if err != nil {
		return 0, r.runErr(err)
	}
	r.syncRegions()
	return addr + uint64(ref.ins.MapValueOffset()), nil
}

func (r *run) fail(st *state, reason uint64) error {
	r.ready()
	switch reason {
	case exitBudget:
		return r.runErr(fmt.Errorf("%w after %d instructions", interp.ErrBudgetExhausted, r.vm.budget))
	case exitDepth:
		return r.runErr(fmt.Errorf("%w: a bpf-to-bpf call would make %d frames, the limit is %d (MAX_CALL_FRAMES)", interp.ErrCallDepth, st.depth+2, interp.MaxCallFrames))
	case exitAlign:
		return r.runErr(interp.MisalignedAtomic(int(st.info&0xff), st.arg))
	}
	return r.runErr(fmt.Errorf("jit: unexpected exit reason %d", reason))
}
