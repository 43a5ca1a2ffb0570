package engine

import "fmt"

// Runner runs a VM's raw-memory program on one goroutine, run after run,
// in a machine state (Env: stack, registers, region table) it owns, so
// that a run skips the atomic operations VM.RunMemory uses to take an Env
// from the VM and give it back. Results, errors and memory effects are
// exactly VM.RunMemory's, and each run starts with a zeroed stack frame as
// every VM run does.
//
// A Runner is NOT safe for concurrent use: make one per goroutine (a VM
// may have any number). Close gives its Env back to the VM; a Runner must
// not be used after Close (its methods then return an error wrapping
// ErrClosed).
//
// A Runner covers raw-memory programs (prog.UnspecifiedProgram) only; for
// other program types RunMemory returns the error VM.RunMemory gives.
type Runner struct {
	vm  *VM
	env *Env // nil after Close
}

// NewRunner returns a Runner for vm with an Env of its own. The error is
// always nil here; it is there for engines (jit.VM.NewRunner) that can
// fail.
func (vm *VM) NewRunner() (*Runner, error) {
	return &Runner{vm: vm, env: vm.take()}, nil
}

// RunMemory runs the program with r1 = the address of mem and
// r2 = len(mem), exactly like VM.RunMemory.
func (r *Runner) RunMemory(mem []byte) (uint64, error) {
	e := r.env
	if e == nil {
		return 0, fmt.Errorf("interp: Runner.RunMemory: %w", ErrClosed)
	}
	if err := r.vm.wantCtx(ctxMemory); err != nil {
		return 0, err
	}
	return r.vm.runMemory(e, mem)
}

// Close gives the Runner's Env back to its VM. Closing twice is a no-op.
func (r *Runner) Close() error {
	if r.env != nil {
		r.vm.put(r.env)
		r.env = nil
	}
	return nil
}
