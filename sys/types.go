package sys

import "strconv"

// MapType is a map type (enum bpf_map_type).
type MapType uint32

// Map types, in enum bpf_map_type order.
const (
	MapTypeUnspec              MapType = 0  // BPF_MAP_TYPE_UNSPEC
	MapTypeHash                MapType = 1  // BPF_MAP_TYPE_HASH
	MapTypeArray               MapType = 2  // BPF_MAP_TYPE_ARRAY
	MapTypeProgArray           MapType = 3  // BPF_MAP_TYPE_PROG_ARRAY
	MapTypePerfEventArray      MapType = 4  // BPF_MAP_TYPE_PERF_EVENT_ARRAY
	MapTypePerCPUHash          MapType = 5  // BPF_MAP_TYPE_PERCPU_HASH
	MapTypePerCPUArray         MapType = 6  // BPF_MAP_TYPE_PERCPU_ARRAY
	MapTypeStackTrace          MapType = 7  // BPF_MAP_TYPE_STACK_TRACE
	MapTypeCgroupArray         MapType = 8  // BPF_MAP_TYPE_CGROUP_ARRAY
	MapTypeLRUHash             MapType = 9  // BPF_MAP_TYPE_LRU_HASH
	MapTypeLRUPerCPUHash       MapType = 10 // BPF_MAP_TYPE_LRU_PERCPU_HASH
	MapTypeLPMTrie             MapType = 11 // BPF_MAP_TYPE_LPM_TRIE
	MapTypeArrayOfMaps         MapType = 12 // BPF_MAP_TYPE_ARRAY_OF_MAPS
	MapTypeHashOfMaps          MapType = 13 // BPF_MAP_TYPE_HASH_OF_MAPS
	MapTypeDevMap              MapType = 14 // BPF_MAP_TYPE_DEVMAP
	MapTypeSockMap             MapType = 15 // BPF_MAP_TYPE_SOCKMAP
	MapTypeCPUMap              MapType = 16 // BPF_MAP_TYPE_CPUMAP
	MapTypeXSKMap              MapType = 17 // BPF_MAP_TYPE_XSKMAP
	MapTypeSockHash            MapType = 18 // BPF_MAP_TYPE_SOCKHASH
	MapTypeCgroupStorage       MapType = 19 // BPF_MAP_TYPE_CGROUP_STORAGE (deprecated)
	MapTypeReusePortSockArray  MapType = 20 // BPF_MAP_TYPE_REUSEPORT_SOCKARRAY
	MapTypePerCPUCgroupStorage MapType = 21 // BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE (deprecated)
	MapTypeQueue               MapType = 22 // BPF_MAP_TYPE_QUEUE
	MapTypeStack               MapType = 23 // BPF_MAP_TYPE_STACK
	MapTypeSkStorage           MapType = 24 // BPF_MAP_TYPE_SK_STORAGE
	MapTypeDevMapHash          MapType = 25 // BPF_MAP_TYPE_DEVMAP_HASH
	MapTypeStructOps           MapType = 26 // BPF_MAP_TYPE_STRUCT_OPS
	MapTypeRingBuf             MapType = 27 // BPF_MAP_TYPE_RINGBUF
	MapTypeInodeStorage        MapType = 28 // BPF_MAP_TYPE_INODE_STORAGE
	MapTypeTaskStorage         MapType = 29 // BPF_MAP_TYPE_TASK_STORAGE
	MapTypeBloomFilter         MapType = 30 // BPF_MAP_TYPE_BLOOM_FILTER
	MapTypeUserRingBuf         MapType = 31 // BPF_MAP_TYPE_USER_RINGBUF
	MapTypeCgrpStorage         MapType = 32 // BPF_MAP_TYPE_CGRP_STORAGE
	MapTypeArena               MapType = 33 // BPF_MAP_TYPE_ARENA
)

