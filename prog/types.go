package prog

import (
	"strings"

	"github.com/purebpf/purebpf/sys"
)

// Type is a program type (enum bpf_prog_type in include/uapi/linux/bpf.h).
// It decides the context a program gets, the helpers it may call and where
// it may be attached. The values are package sys's; this type adds the
// names users write (prog.SocketFilter) and works on every platform.
type Type uint32

// Program types.
const (
	UnspecifiedProgram    = Type(sys.ProgTypeUnspec)                // BPF_PROG_TYPE_UNSPEC
	SocketFilter          = Type(sys.ProgTypeSocketFilter)          // BPF_PROG_TYPE_SOCKET_FILTER
	Kprobe                = Type(sys.ProgTypeKprobe)                // BPF_PROG_TYPE_KPROBE
	SchedCLS              = Type(sys.ProgTypeSchedCLS)              // BPF_PROG_TYPE_SCHED_CLS
	SchedACT              = Type(sys.ProgTypeSchedACT)              // BPF_PROG_TYPE_SCHED_ACT
	TracePoint            = Type(sys.ProgTypeTracepoint)            // BPF_PROG_TYPE_TRACEPOINT
	XDP                   = Type(sys.ProgTypeXDP)                   // BPF_PROG_TYPE_XDP
	PerfEvent             = Type(sys.ProgTypePerfEvent)             // BPF_PROG_TYPE_PERF_EVENT
	CgroupSKB             = Type(sys.ProgTypeCgroupSKB)             // BPF_PROG_TYPE_CGROUP_SKB
	CgroupSock            = Type(sys.ProgTypeCgroupSock)            // BPF_PROG_TYPE_CGROUP_SOCK
	LWTIn                 = Type(sys.ProgTypeLWTIn)                 // BPF_PROG_TYPE_LWT_IN
	LWTOut                = Type(sys.ProgTypeLWTOut)                // BPF_PROG_TYPE_LWT_OUT
	LWTXmit               = Type(sys.ProgTypeLWTXmit)               // BPF_PROG_TYPE_LWT_XMIT
	SockOps               = Type(sys.ProgTypeSockOps)               // BPF_PROG_TYPE_SOCK_OPS
	SKSKB                 = Type(sys.ProgTypeSkSKB)                 // BPF_PROG_TYPE_SK_SKB
	CgroupDevice          = Type(sys.ProgTypeCgroupDevice)          // BPF_PROG_TYPE_CGROUP_DEVICE
	SKMsg                 = Type(sys.ProgTypeSkMsg)                 // BPF_PROG_TYPE_SK_MSG
	RawTracePoint         = Type(sys.ProgTypeRawTracepoint)         // BPF_PROG_TYPE_RAW_TRACEPOINT
	CgroupSockAddr        = Type(sys.ProgTypeCgroupSockAddr)        // BPF_PROG_TYPE_CGROUP_SOCK_ADDR
	LWTSeg6Local          = Type(sys.ProgTypeLWTSeg6Local)          // BPF_PROG_TYPE_LWT_SEG6LOCAL
	LIRCMode2             = Type(sys.ProgTypeLircMode2)             // BPF_PROG_TYPE_LIRC_MODE2
	SKReuseport           = Type(sys.ProgTypeSkReuseport)           // BPF_PROG_TYPE_SK_REUSEPORT
	FlowDissector         = Type(sys.ProgTypeFlowDissector)         // BPF_PROG_TYPE_FLOW_DISSECTOR
	CgroupSysctl          = Type(sys.ProgTypeCgroupSysctl)          // BPF_PROG_TYPE_CGROUP_SYSCTL
	RawTracePointWritable = Type(sys.ProgTypeRawTracepointWritable) // BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE
	CgroupSockopt         = Type(sys.ProgTypeCgroupSockopt)         // BPF_PROG_TYPE_CGROUP_SOCKOPT
	Tracing               = Type(sys.ProgTypeTracing)               // BPF_PROG_TYPE_TRACING
	StructOps             = Type(sys.ProgTypeStructOps)             // BPF_PROG_TYPE_STRUCT_OPS
	Ext                   = Type(sys.ProgTypeExt)                   // BPF_PROG_TYPE_EXT
	LSM                   = Type(sys.ProgTypeLSM)                   // BPF_PROG_TYPE_LSM
	SKLookup              = Type(sys.ProgTypeSkLookup)              // BPF_PROG_TYPE_SK_LOOKUP
	Syscall               = Type(sys.ProgTypeSyscall)               // BPF_PROG_TYPE_SYSCALL
	Netfilter             = Type(sys.ProgTypeNetfilter)             // BPF_PROG_TYPE_NETFILTER
)

