//go:build linux

package sys

// ProgInfo is struct bpf_prog_info, filled by BPF_OBJ_GET_INFO_BY_FD for a
// program fd. The kernel fills at most InfoAttr.InfoLen bytes, so older
// kernels leave trailing fields zero. Pointer fields are inputs: set a
// Pointer and the matching count/length to have the kernel copy the
// corresponding array out; the kernel then writes the real count/length.
type ProgInfo struct {
	Type                 ProgType      // type: program type
	ID                   uint32        // id: kernel-wide program ID
	Tag                  [TagSize]byte // tag: hash of the instructions
	JitedProgLen         uint32        // jited_prog_len: size of the JITed image
	XlatedProgLen        uint32        // xlated_prog_len: size of the translated instructions
	JitedProgInsns       Pointer       // jited_prog_insns: buffer for the JITed image
	XlatedProgInsns      Pointer       // xlated_prog_insns: buffer for the translated instructions
	LoadTime             uint64        // load_time: nanoseconds since boot at load
	CreatedByUID         uint32        // created_by_uid: UID of the loader
	NrMapIDs             uint32        // nr_map_ids: number of map IDs
	MapIDs               Pointer       // map_ids: buffer for uint32 map IDs
	Name                 ObjName       // name: program name
	Ifindex              uint32        // ifindex: offload device
	Flags                uint32        // bit field word: bit 0 is gpl_compatible (see GPLCompatible)
	NetnsDev             uint64        // netns_dev: offload device's network namespace
	NetnsIno             uint64        // netns_ino: offload device's network namespace inode
	NrJitedKsyms         uint32        // nr_jited_ksyms: number of JITed function symbols
	NrJitedFuncLens      uint32        // nr_jited_func_lens: number of JITed function lengths
	JitedKsyms           Pointer       // jited_ksyms: buffer for uint64 symbol addresses
	JitedFuncLens        Pointer       // jited_func_lens: buffer for uint32 lengths
	BTFID                uint32        // btf_id: BTF object of the program
	FuncInfoRecSize      uint32        // func_info_rec_size: size of one bpf_func_info
	FuncInfo             Pointer       // func_info: buffer for bpf_func_info records
	NrFuncInfo           uint32        // nr_func_info: number of FuncInfo records
	NrLineInfo           uint32        // nr_line_info: number of LineInfo records
	LineInfo             Pointer       // line_info: buffer for bpf_line_info records
	JitedLineInfo        Pointer       // jited_line_info: buffer for uint64 addresses
	NrJitedLineInfo      uint32        // nr_jited_line_info: number of JitedLineInfo records
	LineInfoRecSize      uint32        // line_info_rec_size: size of one bpf_line_info
	JitedLineInfoRecSize uint32        // jited_line_info_rec_size: size of one JITed line record
	NrProgTags           uint32        // nr_prog_tags: number of ProgTags
	ProgTags             Pointer       // prog_tags: buffer for [TagSize]byte tags of all subprograms
	RunTimeNs            uint64        // run_time_ns: total run time, with stats enabled
	RunCnt               uint64        // run_cnt: number of runs, with stats enabled
	RecursionMisses      uint64        // recursion_misses: runs skipped due to recursion
	VerifiedInsns        uint32        // verified_insns: instructions processed by the verifier
	AttachBTFObjID       uint32        // attach_btf_obj_id: BTF object of the attach target
	AttachBTFID          uint32        // attach_btf_id: BTF type ID of the attach target
	_                    uint32        // padding
}

// ProgInfoGPLCompatible is the gpl_compatible bit of ProgInfo.Flags.
const ProgInfoGPLCompatible uint32 = 1 << 0

// GPLCompatible reports whether the program was loaded with a GPL
// compatible license.
func (i *ProgInfo) GPLCompatible() bool {
	return i.Flags&ProgInfoGPLCompatible != 0
}

// MapInfo is struct bpf_map_info, filled by BPF_OBJ_GET_INFO_BY_FD for a
// map fd.
type MapInfo struct {
	Type                  MapType  // type: map type
	ID                    uint32   // id: kernel-wide map ID
	KeySize               uint32   // key_size: size of a key
	ValueSize             uint32   // value_size: size of a value
	MaxEntries            uint32   // max_entries: capacity
	MapFlags              MapFlags // map_flags: creation flags
	Name                  ObjName  // name: map name
	Ifindex               uint32   // ifindex: offload device
	BTFVmlinuxValueTypeID uint32   // btf_vmlinux_value_type_id: struct_ops value type
	NetnsDev              uint64   // netns_dev: offload device's network namespace
	NetnsIno              uint64   // netns_ino: offload device's network namespace inode
	BTFID                 uint32   // btf_id: BTF object of the map
	BTFKeyTypeID          uint32   // btf_key_type_id: BTF type of the key
	BTFValueTypeID        uint32   // btf_value_type_id: BTF type of the value
	BTFVmlinuxID          uint32   // btf_vmlinux_id: vmlinux BTF object ID (struct_ops)
	MapExtra              uint64   // map_extra: per-type extra value
}
