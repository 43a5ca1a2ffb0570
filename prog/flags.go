package prog

import "github.com/purebpf/purebpf/sys"

// MapFlags are the map_flags of BPF_MAP_CREATE (MapSpec.Flags). The values
// are package sys's; this type gives them the names users write.
type MapFlags uint32

// Map creation flags (include/uapi/linux/bpf.h, BPF_F_*).
const (
	MapNoPrealloc    = MapFlags(sys.MapFlagNoPrealloc)    // BPF_F_NO_PREALLOC: allocate hash elements on demand (required by LPM tries)
	MapNoCommonLRU   = MapFlags(sys.MapFlagNoCommonLRU)   // BPF_F_NO_COMMON_LRU: one LRU list per CPU
	MapNUMANode      = MapFlags(sys.MapFlagNUMANode)      // BPF_F_NUMA_NODE
	MapRdonly        = MapFlags(sys.MapFlagRdonly)        // BPF_F_RDONLY: user space may only read
	MapWronly        = MapFlags(sys.MapFlagWronly)        // BPF_F_WRONLY: user space may only write
	MapStackBuildID  = MapFlags(sys.MapFlagStackBuildID)  // BPF_F_STACK_BUILD_ID
	MapZeroSeed      = MapFlags(sys.MapFlagZeroSeed)      // BPF_F_ZERO_SEED (testing only)
	MapRdonlyProg    = MapFlags(sys.MapFlagRdonlyProg)    // BPF_F_RDONLY_PROG: programs may only read
	MapWronlyProg    = MapFlags(sys.MapFlagWronlyProg)    // BPF_F_WRONLY_PROG: programs may only write
	MapClone         = MapFlags(sys.MapFlagClone)         // BPF_F_CLONE
	MapMmapable      = MapFlags(sys.MapFlagMmapable)      // BPF_F_MMAPABLE (Linux 5.5+)
	MapPreserveElems = MapFlags(sys.MapFlagPreserveElems) // BPF_F_PRESERVE_ELEMS (perf event arrays, Linux 5.10+)
	MapInnerMap      = MapFlags(sys.MapFlagInnerMap)      // BPF_F_INNER_MAP (Linux 5.10+)
)

// ProgramFlags are the prog_flags of BPF_PROG_LOAD (ProgramOptions.Flags).
type ProgramFlags uint32

// Program load flags (include/uapi/linux/bpf.h, BPF_F_*).
const (
	ProgramStrictAlignment = ProgramFlags(sys.ProgFlagStrictAlignment) // BPF_F_STRICT_ALIGNMENT
	ProgramAnyAlignment    = ProgramFlags(sys.ProgFlagAnyAlignment)    // BPF_F_ANY_ALIGNMENT
	ProgramSleepable       = ProgramFlags(sys.ProgFlagSleepable)       // BPF_F_SLEEPABLE (Linux 5.10+)
	ProgramXDPHasFrags     = ProgramFlags(sys.ProgFlagXDPHasFrags)     // BPF_F_XDP_HAS_FRAGS (Linux 5.18+)
	ProgramXDPDevBoundOnly = ProgramFlags(sys.ProgFlagXDPDevBoundOnly) // BPF_F_XDP_DEV_BOUND_ONLY (Linux 6.3+)
	ProgramTestRndHi32     = ProgramFlags(sys.ProgFlagTestRndHi32)     // BPF_F_TEST_RND_HI32 (testing only)
)

// LogLevel is the verifier log_level of BPF_PROG_LOAD
// (ProgramOptions.LogLevel). The bits may be combined.
type LogLevel uint32

// Verifier log levels.
const (
	LogBranch      = LogLevel(sys.LogLevelBranch) // the instructions of each verified path
	LogInstruction = LogLevel(sys.LogLevelInstr)  // every instruction with the register state
	LogStats       = LogLevel(sys.LogLevelStats)  // verification statistics
)

// AttachType is an attach type (enum bpf_attach_type): the
// expected_attach_type of BPF_PROG_LOAD (ProgramOptions.ExpectedAttachType)
// that some program types need. The values are package sys's; any value of
// the kernel's enum may be converted.
type AttachType uint32

