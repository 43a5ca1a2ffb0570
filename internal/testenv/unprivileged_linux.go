//go:build linux

package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// unprivilegedEnv marks the child process RunUnprivileged starts.
const unprivilegedEnv = "PUREBPF_TEST_UNPRIVILEGED"

// Unprivileged reports whether this process is the child RunUnprivileged
// started: the test that called it should then do its unprivileged checks
// and return.
func Unprivileged() bool { return os.Getenv(unprivilegedEnv) == "1" }

// RunUnprivileged runs the test t again, in a copy of the test binary
// executed as user nobody (uid and gid 65534), and fails t unless that
// run passes. The test must begin with
//
//	if testenv.Unprivileged() { ...checks...; return }
//
// It needs root to switch users (RequireRoot).
func RunUnprivileged(t *testing.T) {
	t.Helper()
	RequireRoot(t)
	// The test binary lives in a directory only root may enter: copy it
	// somewhere nobody can execute it.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "purebpf-unprivileged")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "unprivileged.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := "^" + regexp.QuoteMeta(t.Name()) + "$"
	cmd := exec.Command(bin, "-test.run="+name, "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), unprivilegedEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run as nobody: %v\n%s", err, out)
	}
	t.Logf("run as nobody:\n%s", out)
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the run as nobody did not pass %s:\n%s", t.Name(), out)
	}
}
