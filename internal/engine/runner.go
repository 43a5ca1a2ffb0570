package engine

import "fmt"

// Runner runs a VM's program on one goroutine, run after run, in a
// machine state (Env: stack, registers, region table) it owns, so that a
// run skips the atomic operations VM.RunMemory uses to take an Env from
// the VM and give it back. Results, errors and memory effects are exactly
// the VM's, and each run starts with a zeroed stack frame as every VM run
// does.
//
// A run that leaves its binding as the Bind method made it (see
// Env.rebindable) keeps the Env bound for the next run of the Runner,
// which then only rebinds what changes (rebindMemory, rebindSocketFilter,
// rebindKprobe) instead of starting, binding and ending the Env: that is
// most of the fixed cost of a short run. An XDP run keeps its binding
// whenever KeepXDP allows, and the next one rebinds it (RebindXDP). Until its next run or Close, the
// Runner therefore still refers to the last run's memory, packet,
// metadata or registers.
//
// An XDP or tc run of a Runner keeps its packet buffer (the XDP page, the
// tc buffer) for the next run, which clears only the bytes an earlier run
// can have left where the program can reach them. The packet RunXDP and
// RunTC return is therefore a view into that buffer, like
// bufio.Scanner.Bytes: it is valid until the Runner's next run or Close,
// which may overwrite it; copy it to keep it. (VM.RunXDP and VM.RunTC
// return a fresh copy.)
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
	// bound says that env is still bound from the Runner's last run (to
	// the context of the VM's program type).
	bound bool
}

// NewRunner returns a Runner for vm with an Env of its own. The error is
// always nil here; it is there for engines (jit.VM.NewRunner) that can
// fail.
func (vm *VM) NewRunner() (*Runner, error) {
	e := vm.take()
	KeepPackets(e, true)
	return &Runner{vm: vm, env: e}, nil
}

// RunMemory runs the program with r1 = the address of mem and
// r2 = len(mem), exactly like VM.RunMemory.
func (r *Runner) RunMemory(mem []byte) (uint64, error) {
	e, vm := r.env, r.vm
	if e == nil {
		return 0, fmt.Errorf("interp: Runner.RunMemory: %w", ErrClosed)
	}
	if vm.ctx != ctxMemory {
		return 0, vm.wantCtx(ctxMemory)
	}
	var ret uint64
	var err error
	if r.bound && e.rebindable(mem) {
		e.zeroStack(vm.prog)
		r1, r2 := e.rebindMemory(mem)
		if e.clean {
			ret, err = e.rerun(r1, r2)
			if err == nil && e.clean {
				return ret, nil // still bound (see keep)
			}
		} else {
			ret, err = vm.exec(e, r1, r2)
		}
	} else {
		r.unbind()
		vm.StartEnv(e)
		r1, r2 := e.bindMemory(mem)
		ret, err = vm.exec(e, r1, r2)
	}
	r.keep(err)
	return ret, err
}

// RunSocketFilter runs a socket filter on pkt, exactly like
// VM.RunSocketFilter, in the Runner's Env.
func (r *Runner) RunSocketFilter(pkt []byte, meta *SKBMeta) (uint32, error) {
	e, vm := r.env, r.vm
	if e == nil {
		return 0, fmt.Errorf("interp: Runner.RunSocketFilter: %w", ErrClosed)
	}
	if vm.ctx != ctxSocketFilter {
		return 0, vm.wantCtx(ctxSocketFilter)
	}
	var ret uint64
	var err error
	if r.bound {
		e.zeroStack(vm.prog)
		r1 := e.rebindSocketFilter(pkt, meta)
		if e.clean {
			ret, err = e.rerun(r1, 0)
			if err == nil && e.clean {
				return uint32(ret), nil // still bound (see keep)
			}
		} else {
			ret, err = vm.exec(e, r1, 0)
		}
	} else {
		vm.StartEnv(e)
		ret, err = vm.exec(e, e.bindSocketFilter(pkt, meta), 0)
	}
	r.keep(err)
	return uint32(ret), err
}

