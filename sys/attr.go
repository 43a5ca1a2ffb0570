//go:build linux

package sys

import "unsafe"

// The structs in this file mirror the members of union bpf_attr in
// include/uapi/linux/bpf.h field for field. Padding that the C compiler
// inserts implicitly is spelled out as blank fields so that the layout is
// the same on every architecture; layout_test.go checks every offset.
// Fields the kernel writes back are marked "(out)".

// MapCreateAttr is the attribute of BPF_MAP_CREATE.
type MapCreateAttr struct {
	MapType               MapType  // map_type: kind of map
	KeySize               uint32   // key_size: size of a key in bytes
	ValueSize             uint32   // value_size: size of a value in bytes
	MaxEntries            uint32   // max_entries: capacity of the map
	MapFlags              MapFlags // map_flags: MapFlag* bits
	InnerMapFD            uint32   // inner_map_fd: template map for map-in-map types
	NUMANode              uint32   // numa_node: used with MapFlagNUMANode
	MapName               ObjName  // map_name: name shown by bpftool and in map info
	MapIfindex            uint32   // map_ifindex: netdev to offload the map to
	BTFFD                 uint32   // btf_fd: BTF object describing key and value
	BTFKeyTypeID          uint32   // btf_key_type_id: BTF type of the key
	BTFValueTypeID        uint32   // btf_value_type_id: BTF type of the value
	BTFVmlinuxValueTypeID uint32   // btf_vmlinux_value_type_id: kernel struct stored as value (struct_ops)
	MapExtra              uint64   // map_extra: per-type extra (bloom filter hash count, arena address)
	ValueTypeBTFObjFD     int32    // value_type_btf_obj_fd: module BTF for BTFVmlinuxValueTypeID
	MapTokenFD            int32    // map_token_fd: BPF token, with MapFlagTokenFD
}

// MapElemAttr is the attribute of BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM,
// BPF_MAP_DELETE_ELEM, BPF_MAP_GET_NEXT_KEY and
// BPF_MAP_LOOKUP_AND_DELETE_ELEM.
type MapElemAttr struct {
	MapFD uint32  // map_fd: the map
	_     uint32  // padding
	Key   Pointer // key: the key; for GET_NEXT_KEY the current key, or NULL for the first
	// Value is the value buffer (value), or for BPF_MAP_GET_NEXT_KEY the
	// buffer that receives the next key (next_key, the same union slot).
	Value Pointer
	Flags uint64 // flags: Update* / UpdateLock bits
}

// MapFreezeAttr is the attribute of BPF_MAP_FREEZE (the map_fd field
// shared with MapElemAttr).
type MapFreezeAttr struct {
	MapFD uint32 // map_fd: the map to freeze
}

// MapBatchAttr is the attribute of BPF_MAP_LOOKUP_BATCH,
// BPF_MAP_LOOKUP_AND_DELETE_BATCH, BPF_MAP_UPDATE_BATCH and
// BPF_MAP_DELETE_BATCH (the "batch" member).
type MapBatchAttr struct {
	InBatch   Pointer // in_batch: opaque position to start from, NULL for the beginning
	OutBatch  Pointer // out_batch: (out) opaque position to continue from
	Keys      Pointer // keys: buffer of Count keys
	Values    Pointer // values: buffer of Count values
	Count     uint32  // count: elements in Keys/Values; (out) elements processed
	MapFD     uint32  // map_fd: the map
	ElemFlags uint64  // elem_flags: per-element flags such as UpdateLock
	Flags     uint64  // flags: must be zero today
}

