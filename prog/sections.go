package prog

import (
	"strings"

	"github.com/purebpf/purebpf/sys"
)

// Attach types (enum bpf_attach_type in include/uapi/linux/bpf.h) that
// section names imply. Package sys names only the ones it uses itself.
const (
	attachCgroupInetIngress       sys.AttachType = 0
	attachCgroupInetEgress        sys.AttachType = 1
	attachCgroupInetSockCreate    sys.AttachType = 2
	attachCgroupSockOps           sys.AttachType = 3
	attachSkSKBStreamParser       sys.AttachType = 4
	attachSkSKBStreamVerdict      sys.AttachType = 5
	attachCgroupDevice            sys.AttachType = 6
	attachSkMsgVerdict            sys.AttachType = 7
	attachCgroupInet4Bind         sys.AttachType = 8
	attachCgroupInet6Bind         sys.AttachType = 9
	attachCgroupInet4Connect      sys.AttachType = 10
	attachCgroupInet6Connect      sys.AttachType = 11
	attachCgroupInet4PostBind     sys.AttachType = 12
	attachCgroupInet6PostBind     sys.AttachType = 13
	attachCgroupUDP4Sendmsg       sys.AttachType = 14
	attachCgroupUDP6Sendmsg       sys.AttachType = 15
	attachLircMode2               sys.AttachType = 16
	attachFlowDissector           sys.AttachType = 17
	attachCgroupSysctl            sys.AttachType = 18
	attachCgroupUDP4Recvmsg       sys.AttachType = 19
	attachCgroupUDP6Recvmsg       sys.AttachType = 20
	attachCgroupGetsockopt        sys.AttachType = 21
	attachCgroupSetsockopt        sys.AttachType = 22
	attachCgroupInet4Getpeername  sys.AttachType = 29
	attachCgroupInet6Getpeername  sys.AttachType = 30
	attachCgroupInet4Getsockname  sys.AttachType = 31
	attachCgroupInet6Getsockname  sys.AttachType = 32
	attachXDPDevmap               sys.AttachType = 33
	attachCgroupInetSockRelease   sys.AttachType = 34
	attachXDPCPUmap               sys.AttachType = 35
	attachSkLookup                sys.AttachType = 36
	attachSkSKBVerdict            sys.AttachType = 38
	attachSkReuseportSelect       sys.AttachType = 39
	attachSkReuseportSelectOrMigr sys.AttachType = 40
	attachLSMCgroup               sys.AttachType = 43
	attachCgroupUnixConnect       sys.AttachType = 49
	attachCgroupUnixSendmsg       sys.AttachType = 50
	attachCgroupUnixRecvmsg       sys.AttachType = 51
	attachCgroupUnixGetpeername   sys.AttachType = 52
	attachCgroupUnixGetsockname   sys.AttachType = 53
	attachTraceUprobeSession      sys.AttachType = 57
)

// Program load flags that section names imply (BPF_PROG_LOAD prog_flags).
const (
	progFlagSleepable   = 1 << 4 // BPF_F_SLEEPABLE
	progFlagXDPHasFrags = 1 << 5 // BPF_F_XDP_HAS_FRAGS
)

// sectionDef is one row of the section-name convention: a program in a
// section called Prefix (exactly, or followed by "/target" when
// Target is set) has the given type, expected attach type and flags.
type sectionDef struct {
	prefix string
	typ    Type
	attach sys.AttachType
	flags  uint32
	// target: the name may go on with "/..." naming what to attach to.
	target bool
}