// Attach types.
const (
	AttachNone                   AttachType = 0 // the zero value: no expected attach type (0 is also BPF_CGROUP_INET_INGRESS)
	AttachCgroupInetIngress                 = AttachType(sys.AttachCgroupInetIngress)
	AttachCgroupInetEgress                  = AttachType(sys.AttachCgroupInetEgress)
	AttachCgroupInetSockCreate              = AttachType(sys.AttachCgroupInetSockCreate)
	AttachCgroupSockOps                     = AttachType(sys.AttachCgroupSockOps)
	AttachCgroupDevice                      = AttachType(sys.AttachCgroupDevice)
	AttachCgroupInet4Bind                   = AttachType(sys.AttachCgroupInet4Bind)
	AttachCgroupInet6Bind                   = AttachType(sys.AttachCgroupInet6Bind)
	AttachCgroupInet4Connect                = AttachType(sys.AttachCgroupInet4Connect)
	AttachCgroupInet6Connect                = AttachType(sys.AttachCgroupInet6Connect)
	AttachCgroupInet4PostBind               = AttachType(sys.AttachCgroupInet4PostBind)
	AttachCgroupInet6PostBind               = AttachType(sys.AttachCgroupInet6PostBind)
	AttachCgroupUDP4Sendmsg                 = AttachType(sys.AttachCgroupUDP4Sendmsg)
	AttachCgroupUDP6Sendmsg                 = AttachType(sys.AttachCgroupUDP6Sendmsg)
	AttachCgroupSysctl                      = AttachType(sys.AttachCgroupSysctl)
	AttachCgroupUDP4Recvmsg                 = AttachType(sys.AttachCgroupUDP4Recvmsg)
	AttachCgroupUDP6Recvmsg                 = AttachType(sys.AttachCgroupUDP6Recvmsg)
	AttachCgroupGetsockopt                  = AttachType(sys.AttachCgroupGetsockopt)
	AttachCgroupSetsockopt                  = AttachType(sys.AttachCgroupSetsockopt)
	AttachCgroupInetSockRelease             = AttachType(sys.AttachCgroupInetSockRelease)
	AttachCgroupInet4Getpeername            = AttachType(sys.AttachCgroupInet4Getpeername)
	AttachCgroupInet6Getpeername            = AttachType(sys.AttachCgroupInet6Getpeername)
	AttachCgroupInet4Getsockname            = AttachType(sys.AttachCgroupInet4Getsockname)
	AttachCgroupInet6Getsockname            = AttachType(sys.AttachCgroupInet6Getsockname)
	AttachCgroupUnixConnect                 = AttachType(sys.AttachCgroupUnixConnect)
	AttachCgroupUnixSendmsg                 = AttachType(sys.AttachCgroupUnixSendmsg)
	AttachCgroupUnixRecvmsg                 = AttachType(sys.AttachCgroupUnixRecvmsg)
	AttachCgroupUnixGetpeername             = AttachType(sys.AttachCgroupUnixGetpeername)
	AttachCgroupUnixGetsockname             = AttachType(sys.AttachCgroupUnixGetsockname)
	AttachTraceRawTp                        = AttachType(sys.AttachTraceRawTp)
	AttachTraceFentry                       = AttachType(sys.AttachTraceFentry)
	AttachTraceFexit                        = AttachType(sys.AttachTraceFexit)
	AttachModifyReturn                      = AttachType(sys.AttachModifyReturn)
	AttachLSMMac                            = AttachType(sys.AttachLSMMac)
	AttachTraceIter                         = AttachType(sys.AttachTraceIter)
	AttachXDP                               = AttachType(sys.AttachXDP)
	AttachPerfEvent                         = AttachType(sys.AttachPerfEvent)
	AttachTraceKprobeMulti                  = AttachType(sys.AttachTraceKprobeMulti)
	AttachNetfilter                         = AttachType(sys.AttachNetfilter)
	AttachTCXIngress                        = AttachType(sys.AttachTCXIngress)
	AttachTCXEgress                         = AttachType(sys.AttachTCXEgress)
	AttachTraceUprobeMulti                  = AttachType(sys.AttachTraceUprobeMulti)
	AttachNetkitPrimary                     = AttachType(sys.AttachNetkitPrimary)
	AttachNetkitPeer                        = AttachType(sys.AttachNetkitPeer)
	AttachTraceKprobeSession                = AttachType(sys.AttachTraceKprobeSess)
)

// RunFlags are the flags of BPF_PROG_TEST_RUN (RunOptions.Flags).
type RunFlags uint32

// Test run flags (include/uapi/linux/bpf.h, BPF_F_TEST_*).
const (
	RunOnCPU               = RunFlags(sys.TestRunOnCPU)            // BPF_F_TEST_RUN_ON_CPU: run on RunOptions.CPU (Linux 5.10+)
	RunXDPLiveFrames       = RunFlags(sys.TestRunXDPLiveFrames)    // BPF_F_TEST_XDP_LIVE_FRAMES (Linux 5.18+)
	RunSKBChecksumComplete = RunFlags(sys.TestRunSKBChecksumCompl) // BPF_F_TEST_SKB_CHECKSUM_COMPLETE (Linux 6.6+)
)
