// Package testenv holds what the tests of every purebpf package share about
// their environment: privileged tests run for real as root, skip with a
// one-line reason otherwise, and never skip under CI=true, where a skip
// would hide a test that must run. It imports only the standard library.
package testenv

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// CI reports whether the tests run under CI (the environment variable CI
// is "true").
func CI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips t with the reason, except under CI=true, where it fails
// t instead.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (CI=true: this test may not skip)", reason)
	}
	t.Skip(reason)
}

// RequireRoot skips (or under CI=true fails) t unless it runs as root,
// which loading BPF programs, creating maps and opening raw sockets need.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "needs root (CAP_BPF, CAP_PERFMON, CAP_NET_RAW)")
	}
}

// Cgroup2Mount returns where the cgroup v2 hierarchy is mounted
// (/sys/fs/cgroup on unified systems and in the vmtest VM,
// /sys/fs/cgroup/unified on hybrid ones), or "" when it is not.
func Cgroup2Mount() string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[2] == "cgroup2" {
			return f[1]
		}
	}
	return ""
}

// CaptureStdout runs f and returns what it wrote to os.Stdout, so that
// tests can check the output of runnable examples that need root and
// therefore carry no "// Output:" comment.
func CaptureStdout(t testing.TB, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	f()
	os.Stdout = old
	w.Close()
	out := <-done
	r.Close()
	return out
}

// OpenFDs returns how many file descriptors the process has open, for
// tests that check that nothing leaks.
func OpenFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// BuildDir makes an empty directory /tmp/PREFIX-XXXXXXXXXX (ten random
// digits), removed at the end of the test, for rebuilding committed BPF
// objects. clang-19 orders some BTF types by heap addresses, which depend
// on the length and depth of the build directory's path; the Makefiles'
// "mktemp -d /tmp/PREFIX-XXXXXXXXXX" has the same shape, so both builds
// give the same bytes from any checkout.
func BuildDir(t testing.TB, prefix string) string {
	t.Helper()
	for range 100 {
		dir := fmt.Sprintf("/tmp/%s-%010d", prefix, rand.Uint32N(1e9))
		err := os.Mkdir(dir, 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	t.Fatal("cannot make a build directory in /tmp")
	return ""
}

// SoftwareEmulated reports whether this machine's CPU is emulated by
// qemu's TCG (make vmtest falls back to it where KVM is unavailable):
// qemu names its emulated CPU models "QEMU Virtual CPU ..." (qemu64) and
// "QEMU TCG CPU ..." (-cpu max), while under KVM with -cpu host the guest
// sees the host's model. Code runs 10-50 times slower there, so absolute
// timing bounds only hold on real (or hardware-virtualised) CPUs.
func SoftwareEmulated() bool {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.Contains(name, "QEMU")
		}
	}
	return false
}
