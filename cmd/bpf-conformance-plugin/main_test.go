package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/internal/conformance"
	"github.com/purebpf/purebpf/internal/testenv"
)

func plugin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestProtocol(t *testing.T) {
	// ldxw r0, [r1+4]; exit
	prog := "61  10  04  00  00  00  00  00  95  00  00  00  00  00  00  00"
	code, out, stderr := plugin(t, prog+"\n", "00 00 00 00 2a 00 00 00")
	if code != 0 || out != "2a\n" {
		t.Errorf("load from memory: %d %q %s", code, out, stderr)
	}
	// r1 = 0; call 5 (unwind with 0 ends the program with r0 = 0); r0 = 1; exit
	prog = "b7 01 00 00 00 00 00 00 b7 00 00 00 07 00 00 00 85 00 00 00 05 00 00 00 b7 00 00 00 01 00 00 00 95 00 00 00 00 00 00 00"
	if code, out, stderr := plugin(t, prog); code != 0 || out != "0\n" {
		t.Errorf("unwind: %d %q %s", code, out, stderr)
	}
	cases := []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"61 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00", nil, 1, "out-of-bounds load of 4 bytes at 0x0"},
		{"zz", nil, 1, "program"},
		{"95 00 00", nil, 1, "trailing bytes"},
		{"95 00 00 00 00 00 00 00", []string{"--fast"}, 2, `unknown option "--fast"`},
		{"61 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00", []string{"--jit"}, 1, "out-of-bounds load of 4 bytes at 0x0"},
		{"95 00 00 00 00 00 00 00", []string{"00", "01"}, 2, "unexpected argument"},
		{"95 00 00 00 00 00 00 00", []string{"0g"}, 1, "memory argument"},
	}
	for _, c := range cases {
		code, _, stderr := plugin(t, c.stdin, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%q %q: exit %d %q, want %d %q", c.stdin, c.args, code, stderr, c.code, c.msg)
		}
	}
}

// TestSuite builds the plugin and runs the conformance suite's own runner
// on it.
func TestSuite(t *testing.T) {
	dir := conformance.Dir()
	if dir == "" {
		testenv.SkipOrFail(t, "the conformance suite (../shared/conformance) is not beside the repository")
	}
	runner := filepath.Join(filepath.Dir(dir), "run")
	if _, err := os.Stat(runner); err != nil {
		testenv.SkipOrFail(t, "the conformance suite has no runner: %v", err)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		testenv.SkipOrFail(t, "python3 is needed to run the conformance suite")
	}
	bin := filepath.Join(t.TempDir(), "plugin")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The interpreter, then the JIT (--jit).
	for _, extra := range [][]string{nil, {"--jit"}} {
		out, err := exec.Command("python3", append([]string{runner, bin}, extra...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", runner, extra, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		last := lines[len(lines)-1]
		if !regexp.MustCompile(`^313 passed, 0 failed$`).MatchString(last) {
			t.Fatalf("suite %v: %q, want \"313 passed, 0 failed\"\n%s", extra, last, out)
		}
	}
}
