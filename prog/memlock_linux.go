//go:build linux

package prog

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Until Linux 5.11 the kernel charged the memory of maps and programs to
// the RLIMIT_MEMLOCK of the creating process; from 5.11 on it uses memory
// cgroup accounting instead (commit "bpf: eliminate rlimit-based memory
// accounting for bpf progs/maps"). On older kernels the loader raises the
// limit to infinity once, before the first map or program, and if that is
// not allowed the EPERM error says that the user must raise it.

var memlock struct {
	once    sync.Once
	charged bool  // the kernel predates 5.11
	err     error // raising the limit failed
}

// kernelVersion returns the running kernel's major, minor and patch
// numbers from uname(2).
func kernelVersion() (major, minor, patch int, err error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return 0, 0, 0, fmt.Errorf("uname: %w", err)
	}
	return parseKernelRelease(unix.ByteSliceToString(u.Release[:]))
}

// parseKernelRelease parses a release string such as "6.18.44-fc-v657" or
// "5.10.0-21-amd64".
func parseKernelRelease(rel string) (major, minor, patch int, err error) {
	var nums [3]int
	fields := strings.SplitN(rel, ".", 3)
	for i := 0; i < len(fields) && i < 3; i++ {
		f := fields[i]
		end := 0
		for end < len(f) && f[end] >= '0' && f[end] <= '9' {
			end++
		}
		if end == 0 {
			if i < 2 {
				return 0, 0, 0, fmt.Errorf("kernel release %q: field %d is not a number", rel, i+1)
			}
			break
		}
		nums[i], _ = strconv.Atoi(f[:end])
	}
	if len(fields) < 2 {
		return 0, 0, 0, fmt.Errorf("kernel release %q has no minor version", rel)
	}
	return nums[0], nums[1], nums[2], nil
}

// kernelCode returns the version as LINUX_VERSION_CODE encodes it, which
// kprobe programs had to pass in kern_version before Linux 5.0. The patch
// level saturates at 255 as in KERNEL_VERSION since Linux 4.14.
func kernelCode() uint32 {
	ma, mi, pa, err := kernelVersion()
	if err != nil {
		return 0
	}
	if pa > 255 {
		pa = 255
	}
	return uint32(ma)<<16 | uint32(mi)<<8 | uint32(pa)
}

// ensureMemlock raises RLIMIT_MEMLOCK on kernels before 5.11, once. It
// returns nothing: a failure is remembered and reported when the kernel
// answers EPERM.
func ensureMemlock() {
	memlock.once.Do(func() {
		ma, mi, _, err := kernelVersion()
		if err != nil || ma > 5 || (ma == 5 && mi >= 11) {
			return
		}
		memlock.charged = true
		inf := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
		if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &inf); err != nil {
			memlock.err = err
		}
	})
}

// memlockCharged reports whether the kernel charges BPF memory to
// RLIMIT_MEMLOCK (Linux before 5.11).
func memlockCharged() bool {
	ensureMemlock()
	return memlock.charged
}

// memlockState describes the memlock limit for an EPERM explanation.
func memlockState() string {
	var cur unix.Rlimit
	lim := "unknown"
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &cur) == nil {
		if cur.Cur == unix.RLIM_INFINITY {
			lim = "unlimited"
		} else {
			lim = strconv.FormatUint(cur.Cur, 10) + " bytes"
		}
	}
	if memlock.err != nil {
		return fmt.Sprintf(" (now %s); raising it failed (%v), so raise it yourself, e.g. `ulimit -l unlimited` or LimitMEMLOCK=infinity", lim, memlock.err)
	}
	return " (now " + lim + ")"
}
