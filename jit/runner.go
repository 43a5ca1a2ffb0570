package jit

import (
	"fmt"

	"github.com/purebpf/purebpf/interp"
)

// Runner is the single-goroutine fast path of a VM: it owns one machine
// state (the engine's Env with the JIT's registers, region tables and
// stack) for as many runs as its user makes, so that a run does not take
// that state from the VM and give it back with atomic operations, and
// rebinds only what changes between runs: r1 and the memory region or
// packet, the budget, and the stack bytes the program can reach (zeroed,
// as in every run, so that no run sees what an earlier one left there).
// A socket filter's or kprobe's context is bound only when the code
// first leaves to Go. Everything else, and everything that leaves the
// machine code for Go (helpers, memory accesses outside the cached
// regions, errors), is exactly what the VM's methods do, with the same
// results and errors.
//
// An XDP or tc run keeps its packet buffer for the Runner's next run, and
// the output packet RunXDP and RunTC return is a view into it, like
// bufio.Scanner.Bytes: valid until the Runner's next run or Close, which
// may overwrite it (VM.RunXDP and VM.RunTC return a fresh copy). The next
// run clears every byte an earlier run can have left where the program
// can reach it.
//
// A Runner is NOT safe for concurrent use: make one per goroutine (a VM
// may have any number). Close gives its state back to the VM. After Close,
// or after the VM's Close, its methods return an error wrapping ErrClosed.
// An open Runner keeps the VM's code mapped: closing the VM while one of
// its Runners runs is safe, and the code is unmapped when the last Runner
// is closed.
//
// Each Run method takes the programs the VM's method of the same name
// takes and returns the error it gives for other program types. When the
// VM runs in interp (Options.Fallback), the Runner is an interp.Runner.
type Runner struct {
	vm *VM
	r  *run           // the compiled program's run state; nil after Close
	ir *interp.Runner // when the program runs in interp
	// slot says that r is the VM's own run state, borrowed (VM.slot).
	slot bool
	// traceBound says that r's Env is still bound from the Runner's last
	// tracing run, for the next one to rebind (trace_amd64.go).
	traceBound bool
	// xdpBound says that r's Env is still bound from the Runner's last
	// XDP run, for the next one to rebind (xdprunner_amd64.go).
	xdpBound bool
	// xdpQuick says that the last XDP run never left the machine code,
	// so that the next one may take quickXDP.
	xdpQuick bool
}

// ErrClosed is wrapped by the error of a run on a closed VM or Runner. It
// is interp.ErrClosed.
var ErrClosed = interp.ErrClosed

// NewRunner returns a Runner for vm. It fails with an error wrapping
// ErrClosed if vm is closed.
func (vm *VM) NewRunner() (*Runner, error) {
	if vm.code == nil {
		ir, err := vm.pub.NewRunner()
		if err != nil {
			return nil, err
		}
		return &Runner{vm: vm, ir: ir}, nil
	}
	if !vm.acquire() { // held until Close: the code stays mapped for the Runner
		return nil, fmt.Errorf("jit: NewRunner: %w", ErrClosed)
	}
	if r := vm.slot.Swap(nil); r != nil {
		// The VM's own run state is idle: the Runner borrows it (VM runs
		// meanwhile take state from the pool), so that Runner and VM runs
		// see the same stack addresses.
		r.keepPackets(true)
		return &Runner{vm: vm, r: r, slot: true}, nil
	}
	r := vm.newRun()
	r.keepPackets(true)
	return &Runner{vm: vm, r: r}, nil
}

// Close gives the Runner's machine state back to its VM. Closing twice is
// a no-op.
func (rn *Runner) Close() error {
	if rn.ir != nil {
		err := rn.ir.Close()
		rn.ir = nil
		return err
	}
	if rn.r != nil {
		rn.unbindTrace()
		rn.unbindXDP()
		rn.r.keepPackets(false)
		if rn.slot {
			rn.vm.putSlot(rn.r)
		} else {
			rn.vm.releaseRun(rn.r)
		}
		rn.r = nil
		rn.vm.release()
	}
	return nil
}

// errRunnerClosed is the error of a run on a closed Runner.
func errRunnerClosed() error {
	return fmt.Errorf("jit: Runner.RunMemory: %w", ErrClosed)
}
