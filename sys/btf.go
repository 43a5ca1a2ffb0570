//go:build linux

package sys

import (
	"unsafe"
)

// BTFLoadAttr is the attribute of BPF_BTF_LOAD.
type BTFLoadAttr struct {
	BTF            Pointer // btf: the raw BTF blob (header, types, strings)
	BTFLogBuf      Pointer // btf_log_buf: buffer for the BTF verifier log
	BTFSize        uint32  // btf_size: length of BTF in bytes
	BTFLogSize     uint32  // btf_log_size: size of BTFLogBuf
	BTFLogLevel    uint32  // btf_log_level: LogLevel* bits, 0 for no log
	BTFLogTrueSize uint32  // btf_log_true_size: (out) full log size needed (Linux 6.4+)
	BTFFlags       uint32  // btf_flags: MapFlagTokenFD when BTFTokenFD is valid (Linux 6.9+)
	BTFTokenFD     int32   // btf_token_fd: BPF token (Linux 6.9+)
}

// BTFLoad loads BTF type information into the kernel (BPF_BTF_LOAD) and
// returns the BTF object's descriptor, which BPF_MAP_CREATE (btf_fd) and
// BPF_PROG_LOAD (prog_btf_fd) take.
func BTFLoad(attr *BTFLoadAttr) (*FD, error) {
	if attr == nil {
		return nil, nilAttr(CmdBTFLoad)
	}
	return bpfFD(CmdBTFLoad, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
}

// BTFInfo is struct bpf_btf_info, filled by BPF_OBJ_GET_INFO_BY_FD for a
// BTF fd. Set BTF/BTFSize and Name/NameLen to have the kernel copy the
// blob and the name out.
type BTFInfo struct {
	BTF       Pointer // btf: buffer for the raw BTF blob
	BTFSize   uint32  // btf_size: size of the blob (in: buffer size)
	ID        uint32  // id: kernel-wide BTF object ID
	Name      Pointer // name: buffer for the name, "vmlinux" or a module's (5.11+)
	NameLen   uint32  // name_len: size of the name (in: buffer size)
	KernelBTF uint32  // kernel_btf: 1 for vmlinux and module BTF (5.11+)
}

// BTFGetInfoByFD fills info for the BTF object fd refers to.
func BTFGetInfoByFD(fd *FD, info *BTFInfo) error {
	if info == nil {
		return nilAttr(CmdObjGetInfoByFD)
	}
	return ObjGetInfoByFD(fd, unsafe.Pointer(info), uint32(unsafe.Sizeof(*info)))
}

// BTFGetNextID returns the ID of the BTF object following start
// (BPF_BTF_GET_NEXT_ID); after the last one the error wraps unix.ENOENT.
func BTFGetNextID(start uint32) (uint32, error) {
	return getNextID(CmdBTFGetNextID, start)
}

// BTFGetFDByID opens the BTF object with the given ID
// (BPF_BTF_GET_FD_BY_ID).
func BTFGetFDByID(id uint32) (*FD, error) {
	return getFDByID(CmdBTFGetFDByID, id, 0)
}