// ProgLoadAttr is the attribute of BPF_PROG_LOAD.
type ProgLoadAttr struct {
	ProgType           ProgType   // prog_type: kind of program
	InsnCnt            uint32     // insn_cnt: number of 8-byte instructions in Insns
	Insns              Pointer    // insns: the instructions
	License            Pointer    // license: NUL-terminated license string, e.g. "GPL"
	LogLevel           uint32     // log_level: LogLevel* bits; 0 for no verifier log
	LogSize            uint32     // log_size: size of LogBuf in bytes
	LogBuf             Pointer    // log_buf: buffer for the verifier log
	KernVersion        uint32     // kern_version: ignored by current kernels
	ProgFlags          uint32     // prog_flags: ProgFlag* bits
	ProgName           ObjName    // prog_name: name shown in program info
	ProgIfindex        uint32     // prog_ifindex: netdev to offload or bind to
	ExpectedAttachType AttachType // expected_attach_type: attach type the verifier checks against
	ProgBTFFD          uint32     // prog_btf_fd: BTF for func and line info
	FuncInfoRecSize    uint32     // func_info_rec_size: size of one bpf_func_info
	FuncInfo           Pointer    // func_info: bpf_func_info records
	FuncInfoCnt        uint32     // func_info_cnt: number of FuncInfo records
	LineInfoRecSize    uint32     // line_info_rec_size: size of one bpf_line_info
	LineInfo           Pointer    // line_info: bpf_line_info records
	LineInfoCnt        uint32     // line_info_cnt: number of LineInfo records
	AttachBTFID        uint32     // attach_btf_id: in-kernel BTF type ID to attach to
	// AttachProgOrBTFObjFD is the union attach_prog_fd / attach_btf_obj_fd:
	// the program to attach to (freplace, fentry on a program) or the module
	// BTF object holding AttachBTFID (0 for vmlinux).
	AttachProgOrBTFObjFD uint32
	CoreReloCnt          uint32  // core_relo_cnt: number of CoreRelos records
	FDArray              Pointer // fd_array: array of fds referenced by index from instructions
	CoreRelos            Pointer // core_relos: bpf_core_relo records
	CoreReloRecSize      uint32  // core_relo_rec_size: size of one bpf_core_relo
	LogTrueSize          uint32  // log_true_size: (out) full log size needed, including the NUL (Linux 6.4+)
	ProgTokenFD          int32   // prog_token_fd: BPF token, with ProgFlagTokenFD (Linux 6.9+)
	_                    uint32  // padding
}

// ObjAttr is the attribute of BPF_OBJ_PIN and BPF_OBJ_GET.
type ObjAttr struct {
	Pathname  Pointer // pathname: NUL-terminated path in a bpffs
	BPFFD     uint32  // bpf_fd: object to pin (OBJ_PIN only)
	FileFlags uint32  // file_flags: MapFlagRdonly/MapFlagWronly (OBJ_GET), MapFlagPathFD
	PathFD    int32   // path_fd: directory fd Pathname is relative to, with MapFlagPathFD
	_         uint32  // padding
}

// ProgTestRunAttr is the attribute of BPF_PROG_TEST_RUN (the "test" member).
type ProgTestRunAttr struct {
	ProgFD      uint32  // prog_fd: the program to run
	Retval      uint32  // retval: (out) the program's return value
	DataSizeIn  uint32  // data_size_in: length of DataIn
	DataSizeOut uint32  // data_size_out: size of DataOut; (out) bytes written
	DataIn      Pointer // data_in: input packet or data
	DataOut     Pointer // data_out: buffer for the output data, may be NULL
	Repeat      uint32  // repeat: number of runs (0 means 1)
	Duration    uint32  // duration: (out) average run time in nanoseconds
	CtxSizeIn   uint32  // ctx_size_in: length of CtxIn
	CtxSizeOut  uint32  // ctx_size_out: size of CtxOut; (out) bytes written
	CtxIn       Pointer // ctx_in: input context
	CtxOut      Pointer // ctx_out: buffer for the output context, may be NULL
	Flags       uint32  // flags: TestRun* bits
	CPU         uint32  // cpu: CPU to run on, with TestRunOnCPU
	BatchSize   uint32  // batch_size: XDP live-frames batch size
	_           uint32  // padding
}

// GetIDAttr is the attribute of BPF_PROG_GET_NEXT_ID, BPF_MAP_GET_NEXT_ID,
// BPF_PROG_GET_FD_BY_ID, BPF_MAP_GET_FD_BY_ID and the BTF/link variants.
type GetIDAttr struct {
	// ID is the union start_id / prog_id / map_id / btf_id / link_id: the
	// ID to start after (GET_NEXT_ID) or the object to open (GET_FD_BY_ID).
	ID        uint32
	NextID    uint32 // next_id: (out) the next ID (GET_NEXT_ID)
	OpenFlags uint32 // open_flags: MapFlagRdonly/MapFlagWronly (MAP_GET_FD_BY_ID)
}

