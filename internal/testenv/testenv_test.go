package testenv

import (
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
