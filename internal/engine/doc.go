// Package engine is the core both userspace engines, package interp (the
// interpreter, whose public API is a thin layer over this package) and
// package jit, run on: it runs a prog.Spec (or raw bytecode) without a
// kernel, with the semantics of RFC
// 9669 as the Linux kernel implements them, on a raw memory buffer, a
// socket-filter __sk_buff context, a kprobe pt_regs context, an XDP
// xdp_md context or a tracing context (trace.go: a tracepoint record, a
// raw tracepoint's u64 arguments, bpf_perf_event_data), with userspace
// maps from package interp/maps and replaceable registries of helpers and
// kfuncs (kfunc.go).
//
// # Loading
//
// New (and Load/Bytes for raw bytecode) checks the program once: encodings
// (insn.Validate), jump targets, that the last instruction is exit or an
// unconditional jump, that every helper it calls is registered, that every
// kfunc it calls is in Options.Kfuncs (by name; the call then becomes a
// helper call with a number from kfuncBase on, which both engines
// dispatch through callNum) and that its map references resolve. The program is then pre-decoded into a compact
// array of {op, dst, src, size, off, imm} in which variants selected by
// the offset field (sdiv, smod, movsx) have their own op and jump offsets
// are absolute, so that the run loop is a single dense switch. The ops,
// the encodings they decode from and the kinds the analyses classify them
// by come from one table, internal/optab, generated into ops_gen.go (go
// generate).
//
// # Semantics
//
// Division by zero gives 0, modulo by zero leaves dst (truncated to 32 bits
// for ALU32); INT_MIN s/ -1 is INT_MIN and INT_MIN s% -1 is 0; shift counts
// are masked; 32-bit results zero-extend. Atomics use sync/atomic, must be
// aligned (as the verifier demands) and 32-bit cmpxchg compares the low
// half of r0 and zero-extends the old value into r0. A bpf-to-bpf call
// gets a fresh, zeroed 512-byte frame; r6..r9 and r10 are restored on
// return and at most MaxCallFrames frames may be active. may_goto falls
// through MaxLoops times per frame and then jumps, as the kernel's
// count-based rewrite does (Linux 6.9+). tail_call runs the VM a program
// array entry stands for (maps.ProgArray.SetProgram: a *VM, or a public
// handle resolved by RegisterHandle: *interp.VM, *jit.VM) in place of the
// current program, with its maps and helpers, at most MaxTailCalls times
// per run; the index is the low 32 bits of r3, and a missing entry
// continues with the next instruction. LD_ABS and LD_IND read the packet big-endian
// (the memory buffer for raw-memory programs) and end the program with
// r0 = 0 when the read is out of bounds.
//
// # Memory model (shared with package jit)
//
// Programs see real host addresses. Every run owns an Env: a heap-allocated
// stack of MaxCallFrames × 512 bytes, the context buffer, and a region table
// of [Start, End) address ranges with permissions (Region). Region 0 is the
// stack from the current frame up to the main frame's top (r10). The
// memory buffer, the context (read-only except __sk_buff cb[]), map values
// that map_lookup_elem returned, the storage of single-entry arrays loaded
// with LD_IMM64 BPF_PSEUDO_MAP_VALUE and ring buffer reservations (until
// submit or discard) are added as regions; a tracing run also gets the
// Options.KernelMemory regions whose Addr is their Data's address (package
// interp/kmem's objects), read-only, and in Tracing and LSM programs a
// load that hits no region reads 0, as the kernel's BPF_PROBE_MEM loads
// do (trace.go). Every load, store and atomic
// is checked against the table first (stack fast path, then a scan); an
// access outside is a *RunError wrapping ErrMemoryAccess naming the pc,
// the size and the address. Map pointers (LD_IMM64 BPF_PSEUDO_MAP_FD) are
// opaque handles (MapHandle) in a range no user-space mapping can have, so
// they are never dereferenceable; so are the handles map_lookup_elem
// gives for the inner maps of a map of maps, which name entries of a
// table the run keeps and EndEnv clears (mapinmap.go), and callback
// handles (LD_IMM64 BPF_PSEUDO_FUNC, CallbackHandle), which bpf_loop and
// bpf_for_each_map_elem run as bpf-to-bpf calls (callback.go). Regions added by helpers are kept sorted
// for binary search and bounded by MaxDynamicRegions per run.
//
// The run loop has two levels: Env.fast executes ALU operations, jumps,
// may_goto, LD_ABS/LD_IND inside the packet and loads and stores that hit
// the current stack frames or the most recently used read-write region, in
// a loop that makes no calls (so the Go compiler keeps its state in
// registers); everything else (helper, local and tail calls, exit,
// atomics, packet reads past the end, direct map values and accesses
// needing the full region search) returns to Env.exec, which runs that
// instruction and re-enters the fast loop.
//
// A run zeroes only the part of its 512-byte frame the program can reach:
// New computes it from the r10-relative accesses when r10 is used for
// nothing else (rounded up to 8-byte slots, at least one), and takes the
// whole frame otherwise (r10 copied, stored, compared or passed on,
// bpf-to-bpf calls, tail calls, callx). The main frame's region is exactly
// that part, so no route to the stack (a guessed address, probe_read_kernel
// of the whole frame) reaches bytes an earlier run left.
//
// The JIT builds the same state with VM.AcquireEnv / VM.ReleaseEnv (its
// own per-run state rides along, EngineState), or VM.AcquireStack (and,
// for an Env it keeps across runs, VM.ReachableStack to zero) and, at its
// first exit to Go, VM.BindEnv (VM.ReleaseStack if it never needed one),
// BindMemory / BindSocketFilter / BindKprobe (BindXDP and BindTC bind
// before the code runs: their packet regions are in the tables the code
// checks), StackTop, Regions and
// Region.Checked; it reports errors it finds itself with AccessError and
// MisalignedAtomic; it resolves map loads with VM.MapIndex and MapHandle
// (and MapValue for direct value loads), makes the program whose code it
// left from the running one with SetRunning, calls helpers through Call,
// checks pointers with Env.Bytes, and returns the Env with VM.ReleaseEnv
// (a Runner's Env is ended with VM.EndEnv after a bound run and kept).
// These are functions and VM methods of this internal package only:
// interp.Env, an alias of Env, shows helpers only what they need.
//
// # Time
//
// Each run has an instruction budget (Options.MaxInstructions, default
// DefaultMaxInstructions), counted per executed instruction; exhausting it
// is a *RunError wrapping ErrBudgetExhausted that names the pc of the first
// instruction over budget. VM.RunMemoryStats reports the count. Options.Trace
// sees every instruction before it runs (purebpf run --trace uses it), and
// Options.Coverage counts it (coverage.go); with either, exec steps one
// instruction at a time through refill, and fast's code is unchanged for
// runs without them.
//
// # Concurrency
//
// A VM is safe for concurrent runs from several goroutines: each run takes
// its own Env, the one the VM keeps idle (an atomic swap) or, when runs
// overlap, one from a sync.Pool; a steady-state run allocates nothing.
// VM.NewRunner returns a Runner, which owns one Env for all its runs and
// so skips those atomic operations; a Runner is not safe for concurrent
// use (one per goroutine) and covers raw-memory programs (RunMemory).
// Maps are shared between runs and are themselves safe for concurrent use.
// A Registry must not be changed while runs are in progress.
//
// Package engine may import insn, prog, interp/maps, internal/mapvalue
// and the standard library.
package engine