// String returns the type's name as bpftool prints it, such as
// "socket_filter", or "bpf_prog_type(n)" for a number sys does not name.
func (t Type) String() string {
	return strings.ToLower(strings.TrimPrefix(sys.ProgType(t).String(), "BPF_PROG_TYPE_"))
}

// MapType is a map type (enum bpf_map_type). The values are package sys's.
type MapType uint32

// Map types.
const (
	UnspecifiedMap      = MapType(sys.MapTypeUnspec)
	Hash                = MapType(sys.MapTypeHash)
	Array               = MapType(sys.MapTypeArray)
	ProgArray           = MapType(sys.MapTypeProgArray)
	PerfEventArray      = MapType(sys.MapTypePerfEventArray)
	PerCPUHash          = MapType(sys.MapTypePerCPUHash)
	PerCPUArray         = MapType(sys.MapTypePerCPUArray)
	StackTrace          = MapType(sys.MapTypeStackTrace)
	CgroupArray         = MapType(sys.MapTypeCgroupArray)
	LRUHash             = MapType(sys.MapTypeLRUHash)
	LRUPerCPUHash       = MapType(sys.MapTypeLRUPerCPUHash)
	LPMTrie             = MapType(sys.MapTypeLPMTrie)
	ArrayOfMaps         = MapType(sys.MapTypeArrayOfMaps)
	HashOfMaps          = MapType(sys.MapTypeHashOfMaps)
	DevMap              = MapType(sys.MapTypeDevMap)
	SockMap             = MapType(sys.MapTypeSockMap)
	CPUMap              = MapType(sys.MapTypeCPUMap)
	XSKMap              = MapType(sys.MapTypeXSKMap)
	SockHash            = MapType(sys.MapTypeSockHash)
	CgroupStorage       = MapType(sys.MapTypeCgroupStorage)
	ReuseportSockArray  = MapType(sys.MapTypeReusePortSockArray)
	PerCPUCgroupStorage = MapType(sys.MapTypePerCPUCgroupStorage)
	Queue               = MapType(sys.MapTypeQueue)
	Stack               = MapType(sys.MapTypeStack)
	SKStorage           = MapType(sys.MapTypeSkStorage)
	DevMapHash          = MapType(sys.MapTypeDevMapHash)
	StructOpsMap        = MapType(sys.MapTypeStructOps)
	RingBuf             = MapType(sys.MapTypeRingBuf)
	InodeStorage        = MapType(sys.MapTypeInodeStorage)
	TaskStorage         = MapType(sys.MapTypeTaskStorage)
	BloomFilter         = MapType(sys.MapTypeBloomFilter)
	UserRingBuf         = MapType(sys.MapTypeUserRingBuf)
	CgroupStorageLocal  = MapType(sys.MapTypeCgrpStorage)
	Arena               = MapType(sys.MapTypeArena)
)

// String returns the map type's name as bpftool prints it, such as "hash",
// or "bpf_map_type(n)" for a number sys does not name.
func (t MapType) String() string {
	return strings.ToLower(strings.TrimPrefix(sys.MapType(t).String(), "BPF_MAP_TYPE_"))
}

// PerCPU reports whether the map holds one value per possible CPU.
func (t MapType) PerCPU() bool {
	switch t {
	case PerCPUHash, PerCPUArray, LRUPerCPUHash, PerCPUCgroupStorage:
		return true
	}
	return false
}
