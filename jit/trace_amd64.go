//go:build amd64 && unix

package jit

import (
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
)

// runTrace is a tracing run (tracepoint, raw tracepoint, perf event) in
// r, for a Runner or the VM's slot (kept: r's stack needs zeroing) or for
// a fresh Env from AcquireStack.
func (vm *VM) runTrace(r *run, kept bool, k engine.TraceKind, record []byte, args []uint64, pd *interp.PerfEventData) (uint64, error) {
	return vm.runBound(r, kept, false, func(e *engine.Env) (uint64, error) {
		return engine.BindTrace(e, k, record, args, pd), nil
	})
}

// trace runs a tracing program of kind k on the VM's own state or a
// fresh one, after the checks interp makes.
func (vm *VM) trace(k engine.TraceKind, record []byte, args []uint64, pd *interp.PerfEventData) (uint64, error) {
	if err := engine.CheckTrace(vm.ivm, k, record, args); err != nil {
		return 0, err
	}
	if vm.code == nil {
		return vm.traceInterp(k, record, args, pd)
	}
	if r := vm.slot.Swap(nil); r != nil { // see RunMemory
		if vm.closed.Load() {
			vm.putSlot(r)
			return 0, errFreed()
		}
		ret, err := vm.runTrace(r, true, k, record, args, pd)
		vm.putSlot(r)
		return ret, err
	}
	if !vm.acquire() {
		return 0, errFreed()
	}
	env := vm.ivm.AcquireStack()
	ret, err := vm.runTrace(runOf(env), false, k, record, args, pd)
	vm.ivm.ReleaseStack(env)
	vm.release()
	return ret, err
}

// runnerTrace is a tracing run in the Runner's own state. Unlike a VM
// run, it keeps the Env bound after a run that leaves the binding as it
// was (engine.KeptBinding, no tail call, the main frame current), so
// that the next run only rebinds the context (engine.RebindTrace) and
// rebuilds the region tables, as interp's Runner does.
func (rn *Runner) runnerTrace(k engine.TraceKind, record []byte, args []uint64, pd *interp.PerfEventData) (uint64, error) {
	r, vm := rn.r, rn.vm
	if rn.ir != nil {
		return traceRunner(rn.ir, k, record, args, pd)
	}
	if r == nil || vm.closed.Load() {
		return 0, errRunnerClosed()
	}
	if err := engine.CheckTrace(vm.ivm, k, record, args); err != nil {
		return 0, err
	}
	r.startBound(vm, true)
	st := &r.st
	var r1 uint64
	if rn.traceBound {
		r1 = engine.RebindTrace(r.env, k, record, args, pd)
	} else {
		vm.ivm.BindEnv(r.env)
		r1 = engine.BindTrace(r.env, k, record, args, pd)
	}
	r.syncRegions()
	ret, err := vm.enterBound(r, r1)
	r.setTabOK(false)
	rn.traceBound = err == nil && r.tailCalls == 0 && st.depth == 0 && engine.KeptBinding(r.env)
	if !rn.traceBound {
		vm.ivm.EndEnv(r.env)
	}
	r.end()
	return ret, err
}

// unbindTrace ends the binding a tracing run of the Runner kept, if any.
func (rn *Runner) unbindTrace() {
	if rn.traceBound {
		rn.traceBound = false
		rn.vm.ivm.EndEnv(rn.r.env)
	}
}

// probeMem handles a load that missed every region in a program whose
// loads the kernel makes BPF_PROBE_MEM loads (Tracing and LSM programs,
// engine.ProbeMemFault): when the access is an LDX, its destination
// becomes 0 and the code resumes at the next instruction, as interp
// does. It reports whether it did. No host memory is read.
func (r *run) probeMem(st *state, err error) bool {
	if !engine.ProbeMemFault(r.vm.ivm, err) {
		return false
	}
	next, dst, ok := r.vm.code.loadAt(st.pc)
	if !ok {
		return false
	}
	st.regs[dst] = 0
	st.entry = next
	return true
}

// loadAt returns the code address of the instruction after the LDX at
// slot pc and the load's destination register; false if the instruction
// at pc is no LDX (an atomic, a load-acquire, a store).
func (c *code) loadAt(pc uint64) (uintptr, insn.Register, bool) {
	slot := uint64(0)
	for _, i := range c.ins {
		if slot > pc {
			break
		}
		if slot == pc {
			m := i.OpCode.Mode()
			next := int(slot) + 1
			if i.OpCode.Class() != insn.ClassLdX || m != insn.ModeMem && m != insn.ModeMemSX ||
				next >= len(c.comp.starts) || c.comp.starts[next] < 0 || i.Dst > insn.R10 {
				return 0, 0, false
			}
			return c.base + uintptr(c.comp.starts[next]), i.Dst, true
		}
		slot += uint64(i.Slots())
	}
	return 0, 0, false
}
