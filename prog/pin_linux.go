//go:build linux

package prog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/purebpf/purebpf/sys"
	"golang.org/x/sys/unix"
)

// BPFFSPath is where the BPF filesystem is conventionally mounted. Pin
// mounts a bpffs there when a pin path lies below it and none is mounted.
const BPFFSPath = "/sys/fs/bpf"

// bpffsMagic is BPF_FS_MAGIC from include/uapi/linux/magic.h.
const bpffsMagic = 0xcafe4a11

// ErrNotBPFFS is wrapped by pin errors for paths outside a BPF filesystem.
var ErrNotBPFFS = errors.New("not on a BPF filesystem (bpffs)")

var mountMu sync.Mutex

func isBPFFS(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, err
	}
	return uint32(st.Type) == bpffsMagic, nil
}

// ensureBPFFS makes sure dir can hold pins: it lies on a bpffs, mounting
// one at BPFFSPath if dir is below it and none is mounted, and it exists
// (created with mode 0700 inside the bpffs).
func ensureBPFFS(dir string) error {
	dir = filepath.Clean(dir)
	under := dir == BPFFSPath || strings.HasPrefix(dir, BPFFSPath+"/")
	if under {
		mountMu.Lock()
		ok, err := isBPFFS(BPFFSPath)
		if err == nil && !ok {
			if err := unix.Mount("bpf", BPFFSPath, "bpf", 0, "mode=0700"); err != nil {
				mountMu.Unlock()
				return fmt.Errorf("mount bpffs at %s: %w", BPFFSPath, err)
			}
		}
		mountMu.Unlock()
		if err != nil {
			return fmt.Errorf("statfs %s: %w", BPFFSPath, err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create pin directory: %w", err)
		}
	}
	ok, err := isBPFFS(dir)
	if err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w", dir, ErrNotBPFFS)
	}
	return nil
}

// pin pins fd at path. An existing path is an error wrapping
// os.ErrExist: pins are never silently replaced.
func pin(path string, fd *sys.FD) error {
	if path == "" {
		return fmt.Errorf("pin: empty path: %w", unix.EINVAL)
	}
	if fd.Int() < 0 {
		return fmt.Errorf("pin %s: %w", path, os.ErrClosed)
	}
	if err := ensureBPFFS(filepath.Dir(path)); err != nil {
		return fmt.Errorf("pin %s: %w", path, err)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("pin %s: path exists (unpin or remove it first): %w", path, os.ErrExist)
	}
	if err := sys.ObjPin(path, fd); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("pin %s: path exists (unpin or remove it first): %w", path, err)
		}
		return fmt.Errorf("pin %s: %w", path, err)
	}
	return nil
}
