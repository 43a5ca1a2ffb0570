// Package sys is purebpf's raw interface to the kernel: the bpf(2) and
// perf_event_open(2) system calls and nothing above them.
//
// It provides:
//
//   - hand-written Go structs, one per bpf command, laid out byte for byte
//     like the matching member of the kernel's union bpf_attr (see
//     layout_test.go for the offsets they are checked against), plus the
//     bpf_prog_info / bpf_map_info structs filled by BPF_OBJ_GET_INFO_BY_FD
//     and perf_event_attr;
//   - the enums and flag values of the uapi headers (commands, map types,
//     program types, attach types, map / update / load flags);
//   - the system call wrappers: a generic [BPF] and typed per-command
//     functions such as [MapCreate], [ProgLoad] and [MapLookupElem]. They
//     retry EINTR, retry EAGAIN from BPF_PROG_LOAD a bounded number of
//     times, block SIGPROF while the verifier runs, keep the attribute
//     memory alive across the call and return errors of type [*Error] that
//     wrap the errno and name the command;
//   - [FD], an owned file descriptor that closes exactly once and has a
//     cleanup safety net for descriptors that leak.
//
// Pointers inside attributes use the [Pointer] type, which is 64 bits wide
// like the kernel's __aligned_u64 and keeps the pointed-to Go memory visible
// to the garbage collector.
//
// The kernel-internal errno ENOTSUPP (524) is reported as [ErrNotSupported],
// the project-wide "feature not supported by this kernel" sentinel; other
// purebpf packages re-export or wrap it.
//
// # Status
//
// sys is a public package, and the only way purebpf offers to reach a
// kernel feature that the packages above it do not wrap yet: fill an
// attribute struct and call the command. Its API follows the kernel's
// uapi, so it changes when the kernel's does, and it checks nothing the
// kernel does not. Code that only loads, attaches and reads should use
// prog, link, socket and perf. Those packages take and return [*FD] where
// a raw descriptor crosses the boundary (prog.NewMapFromFD,
// prog.NewProgramFromFD), and take programs and maps as an [FDer].
//
// Dependencies: this package may import only the Go standard library and
// golang.org/x/sys/unix. It must never use cgo. Higher-level concepts
// (instructions, ELF, BTF, maps and programs as objects) live in other
// packages that build on this one.
package sys
