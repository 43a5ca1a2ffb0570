//go:build linux

package sys

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

type unixPerfEventMmapPage = unix.PerfEventMmapPage

// requireRoot skips a test that needs root (CAP_BPF, CAP_PERFMON, ...)
// when not running as root, except under CI (CI=true), where the
// privileged tests must run and a missing privilege is a failure.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("test needs root, and CI=true forbids skipping it")
	}
	t.Skip("skipping: test needs root")
}
