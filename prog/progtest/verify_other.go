//go:build !linux

package progtest

import (
	"runtime"
	"testing"

	"github.com/purebpf/purebpf/prog"
)

// Verify cannot ask a kernel verifier on this system: it logs so and
// returns false without failing t.
func Verify(t testing.TB, spec *prog.Spec) bool {
	t.Helper()
	t.Logf("kernel verifier not asked: %s has no BPF verifier; interp and jit do not verify programs as the kernel does", runtime.GOOS)
	return false
}