// sectionDefs follows libbpf's documented program types and ELF section
// names (Documentation/bpf/libbpf/program_types.rst, libbpf 1.5). Longer
// prefixes come before their shorter forms so that the first match wins.
var sectionDefs = []sectionDef{
	{"socket", SocketFilter, 0, 0, false},
	{"sk_reuseport/migrate", SKReuseport, attachSkReuseportSelectOrMigr, 0, false},
	{"sk_reuseport", SKReuseport, attachSkReuseportSelect, 0, false},
	{"kprobe.multi", Kprobe, sys.AttachTraceKprobeMulti, 0, true},
	{"kretprobe.multi", Kprobe, sys.AttachTraceKprobeMulti, 0, true},
	{"kprobe.session", Kprobe, sys.AttachTraceKprobeSess, 0, true},
	{"uprobe.multi.s", Kprobe, sys.AttachTraceUprobeMulti, progFlagSleepable, true},
	{"uretprobe.multi.s", Kprobe, sys.AttachTraceUprobeMulti, progFlagSleepable, true},
	{"uprobe.multi", Kprobe, sys.AttachTraceUprobeMulti, 0, true},
	{"uretprobe.multi", Kprobe, sys.AttachTraceUprobeMulti, 0, true},
	{"uprobe.session.s", Kprobe, attachTraceUprobeSession, progFlagSleepable, true},
	{"uprobe.session", Kprobe, attachTraceUprobeSession, 0, true},
	{"kprobe", Kprobe, 0, 0, true},
	{"kretprobe", Kprobe, 0, 0, true},
	{"uprobe.s", Kprobe, 0, progFlagSleepable, true},
	{"uretprobe.s", Kprobe, 0, progFlagSleepable, true},
	{"uprobe", Kprobe, 0, 0, true},
	{"uretprobe", Kprobe, 0, 0, true},
	{"ksyscall", Kprobe, 0, 0, true},
	{"kretsyscall", Kprobe, 0, 0, true},
	{"usdt.s", Kprobe, 0, progFlagSleepable, true},
	{"usdt", Kprobe, 0, 0, true},
	{"tc/ingress", SchedCLS, sys.AttachTCXIngress, 0, false},
	{"tc/egress", SchedCLS, sys.AttachTCXEgress, 0, false},
	{"tcx/ingress", SchedCLS, sys.AttachTCXIngress, 0, false},
	{"tcx/egress", SchedCLS, sys.AttachTCXEgress, 0, false},
	{"tc", SchedCLS, 0, 0, false},
	{"classifier", SchedCLS, 0, 0, false},
	{"action", SchedACT, 0, 0, false},
	{"netkit/primary", SchedCLS, sys.AttachNetkitPrimary, 0, false},
	{"netkit/peer", SchedCLS, sys.AttachNetkitPeer, 0, false},
	{"tracepoint", TracePoint, 0, 0, true},
	{"tp", TracePoint, 0, 0, true},
	{"raw_tracepoint.w", RawTracePointWritable, 0, 0, true},
	{"raw_tp.w", RawTracePointWritable, 0, 0, true},
	{"raw_tracepoint", RawTracePoint, 0, 0, true},
	{"raw_tp", RawTracePoint, 0, 0, true},
	{"tp_btf", Tracing, sys.AttachTraceRawTp, 0, true},
	{"fentry.s", Tracing, sys.AttachTraceFentry, progFlagSleepable, true},
	{"fmod_ret.s", Tracing, sys.AttachModifyReturn, progFlagSleepable, true},
	{"fexit.s", Tracing, sys.AttachTraceFexit, progFlagSleepable, true},
	{"fentry", Tracing, sys.AttachTraceFentry, 0, true},
	{"fmod_ret", Tracing, sys.AttachModifyReturn, 0, true},
	{"fexit", Tracing, sys.AttachTraceFexit, 0, true},
	{"freplace", Ext, 0, 0, true},
	{"lsm.s", LSM, sys.AttachLSMMac, progFlagSleepable, true},
	{"lsm_cgroup", LSM, attachLSMCgroup, 0, true},
	{"lsm", LSM, sys.AttachLSMMac, 0, true},
	{"iter.s", Tracing, sys.AttachTraceIter, progFlagSleepable, true},
	{"iter", Tracing, sys.AttachTraceIter, 0, true},
	{"syscall", Syscall, 0, progFlagSleepable, false},
	{"xdp.frags/devmap", XDP, attachXDPDevmap, progFlagXDPHasFrags, false},
	{"xdp/devmap", XDP, attachXDPDevmap, 0, false},
	{"xdp.frags/cpumap", XDP, attachXDPCPUmap, progFlagXDPHasFrags, false},
	{"xdp/cpumap", XDP, attachXDPCPUmap, 0, false},
	{"xdp.frags", XDP, sys.AttachXDP, progFlagXDPHasFrags, false},
	{"xdp", XDP, sys.AttachXDP, 0, false},
	{"perf_event", PerfEvent, 0, 0, false},
	{"lwt_in", LWTIn, 0, 0, false},
	{"lwt_out", LWTOut, 0, 0, false},
	{"lwt_xmit", LWTXmit, 0, 0, false},
	{"lwt_seg6local", LWTSeg6Local, 0, 0, false},
	{"sockops", SockOps, attachCgroupSockOps, 0, false},
	{"sk_skb/stream_parser", SKSKB, attachSkSKBStreamParser, 0, false},
	{"sk_skb/stream_verdict", SKSKB, attachSkSKBStreamVerdict, 0, false},
	{"sk_skb/verdict", SKSKB, attachSkSKBVerdict, 0, false},
	{"sk_skb", SKSKB, 0, 0, false},
	{"sk_msg", SKMsg, attachSkMsgVerdict, 0, false},
	{"lirc_mode2", LIRCMode2, attachLircMode2, 0, false},
	{"flow_dissector", FlowDissector, attachFlowDissector, 0, false},
	{"cgroup_skb/ingress", CgroupSKB, attachCgroupInetIngress, 0, false},
	{"cgroup_skb/egress", CgroupSKB, attachCgroupInetEgress, 0, false},
	{"cgroup/skb", CgroupSKB, 0, 0, false},
	{"cgroup/sock_create", CgroupSock, attachCgroupInetSockCreate, 0, false},
	{"cgroup/sock_release", CgroupSock, attachCgroupInetSockRelease, 0, false},
	{"cgroup/sock", CgroupSock, attachCgroupInetSockCreate, 0, false},
	{"cgroup/post_bind4", CgroupSock, attachCgroupInet4PostBind, 0, false},
	{"cgroup/post_bind6", CgroupSock, attachCgroupInet6PostBind, 0, false},
	{"cgroup/bind4", CgroupSockAddr, attachCgroupInet4Bind, 0, false},
	{"cgroup/bind6", CgroupSockAddr, attachCgroupInet6Bind, 0, false},
	{"cgroup/connect4", CgroupSockAddr, attachCgroupInet4Connect, 0, false},
	{"cgroup/connect6", CgroupSockAddr, attachCgroupInet6Connect, 0, false},
	{"cgroup/connect_unix", CgroupSockAddr, attachCgroupUnixConnect, 0, false},
	{"cgroup/sendmsg4", CgroupSockAddr, attachCgroupUDP4Sendmsg, 0, false},
	{"cgroup/sendmsg6", CgroupSockAddr, attachCgroupUDP6Sendmsg, 0, false},
	{"cgroup/sendmsg_unix", CgroupSockAddr, attachCgroupUnixSendmsg, 0, false},
	{"cgroup/recvmsg4", CgroupSockAddr, attachCgroupUDP4Recvmsg, 0, false},
	{"cgroup/recvmsg6", CgroupSockAddr, attachCgroupUDP6Recvmsg, 0, false},
	{"cgroup/recvmsg_unix", CgroupSockAddr, attachCgroupUnixRecvmsg, 0, false},
	{"cgroup/getpeername4", CgroupSockAddr, attachCgroupInet4Getpeername, 0, false},
	{"cgroup/getpeername6", CgroupSockAddr, attachCgroupInet6Getpeername, 0, false},
	{"cgroup/getpeername_unix", CgroupSockAddr, attachCgroupUnixGetpeername, 0, false},
	{"cgroup/getsockname4", CgroupSockAddr, attachCgroupInet4Getsockname, 0, false},
	{"cgroup/getsockname6", CgroupSockAddr, attachCgroupInet6Getsockname, 0, false},
	{"cgroup/getsockname_unix", CgroupSockAddr, attachCgroupUnixGetsockname, 0, false},
	{"cgroup/sysctl", CgroupSysctl, attachCgroupSysctl, 0, false},
	{"cgroup/getsockopt", CgroupSockopt, attachCgroupGetsockopt, 0, false},
	{"cgroup/setsockopt", CgroupSockopt, attachCgroupSetsockopt, 0, false},
	{"cgroup/dev", CgroupDevice, attachCgroupDevice, 0, false},
	{"struct_ops.s", StructOps, 0, progFlagSleepable, true},
	{"struct_ops", StructOps, 0, 0, true},
	{"sk_lookup", SKLookup, attachSkLookup, 0, false},
	{"netfilter", Netfilter, sys.AttachNetfilter, 0, false},
}

