//go:build linux

package sys

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Verifier log buffer sizes for LoadWithLog. The kernel accepts log_size
// up to UINT_MAX >> 2 and, before 6.4, rejects sizes below 128 with EINVAL
// whenever a log level is set.
const (
	DefaultLogSize = 64 << 10
	MinLogSize     = 128
	MaxLogSize     = (1<<32 - 1) >> 2
)

// LogLoad performs one load attempt (BPF_PROG_LOAD or BPF_BTF_LOAD) with
// the given log level and buffer (level 0 and a nil buffer for no log),
// and returns the log_true_size the kernel reported (6.4+, else 0).
type LogLoad func(level uint32, buf []byte) (fd *FD, trueSize uint32, err error)

// LoadWithLog runs load with the verifier log policy purebpf uses for
// programs and BTF: with level 0, the first attempt runs without a log
// and, if it fails with an errno that means the verifier ran (EACCES,
// EINVAL, E2BIG, ENOSPC), is retried with LogLevelBranch; the buffer,
// size bytes at first, grows on ENOSPC (to log_true_size when the kernel
// reports it, else 4 times) up to MaxLogSize. It returns the log of the
// last attempt, whether that log was truncated, and the error of the
// first attempt when the retry fails differently or is truncated.
func LoadWithLog(level uint32, size int, load LogLoad) (*FD, string, bool, error) {
	if size <= 0 {
		size = DefaultLogSize
	}
	size = min(max(size, MinLogSize), MaxLogSize)
	var firstErr error
	if level == 0 {
		fd, _, err := load(0, nil)
		if err == nil {
			return fd, "", false, nil
		}
		if !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.E2BIG) && !errors.Is(err, unix.ENOSPC) {
			return nil, "", false, err
		}
		firstErr = err
		level = LogLevelBranch
	}
	for {
		buf := make([]byte, size)
		fd, trueSize, err := load(level, buf)
		log := cString(buf)
		if err == nil {
			return fd, log, false, nil
		}
		if errors.Is(err, unix.ENOSPC) && size < MaxLogSize {
			next := size * 4
			if int(trueSize) > size {
				next = int(trueSize)
			}
			size = min(next, MaxLogSize)
			continue
		}
		truncated := errors.Is(err, unix.ENOSPC)
		if firstErr != nil && (truncated || !sameErrno(err, firstErr)) {
			err = firstErr
		}
		return nil, log, truncated, err
	}
}

func sameErrno(a, b error) bool {
	var ea, eb *Error
	return errors.As(a, &ea) && errors.As(b, &eb) && ea.Errno == eb.Errno
}

// cString returns buf up to its first NUL.
func cString(buf []byte) string {
	for i, c := range buf {
		if c == 0 {
			return string(buf[:i])
		}
	}
	return string(buf)
}
