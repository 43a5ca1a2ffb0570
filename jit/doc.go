// Package jit compiles eBPF programs to x86-64 machine code and runs them
// in userspace, with exactly the environment and semantics of package
// interp: the same contexts (raw memory, socket filter __sk_buff, kprobe
// pt_regs, XDP xdp_md, tc __sk_buff, and the tracing contexts: tracepoint
// records, raw tracepoint arguments, bpf_perf_event_data), the same collections of objects (NewCollection), the same helper registry (helpers are Go functions), the same
// userspace maps, the same call-depth limit (MaxCallFrames frames of 512
// bytes) and the same errors (*interp.RunError wrapping
// interp.ErrMemoryAccess naming the pc, address and size, ErrBudgetExhausted,
// ErrCallDepth, ...): both engines run on one core, internal/engine, which
// holds the run state, the exits to Go (helpers, tail calls, map values),
// the maps and the errors. New builds an interp.VM from Options.Interp and
// compiles its program; runs take the core's run state (an Env, in which
// the JIT's machine state lives) from that VM. A RunMemory run prepares
// only the Env's stack and binds the rest when the code first leaves to
// Go, so a program that never does pays only for the stack, the registers
// and the trampoline (the region tables are rebuilt only when the memory
// changes or an earlier run left to Go).
//
// # Runners
//
// A VM is safe for concurrent runs. A run that overlaps no other uses
// the VM's own run state, taken and given back with one atomic exchange
// each; overlapping runs take one from a pool and a reference to the
// code. VM.NewRunner returns a Runner, the single-goroutine fast path: it
// owns its run state (the first Runner borrows the VM's), and its
// RunMemory, RunSocketFilter and RunKprobe rebind only what changes per
// run (r1, the memory region or packet, the budget, the stack bytes the
// program can reach, zeroed as in every run), enter the code and return
// r0 (a tracing context, like XDP's, is bound before the code is entered,
// so that its region and kmem's kernel memory are in the tables the code
// checks, and a Runner keeps that binding from run to run, rebinding only
// the context;
// in Tracing and LSM programs a load that misses every region leaves to
// Go, which sets its destination to 0 and resumes at the next
// instruction, as the kernel's BPF_PROBE_MEM loads read 0). The context
// of a socket filter or kprobe is bound, and its bytes
// written, only when the code first leaves to Go, so a filter that reads
// only the packet never pays for it. Exits to Go (helpers, accesses
// outside the cached regions, errors) are handled exactly as in the VM's
// methods, with the same results and errors. A Runner is NOT safe for
// concurrent use: make one per goroutine. Close gives its state back; a
// closed Runner, or one whose VM is closed, returns an error wrapping
// ErrClosed. An open Runner keeps its VM's code mapped. Entering and
// leaving a two-instruction program through a Runner takes about 4.1 ns
// (median; the assembly trampoline alone 3.8 ns) on the loaded 2-core
// development machine (BenchmarkEnterExit/Runner), with no allocations.
//
// # Code generation
//
// Every instruction interp runs is compiled: ALU and ALU64 (division by
// zero gives 0, modulo by zero leaves dst, INT_MIN/-1 is checked before x86
// idiv can trap, shift counts are masked by the processor exactly as BPF
// masks them), movsx, ldsx, le/be/bswap, JMP/JMP32/gotol/may_goto, loads
// and stores, atomics as LOCK-prefixed instructions (add/or/and/xor, xadd
// for fetch_add, xchg, cmpxchg, and cmpxchg loops for fetch_or/and/xor),
// load-acquire and store-release (plain moves under x86-64 TSO), LD_IMM64
// including map handles and map values, LD_ABS/LD_IND, helper calls,
// callx, tail calls and bpf-to-bpf calls. What cannot be compiled is a
// *CompileError from New; Options.Fallback asks for interp instead.
//
// Machine code does not count the instructions it runs: New refuses
// Options.Interp.Coverage (interp.Coverage, C-line coverage) with an error
// wrapping ErrNotSupported, and with Options.Fallback runs such a program
// in interp, which counts. Options.Interp.Trace is not called by compiled
// code either.
//
// Callbacks (LD_IMM64 BPF_PSEUDO_FUNC, the subprograms bpf_loop and
// bpf_for_each_map_elem call) are not compiled: New refuses such a program
// with ErrCallbacks, which wraps ErrNotSupported, and with
// Options.Fallback runs it in interp (jit.NewCollection compiles the
// collection's other programs).
//
// BPF registers live in x86 registers while the code runs:
//
//	r0 rax  r1 rdi  r2 rsi  r3 rbx  r4 r8  r5 r9
//	r6 r12  r7 r13  r8 r14  r9 r15  r10 rbp
//
// r10 (x86) points at the machine state, rdx holds the remaining budget,
// rcx and r11 are scratch.
//
// A checked load or store compares its address with one region: the one
// its access site last found it in, kept per site in the machine state,
// so that code that alternates between the packet, map values and the
// stack checks each access against the right region at once. Only when
// that region does not hold the access does the code search the stack,
// the context reads it may make itself and the region tables, and leave
// to Go when none does. The tables hold only regions the run may use or
// empty entries, so a site's stale region can only miss.
//
// # Entering and leaving machine code
//
// No cgo: Go enters the code through enter, a small Go assembly trampoline
// (trampoline_amd64.s) with a real, stack-checked Go frame. It loads the
// registers from the machine state, CALLs the code, and stores them back
// when the code RETurns. Runs start through enterMem, its variant that
// takes r1, r2 and r10 as arguments, zeroes the other registers in place
// and, when the program simply finishes, stores back only r0; it has no
// stack-split check (the Go function that calls it, one frame above the
// Runner's method, has one), while enter keeps its check, where a long
// run that returns to Go at every budget slice is preempted. The generated code never calls Go: stack growth,
// the garbage collector and preemption could not unwind its frames.
// Instead, whenever it needs Go (a helper call, callx, a tail call, an
// LD_IMM64 map value, a memory access it could not place, an error), it
// writes an exit reason and a resume address into the state and returns to
// the trampoline. The Go loop in code.exec handles the request on the
// ordinary goroutine stack (calling the helper with the interp.Env, as
// interp does) and enters again at the resume address. Because of this,
// bpf-to-bpf calls keep their return addresses, saved r6-r10 and may_goto
// allowance in a call-stack array in the machine state, not on the native
// stack, so leaving to Go and resuming works at any call depth. The
// generated code uses 16 bytes of native stack (the return addresses of the
// trampoline's CALL and of the slow-path region search), well inside the
// runtime's guard area below the trampoline's frame.
//
// Generated code runs without preemption points: the goroutine cannot be
// preempted, and a garbage collection waits for it, until it returns to Go.
// The code therefore holds only a slice of the run's budget at a time
// (1<<15 units) and leaves to Go when it is spent; Go grants the next
// slice and re-enters through the trampoline, whose stack check lets the
// scheduler and a stop-the-world in. A long run leaves to Go every few
// hundred microseconds at most, and runtime.GC() during it completes in
// about a millisecond (TestLongRunLetsGCIn). Options.NoBudget removes the
// budget, and with it these exits, for trusted programs: such a run blocks
// garbage collection until it ends.
//
// # Memory safety
//
// Checked mode is the default. Every load, store and atomic is checked
// against the run's regions (stack frames, context, packet or memory, map
// values, array storage, ring buffer reservations): first inline against
// the region that access site last found (see Code generation), then out
// of line against the direct context reads, the stack region, the tables
// of the Env's readable and writable regions and the grants the code
// made itself. Accesses through r10 at constant offsets inside the current
// frame need no check. An access no table holds leaves to Go, which asks
// Env.Bytes, so that regions with per-field rules (the __sk_buff context)
// and every error are exactly interp's; a passing access is then granted
// once and retried. Misaligned atomics fail as in interp, in both modes.
//
// Runs bound to a context (XDP, tc) keep what programs do on every
// packet in machine code (fastpath_amd64.go): an LD_IMM64 map value load
// (global data) grants the array's storage when it runs, a
// map_lookup_elem of an array or per-CPU array whose key is on the stack
// computes the element's address and grants the element, both exactly
// the regions interp grants, in the same order; the code records these
// grants in the machine state (state.pend, a few stores each), the
// search routine checks them after the tables, and Go adds them to the
// Env at the next exit. A map_update_elem of such an array with BPF_ANY
// or BPF_EXIST, an index in range and the key and value on the stack
// copies the value into the element (without the lock
// maps.Array.UpdateRaw takes: like the kernel's array update and like
// stores through a looked-up value, a user-space read that overlaps it
// may see part of it); whole aligned __u32 reads of xdp_md, and of the
// __sk_buff fields tc programs may read that way while no store or
// narrow read has left the context for Go to normalise, read the
// context's bytes directly. A map_lookup_elem of a HASH or PERCPU_HASH
// map whose key is on the stack searches the map's machine-probe index
// (fastpath_hash_amd64.go, internal/hashprobe) under a sequence lock,
// without the map's mutex, and grants the value's region as interp's
// helper does, keeping the value alive (state.pkeep) until the Env holds
// it, even when a concurrent update or delete drops it from the map.
// Anything else (a key elsewhere, no room for grants, a forged map, an
// index a writer changed meanwhile, an LRU map, a store to the context)
// leaves to Go as before.
//
// Value facts (valuefacts.go) drop checks the kernel's verifier would
// have made unnecessary: a forward dataflow over the program proves
// which loads, stores and atomics fall inside a map value the run was
// granted (a non-NULL result of the engine's own map_lookup_elem on a
// data map, through any copy and constant offset, or an LD_IMM64 map
// value), and those run unchecked; it also knows which map r1 names and
// which stack bytes r2 and r3 point at in each helper call, so that the
// inline lookups skip their dispatch and key checks, and which loads read
// the context at a constant offset. What it does not prove keeps its
// check: a wrong guess costs speed, never safety. The proofs rest on
// map_lookup_elem being the engine's own, as the registry said when New
// compiled the program; a run that reaches such a lookup after a test
// registered another fails with an error wrapping interp.ErrHelper.
//
// A Runner's XDP runs keep their binding from one run to the next
// (engine.RebindXDP): the Env stays bound to the Runner's page, with the
// fast paths on and the tables built. After a run that never left the
// machine code, the next one on a frame without metadata is a quick run
// (engine.ReloadXDP): the frame is copied in, the packet's table entry,
// the stack bytes the program reaches, the grants, the call state and
// the budget are reset, and the code is entered, with no other work; any
// exit to Go makes the run an ordinary bound one. pktparse.c's XDP parser
// (BenchmarkXDPParse in bpftest) runs in about 41 ns per packet that way,
// against 45-48 ns in the kernel's JIT net of its test run's overhead.
// Options.Unchecked compiles loads and stores without region checks: for
// trusted programs only, since such a program can read and write any
// memory of the process.
//
// # Budget
//
// The instruction budget (interp.Options.MaxInstructions, default
// interp.DefaultMaxInstructions) bounds the time of a run, as in interp.
// In the main program (the slots before the first bpf-to-bpf call target)
// it is counted at backward jumps (by the length of the loop they close)
// and at calls. Callees (every slot from the first call target on) are
// counted as interp counts: each basic block by its number of
// instructions when it is entered, so a call to a long straight-line
// function costs its length, not 1. Both engines stop runaway programs,
// but at slightly different points: a budget error names the pc of the
// backward jump, call or block where the count ran out. At the default
// budget every program ends within a second or so.
//
// # Tail calls
//
// A tail call through a program array (maps.ProgArray) runs the *VM
// stored there, or the JIT VM compiled from a stored *interp.VM (which
// that interp.VM keeps alive; if there is none, or it was closed, a
// checked one is compiled at the first such tail call, so that the JIT
// runs every target interp runs), in place of the current program, with
// its own maps and helpers;
// a bpf-to-bpf return into a caller whose program a tail call had left
// runs the caller's code with the caller's maps and helpers again. The
// index is the low 32 bits of r3, as in the kernel. A run keeps every VM
// it entered alive and mapped until it ends: neither Close nor the garbage
// collector can unmap code a frame may return into. A closed *VM stored
// in a program array is an empty slot for tail calls made after its Close,
// in interp as in the JIT. (One difference remains: a *VM that runs in
// interp because of Options.Fallback is an empty slot for tail calls from
// machine code, while interp runs it.) A checked program may
// not tail-call an unchecked VM (a program that reads and writes any
// address it is given, with registers the caller chose): that run fails
// with ErrUncheckedTailCall, unless the caller was compiled with
// Options.AllowUncheckedTailCalls. Never put an unchecked VM in a program
// array that untrusted programs can reach.
//
// # Executable memory
//
// Code is mapped writable, filled, then made read-execute (W^X) with
// mprotect. Close unmaps it once no run is executing it or may return
// into it and no Runner is open (a reference count taken by each run, each
// tail-call target a run enters and each Runner); runs that start after
// Close fail with ErrClosed. A runtime cleanup unmaps the code of a VM
// dropped without Close; runs and Runners hold the VM, so the cleanup
// cannot run under them.
//
// # Platforms
//
// The back end is amd64 on Unix systems. Elsewhere New returns
// ErrNotSupported, unless Options.Fallback is set.
//
// Package jit may import insn, sys (for ErrNotSupported), prog, interp,
// interp/maps, internal/engine, internal/collection, internal/hashprobe,
// jit/internal/amd64, golang.org/x/sys/unix,
// golang.org/x/arch (for disassembly) and the standard library.
package jit
