package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sumProg = `
r0 = 0
r1 = 10
loop:
r0 += r1
r1 -= 1
if r1 != 0 goto loop
exit
`

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func purebpf(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestAsmDisasmRun(t *testing.T) {
	src := write(t, "sum.s", sumProg)
	bin := filepath.Join(filepath.Dir(src), "out.bin")
	if code, _, stderr := purebpf(t, "asm", src, "-o", bin); code != 0 {
		t.Fatalf("asm: %d %s", code, stderr)
	}
	raw, err := os.ReadFile(bin)
	if err != nil || len(raw) != 6*8 {
		t.Fatalf("asm output: %d bytes, %v", len(raw), err)
	}
	code, out, _ := purebpf(t, "disasm", bin)
	if code != 0 || !strings.Contains(out, "   2: r0 += r1\n") || !strings.Contains(out, "   4: if r1 != 0 goto -3\n") {
		t.Errorf("disasm: %d\n%s", code, out)
	}
	// 10+9+...+1 = 55
	for _, f := range []string{src, bin} {
		code, out, stderr := purebpf(t, "run", f)
		if code != 0 || out != "r0 = 0x37\n" {
			t.Errorf("run %s: %d %q %s", f, code, out, stderr)
		}
	}
	code, out, _ = purebpf(t, "run", "--repeat", "5", bin)
	if code != 0 || !strings.Contains(out, "median ") || !strings.Contains(out, "ns per run over 5 runs") {
		t.Errorf("repeat: %d %q", code, out)
	}
	// The default asm output is next to the input.
	if code, _, _ := purebpf(t, "asm", src); code != 0 {
		t.Errorf("asm default output failed")
	} else if _, err := os.Stat(strings.TrimSuffix(src, ".s") + ".bin"); err != nil {
		t.Errorf("default output: %v", err)
	}
}

func TestRunMemAndTrace(t *testing.T) {
	prog := write(t, "ld.s", "r0 = *(u32 *)(r1 + 0)\nr0 += r2\nexit\n")
	mem := write(t, "mem.bin", "\x01\x02\x00\x00\xff")
	code, out, stderr := purebpf(t, "run", "--mem", mem, prog)
	if code != 0 || out != "r0 = 0x206\n" { // 0x0201 + length 5
		t.Errorf("run --mem: %d %q %s", code, out, stderr)
	}
	code, out, _ = purebpf(t, "run", prog, "--trace", "--mem", mem)
	want := []string{"    0: r0 = *(u32 *)(r1 + 0)            r0=0x201", "    1: r0 += r2                         r0=0x206", "    2: exit", "r0 = 0x206"}
	if code != 0 || out != strings.Join(want, "\n")+"\n" {
		t.Errorf("trace: %d\n%s\nwant\n%s", code, out, strings.Join(want, "\n"))
	}
}

func TestErrors(t *testing.T) {
	oob := write(t, "oob.s", "r0 = *(u64 *)(r1 + 0)\nexit\n")
	bad := write(t, "bad.s", "r0 = \nexit\n")
	odd := write(t, "odd.bin", "\x95\x00\x00")
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "usage"},
		{[]string{"frob"}, 2, `unknown command "frob"`},
		{[]string{"run"}, 2, "run takes one program file"},
		{[]string{"run", "--nope", oob}, 2, "flag provided but not defined"},
		{[]string{"run", oob}, 1, "out-of-bounds load of 8 bytes at 0x0"},
		{[]string{"run", bad}, 1, "bad.s"},
		{[]string{"run", "/nonexistent.bin"}, 1, "no such file"},
		{[]string{"disasm", odd}, 1, "trailing bytes"},
		{[]string{"asm"}, 2, "asm takes one input file"},
		{[]string{"run", "--repeat", "-1", oob}, 2, "negative"},
		{[]string{"run", "-h"}, 2, "-dump-maps\n"},
		{[]string{"disasm", "a", "b"}, 2, "usage: purebpf disasm FILE.bin"},
	}
	for _, c := range cases {
		code, _, stderr := purebpf(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("purebpf %q: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}

func TestRunJIT(t *testing.T) {
	prog := write(t, "sum.s", sumProg)
	code, out, stderr := purebpf(t, "run", "--jit", "--repeat", "3", prog)
	if code != 0 || !strings.HasPrefix(out, "r0 = 0x37\nmedian ") {
		t.Errorf("run --jit: %d %q %s", code, out, stderr)
	}
	code, out, stderr = purebpf(t, "run", "--jit", "--dump", prog)
	if code != 0 || !strings.Contains(out, "; ") || !strings.Contains(out, "add rax, rdi") || !strings.HasSuffix(out, "r0 = 0x37\n") {
		t.Errorf("run --jit --dump: %d %s %s", code, out, stderr)
	}
	if code, _, stderr := purebpf(t, "run", "--dump", prog); code != 2 || !strings.Contains(stderr, "--dump needs --jit") {
		t.Errorf("--dump without --jit: %d %s", code, stderr)
	}
}
