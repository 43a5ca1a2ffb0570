package engine

// This file is the engine's interface for the JIT (package jit): the
// machine state of a run (Env) as machine code sees it, the exits to Go,
// and binding contexts. They are functions rather than methods of Env so
// that interp.Env, an alias of Env that helpers receive, shows only what a
// helper needs.

// BindMemory installs mem as a readable and writable region of e and
// returns the r1 and r2 a raw-memory program starts with: mem's address
// and length (both 0 for an empty mem).
func BindMemory(e *Env, mem []byte) (r1, r2 uint64) { return e.bindMemory(mem) }

// BindSocketFilter installs the __sk_buff context of pkt and meta in e and
// returns its address (r1).
func BindSocketFilter(e *Env, pkt []byte, meta *SKBMeta) uint64 {
	return e.bindSocketFilter(pkt, meta)
}

// BindKprobe installs a read-only copy of regs as the pt_regs context of
// e and returns its address (r1).
func BindKprobe(e *Env, regs *PtRegs) uint64 { return e.bindKprobe(regs) }

// BindXDP installs the xdp_md context and packet of frame and meta in e
// and returns the context's address (r1); EndEnv copies the packet as the
// program left it to *out.
func BindXDP(e *Env, frame []byte, meta *XDPMeta, out *[]byte) (uint64, error) {
	return e.bindXDP(frame, meta, out)
}

// BindTC installs the __sk_buff context and packet of a tc program for
// frame and meta in e and returns the context's address (r1); EndEnv
// copies the packet as the program left it to *out and the context's
// fields back to *meta.
func BindTC(e *Env, frame []byte, meta *TCMeta, out *[]byte) (uint64, error) {
	return e.bindTC(frame, meta, out)
}

// CheckTCFrame reports why RunTC would refuse frame and meta, or nil.
func CheckTCFrame(frame []byte, meta *TCMeta) error { return checkTCFrame(frame, meta) }

// CheckXDPFrame reports why RunXDP would refuse frame and meta, or nil.
func CheckXDPFrame(frame []byte, meta *XDPMeta) error { return checkXDPFrame(frame, meta) }

// EngineState returns what SetEngineState stored in e, nil at first. It
// survives runs: an engine that runs programs in the VM's Envs (the JIT)
// keeps its own per-run state there, so that taking an Env from the VM
// gives it both with one acquisition.
func EngineState(e *Env) any { return e.engine }

// SetEngineState stores v in e for EngineState.
func SetEngineState(e *Env, v any) { e.engine = v }

// StackTop returns the address r10 holds in the main program's frame.
func StackTop(e *Env) uint64 { return e.stackTop() }

// Regions returns e's region table. Element 0 is the stack; its Start
// moves down by StackSize per active bpf-to-bpf call.
func Regions(e *Env) []Region { return e.regions }

// SetRunning makes vm the program now running in e, whose maps resolve
// map handles and whose registry resolves helper numbers: a tail-call
// target, or the caller again after a return from a bpf-to-bpf call into
// it. The interpreter switches it itself; the JIT sets it at every exit.
func SetRunning(e *Env, vm *VM) { e.curVM = vm }

// Call calls helper number num (a call's immediate or a callx register)
// from the running VM's registry exactly as the interpreter does: a
// helper's ErrHalt comes back as ErrHalt with r0 as the result; other
// errors wrap ErrMemoryAccess, ErrHelper or ErrContext and name the
// helper.
func Call(e *Env, num int64, callx bool, r1, r2, r3, r4, r5 uint64) (uint64, error) {
	return e.call(num, callx, r1, r2, r3, r4, r5)
}

// MapValue returns the address of byte off of the value of the running
// VM's single-entry array map number idx, as an LD_IMM64
// BPF_PSEUDO_MAP_VALUE loads it, and grants the program that storage.
func MapValue(e *Env, idx int, off uint64) (uint64, error) { return e.mapValue(idx, off) }

// handles resolve program array entries other than *VM (RegisterHandle).
var handles []func(p any) *VM

// RegisterHandle adds a way to find the VM of a program array entry: the
// public packages register their VM types (interp.VM, jit.VM) in their
// init functions. f returns nil for values it does not know, and for a
// VM that must not run any more (a closed jit.VM).
func RegisterHandle(f func(p any) *VM) { handles = append(handles, f) }

// HandleVM returns the VM a program array entry stands for, or nil (an
// empty slot for tail calls).
func HandleVM(p any) *VM {
	if v, ok := p.(*VM); ok {
		return v
	}
	for _, f := range handles {
		if v := f(p); v != nil {
			return v
		}
	}
	return nil
}

// Compiled returns what SetCompiled stored for vm: the JIT's compiled
// program, which a tail call from machine code into vm runs. nil at
// first.
func Compiled(vm *VM) any {
	if p := vm.compiled.Load(); p != nil {
		return *p
	}
	return nil
}

// SetCompiled records c as vm's compiled program.
func SetCompiled(vm *VM, c any) { vm.compiled.Store(&c) }

// SocketFilterContext returns the address BindSocketFilter gives e's
// context (r1), without binding it.
func SocketFilterContext(e *Env) uint64 { return addrOf(e.skb[:]) }

// XDPContext returns the address BindXDP gives e's context (r1), without
// binding it.
func XDPContext(e *Env) uint64 { return addrOf(e.skb[:]) }

// KprobeContext returns the address BindKprobe gives e's context (r1),
// without binding it.
func KprobeContext(e *Env) uint64 { return addrOf(e.regs[:]) }

// ContextPending reports whether e's context is bound but its bytes are
// not written yet: they are on the first access through Env.Bytes.
func ContextPending(e *Env) bool { return e.ctxRegion >= 0 }

// RunXDPIn is VM.RunXDP in the given Env, which must come from vm and be
// idle (see RunMemoryIn).
func RunXDPIn(vm *VM, e *Env, frame []byte, meta *XDPMeta) (uint32, []byte, error) {
	if err := vm.wantCtx(ctxXDP); err != nil {
		return 0, nil, err
	}
	vm.StartEnv(e)
	var out []byte
	r1, err := e.bindXDP(frame, meta, &out)
	if err != nil {
		vm.EndEnv(e)
		return 0, nil, err
	}
	ret, err := vm.exec(e, r1, 0)
	vm.EndEnv(e)
	if err != nil {
		return uint32(ret), nil, err
	}
	return uint32(ret), out, nil
}

// RunTCIn is VM.RunTC in the given Env, which must come from vm and be
// idle (see RunMemoryIn).
func RunTCIn(vm *VM, e *Env, frame []byte, meta *TCMeta) (uint32, []byte, error) {
	if err := vm.wantCtx(ctxTC); err != nil {
		return 0, nil, err
	}
	vm.StartEnv(e)
	ret, out, err := vm.runTC(e, frame, meta)
	vm.EndEnv(e)
	return ret, out, err
}

// RunMemoryIn is VM.RunMemory in the given Env, which must come from vm
// and be idle: for tests that compare the engines on one Env (one stack
// address), since programs may compute with addresses.
func RunMemoryIn(vm *VM, e *Env, mem []byte) (uint64, error) {
	if err := vm.wantCtx(ctxMemory); err != nil {
		return 0, err
	}
	return vm.runMemory(e, mem)
}
