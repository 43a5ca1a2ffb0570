// Package link attaches loaded programs to kernel hooks and represents
// every attachment as one Link: XDP, tc (tcx and cls_bpf filters),
// cgroups, raw tracepoints and tp_btf here, and perf's kprobes,
// tracepoints and uprobes.
//
// A Link is an io.Closer (Close detaches, unless pinned), can be pinned
// on a bpffs and opened again with LoadPinned (in another process too),
// swaps its program atomically with Update where the kernel can, and
// describes itself with Info.
//
// Hooks and the kernels they need:
//
//   - AttachXDP: BPF_LINK_CREATE with BPF_XDP (Linux 5.9+), generic,
//     driver or offload mode. A mode the driver lacks is an error naming
//     the mode and wrapping ErrNotSupported.
//   - AttachTCX: tcx links (Linux 6.6+), ingress or egress, placed with
//     an Anchor (First, Last, BeforeProgram, AfterLink, ...); QueryTCX
//     lists a hook in run order.
//   - AttachTCFilter: a direct-action cls_bpf filter on a clsact qdisc,
//     for kernels without tcx (the 6.1 LTS). AttachTC picks tcx when
//     TCXSupported and the filter otherwise.
//   - AttachCgroup: cgroup_skb ingress/egress, cgroup/sock_create,
//     cgroup/connect4 and /connect6 through cgroup links (Linux 5.7+).
//   - AttachRawTracepoint and AttachTracepointBTF: BPF_RAW_TRACEPOINT_OPEN
//     (Linux 4.17+ and 5.5+).
//   - AttachTracing: fentry, fexit, fmod_ret and LSM programs, also
//     through BPF_RAW_TRACEPOINT_OPEN (Linux 5.5+, LSM 5.7+). tp_btf and
//     these programs name their target when they load
//     (prog.ProgramOptions.AttachBTFID).
//
// Every attach function checks the program's type before any system call
// and fails with an error wrapping ErrProgramType that names both the
// program's type and the one the hook takes; a closed program gives an
// error wrapping os.ErrClosed. Interfaces are given by index, resolved in
// the calling thread's network namespace (look names up with
// net.InterfaceByName).
//
// # Netlink
//
// The cls_bpf fallback talks rtnetlink directly: the messages (tcmsg,
// nested attributes, dumps, extended acks carrying the kernel's error
// text) are written by hand on golang.org/x/sys/unix's netlink socket
// calls and constants: the client, about 250 lines, is internal/rtnl
// (shared with internal/netns, which makes the veth pairs of the tests
// and examples), the tc messages are in tc.go. A netlink library
// (vishvananda/netlink, mdlayher/netlink) would bring hundreds of
// generated types for the five messages this package sends. AttachTCFilter
// adds the clsact qdisc only when the interface has none, and Close
// deletes only the filter it added, and the qdisc only if it created it
// and no filter is left there.
//
// # For packages that make links
//
// NewFromFD turns a BPF link descriptor into a Link. A package whose
// attachment has no descriptor (perf's PERF_EVENT_IOC_SET_BPF, or
// tcFilter here) implements Link itself and returns errors wrapping
// ErrNotSupported from the methods it cannot honour.
//
// Dependencies: the standard library, golang.org/x/sys/unix, sys, prog,
// internal/bpffs and internal/rtnl. No cgo.
package link
