package prog

import "strconv"

// Type is a program type (enum bpf_prog_type in include/uapi/linux/bpf.h,
// Linux 6.1). It decides the context a program gets, the helpers it may
// call and where it may be attached.
type Type uint32

// Program types.
const (
	UnspecifiedProgram    Type = 0  // BPF_PROG_TYPE_UNSPEC
	SocketFilter          Type = 1  // BPF_PROG_TYPE_SOCKET_FILTER
	Kprobe                Type = 2  // BPF_PROG_TYPE_KPROBE
	SchedCLS              Type = 3  // BPF_PROG_TYPE_SCHED_CLS
	SchedACT              Type = 4  // BPF_PROG_TYPE_SCHED_ACT
	TracePoint            Type = 5  // BPF_PROG_TYPE_TRACEPOINT
	XDP                   Type = 6  // BPF_PROG_TYPE_XDP
	PerfEvent             Type = 7  // BPF_PROG_TYPE_PERF_EVENT
	CgroupSKB             Type = 8  // BPF_PROG_TYPE_CGROUP_SKB
	CgroupSock            Type = 9  // BPF_PROG_TYPE_CGROUP_SOCK
	LWTIn                 Type = 10 // BPF_PROG_TYPE_LWT_IN
	LWTOut                Type = 11 // BPF_PROG_TYPE_LWT_OUT
	LWTXmit               Type = 12 // BPF_PROG_TYPE_LWT_XMIT
	SockOps               Type = 13 // BPF_PROG_TYPE_SOCK_OPS
	SKSKB                 Type = 14 // BPF_PROG_TYPE_SK_SKB
	CgroupDevice          Type = 15 // BPF_PROG_TYPE_CGROUP_DEVICE
	SKMsg                 Type = 16 // BPF_PROG_TYPE_SK_MSG
	RawTracePoint         Type = 17 // BPF_PROG_TYPE_RAW_TRACEPOINT
	CgroupSockAddr        Type = 18 // BPF_PROG_TYPE_CGROUP_SOCK_ADDR
	LWTSeg6Local          Type = 19 // BPF_PROG_TYPE_LWT_SEG6LOCAL
	LIRCMode2             Type = 20 // BPF_PROG_TYPE_LIRC_MODE2
	SKReuseport           Type = 21 // BPF_PROG_TYPE_SK_REUSEPORT
	FlowDissector         Type = 22 // BPF_PROG_TYPE_FLOW_DISSECTOR
	CgroupSysctl          Type = 23 // BPF_PROG_TYPE_CGROUP_SYSCTL
	RawTracePointWritable Type = 24 // BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE
	CgroupSockopt         Type = 25 // BPF_PROG_TYPE_CGROUP_SOCKOPT
	Tracing               Type = 26 // BPF_PROG_TYPE_TRACING
	StructOps             Type = 27 // BPF_PROG_TYPE_STRUCT_OPS
	Ext                   Type = 28 // BPF_PROG_TYPE_EXT
	LSM                   Type = 29 // BPF_PROG_TYPE_LSM
	SKLookup              Type = 30 // BPF_PROG_TYPE_SK_LOOKUP
	Syscall               Type = 31 // BPF_PROG_TYPE_SYSCALL
)

var typeNames = [...]string{
	"unspec",
	"socket_filter",
	"kprobe",
	"sched_cls",
	"sched_act",
	"tracepoint",
	"xdp",
	"perf_event",
	"cgroup_skb",
	"cgroup_sock",
	"lwt_in",
	"lwt_out",
	"lwt_xmit",
	"sock_ops",
	"sk_skb",
	"cgroup_device",
	"sk_msg",
	"raw_tracepoint",
	"cgroup_sock_addr",
	"lwt_seg6local",
	"lirc_mode2",
	"sk_reuseport",
	"flow_dissector",
	"cgroup_sysctl",
	"raw_tracepoint_writable",
	"cgroup_sockopt",
	"tracing",
	"struct_ops",
	"ext",
	"lsm",
	"sk_lookup",
	"syscall",
}

// String returns the type's name as bpftool prints it, such as
// "socket_filter".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "prog_type#" + strconv.Itoa(int(t))
}

// MapType is a map type (enum bpf_map_type, Linux 6.1).
type MapType uint32