var mapTypeNames = [...]string{
	"UNSPEC", "HASH", "ARRAY", "PROG_ARRAY", "PERF_EVENT_ARRAY", "PERCPU_HASH",
	"PERCPU_ARRAY", "STACK_TRACE", "CGROUP_ARRAY", "LRU_HASH", "LRU_PERCPU_HASH",
	"LPM_TRIE", "ARRAY_OF_MAPS", "HASH_OF_MAPS", "DEVMAP", "SOCKMAP", "CPUMAP",
	"XSKMAP", "SOCKHASH", "CGROUP_STORAGE", "REUSEPORT_SOCKARRAY",
	"PERCPU_CGROUP_STORAGE", "QUEUE", "STACK", "SK_STORAGE", "DEVMAP_HASH",
	"STRUCT_OPS", "RINGBUF", "INODE_STORAGE", "TASK_STORAGE", "BLOOM_FILTER",
	"USER_RINGBUF", "CGRP_STORAGE", "ARENA",
}

// String returns the kernel's name of the map type, e.g.
// "BPF_MAP_TYPE_HASH".
func (t MapType) String() string {
	if int(t) < len(mapTypeNames) {
		return "BPF_MAP_TYPE_" + mapTypeNames[t]
	}
	return "BPF_MAP_TYPE(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// ProgType is a program type (enum bpf_prog_type).
type ProgType uint32

// Program types, in enum bpf_prog_type order.
const (
	ProgTypeUnspec                ProgType = 0  // BPF_PROG_TYPE_UNSPEC
	ProgTypeSocketFilter          ProgType = 1  // BPF_PROG_TYPE_SOCKET_FILTER
	ProgTypeKprobe                ProgType = 2  // BPF_PROG_TYPE_KPROBE
	ProgTypeSchedCLS              ProgType = 3  // BPF_PROG_TYPE_SCHED_CLS
	ProgTypeSchedACT              ProgType = 4  // BPF_PROG_TYPE_SCHED_ACT
	ProgTypeTracepoint            ProgType = 5  // BPF_PROG_TYPE_TRACEPOINT
	ProgTypeXDP                   ProgType = 6  // BPF_PROG_TYPE_XDP
	ProgTypePerfEvent             ProgType = 7  // BPF_PROG_TYPE_PERF_EVENT
	ProgTypeCgroupSKB             ProgType = 8  // BPF_PROG_TYPE_CGROUP_SKB
	ProgTypeCgroupSock            ProgType = 9  // BPF_PROG_TYPE_CGROUP_SOCK
	ProgTypeLWTIn                 ProgType = 10 // BPF_PROG_TYPE_LWT_IN
	ProgTypeLWTOut                ProgType = 11 // BPF_PROG_TYPE_LWT_OUT
	ProgTypeLWTXmit               ProgType = 12 // BPF_PROG_TYPE_LWT_XMIT
	ProgTypeSockOps               ProgType = 13 // BPF_PROG_TYPE_SOCK_OPS
	ProgTypeSkSKB                 ProgType = 14 // BPF_PROG_TYPE_SK_SKB
	ProgTypeCgroupDevice          ProgType = 15 // BPF_PROG_TYPE_CGROUP_DEVICE
	ProgTypeSkMsg                 ProgType = 16 // BPF_PROG_TYPE_SK_MSG
	ProgTypeRawTracepoint         ProgType = 17 // BPF_PROG_TYPE_RAW_TRACEPOINT
	ProgTypeCgroupSockAddr        ProgType = 18 // BPF_PROG_TYPE_CGROUP_SOCK_ADDR
	ProgTypeLWTSeg6Local          ProgType = 19 // BPF_PROG_TYPE_LWT_SEG6LOCAL
	ProgTypeLircMode2             ProgType = 20 // BPF_PROG_TYPE_LIRC_MODE2
	ProgTypeSkReuseport           ProgType = 21 // BPF_PROG_TYPE_SK_REUSEPORT
	ProgTypeFlowDissector         ProgType = 22 // BPF_PROG_TYPE_FLOW_DISSECTOR
	ProgTypeCgroupSysctl          ProgType = 23 // BPF_PROG_TYPE_CGROUP_SYSCTL
	ProgTypeRawTracepointWritable ProgType = 24 // BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE
	ProgTypeCgroupSockopt         ProgType = 25 // BPF_PROG_TYPE_CGROUP_SOCKOPT
	ProgTypeTracing               ProgType = 26 // BPF_PROG_TYPE_TRACING
	ProgTypeStructOps             ProgType = 27 // BPF_PROG_TYPE_STRUCT_OPS
	ProgTypeExt                   ProgType = 28 // BPF_PROG_TYPE_EXT
	ProgTypeLSM                   ProgType = 29 // BPF_PROG_TYPE_LSM
	ProgTypeSkLookup              ProgType = 30 // BPF_PROG_TYPE_SK_LOOKUP
	ProgTypeSyscall               ProgType = 31 // BPF_PROG_TYPE_SYSCALL
	ProgTypeNetfilter             ProgType = 32 // BPF_PROG_TYPE_NETFILTER
)

var progTypeNames = [...]string{
	"UNSPEC", "SOCKET_FILTER", "KPROBE", "SCHED_CLS", "SCHED_ACT", "TRACEPOINT",
	"XDP", "PERF_EVENT", "CGROUP_SKB", "CGROUP_SOCK", "LWT_IN", "LWT_OUT",
	"LWT_XMIT", "SOCK_OPS", "SK_SKB", "CGROUP_DEVICE", "SK_MSG", "RAW_TRACEPOINT",
	"CGROUP_SOCK_ADDR", "LWT_SEG6LOCAL", "LIRC_MODE2", "SK_REUSEPORT",
	"FLOW_DISSECTOR", "CGROUP_SYSCTL", "RAW_TRACEPOINT_WRITABLE",
	"CGROUP_SOCKOPT", "TRACING", "STRUCT_OPS", "EXT", "LSM", "SK_LOOKUP",
	"SYSCALL", "NETFILTER",
}

// String returns the kernel's name of the program type, e.g.
// "BPF_PROG_TYPE_SOCKET_FILTER".
func (t ProgType) String() string {
	if int(t) < len(progTypeNames) {
		return "BPF_PROG_TYPE_" + progTypeNames[t]
	}
	return "BPF_PROG_TYPE(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// AttachType is an attach type (enum bpf_attach_type), used by
// BPF_PROG_LOAD's expected attach type and by BPF_LINK_CREATE.
// Only the values purebpf uses are named here; any enum value may be
// converted.
type AttachType uint32

// Attach types (values of enum bpf_attach_type).
const (
	AttachCgroupInetIngress AttachType = 0  // BPF_CGROUP_INET_INGRESS
	AttachCgroupInetEgress  AttachType = 1  // BPF_CGROUP_INET_EGRESS
	AttachTraceRawTp        AttachType = 23 // BPF_TRACE_RAW_TP
	AttachTraceFentry       AttachType = 24 // BPF_TRACE_FENTRY
	AttachTraceFexit        AttachType = 25 // BPF_TRACE_FEXIT
	AttachModifyReturn      AttachType = 26 // BPF_MODIFY_RETURN
	AttachLSMMac            AttachType = 27 // BPF_LSM_MAC
	AttachTraceIter         AttachType = 28 // BPF_TRACE_ITER
	AttachXDP               AttachType = 37 // BPF_XDP
	AttachPerfEvent         AttachType = 41 // BPF_PERF_EVENT
	AttachTraceKprobeMulti  AttachType = 42 // BPF_TRACE_KPROBE_MULTI
	AttachNetfilter         AttachType = 45 // BPF_NETFILTER
	AttachTCXIngress        AttachType = 46 // BPF_TCX_INGRESS
	AttachTCXEgress         AttachType = 47 // BPF_TCX_EGRESS
	AttachTraceUprobeMulti  AttachType = 48 // BPF_TRACE_UPROBE_MULTI
	AttachNetkitPrimary     AttachType = 54 // BPF_NETKIT_PRIMARY
	AttachNetkitPeer        AttachType = 55 // BPF_NETKIT_PEER
	AttachTraceKprobeSess   AttachType = 56 // BPF_TRACE_KPROBE_SESSION
)

// Cgroup attach types (enum bpf_attach_type): the hooks of package link's
// CgroupHook and the expected attach types their programs load with.
const (
	AttachCgroupInetSockCreate   AttachType = 2  // BPF_CGROUP_INET_SOCK_CREATE
	AttachCgroupSockOps          AttachType = 3  // BPF_CGROUP_SOCK_OPS
	AttachCgroupDevice           AttachType = 6  // BPF_CGROUP_DEVICE
	AttachCgroupInet4Bind        AttachType = 8  // BPF_CGROUP_INET4_BIND
	AttachCgroupInet6Bind        AttachType = 9  // BPF_CGROUP_INET6_BIND
	AttachCgroupInet4Connect     AttachType = 10 // BPF_CGROUP_INET4_CONNECT
	AttachCgroupInet6Connect     AttachType = 11 // BPF_CGROUP_INET6_CONNECT
	AttachCgroupInet4PostBind    AttachType = 12 // BPF_CGROUP_INET4_POST_BIND
	AttachCgroupInet6PostBind    AttachType = 13 // BPF_CGROUP_INET6_POST_BIND
	AttachCgroupUDP4Sendmsg      AttachType = 14 // BPF_CGROUP_UDP4_SENDMSG
	AttachCgroupUDP6Sendmsg      AttachType = 15 // BPF_CGROUP_UDP6_SENDMSG
	AttachCgroupSysctl           AttachType = 18 // BPF_CGROUP_SYSCTL
	AttachCgroupUDP4Recvmsg      AttachType = 19 // BPF_CGROUP_UDP4_RECVMSG
	AttachCgroupUDP6Recvmsg      AttachType = 20 // BPF_CGROUP_UDP6_RECVMSG
	AttachCgroupGetsockopt       AttachType = 21 // BPF_CGROUP_GETSOCKOPT
	AttachCgroupSetsockopt       AttachType = 22 // BPF_CGROUP_SETSOCKOPT
	AttachCgroupInet4Getpeername AttachType = 29 // BPF_CGROUP_INET4_GETPEERNAME
	AttachCgroupInet6Getpeername AttachType = 30 // BPF_CGROUP_INET6_GETPEERNAME
	AttachCgroupInet4Getsockname AttachType = 31 // BPF_CGROUP_INET4_GETSOCKNAME
	AttachCgroupInet6Getsockname AttachType = 32 // BPF_CGROUP_INET6_GETSOCKNAME
	AttachCgroupInetSockRelease  AttachType = 34 // BPF_CGROUP_INET_SOCK_RELEASE
	AttachCgroupUnixConnect      AttachType = 49 // BPF_CGROUP_UNIX_CONNECT (Linux 6.7+)
	AttachCgroupUnixSendmsg      AttachType = 50 // BPF_CGROUP_UNIX_SENDMSG (Linux 6.7+)
	AttachCgroupUnixRecvmsg      AttachType = 51 // BPF_CGROUP_UNIX_RECVMSG (Linux 6.7+)
	AttachCgroupUnixGetpeername  AttachType = 52 // BPF_CGROUP_UNIX_GETPEERNAME (Linux 6.7+)
	AttachCgroupUnixGetsockname  AttachType = 53 // BPF_CGROUP_UNIX_GETSOCKNAME (Linux 6.7+)
)

// LinkType is a link type (enum bpf_link_type), reported by link info.
type LinkType uint32

// Link types, in enum bpf_link_type order.
const (
	LinkTypeUnspec        LinkType = 0  // BPF_LINK_TYPE_UNSPEC
	LinkTypeRawTracepoint LinkType = 1  // BPF_LINK_TYPE_RAW_TRACEPOINT
	LinkTypeTracing       LinkType = 2  // BPF_LINK_TYPE_TRACING
	LinkTypeCgroup        LinkType = 3  // BPF_LINK_TYPE_CGROUP
	LinkTypeIter          LinkType = 4  // BPF_LINK_TYPE_ITER
	LinkTypeNetns         LinkType = 5  // BPF_LINK_TYPE_NETNS
	LinkTypeXDP           LinkType = 6  // BPF_LINK_TYPE_XDP
	LinkTypePerfEvent     LinkType = 7  // BPF_LINK_TYPE_PERF_EVENT
	LinkTypeKprobeMulti   LinkType = 8  // BPF_LINK_TYPE_KPROBE_MULTI
	LinkTypeStructOps     LinkType = 9  // BPF_LINK_TYPE_STRUCT_OPS
	LinkTypeNetfilter     LinkType = 10 // BPF_LINK_TYPE_NETFILTER
	LinkTypeTCX           LinkType = 11 // BPF_LINK_TYPE_TCX
	LinkTypeUprobeMulti   LinkType = 12 // BPF_LINK_TYPE_UPROBE_MULTI
	LinkTypeNetkit        LinkType = 13 // BPF_LINK_TYPE_NETKIT
	LinkTypeSockmap       LinkType = 14 // BPF_LINK_TYPE_SOCKMAP
)

// MapFlags are the BPF_MAP_CREATE map_flags bits. BPF_F_RDONLY and
// BPF_F_WRONLY are also accepted as file_flags / open_flags by
// BPF_OBJ_GET and BPF_MAP_GET_FD_BY_ID.
type MapFlags uint32

// Map creation flags.
const (
	MapFlagNoPrealloc     MapFlags = 1 << 0                                // BPF_F_NO_PREALLOC: allocate hash elements on demand.
	MapFlagNoCommonLRU    MapFlags = 1 << 1                                // BPF_F_NO_COMMON_LRU: one LRU list per CPU.
	MapFlagNUMANode       MapFlags = 1 << 2                                // BPF_F_NUMA_NODE: honor MapCreateAttr.NUMANode.
	MapFlagRdonly         MapFlags = 1 << 3                                // BPF_F_RDONLY: user space may only read.
	MapFlagWronly         MapFlags = 1 << 4                                // BPF_F_WRONLY: user space may only write.
	MapFlagStackBuildID   MapFlags = 1 << 5                                // BPF_F_STACK_BUILD_ID: stack maps store build_id+offset.
	MapFlagZeroSeed       MapFlags = 1 << 6                                // BPF_F_ZERO_SEED: zero hash seed (testing only).
	MapFlagRdonlyProg     MapFlags = 1 << 7                                // BPF_F_RDONLY_PROG: programs may only read.
	MapFlagWronlyProg     MapFlags = 1 << 8                                // BPF_F_WRONLY_PROG: programs may only write.
	MapFlagClone          MapFlags = 1 << 9                                // BPF_F_CLONE: clone socket storage on accept.
	MapFlagMmapable       MapFlags = 1 << 10                               // BPF_F_MMAPABLE: the map can be mmap()ed.
	MapFlagPreserveElems  MapFlags = 1 << 11                               // BPF_F_PRESERVE_ELEMS: keep perf events on close.
	MapFlagInnerMap       MapFlags = 1 << 12                               // BPF_F_INNER_MAP: inner map with dynamic max_entries.
	MapFlagLink           MapFlags = 1 << 13                               // BPF_F_LINK: struct_ops map registered via a link.
	MapFlagPathFD         MapFlags = 1 << 14                               // BPF_F_PATH_FD: ObjAttr.PathFD is valid.
	MapFlagVTypeBTFObjFD  MapFlags = 1 << 15                               // BPF_F_VTYPE_BTF_OBJ_FD: ValueTypeBTFObjFD is valid.
	MapFlagTokenFD        MapFlags = 1 << 16                               // BPF_F_TOKEN_FD: the command's token fd field is valid.
	MapFlagSegvOnFault    MapFlags = 1 << 17                               // BPF_F_SEGV_ON_FAULT: arena faults raise SIGSEGV.
	MapFlagNoUserConv     MapFlags = 1 << 18                               // BPF_F_NO_USER_CONV: do not convert arena pointers.
	MapFlagsRdonlyWronly  MapFlags = MapFlagRdonly | MapFlagWronly         // user-space access bits
	MapFlagsProgReadWrite MapFlags = MapFlagRdonlyProg | MapFlagWronlyProg // program access bits
)

// Element flags for BPF_MAP_UPDATE_ELEM (and BPF_F_LOCK for lookups), in
// MapElemAttr.Flags and MapBatchAttr.ElemFlags.
const (
	UpdateAny     uint64 = 0 // BPF_ANY: create a new element or update an existing one.
	UpdateNoExist uint64 = 1 // BPF_NOEXIST: create a new element only if it did not exist.
	UpdateExist   uint64 = 2 // BPF_EXIST: update an existing element only.
	UpdateLock    uint64 = 4 // BPF_F_LOCK: take the value's bpf_spin_lock.
)

// Program load flags, in ProgLoadAttr.ProgFlags.
const (
	ProgFlagStrictAlignment   uint32 = 1 << 0  // BPF_F_STRICT_ALIGNMENT
	ProgFlagAnyAlignment      uint32 = 1 << 1  // BPF_F_ANY_ALIGNMENT
	ProgFlagTestRndHi32       uint32 = 1 << 2  // BPF_F_TEST_RND_HI32 (testing only)
	ProgFlagTestStateFreq     uint32 = 1 << 3  // BPF_F_TEST_STATE_FREQ (testing only)
	ProgFlagSleepable         uint32 = 1 << 4  // BPF_F_SLEEPABLE
	ProgFlagXDPHasFrags       uint32 = 1 << 5  // BPF_F_XDP_HAS_FRAGS
	ProgFlagXDPDevBoundOnly   uint32 = 1 << 6  // BPF_F_XDP_DEV_BOUND_ONLY
	ProgFlagTestRegInvariants uint32 = 1 << 7  // BPF_F_TEST_REG_INVARIANTS (testing only)
	ProgFlagTokenFD           uint32 = 1 << 16 // BPF_F_TOKEN_FD: ProgLoadAttr.ProgTokenFD is valid.
)

// Verifier log levels, in ProgLoadAttr.LogLevel (they may be combined).
const (
	LogLevelBranch uint32 = 1 // log the instructions on each verified path
	LogLevelInstr  uint32 = 2 // log every instruction and register state
	LogLevelStats  uint32 = 4 // log verification statistics
	LogLevelFixed  uint32 = 8 // BPF_LOG_FIXED: keep the head, not the tail, of a full log
)

// Flags for BPF_PROG_TEST_RUN, in ProgTestRunAttr.Flags.
const (
	TestRunOnCPU            uint32 = 1 << 0 // BPF_F_TEST_RUN_ON_CPU: run on ProgTestRunAttr.CPU.
	TestRunXDPLiveFrames    uint32 = 1 << 1 // BPF_F_TEST_XDP_LIVE_FRAMES
	TestRunSKBChecksumCompl uint32 = 1 << 2 // BPF_F_TEST_SKB_CHECKSUM_COMPLETE
)

// Generic attach flags, in LinkCreate*Attr.Flags where the link type
// supports them.
const (
	AttachFlagAllowOverride uint32 = 1 << 0 // BPF_F_ALLOW_OVERRIDE
	AttachFlagAllowMulti    uint32 = 1 << 1 // BPF_F_ALLOW_MULTI
	AttachFlagReplace       uint32 = 1 << 2 // BPF_F_REPLACE
	AttachFlagBefore        uint32 = 1 << 3 // BPF_F_BEFORE
	AttachFlagAfter         uint32 = 1 << 4 // BPF_F_AFTER
	AttachFlagID            uint32 = 1 << 5 // BPF_F_ID
)

// Link-specific flags.
const (
	KprobeMultiReturn uint32 = 1 << 0 // BPF_F_KPROBE_MULTI_RETURN: attach kretprobes.
	UprobeMultiReturn uint32 = 1 << 0 // BPF_F_UPROBE_MULTI_RETURN: attach uretprobes.
	NetfilterIPDefrag uint32 = 1 << 0 // BPF_F_NETFILTER_IP_DEFRAG: defragment before the hook.
)

// Sizes fixed by the kernel ABI.
const (
	ObjNameLen  = 16   // BPF_OBJ_NAME_LEN, including the terminating NUL
	TagSize     = 8    // BPF_TAG_SIZE, the size of a program tag
	MaxInsns    = 4096 // BPF_MAXINSNS, the classic per-program instruction limit
	InsnSize    = 8    // size in bytes of one struct bpf_insn
	BuildIDSize = 20   // BPF_BUILD_ID_SIZE
)
