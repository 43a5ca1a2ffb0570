//go:build linux

package prog

import (
	"errors"
	"fmt"

	"github.com/purebpf/purebpf/sys"
	"golang.org/x/sys/unix"
)

// Programs returns every program loaded in the kernel, in ID order, as
// `bpftool prog list` shows them. Programs unloaded during the walk are
// skipped. It needs CAP_SYS_ADMIN.
func Programs() ([]ProgramInfo, error) {
	var out []ProgramInfo
	err := walkIDs(sys.ProgGetNextID, func(id uint32) error {
		fd, err := sys.ProgGetFDByID(id)
		if err != nil {
			return err
		}
		defer fd.Close()
		info, err := progInfoOf(fd)
		if err != nil {
			return err
		}
		out = append(out, *info)
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("list programs: %w", err)
	}
	return out, nil
}

// Maps returns every map in the kernel, in ID order, as `bpftool map
// list` shows them. Maps freed during the walk are skipped. It needs
// CAP_SYS_ADMIN.
func Maps() ([]MapInfo, error) {
	var out []MapInfo
	err := walkIDs(sys.MapGetNextID, func(id uint32) error {
		fd, err := sys.MapGetFDByID(id, 0)
		if err != nil {
			return err
		}
		defer fd.Close()
		info, err := mapInfoOf(fd)
		if err != nil {
			return err
		}
		out = append(out, *info)
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("list maps: %w", err)
	}
	return out, nil
}

// walkIDs calls visit for every ID next yields. ENOENT from visit means
// the object went away meanwhile and is skipped.
func walkIDs(next func(uint32) (uint32, error), visit func(uint32) error) error {
	var id uint32
	for {
		n, err := next(id)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			if errors.Is(err, unix.EPERM) {
				return fmt.Errorf("%w: %s", err, permHint())
			}
			return err
		}
		id = n
		if err := visit(id); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("id %d: %w", id, err)
		}
	}
}
