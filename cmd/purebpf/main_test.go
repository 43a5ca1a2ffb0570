package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/btf"
)

func TestDispatch(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "purebpf btf dump FILE") {
		t.Errorf("no arguments: exit %d, usage %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "nope"`) {
		t.Errorf("unknown command: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"btf", "dump"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "usage: purebpf btf dump FILE") {
		t.Errorf("btf dump without FILE: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"btf", "dump", "/no/such/file"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no such file") {
		t.Errorf("missing file: exit %d, %q", code, errb.String())
	}
}

func TestBTFDump(t *testing.T) {
	const obj = "../../btf/testdata/core_flavors.bpf.o"
	var out, errb bytes.Buffer
	if code := run([]string{"btf", "dump", obj}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s, err := btf.LoadSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := s.DumpRaw(&want); err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() || !strings.HasPrefix(out.String(), "[1] ") {
		t.Fatalf("output differs from DumpRaw:\n%s", out.String())
	}
}