// Map types.
const (
	UnspecifiedMap      MapType = 0  // BPF_MAP_TYPE_UNSPEC
	Hash                MapType = 1  // BPF_MAP_TYPE_HASH
	Array               MapType = 2  // BPF_MAP_TYPE_ARRAY
	ProgArray           MapType = 3  // BPF_MAP_TYPE_PROG_ARRAY
	PerfEventArray      MapType = 4  // BPF_MAP_TYPE_PERF_EVENT_ARRAY
	PerCPUHash          MapType = 5  // BPF_MAP_TYPE_PERCPU_HASH
	PerCPUArray         MapType = 6  // BPF_MAP_TYPE_PERCPU_ARRAY
	StackTrace          MapType = 7  // BPF_MAP_TYPE_STACK_TRACE
	CgroupArray         MapType = 8  // BPF_MAP_TYPE_CGROUP_ARRAY
	LRUHash             MapType = 9  // BPF_MAP_TYPE_LRU_HASH
	LRUPerCPUHash       MapType = 10 // BPF_MAP_TYPE_LRU_PERCPU_HASH
	LPMTrie             MapType = 11 // BPF_MAP_TYPE_LPM_TRIE
	ArrayOfMaps         MapType = 12 // BPF_MAP_TYPE_ARRAY_OF_MAPS
	HashOfMaps          MapType = 13 // BPF_MAP_TYPE_HASH_OF_MAPS
	DevMap              MapType = 14 // BPF_MAP_TYPE_DEVMAP
	SockMap             MapType = 15 // BPF_MAP_TYPE_SOCKMAP
	CPUMap              MapType = 16 // BPF_MAP_TYPE_CPUMAP
	XSKMap              MapType = 17 // BPF_MAP_TYPE_XSKMAP
	SockHash            MapType = 18 // BPF_MAP_TYPE_SOCKHASH
	CgroupStorage       MapType = 19 // BPF_MAP_TYPE_CGROUP_STORAGE
	ReuseportSockArray  MapType = 20 // BPF_MAP_TYPE_REUSEPORT_SOCKARRAY
	PerCPUCgroupStorage MapType = 21 // BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
	Queue               MapType = 22 // BPF_MAP_TYPE_QUEUE
	Stack               MapType = 23 // BPF_MAP_TYPE_STACK
	SKStorage           MapType = 24 // BPF_MAP_TYPE_SK_STORAGE
	DevMapHash          MapType = 25 // BPF_MAP_TYPE_DEVMAP_HASH
	StructOpsMap        MapType = 26 // BPF_MAP_TYPE_STRUCT_OPS
	RingBuf             MapType = 27 // BPF_MAP_TYPE_RINGBUF
	InodeStorage        MapType = 28 // BPF_MAP_TYPE_INODE_STORAGE
	TaskStorage         MapType = 29 // BPF_MAP_TYPE_TASK_STORAGE
	BloomFilter         MapType = 30 // BPF_MAP_TYPE_BLOOM_FILTER
	UserRingBuf         MapType = 31 // BPF_MAP_TYPE_USER_RINGBUF
)

var mapTypeNames = [...]string{
	"unspec",
	"hash",
	"array",
	"prog_array",
	"perf_event_array",
	"percpu_hash",
	"percpu_array",
	"stack_trace",
	"cgroup_array",
	"lru_hash",
	"lru_percpu_hash",
	"lpm_trie",
	"array_of_maps",
	"hash_of_maps",
	"devmap",
	"sockmap",
	"cpumap",
	"xskmap",
	"sockhash",
	"cgroup_storage",
	"reuseport_sockarray",
	"percpu_cgroup_storage",
	"queue",
	"stack",
	"sk_storage",
	"devmap_hash",
	"struct_ops",
	"ringbuf",
	"inode_storage",
	"task_storage",
	"bloom_filter",
	"user_ringbuf",
}

// String returns the map type's name as bpftool prints it, such as "hash".
func (t MapType) String() string {
	if int(t) < len(mapTypeNames) {
		return mapTypeNames[t]
	}
	return "map_type#" + strconv.Itoa(int(t))
}

// PerCPU reports whether the map holds one value per possible CPU.
func (t MapType) PerCPU() bool {
	switch t {
	case PerCPUHash, PerCPUArray, LRUPerCPUHash, PerCPUCgroupStorage:
		return true
	}
	return false
}
