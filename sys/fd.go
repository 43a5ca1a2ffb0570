//go:build linux

package sys

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// FD is an owned file descriptor referring to a kernel object (map,
// program, link, perf event, ...).
//
// Close closes the descriptor exactly once, even when called concurrently;
// later calls return an error wrapping os.ErrClosed and never touch the
// number again, which may by then belong to another file. An FD that
// becomes unreachable without being closed is closed by a runtime cleanup,
// so leaked descriptors do not accumulate, but code should not rely on that.
//
// An FD never holds descriptor 0: many bpf attributes treat fd 0 as "no
// fd", so a 0 handed to NewFD is moved to a higher number first.
type FD struct {
	raw     atomic.Int64 // the descriptor, or -1 once closed
	cleanup runtime.Cleanup
}

// NewFD takes ownership of raw and returns it as an FD. It rejects negative
// numbers with an error wrapping unix.EBADF. If raw is 0 it is duplicated
// to a number >= 1 (with close-on-exec) and 0 is closed.
func NewFD(raw int) (*FD, error) {
	if raw < 0 {
		return nil, fmt.Errorf("new fd %d: %w", raw, unix.EBADF)
	}
	if raw == 0 {
		dup, err := dupCloexec(0)
		// fd 0 was handed to us: close it whether or not the dup worked.
		_ = unix.Close(0)
		if err != nil {
			return nil, fmt.Errorf("new fd 0: move to a higher number: %w", err)
		}
		raw = dup
	}
	f := &FD{}
	f.raw.Store(int64(raw))
	f.cleanup = runtime.AddCleanup(f, closeLeaked, raw)
	return f, nil
}

// closeLeaked is the runtime cleanup for an FD that was never closed. It
// must not reference the FD itself.
func closeLeaked(raw int) {
	_ = unix.Close(raw)
}

func dupCloexec(raw int) (int, error) {
	for {
		dup, err := unix.FcntlInt(uintptr(raw), unix.F_DUPFD_CLOEXEC, 1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("fcntl(F_DUPFD_CLOEXEC): %w", err)
		}
		return dup, nil
	}
}

// Int returns the descriptor number, or -1 if f is nil or closed.
//
// The number stays valid only while f is reachable and open: code that
// passes it to a system call must keep f alive until the call returns,
// for example with runtime.KeepAlive(f), or the leak cleanup might close
// the descriptor underneath the call.
func (f *FD) Int() int {
	if f == nil {
		return -1
	}
	return int(f.raw.Load())
}

// Uint returns the descriptor number as the uint32 that bpf attributes
// use. A nil or closed f gives 0xffffffff, which the kernel rejects with
// EBADF. The keep-alive caveat of Int applies.
func (f *FD) Uint() uint32 {
	return uint32(int32(f.Int()))
}

// String describes f for debugging, e.g. "fd 7" or "fd (closed)".
func (f *FD) String() string {
	raw := f.Int()
	if raw < 0 {
		return "fd (closed)"
	}
	return "fd " + strconv.Itoa(raw)
}

// Close closes the descriptor. Only the first call closes it; any later or
// concurrent call returns an error wrapping os.ErrClosed. Closing a nil FD
// returns nil.
func (f *FD) Close() error {
	if f == nil {
		return nil
	}
	raw := f.raw.Swap(-1)
	if raw < 0 {
		return fmt.Errorf("close fd: %w", os.ErrClosed)
	}
	f.cleanup.Stop()
	// f must stay reachable until the cleanup is stopped.
	runtime.KeepAlive(f)
	// close(2) must not be retried on EINTR: the descriptor is released
	// either way on Linux, and a retry could close a reused number.
	if err := unix.Close(int(raw)); err != nil {
		return fmt.Errorf("close fd %d: %w", raw, err)
	}
	return nil
}

// Dup returns a new FD referring to the same kernel object, created with
// F_DUPFD_CLOEXEC.
func (f *FD) Dup() (*FD, error) {
	raw := f.Int()
	if raw < 0 {
		return nil, fmt.Errorf("dup fd: %w", os.ErrClosed)
	}
	dup, err := dupCloexec(raw)
	runtime.KeepAlive(f)
	if err != nil {
		return nil, fmt.Errorf("dup fd %d: %w", raw, err)
	}
	return NewFD(dup)
}

// File returns an *os.File that owns a duplicate of the descriptor, so f
// and the file can be closed independently.
func (f *FD) File(name string) (*os.File, error) {
	dup, err := f.Dup()
	if err != nil {
		return nil, err
	}
	// Hand the duplicate's number over to os.File without closing it.
	raw := dup.raw.Swap(-1)
	dup.cleanup.Stop()
	runtime.KeepAlive(dup)
	return os.NewFile(uintptr(raw), name), nil
}

// Kinds of BPF object descriptors, as CheckKind takes them.
const (
	KindMap     = "map"
	KindProgram = "program"
	KindLink    = "link"
	KindBTF     = "BTF"
)

// anonInodeKinds maps the names of the anonymous inodes the kernel gives
// BPF objects (/proc/self/fd/N reads "anon_inode:<name>") to a kind:
// bpf_map_new_fd, bpf_prog_new_fd, bpf_link_prime ("bpf_link") and
// bpf_link_new_fd ("bpf-link"), btf_new_fd in kernel/bpf/.
var anonInodeKinds = map[string]string{
	"anon_inode:bpf-map":  KindMap,
	"anon_inode:bpf-prog": KindProgram,
	"anon_inode:bpf_link": KindLink,
	"anon_inode:bpf-link": KindLink,
	"anon_inode:btf":      KindBTF,
}

// CheckKind returns an error unless f refers to a BPF object of kind
// (KindMap, KindProgram, KindLink, KindBTF). bpf(2) has no "what is this
// descriptor" call, and BPF_OBJ_GET_INFO_BY_FD fills in the info of
// whatever object the descriptor is, so a pinned program opened as a map
// would otherwise pass for one. The error names what f is instead and
// wraps EINVAL (os.ErrClosed for a closed f). When /proc is not mounted
// the check passes.
func CheckKind(f *FD, kind string) error {
	raw := f.Int()
	if raw < 0 {
		return fmt.Errorf("%v: %w", f, os.ErrClosed)
	}
	target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(raw))
	runtime.KeepAlive(f)
	if err != nil {
		return nil
	}
	got, ok := anonInodeKinds[target]
	if got == kind {
		return nil
	}
	if ok {
		target = "a BPF " + got
	}
	return fmt.Errorf("%v is %s, not a BPF %s: %w", f, target, kind, unix.EINVAL)
}
