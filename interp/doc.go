// Package interp is purebpf's userspace eBPF virtual machine: it runs a
// prog.Spec (or raw bytecode) without a kernel, with the semantics of RFC
// 9669 as the Linux kernel implements them, on a raw memory buffer, a
// socket-filter __sk_buff context, a kprobe pt_regs context, an XDP
// xdp_md context with direct packet access (RunXDP), a tc (sched_cls,
// sched_act) __sk_buff context with direct packet access and the tc
// helpers (RunTC), or a tracing context: a tracepoint's record
// (RunTracepoint), the argument array of raw tracepoints and of tp_btf,
// fentry, fexit and LSM programs (RunRawTracepoint), or perf_event's
// bpf_perf_event_data (RunPerfEvent), with userspace maps from package
// interp/maps and replaceable registries of helpers and kfuncs
// (Options.Kfuncs). NewCollection loads the programs of a clang-built
// object (prog.LoadCollectionSpec) with one set of userspace maps, kconfig
// values, ksyms and CO-RE relocations against a BTF the test chooses;
// package interp/kmem lays out the kernel memory such tracing programs
// read. Package jit runs the same programs as x86-64 machine code on
// the same core, with the same results and errors.
//
// # Not a verifier
//
// interp does not verify programs. The kernel's verifier is the authority
// on which programs may load and run; a program interp runs may be one the
// kernel rejects (unbounded loops, reads of uninitialised stack, pointer
// arithmetic the verifier forbids). What interp guarantees instead is a
// sandbox: whatever the program's bytes, a run touches only memory it was
// given (its stack, its context, the memory buffer, map values and ring
// buffer records helpers granted), every other access ends the run with
// an error wrapping ErrMemoryAccess, an instruction budget
// (Options.MaxInstructions) bounds its time, and no run sees stack bytes
// an earlier run left. Test programs against the kernel too (prog can load
// them; BPF_PROG_TEST_RUN runs them).
//
// # Loading
//
// New (and Load/LoadBytes for raw bytecode) checks the program once:
// encodings (insn.Validate), jump targets, that the last instruction is
// exit or an unconditional jump, that every helper it calls is
// registered, that every kfunc it calls has an implementation in
// Options.Kfuncs (kernel functions do not exist in userspace: a test
// registers fakes by name; ErrUnknownKfunc names a missing one) and that
// its map references resolve.
//
// # Semantics
//
// Division by zero gives 0, modulo by zero leaves dst (truncated to 32 bits
// for ALU32); INT_MIN s/ -1 is INT_MIN and INT_MIN s% -1 is 0; shift counts
// are masked; 32-bit results zero-extend. Atomics are atomic between
// concurrent runs and must be aligned (as the verifier demands); plain
// loads and stores are not, so concurrent runs that count in a shared map
// value with a load, an add and a store race, as they do in the kernel,
// and the Go race detector reports it (count with __sync_fetch_and_add). A
// bpf-to-bpf call gets a fresh, zeroed 512-byte frame; r6..r9 and r10 are
// restored on return and at most MaxCallFrames frames may be active.
// may_goto falls through MaxLoops times per frame and then jumps, as the
// kernel's count-based rewrite does (Linux 6.9+). tail_call runs the
// program stored in a program array (maps.ProgArray.SetProgram: a *VM, or
// a *jit.VM) in place of the current program, with its maps and helpers,
// at most MaxTailCalls times per run; the index is the low 32 bits of r3,
// and a missing entry continues with the next instruction. LD_ABS and
// LD_IND read the packet big-endian (the memory buffer for raw-memory
// programs) and end the program with r0 = 0 when the read is out of
// bounds.
//
// # Memory
//
// Programs see real host addresses, checked on every access against the
// regions the run owns; map pointers are opaque handles that no access can
// dereference. Helpers check their pointer arguments with Env.Bytes and
// grant memory with Env.AddRegion.
//
// # Time
//
// Each run has an instruction budget (Options.MaxInstructions, default
// DefaultMaxInstructions), counted per executed instruction; exhausting it
// is a *RunError wrapping ErrBudgetExhausted that names the pc of the first
// instruction over budget. VM.RunMemoryStats reports the count.
// Options.Trace sees every instruction before it runs (purebpf run --trace
// uses it).
//
// # Coverage
//
// Options.Coverage (a Coverage from NewCoverage) counts the instructions
// every run executes, over runs, tail calls and the programs of a
// collection, and maps them to the C lines and functions of clang-built
// objects through their .BTF.ext line_info and func_info: Coverage.Lines
// and Functions report them, and Coverage.WriteLCOV writes an lcov
// tracefile from which lcov's genhtml draws an HTML report of the BPF C
// code a test ran (purebpf run --cover writes the same file). A program
// under coverage runs one instruction at a time, several times slower;
// programs without it run as fast as before. Package jit cannot count
// and refuses a Coverage unless its Fallback runs the program here.
//
// # XDP
//
// RunXDP lays the frame out as the kernel's BPF_PROG_TEST_RUN does, with
// multi-buffer frames (fragments past XDPMaxFrame bytes, or
// XDPMeta.Frags) and the helpers that reach them; device, CPU and AF_XDP
// socket maps (package maps: DevMap, CPUMap, XSKMap) take
// bpf_redirect_map, and XDPMeta.Redirect reports where a program
// redirected its frame.
//
// # Concurrency
//
// A VM is safe for concurrent runs from several goroutines; a steady-state
// run allocates nothing. VM.NewRunner returns a Runner, the single-goroutine
// fast path for every context (raw memory, socket filters, kprobes, XDP,
// tracing): it
// owns its machine state and keeps it bound between runs. Maps are shared between runs and are
// themselves safe for concurrent use. A Registry must not be changed
// while runs are in progress.
//
// Package interp may import insn, btf, prog, interp/maps, internal/engine,
// internal/collection and the standard library.
package interp
