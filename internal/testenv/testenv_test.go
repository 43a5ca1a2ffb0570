package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSkipOrFail runs itself in a child process with and without CI=true
// and checks that the same call skips in one and fails in the other.
func TestSkipOrFail(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		SkipOrFail(t, "no widget")
		return
	}
	for _, tc := range []struct {
		ci       string
		wantFail bool
		wantText string
	}{
		{"", false, "--- SKIP: TestSkipOrFail"},
		{"true", true, "no widget (CI=true: this test may not skip)"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSkipOrFail$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail {
			t.Errorf("CI=%q: failed=%v, want %v\n%s", tc.ci, failed, tc.wantFail, out)
		}
		if !strings.Contains(string(out), tc.wantText) {
			t.Errorf("CI=%q: output lacks %q:\n%s", tc.ci, tc.wantText, out)
		}
	}
}

func TestCaptureStdout(t *testing.T) {
	got := CaptureStdout(t, func() { os.Stdout.WriteString("hello\n") })
	if got != "hello\n" || os.Stdout == nil {
		t.Fatalf("CaptureStdout = %q", got)
	}
}

type nilProbe struct{ n int }

func (p *nilProbe) Close() error {
	if p == nil {
		return nil
	}
	return nil
}
func (p *nilProbe) Good(int, string) error {
	if p == nil {
		return errNilProbe
	}
	return nil
}
func (p *nilProbe) Panics() int { return p.n }

var errNilProbe = errors.New("nil *nilProbe")

type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}
func (r *recorder) Fatalf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}

// NilMethods reports a method that panics on a nil receiver and passes
// those that return an error naming the nil handle.
func TestNilMethods(t *testing.T) {
	var r recorder
	NilMethods(&r, (*nilProbe)(nil), "nil")
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "Panics on nil: panic") {
		t.Errorf("NilMethods reported %q, want only the panic of Panics", r.errs)
	}
	r = recorder{}
	NilMethods(&r, (*nilProbe)(nil), "closed")
	if len(r.errs) != 2 {
		t.Errorf("NilMethods with a word the error lacks reported %q", r.errs)
	}
}
