//go:build linux

package sys

import (
	"golang.org/x/sys/unix"
)

// ENOTSUPP is the kernel-internal errno 524 ("operation is not supported").
// It is not in the uapi headers nor in golang.org/x/sys/unix, but bpf(2)
// returns it to user space, for example for a map or program type the
// kernel was built without. Errors carrying it also match ErrNotSupported.
const ENOTSUPP unix.Errno = 524

// Error is a failed system call: the operation (such as
// "bpf(BPF_MAP_CREATE)" or "perf_event_open") and the errno the kernel
// returned. errors.Is(err, unix.EPERM) and errors.As(err, &errno) see the
// errno; an ENOTSUPP errno additionally matches ErrNotSupported.
type Error struct {
	Op    string     // the call, e.g. "bpf(BPF_MAP_CREATE)"
	Errno unix.Errno // the errno returned by the kernel
}

// Error formats the error as "op: errno text", for example
// "bpf(BPF_MAP_CREATE): operation not permitted".
func (e *Error) Error() string {
	if e.Errno == ENOTSUPP {
		return e.Op + ": " + ErrNotSupported.Error() + " (ENOTSUPP)"
	}
	return e.Op + ": " + e.Errno.Error()
}

// Unwrap returns the errno and, for ENOTSUPP, ErrNotSupported.
func (e *Error) Unwrap() []error {
	if e.Errno == ENOTSUPP {
		return []error{ErrNotSupported, e.Errno}
	}
	return []error{e.Errno}
}

// newError converts an errno returned by the kernel for op into an error.
// A zero errno gives nil.
func newError(op string, errno unix.Errno) error {
	if errno == 0 {
		return nil
	}
	return &Error{Op: op, Errno: errno}
}

// cmdOp is the Op of errors from bpf command cmd.
func cmdOp(cmd Cmd) string {
	return "bpf(" + cmd.String() + ")"
}