// SectionType is what a section name says about the programs in it.
type SectionType struct {
	Type Type
	// AttachType is the expected_attach_type for BPF_PROG_LOAD.
	AttachType AttachType
	// AttachTo is the target after the prefix: "syscalls/sys_enter_write"
	// for "tp/syscalls/sys_enter_write", "do_unlinkat" for
	// "fentry/do_unlinkat"; empty when the name has none.
	AttachTo string
	// Flags are BPF_PROG_LOAD prog_flags: ProgramSleepable for ".s"
	// sections and syscall programs, ProgramXDPHasFrags for xdp.frags.
	Flags ProgramFlags
}

// ParseSectionName interprets an ELF section name following libbpf's
// conventions: exact names such as "xdp", "socket" or "cgroup/connect4",
// and prefixes such as "kprobe/", "tp/" or "fentry/" that go on with the
// attach target. It reports false for a name no convention covers.
func ParseSectionName(name string) (SectionType, bool) {
	for _, d := range sectionDefs {
		rest, ok := strings.CutPrefix(name, d.prefix)
		if !ok {
			continue
		}
		switch {
		case rest == "":
		case d.target && rest[0] == '/':
			rest = rest[1:]
		default:
			continue
		}
		return SectionType{Type: d.typ, AttachType: AttachType(d.attach), AttachTo: rest, Flags: ProgramFlags(d.flags)}, true
	}
	return SectionType{}, false
}
