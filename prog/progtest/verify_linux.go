//go:build linux

package progtest

import (
	"errors"
	"os"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
	"golang.org/x/sys/unix"
)

// Verify asks the running kernel's verifier whether it accepts spec: it
// loads the spec with prog.NewProgram and closes the program and its maps
// again. A rejection fails t with the
// verifier's complaint and its whole log, and Verify returns false.
//
// Without the privilege to load programs (not root, or bpf(2) refused
// with EPERM) the verifier cannot be asked: Verify logs so and returns
// false without failing t, so that the rest of the test, such as a run in
// interp, still counts; under CI=true, where privileged tests must run, it
// fails t instead.
func Verify(t testing.TB, spec *prog.Spec) bool {
	t.Helper()
	return VerifyWith(t, spec, nil)
}

// VerifyWith is Verify loading with opts (nil means the defaults), for
// programs that need an expected attach type, flags or existing maps. It
// exists on Linux only.
func VerifyWith(t testing.TB, spec *prog.Spec, opts *prog.ProgramOptions) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		unprivileged(t, "not root")
		return false
	}
	p, err := prog.NewProgram(spec, opts)
	if err == nil {
		p.Close()
		return true
	}
	var ve *prog.VerifierError
	switch {
	case errors.As(err, &ve):
		t.Errorf("the kernel's verifier rejects program %q: %v\nverifier log:\n%s", ve.Program, err, ve.Log)
	case errors.Is(err, unix.EPERM):
		unprivileged(t, err.Error())
	default:
		t.Errorf("loading program %q into the kernel to verify it: %v", spec.Name, err)
	}
	return false
}

func unprivileged(t testing.TB, why string) {
	t.Helper()
	msg := "kernel verifier not asked (" + why + "); interp and jit do not verify programs as the kernel does"
	if testenv.CI() {
		t.Fatalf("%s (CI=true: privileged tests must run)", msg)
	}
	t.Log(msg)
}
