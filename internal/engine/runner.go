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
// Each Run method takes the programs VM's method of the same name takes,
// and returns the error it gives for other program types.
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

// RunSocketFilter runs a socket filter on pkt, exactly like
// VM.RunSocketFilter, in the Runner's Env.
func (r *Runner) RunSocketFilter(pkt []byte, meta *SKBMeta) (uint64, error) {
	e := r.env
	if e == nil {
		return 0, fmt.Errorf("interp: Runner.RunSocketFilter: %w", ErrClosed)
	}
	if err := r.vm.wantCtx(ctxSocketFilter); err != nil {
		return 0, err
	}
	r.vm.StartEnv(e)
	ret, err := r.vm.exec(e, e.bindSocketFilter(pkt, meta), 0)
	r.vm.EndEnv(e)
	return ret, err
}

// RunKprobe runs a kprobe program on regs, exactly like VM.RunKprobe, in
// the Runner's Env.
func (r *Runner) RunKprobe(regs *PtRegs) (uint64, error) {
	e := r.env
	if e == nil {
		return 0, fmt.Errorf("interp: Runner.RunKprobe: %w", ErrClosed)
	}
	if err := r.vm.wantCtx(ctxKprobe); err != nil {
		return 0, err
	}
	r.vm.StartEnv(e)
	ret, err := r.vm.exec(e, e.bindKprobe(regs), 0)
	r.vm.EndEnv(e)
	return ret, err
}

// Close gives the Runner's Env back to its VM. Closing twice is a no-op.
func (r *Runner) Close() error {
	if r.env != nil {
		r.vm.put(r.env)
		r.env = nil
	}
	return nil
}
