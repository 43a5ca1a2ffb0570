//go:build linux

// Package bpffs pins BPF objects on the BPF filesystem: it mounts a bpffs
// at /sys/fs/bpf when a pin below it needs one, creates missing
// directories and refuses to replace an existing pin.
//
// It is the one place for the rules prog.Program.Pin, prog.Map.Pin and
// package link's Link.Pin follow.
//
// Dependencies: the standard library, golang.org/x/sys/unix and sys.
package bpffs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/sys"
)

// Path is where the BPF filesystem is conventionally mounted.
const Path = "/sys/fs/bpf"

// magic is BPF_FS_MAGIC from include/uapi/linux/magic.h.
const magic = 0xcafe4a11

// ErrNotBPFFS is wrapped by pin errors for paths outside a BPF filesystem.
var ErrNotBPFFS = errors.New("not on a BPF filesystem (bpffs)")

var mountMu sync.Mutex

// Is reports whether dir lies on a bpffs.
func Is(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, err
	}
	return uint32(st.Type) == magic, nil
}

// Ensure makes sure dir can hold pins: it lies on a bpffs, mounting one at
// Path if dir is below it and none is mounted, and it exists (created with
// mode 0700 inside the bpffs).
func Ensure(dir string) error {
	dir = filepath.Clean(dir)
	if dir == Path || strings.HasPrefix(dir, Path+"/") {
		mountMu.Lock()
		ok, err := Is(Path)
		if err == nil && !ok {
			if err := unix.Mount("bpf", Path, "bpf", 0, "mode=0700"); err != nil {
				mountMu.Unlock()
				return fmt.Errorf("mount bpffs at %s: %w", Path, err)
			}
		}
		mountMu.Unlock()
		if err != nil {
			return fmt.Errorf("statfs %s: %w", Path, err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create pin directory: %w", err)
		}
	}
	ok, err := Is(dir)
	if err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w", dir, ErrNotBPFFS)
	}
	return nil
}

// Pin pins fd at path (BPF_OBJ_PIN). An existing path is an error wrapping
// os.ErrExist: pins are never silently replaced. A closed fd gives an
// error wrapping os.ErrClosed.
func Pin(path string, fd *sys.FD) error {
	if path == "" {
		return fmt.Errorf("pin: empty path: %w", unix.EINVAL)
	}
	if fd.Int() < 0 {
		return fmt.Errorf("pin %s: %w", path, os.ErrClosed)
	}
	if err := Ensure(filepath.Dir(path)); err != nil {
		return fmt.Errorf("pin %s: %w", path, err)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("pin %s: path exists (unpin or remove it first): %w", path, os.ErrExist)
	}
	if err := sys.ObjPin(path, fd); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("pin %s: path exists (unpin or remove it first): %w", path, os.ErrExist)
		}
		return fmt.Errorf("pin %s: %w", path, err)
	}
	return nil
}