// RunKprobe runs a kprobe program on regs, exactly like VM.RunKprobe, in
// the Runner's Env.
func (r *Runner) RunKprobe(regs *PtRegs) (uint64, error) {
	e, vm := r.env, r.vm
	if e == nil {
		return 0, fmt.Errorf("interp: Runner.RunKprobe: %w", ErrClosed)
	}
	if vm.ctx != ctxKprobe {
		return 0, vm.wantCtx(ctxKprobe)
	}
	var ret uint64
	var err error
	if r.bound {
		e.zeroStack(vm.prog)
		r1 := e.rebindKprobe(regs)
		if e.clean {
			ret, err = e.rerun(r1, 0)
			if err == nil && e.clean {
				return ret, nil // still bound (see keep)
			}
		} else {
			ret, err = vm.exec(e, r1, 0)
		}
	} else {
		vm.StartEnv(e)
		ret, err = vm.exec(e, e.bindKprobe(regs), 0)
	}
	r.keep(err)
	return ret, err
}

// RunXDP runs an XDP program on frame, exactly like VM.RunXDP, in the
// Runner's Env, except that the output packet is not a copy: it lies in
// the Runner's frame page (or buffer, for a frame with fragments) and is
// valid only until the Runner's next run or Close (see Runner). A run
// that KeepXDP accepts leaves the Env bound, and the next one rebinds it
// (RebindXDP).
func (r *Runner) RunXDP(frame []byte, meta *XDPMeta) (uint32, []byte, error) {
	e, vm := r.env, r.vm
	if e == nil {
		return 0, nil, fmt.Errorf("interp: Runner.RunXDP: %w", ErrClosed)
	}
	if vm.ctx != ctxXDP {
		return 0, nil, vm.wantCtx(ctxXDP)
	}
	var r1 uint64
	var err error
	rebound := false
	if r.bound {
		if r1, rebound, err = e.rebindXDP(frame, meta, &e.out); err != nil {
			return 0, nil, err // the binding is unchanged
		}
	}
	if rebound {
		e.zeroStack(vm.prog)
	} else {
		r.unbind()
		vm.StartEnv(e)
		if r1, err = e.bindXDP(frame, meta, &e.out); err != nil {
			vm.EndEnv(e)
			return 0, nil, err
		}
	}
	var ret uint64
	if rebound && e.clean {
		ret, err = e.rerun(r1, 0)
	} else {
		ret, err = vm.exec(e, r1, 0)
	}
	r.bound = err == nil && e.keepXDP()
	if !r.bound {
		vm.EndEnv(e)
	}
	out := e.out
	e.out = nil
	if err != nil {
		return uint32(ret), nil, err
	}
	return uint32(ret), out, nil
}

// RunTC runs a tc program on frame, exactly like VM.RunTC, in the
// Runner's Env; its context is written only when the program first reads
// it. As with RunXDP, the output packet lies in the Runner's packet buffer
// and is valid only until the Runner's next run or Close (see Runner).
// The run keeps meta until it ends, so a *TCMeta of a variable declared
// in a loop's body escapes to the heap: declare it outside the loop for
// runs that allocate nothing.
func (r *Runner) RunTC(frame []byte, meta *TCMeta) (uint32, []byte, error) {
	e, vm := r.env, r.vm
	if e == nil {
		return 0, nil, fmt.Errorf("interp: Runner.RunTC: %w", ErrClosed)
	}
	if vm.ctx != ctxTC {
		return 0, nil, vm.wantCtx(ctxTC)
	}
	r.unbind()
	vm.StartEnv(e)
	ret, out, err := vm.runTC(e, frame, meta)
	vm.EndEnv(e)
	return ret, out, err
}

// keep ends a run of the Runner that ended with err: the Env stays bound
// if the next run can rebind it, and is ended (EndEnv) otherwise.
func (r *Runner) keep(err error) {
	r.bound = err == nil && (r.env.clean || r.env.rebindableRun())
	if !r.bound {
		r.vm.EndEnv(r.env)
	}
}

// unbind ends the binding a previous run kept, if any.
func (r *Runner) unbind() {
	if r.bound {
		r.bound = false
		r.vm.EndEnv(r.env)
	}
}

// Close gives the Runner's Env back to its VM. Closing twice is a no-op.
func (r *Runner) Close() error {
	if r.env != nil {
		r.unbind()
		KeepPackets(r.env, false)
		r.vm.put(r.env)
		r.env = nil
	}
	return nil
}
