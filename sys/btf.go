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