// InfoAttr is the attribute of BPF_OBJ_GET_INFO_BY_FD (the "info" member).
type InfoAttr struct {
	BPFFD   uint32  // bpf_fd: program, map, BTF or link to describe
	InfoLen uint32  // info_len: size of the Info buffer; (out) bytes written
	Info    Pointer // info: a ProgInfo, MapInfo, ... buffer
}

// LinkDetachAttr is the attribute of BPF_LINK_DETACH.
type LinkDetachAttr struct {
	LinkFD uint32 // link_fd: the link to detach
}

// LinkCreateVariant is implemented by the LinkCreate*Attr structs. The
// link_create member of union bpf_attr ends in a union whose variant
// depends on the attach type; each Go struct is one variant, all 64 bytes
// long, sharing the same first 16 bytes.
type LinkCreateVariant interface {
	linkCreateAttr() (unsafe.Pointer, uintptr)
}

// LinkCreateAttr is the generic BPF_LINK_CREATE attribute: the common
// header plus target_btf_id, for attach types that need nothing else
// (cgroup, XDP, netns, sk_lookup, LSM, struct_ops, ...).
type LinkCreateAttr struct {
	// ProgFD is the union prog_fd / map_fd: the program to attach, or a
	// struct_ops map.
	ProgFD uint32
	// TargetFD is the union target_fd / target_ifindex: the object
	// (cgroup, perf event, ...) to attach to, or a network interface index.
	TargetFD    uint32
	AttachType  AttachType // attach_type: how to attach
	Flags       uint32     // flags: attach flags
	TargetBTFID uint32     // target_btf_id: BTF ID of the target (tracing, freplace)
	_           [44]byte   // rest of the variant union
}

// LinkCreatePerfEventAttr is the BPF_LINK_CREATE attribute for
// AttachPerfEvent: attach a kprobe, uprobe, tracepoint or perf_event
// program to a perf event fd (TargetFD).
type LinkCreatePerfEventAttr struct {
	ProgFD     uint32     // prog_fd: the program to attach
	TargetFD   uint32     // target_fd: perf event fd from PerfEventOpen
	AttachType AttachType // attach_type: AttachPerfEvent
	Flags      uint32     // flags: must be zero
	// BPFCookie (perf_event.bpf_cookie) is an opaque value the program
	// reads with bpf_get_attach_cookie().
	BPFCookie uint64
	_         [40]byte // rest of the variant union
}

// LinkCreateTracingAttr is the BPF_LINK_CREATE attribute for fentry,
// fexit, fmod_ret, LSM and freplace programs (the "tracing" variant).
type LinkCreateTracingAttr struct {
	ProgFD      uint32     // prog_fd: the program to attach
	TargetFD    uint32     // target_fd: target program for freplace, else 0
	AttachType  AttachType // attach_type: AttachTraceFentry, ...
	Flags       uint32     // flags: must be zero
	TargetBTFID uint32     // tracing.target_btf_id: BTF ID of the target function
	_           uint32     // padding
	Cookie      uint64     // tracing.cookie: value for bpf_get_attach_cookie()
	_           [32]byte   // rest of the variant union
}

// LinkCreateIterAttr is the BPF_LINK_CREATE attribute for AttachTraceIter.
type LinkCreateIterAttr struct {
	ProgFD      uint32     // prog_fd: the iterator program
	TargetFD    uint32     // target_fd: must be zero
	AttachType  AttachType // attach_type: AttachTraceIter
	Flags       uint32     // flags: must be zero
	IterInfo    Pointer    // iter_info: union bpf_iter_link_info
	IterInfoLen uint32     // iter_info_len: size of IterInfo
	_           [36]byte   // rest of the variant union
}

// LinkCreateKprobeMultiAttr is the BPF_LINK_CREATE attribute for
// AttachTraceKprobeMulti and AttachTraceKprobeSess.
type LinkCreateKprobeMultiAttr struct {
	ProgFD     uint32     // prog_fd: the kprobe program
	TargetFD   uint32     // target_fd: must be zero
	AttachType AttachType // attach_type: AttachTraceKprobeMulti
	Flags      uint32     // flags: must be zero
	KFlags     uint32     // kprobe_multi.flags: KprobeMultiReturn
	Count      uint32     // kprobe_multi.cnt: number of Syms, Addrs or Cookies
	Syms       Pointer    // kprobe_multi.syms: array of C string pointers
	Addrs      Pointer    // kprobe_multi.addrs: array of addresses (instead of Syms)
	Cookies    Pointer    // kprobe_multi.cookies: array of uint64 cookies
	_          [16]byte   // rest of the variant union
}

