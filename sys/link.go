//go:build linux

package sys

import (
	"encoding/binary"
	"unsafe"
)

// XDP attach flags (XDP_FLAGS_* in include/uapi/linux/if_link.h), in
// LinkCreateAttr.Flags for AttachXDP and in the IFLA_XDP_FLAGS netlink
// attribute.
const (
	XDPFlagUpdateIfNoExist uint32 = 1 << 0 // XDP_FLAGS_UPDATE_IF_NOEXIST
	XDPFlagSKBMode         uint32 = 1 << 1 // XDP_FLAGS_SKB_MODE: generic XDP, any device
	XDPFlagDrvMode         uint32 = 1 << 2 // XDP_FLAGS_DRV_MODE: in the driver (ndo_bpf)
	XDPFlagHWMode          uint32 = 1 << 3 // XDP_FLAGS_HW_MODE: offloaded to the NIC
	XDPFlagReplace         uint32 = 1 << 4 // XDP_FLAGS_REPLACE
)

// Query flags, in ProgQueryAttr.QueryFlags.
const (
	QueryFlagEffective uint32 = 1 << 0 // BPF_F_QUERY_EFFECTIVE: include programs inherited from parent cgroups
)

// LinkUpdateAttr is the attribute of BPF_LINK_UPDATE.
type LinkUpdateAttr struct {
	LinkFD    uint32 // link_fd: the link whose program is replaced
	NewProgFD uint32 // new_prog_fd (union new_map_fd): the program to put in
	Flags     uint32 // flags: AttachFlagReplace to check OldProgFD
	// OldProgFD (union old_map_fd) is the program expected in the link,
	// with AttachFlagReplace; the update fails with EPERM otherwise.
	OldProgFD uint32
}

// RawTracepointOpenAttr is the attribute of BPF_RAW_TRACEPOINT_OPEN.
type RawTracepointOpenAttr struct {
	// Name is the NUL-terminated tracepoint name ("sched_switch"), or
	// NULL for a tp_btf (BPF_PROG_TYPE_TRACING) program, whose target is
	// fixed by its attach_btf_id.
	Name   Pointer
	ProgFD uint32 // prog_fd: the program to attach
	_      uint32 // padding
	// Cookie is the value bpf_get_attach_cookie returns (Linux 6.10+;
	// must be 0 on older kernels).
	Cookie uint64
}

// ProgAttachAttr is the attribute of BPF_PROG_ATTACH and BPF_PROG_DETACH,
// the attachments that predate links (cgroups, sockmaps, flow dissector,
// and tcx since Linux 6.6).
type ProgAttachAttr struct {
	// TargetFD is the union target_fd / target_ifindex: the cgroup
	// directory fd, map fd or interface index.
	TargetFD     uint32
	AttachBPFFD  uint32     // attach_bpf_fd: the program
	AttachType   AttachType // attach_type: how to attach
	AttachFlags  uint32     // attach_flags: AttachFlag* bits
	ReplaceBPFFD uint32     // replace_bpf_fd: the program to replace, with AttachFlagReplace
	// RelativeFDOrID is the union relative_fd / relative_id (Linux 6.6+,
	// tcx): the program or link to insert before or after.
	RelativeFDOrID   uint32
	ExpectedRevision uint64 // expected_revision (Linux 6.6+, tcx)
}

// ProgQueryAttr is the attribute of BPF_PROG_QUERY: the programs (and on
// Linux 6.6+ the links) attached to a cgroup, interface or netns, in run
// order.
type ProgQueryAttr struct {
	// TargetFD is the union target_fd / target_ifindex.
	TargetFD    uint32
	AttachType  AttachType // attach_type: which hook to list
	QueryFlags  uint32     // query_flags: QueryFlagEffective
	AttachFlags uint32     // attach_flags: (out) the hook's attach flags
	ProgIDs     Pointer    // prog_ids: buffer of Count uint32 program IDs
	// Count is the union prog_cnt / count: the capacity of ProgIDs (and
	// LinkIDs); (out) the number of programs attached.
	Count           uint32
	_               uint32
	ProgAttachFlags Pointer // prog_attach_flags: buffer of Count uint32 per-program flags, may be NULL
	LinkIDs         Pointer // link_ids: (Linux 6.6+) buffer of Count uint32 link IDs, 0 for a program attached without a link
	LinkAttachFlags Pointer // link_attach_flags: (Linux 6.6+) buffer of Count uint32 per-link flags, may be NULL
	Revision        uint64  // revision: (out, Linux 6.6+) the attach list's revision
}

// LinkInfo is struct bpf_link_info, filled by BPF_OBJ_GET_INFO_BY_FD for a
// link fd. The fields after ProgID are a union whose variant depends on
// Type; the XDP, TCX, Cgroup, Tracing, RawTracepoint and Netns methods
// read them.
type LinkInfo struct {
	Type   LinkType // type: link type
	ID     uint32   // id: kernel-wide link ID
	ProgID uint32   // prog_id: the attached program's ID
	_      uint32   // padding: the union is 8-aligned
	// Extra is the type-specific union, 48 bytes on Linux 6.12 (the
	// uprobe_multi variant is the largest).
	Extra [48]byte
}

