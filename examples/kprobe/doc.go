//go:build linux

// Command kprobe is an opensnoop written with purebpf, plus a small
// uprobe-based call counter.
//
// Default mode: trace file opens. A kprobe on the openat system call
// (sys_openat, found as __x64_sys_openat) sends pid, comm, flags and
// filename through a perf event array (-output perf, the default) or a
// BPF ring buffer (-output ringbuf); they are printed as aligned columns
// until -duration passes or Ctrl-C, after which everything is detached.
// On a kernel without kprobes it says so in one line and uses the
// syscalls/sys_enter_openat tracepoint instead; -tracepoint selects the
// tracepoint directly.
//
//	sudo go run ./examples/kprobe -duration 5s
//	sudo go run ./examples/kprobe -tracepoint -output ringbuf
//
// Count mode (-count): a uprobe on a libc function (-func, default
// malloc; -lib picks the library) counts calls per process in a hash map,
// like BCC's strlen_count, and prints the busiest processes at the end.
//
//	sudo go run ./examples/kprobe -count -func malloc -duration 3s
//
// The opensnoop programs are C (bpf/opensnoop.bpf.c, built by "make bpf" with
// clang-19 and committed as opensnoop.bpf.o), embedded and loaded as a
// collection: prog.LoadCollectionSpecFromReader, the const volatile
// use_ringbuf set before load, prog.NewCollection. The kprobe program
// reads the syscall's arguments through BPF_KSYSCALL from the user pt_regs
// that x86-64 syscall wrappers get (Linux 4.17+), so the kprobe path is
// amd64 only; the tracepoint path is not. The call counter is built with
// the insn package's builders and loaded with prog.NewProgram.
//
// Dependencies: the standard library, golang.org/x/sys/unix, and purebpf's
// insn, prog and perf packages.
package main