// LinkCreateUprobeMultiAttr is the BPF_LINK_CREATE attribute for
// AttachTraceUprobeMulti.
type LinkCreateUprobeMultiAttr struct {
	ProgFD        uint32     // prog_fd: the uprobe program
	TargetFD      uint32     // target_fd: must be zero
	AttachType    AttachType // attach_type: AttachTraceUprobeMulti
	Flags         uint32     // flags: must be zero
	Path          Pointer    // uprobe_multi.path: NUL-terminated binary path
	Offsets       Pointer    // uprobe_multi.offsets: array of uint64 file offsets
	RefCtrOffsets Pointer    // uprobe_multi.ref_ctr_offsets: array of uint64, may be NULL
	Cookies       Pointer    // uprobe_multi.cookies: array of uint64, may be NULL
	Count         uint32     // uprobe_multi.cnt: number of Offsets
	UFlags        uint32     // uprobe_multi.flags: UprobeMultiReturn
	PID           uint32     // uprobe_multi.pid: only this process, 0 for all
	_             uint32     // padding
}

// LinkCreateNetfilterAttr is the BPF_LINK_CREATE attribute for
// AttachNetfilter.
type LinkCreateNetfilterAttr struct {
	ProgFD     uint32     // prog_fd: the netfilter program
	TargetFD   uint32     // target_fd: must be zero
	AttachType AttachType // attach_type: AttachNetfilter
	Flags      uint32     // flags: must be zero
	PF         uint32     // netfilter.pf: protocol family (NFPROTO_*)
	Hooknum    uint32     // netfilter.hooknum: hook (NF_INET_*)
	Priority   int32      // netfilter.priority: hook priority
	NFFlags    uint32     // netfilter.flags: NetfilterIPDefrag
	_          [32]byte   // rest of the variant union
}

// LinkCreateTCXAttr is the BPF_LINK_CREATE attribute for AttachTCXIngress,
// AttachTCXEgress, AttachNetkitPrimary and AttachNetkitPeer (the tcx and
// netkit variants share one layout).
type LinkCreateTCXAttr struct {
	ProgFD     uint32     // prog_fd: the program
	TargetFD   uint32     // target_ifindex: the network interface
	AttachType AttachType // attach_type: AttachTCXIngress, ...
	Flags      uint32     // flags: AttachFlagBefore, AttachFlagAfter, AttachFlagID, ...
	// RelativeFDOrID is the union relative_fd / relative_id: the program or
	// link to insert before or after.
	RelativeFDOrID   uint32
	_                uint32   // padding
	ExpectedRevision uint64   // expected_revision: fail unless the attach list has this revision
	_                [32]byte // rest of the variant union
}

func (a *LinkCreateAttr) linkCreateAttr() (unsafe.Pointer, uintptr) {
	return unsafe.Pointer(a), unsafe.Sizeof(*a)
}

func (a *LinkCreatePerfEventAttr) linkCreateAttr() (unsafe.Pointer, uintptr) {
	return unsafe.Pointer(a), unsafe.Sizeof(*a)
}

func (a *LinkCreateTracingAttr) linkCreateAttr() (unsafe.Pointer, uintptr) {
	return unsafe.Pointer(a), unsafe.Sizeof(*a)
}

func (a *LinkCreateIterAttr) linkCreateAttr() (unsafe.Pointer, uintptr) {
	return unsafe.Pointer(a), unsafe.Sizeof(*a)
}

func (a *LinkCreateKprobeMultiAttr) linkCreateAttr() (unsafe.Pointer, uintptr) {
	return unsafe.Pointer(a), unsafe.Sizeof(*a)
}

func (a *LinkCreateUprobeMultiAttr) linkCreateAttr() (unsafe.Pointer, uintptr) {
	return unsafe.Pointer(a), unsafe.Sizeof(*a)
}

func (a *LinkCreateNetfilterAttr) linkCreateAttr() (unsafe.Pointer, uintptr) {
	return unsafe.Pointer(a), unsafe.Sizeof(*a)
}

func (a *LinkCreateTCXAttr) linkCreateAttr() (unsafe.Pointer, uintptr) {
	return unsafe.Pointer(a), unsafe.Sizeof(*a)
}
