//go:build linux

package prog

import (
	"github.com/purebpf/purebpf/internal/bpffs"
	"github.com/purebpf/purebpf/sys"
)

// BPFFSPath is where the BPF filesystem is conventionally mounted. Pin
// mounts a bpffs there when a pin path lies below it and none is mounted.
const BPFFSPath = bpffs.Path

// ErrNotBPFFS is wrapped by pin errors for paths outside a BPF filesystem.
var ErrNotBPFFS = bpffs.ErrNotBPFFS

// pin pins fd at path by package internal/bpffs's rules, which link's
// pins follow too: a bpffs is mounted at BPFFSPath when path lies below
// it and none is, missing directories are created, and an existing path
// is an error wrapping os.ErrExist (pins are never silently replaced).
func pin(path string, fd *sys.FD) error {
	return bpffs.Pin(path, fd)
}