func (i *LinkInfo) u32(off int) uint32 { return binary.NativeEndian.Uint32(i.Extra[off:]) }

func (i *LinkInfo) u64(off int) uint64 { return binary.NativeEndian.Uint64(i.Extra[off:]) }

// XDPIfindex returns xdp.ifindex, for LinkTypeXDP.
func (i *LinkInfo) XDPIfindex() uint32 { return i.u32(0) }

// TCX returns tcx.ifindex and tcx.attach_type (Linux 6.6+), for
// LinkTypeTCX.
func (i *LinkInfo) TCX() (ifindex uint32, attach AttachType) {
	return i.u32(0), AttachType(i.u32(4))
}

// Cgroup returns cgroup.cgroup_id and cgroup.attach_type, for
// LinkTypeCgroup.
func (i *LinkInfo) Cgroup() (cgroupID uint64, attach AttachType) {
	return i.u64(0), AttachType(i.u32(8))
}

// Tracing returns tracing.attach_type, target_obj_id and target_btf_id,
// for LinkTypeTracing.
func (i *LinkInfo) Tracing() (attach AttachType, targetObjID, targetBTFID uint32) {
	return AttachType(i.u32(0)), i.u32(4), i.u32(8)
}

// Netns returns netns.netns_ino and netns.attach_type, for LinkTypeNetns.
func (i *LinkInfo) Netns() (ino uint32, attach AttachType) {
	return i.u32(0), AttachType(i.u32(4))
}

// RawTracepointLinkInfo is struct bpf_link_info with its raw_tracepoint
// variant, for LinkTypeRawTracepoint: set TPName and TPNameLen to a buffer
// to have the kernel copy the tracepoint's name out.
type RawTracepointLinkInfo struct {
	Type      LinkType // type: LinkTypeRawTracepoint
	ID        uint32   // id: kernel-wide link ID
	ProgID    uint32   // prog_id: the attached program's ID
	_         uint32   // padding
	TPName    Pointer  // raw_tracepoint.tp_name: buffer for the name
	TPNameLen uint32   // raw_tracepoint.tp_name_len: its size; (out) the name's length with the NUL
	_         [36]byte // rest of the union
}

// RawTracepointLinkGetInfoByFD fills info for a raw tracepoint link.
func RawTracepointLinkGetInfoByFD(fd *FD, info *RawTracepointLinkInfo) error {
	if info == nil {
		return nilAttr(CmdObjGetInfoByFD)
	}
	return ObjGetInfoByFD(fd, unsafe.Pointer(info), uint32(unsafe.Sizeof(*info)))
}

// LinkGetInfoByFD fills info for the link fd refers to.
func LinkGetInfoByFD(fd *FD, info *LinkInfo) error {
	if info == nil {
		return nilAttr(CmdObjGetInfoByFD)
	}
	return ObjGetInfoByFD(fd, unsafe.Pointer(info), uint32(unsafe.Sizeof(*info)))
}

// LinkUpdate replaces the program of a link (BPF_LINK_UPDATE), atomically:
// the hook runs either program, never none. Links without update support
// (raw tracepoints, tracing, perf events) fail with EINVAL or EOPNOTSUPP.
func LinkUpdate(attr *LinkUpdateAttr) error {
	if attr == nil {
		return nilAttr(CmdLinkUpdate)
	}
	_, err := BPF(CmdLinkUpdate, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
	return err
}

// RawTracepointOpen attaches a raw tracepoint or tp_btf program
// (BPF_RAW_TRACEPOINT_OPEN) and returns the link's descriptor.
func RawTracepointOpen(attr *RawTracepointOpenAttr) (*FD, error) {
	if attr == nil {
		return nil, nilAttr(CmdRawTracepointOpen)
	}
	return bpfFD(CmdRawTracepointOpen, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
}

// ProgAttach attaches a program the pre-link way (BPF_PROG_ATTACH). The
// attachment lives until ProgDetach, not until an fd is closed.
func ProgAttach(attr *ProgAttachAttr) error {
	if attr == nil {
		return nilAttr(CmdProgAttach)
	}
	_, err := BPF(CmdProgAttach, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
	return err
}

// ProgDetach detaches a program attached with ProgAttach
// (BPF_PROG_DETACH). For cgroups with multiple programs AttachBPFFD names
// the program to remove.
func ProgDetach(attr *ProgAttachAttr) error {
	if attr == nil {
		return nilAttr(CmdProgDetach)
	}
	_, err := BPF(CmdProgDetach, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
	return err
}

// ProgQuery lists the programs attached to a hook (BPF_PROG_QUERY). With
// attr.Count 0 and no buffers it only reports the count.
func ProgQuery(attr *ProgQueryAttr) error {
	if attr == nil {
		return nilAttr(CmdProgQuery)
	}
	_, err := BPF(CmdProgQuery, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
	return err
}
