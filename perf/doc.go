// Package perf attaches BPF programs to kernel and user-space probe
// points and reads the events programs send to user space.
//
// Attaching:
//
//   - [Kprobe]: kprobes and kretprobes on a kernel symbol (plus offset),
//     through the kprobe PMU (Linux 4.17+) or, as a fallback, a uniquely
//     named tracefs kprobe_events entry that is removed again on Close and
//     on every error path. Syscall symbols are retried with the
//     architecture prefix (__x64_sys_... on amd64, Linux 4.17+).
//   - [Tracepoint]: a tracepoint by group and name, through its tracefs
//     event id. tracefs is found in /proc/self/mountinfo or mounted.
//   - [Uprobe]: uprobes and uretprobes on an ELF executable or library by
//     symbol (.symtab or .dynsym) or file offset, optionally for one pid.
//     [OpenExecutable] reads a file's symbols once for many uprobes.
//
// What every probe needs is a parameter (Kprobe(symbol, prog, opts),
// Tracepoint(group, name, prog, opts), Uprobe(path, symbol, prog, opts));
// the options, which may be nil, only tune. The program's type is checked
// before any perf event is created: kprobes and uprobes take
// BPF_PROG_TYPE_KPROBE programs, tracepoints BPF_PROG_TYPE_TRACEPOINT, and
// anything else gives an error wrapping [ErrProgramType] that names both
// types (the kernel would answer with a bare EINVAL).
//
// Each returns a [link.Link], whose dynamic type is [*Link]: the perf
// event plus a BPF link (BPF_LINK_CREATE with BPF_PERF_EVENT, Linux 5.15+)
// or, on older kernels, the PERF_EVENT_IOC_SET_BPF attachment; when
// AttachAuto falls back to the ioctl and that fails too, the error keeps
// both causes. Close detaches and frees everything (BPF link, perf event,
// tracefs event, in that order). Info reports the type perf_event and the
// program ID (and the link ID with a BPF link); Pin works for BPF links
// on events made without tracefs; Update, and Pin and Unpin where they
// cannot work, return errors wrapping [ErrNotSupported]: the kernel
// cannot swap a perf event's program. Type-assert to *Link for Attach,
// Probe and TraceFSEvent.
// A kernel without the feature gives an error wrapping [ErrNotSupported]
// that names the missing piece.
//
// Reading:
//
//   - [PerfReader] reads a BPF_MAP_TYPE_PERF_EVENT_ARRAY: one
//     PERF_COUNT_SW_BPF_OUTPUT event with an mmapped ring per online CPU,
//     PERF_RECORD_SAMPLE and PERF_RECORD_LOST records, lost counts
//     reported in [Record.LostSamples].
//   - [RingBufReader] reads a BPF_MAP_TYPE_RINGBUF (Linux 5.8+).
//
// Both have Read, an allocation-free ReadInto, SetDeadline, and a Close
// that unblocks a blocked Read.
//
// Programs and maps are passed as an [FDer] (sys.FDer, anything with an
// FD() int method, such as *prog.Program and *prog.Map), so descriptors
// loaded by other means attach and read too. A nil one gives an error wrapping os.ErrInvalid
// (a nil *prog.Map is what Program.Map returns for an unknown name), a
// closed one an error wrapping os.ErrClosed; operations on closed readers
// return os.ErrClosed too ([ErrClosed] is os.ErrClosed).
//
// The package builds on every GOOS; off Linux every attach function and
// reader constructor returns an error wrapping [ErrNotSupported].
//
// Dependencies: the Go standard library, golang.org/x/sys/unix, purebpf/sys,
// link (for the Link interface its attach functions return) and prog (which
// link's Update takes).
package perf
