//go:build linux

package maps

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/prog"
)

// Minimal raw bpf(2) helpers for the differential tests. They exist only
// in tests: the package itself never talks to the kernel.

const (
	cmdMapCreate          = 0
	cmdMapLookupElem      = 1
	cmdMapUpdateElem      = 2
	cmdMapDeleteElem      = 3
	cmdMapGetNextKey      = 4
	cmdMapLookupAndDelete = 21
)

type createAttr struct {
	MapType    uint32
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	MapFlags   uint32
	InnerMapFD uint32
	NumaNode   uint32
	Name       [16]byte
	_          [64]byte
}

type elemAttr struct {
	MapFD uint32
	_     uint32
	Key   uint64
	Value uint64
	Flags uint64
}

func bpf(cmd int, attr unsafe.Pointer, size uintptr) (uintptr, error) {
	r, _, e := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if e != 0 {
		return r, e
	}
	return r, nil
}

// kmap is a kernel map held by fd.
type kmap struct {
	fd   int
	spec prog.MapSpec
}

func kcreate(spec prog.MapSpec) (*kmap, error) {
	a := createAttr{MapType: uint32(spec.Type), KeySize: spec.KeySize, ValueSize: spec.ValueSize, MaxEntries: spec.MaxEntries, MapFlags: uint32(spec.Flags)}
	fd, err := bpf(cmdMapCreate, unsafe.Pointer(&a), unsafe.Sizeof(a))
	if err != nil {
		return nil, err
	}
	return &kmap{fd: int(fd), spec: spec}, nil
}

func (m *kmap) Close() error { return unix.Close(m.fd) }

func ptr(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

// elem runs an element command; key or value may be nil (NULL).
func (m *kmap) elem(cmd int, key, value []byte, flags uint64) error {
	a := elemAttr{MapFD: uint32(m.fd), Key: ptr(key), Value: ptr(value), Flags: flags}
	_, err := bpf(cmd, unsafe.Pointer(&a), unsafe.Sizeof(a))
	return err
}

func (m *kmap) lookup(key, out []byte) error { return m.elem(cmdMapLookupElem, key, out, 0) }
func (m *kmap) update(key, v []byte, f uint64) error {
	return m.elem(cmdMapUpdateElem, key, v, f)
}
func (m *kmap) delete(key []byte) error       { return m.elem(cmdMapDeleteElem, key, nil, 0) }
func (m *kmap) nextKey(key, out []byte) error { return m.elem(cmdMapGetNextKey, key, out, 0) }
func (m *kmap) lookupAndDelete(key, out []byte) error {
	return m.elem(cmdMapLookupAndDelete, key, out, 0)
}

// possibleCPUs parses /sys/devices/system/cpu/possible ("0-1", "0,2-3").
func possibleCPUs(t testing.TB) int {
	b, err := os.ReadFile("/sys/devices/system/cpu/possible")
	if err != nil {
		t.Fatalf("possible CPUs: %v", err)
	}
	n := 0
	for _, r := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, found := strings.Cut(r, "-")
		l, err := strconv.Atoi(lo)
		if err != nil {
			t.Fatalf("possible CPUs %q: %v", b, err)
		}
		h := l
		if found {
			if h, err = strconv.Atoi(hi); err != nil {
				t.Fatalf("possible CPUs %q: %v", b, err)
			}
		}
		if h+1 > n {
			n = h + 1
		}
	}
	return n
}

// errnoOf extracts the errno of err (0 for nil).
func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	for _, s := range []syscall.Errno{syscall.ENOENT, syscall.EEXIST} {
		if errors.Is(err, s) {
			return s
		}
	}
	return 0xffff
}
