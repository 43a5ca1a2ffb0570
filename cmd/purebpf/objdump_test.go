package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestObjdump(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"objdump", "-d", "../../prog/testdata/bpf/subprogs.bpf.o"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	s := out.String()
	for _, want := range []string{
		"Sections:", "xdp                          program",
		"xdp_second               xdp                section \"xdp\"",
		"values               array            key 4    value 8      max_entries 8",
		"loop_sum                 .bss             offset 0",
		"func pointer  loop_cb",
		"BTF:\n  114 types",
		"Disassembly of xdp_second (section xdp):",
		"; bpf_loop(5, loop_cb, NULL, 0);\t[./prog/testdata/bpf/subprogs.bpf.c:",
		"call global_add",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("objdump output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(s)
	}
	errOut.Reset()
	if code := run([]string{"objdump", "../../prog/testdata/bpf/minimal.bpfeb.o"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "big-endian") {
		t.Fatalf("big-endian object: exit %d, %s", code, errOut.String())
	}
}
