//go:build amd64 && unix

package jit

import (
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// TestMapInMapTailcallObject loads tailcall.bpf.o with jit.NewCollection
// and interp.NewCollection: the initialisers fill outer_arr with inner_a
// and inner_b, and the socket filters agree run after run: entry finds
// outer_hash empty and tail calls tail_0, which counts in inner_a through
// outer_arr and tail calls tail_1 (33).
func TestMapInMapTailcallObject(t *testing.T) {
	spec, err := prog.LoadCollectionSpec("../prog/testdata/bpf/tailcall.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	jc, err := NewCollection(spec, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer jc.Close()
	ic, err := interp.NewCollection(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ms   map[string]maps.Map
	}{{"jit", jc.Maps}, {"interp", ic.Maps}} {
		o := c.ms["outer_arr"].(*maps.OfMaps)
		for k, want := range map[uint32]string{0: "inner_a", 2: "inner_b"} {
			if in, err := o.Inner(k); err != nil || in != c.ms[want] {
				t.Errorf("%s: outer_arr[%d] = %v, %v; want %s", c.name, k, in, err, want)
			}
		}
		if _, err := o.Inner(uint32(1)); !errors.Is(err, prog.ErrKeyNotExist) {
			t.Errorf("%s: outer_arr[1]: %v, want ErrKeyNotExist", c.name, err)
		}
	}
	pkt := make([]byte, 64)
	for k := range 5 {
		for _, name := range []string{"entry", "tail_0", "tail_1"} {
			jr, jerr := jc.Programs[name].RunSocketFilter(pkt, nil)
			ir, ierr := ic.Programs[name].RunSocketFilter(pkt, nil)
			if jerr != nil || ierr != nil || jr != ir || jr != 33 {
				t.Fatalf("run %d of %s: jit %d, %v; interp %d, %v; want 33", k, name, jr, jerr, ir, ierr)
			}
		}
	}
	// Runners (which may keep their Env bound between runs) too.
	jrn, err := jc.Programs["tail_0"].NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer jrn.Close()
	irn, err := ic.Programs["tail_0"].NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer irn.Close()
	for k := range 5 {
		jr, jerr := jrn.RunSocketFilter(pkt, nil)
		ir, ierr := irn.RunSocketFilter(pkt, nil)
		if jerr != nil || ierr != nil || jr != 33 || ir != 33 {
			t.Fatalf("Runner run %d of tail_0: jit %d, %v; interp %d, %v; want 33", k, jr, jerr, ir, ierr)
		}
	}
	for _, c := range []map[string]maps.Map{jc.Maps, ic.Maps} {
		var v uint32
		if err := c["inner_a"].Lookup(uint32(0), &v); err != nil || v != 15 { // entry and tail_0 count, 5 runs each, and 5 Runner runs
			t.Errorf("inner_a[0] = %d, %v; want 15", v, err)
		}
	}
	// With inner_a out of outer_arr, tail_0 returns 1 in both.
	for _, ms := range []map[string]maps.Map{jc.Maps, ic.Maps} {
		if err := ms["outer_arr"].Delete(uint32(0)); err != nil {
			t.Fatal(err)
		}
	}
	jr, jerr := jc.Programs["tail_0"].RunSocketFilter(pkt, nil)
	ir, ierr := ic.Programs["tail_0"].RunSocketFilter(pkt, nil)
	if jerr != nil || ierr != nil || jr != 1 || ir != 1 {
		t.Errorf("tail_0 with an empty slot: jit %d, %v; interp %d, %v; want 1", jr, jerr, ir, ierr)
	}
}

// TestMapInMapJITSandbox: compiled code cannot store or load through an
// inner map handle either, and the helpers behind it run as in interp.
func TestMapInMapJITSandbox(t *testing.T) {
	inner := prog.MapSpec{Name: "in", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}
	ms := []*prog.MapSpec{{Name: "outer", Type: prog.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1, InnerMap: &inner}}
	prologue := insn.Instructions{
		insn.StoreImm(insn.R10, -4, 0, insn.W),
		insn.LoadMapPtr(insn.R1, "outer"), insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -4),
		insn.Call(int32(insn.FnMapLookupElem)),
		insn.JEq.Imm(insn.R0, 0, "null"),
		insn.Mov.Reg(insn.R6, insn.R0),
	}
	epilogue := insn.Instructions{insn.Mov.Imm(insn.R0, 1), insn.Exit(), insn.Mov.Imm(insn.R0, 100).WithLabel("null"), insn.Exit()}
	for _, c := range []struct {
		what string
		body insn.Instructions
		err  error
	}{
		{"store", insn.Instructions{insn.StoreImm(insn.R6, 0, 1, insn.DW)}, interp.ErrMemoryAccess},
		{"load", insn.Instructions{insn.LoadMem(insn.R1, insn.R6, 0, insn.DW)}, interp.ErrMemoryAccess},
		{"lookup and add", insn.Instructions{
			insn.Mov.Reg(insn.R1, insn.R6), insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -4),
			insn.Call(int32(insn.FnMapLookupElem)),
			insn.JEq.Imm(insn.R0, 0, "null"),
			insn.StoreImm(insn.R0, 0, 7, insn.DW),
		}, nil},
	} {
		is := append(append(append(insn.Instructions{}, prologue...), c.body...), epilogue...)
		spec := &prog.Spec{Name: "t", Instructions: is, Maps: ms}
		ivm, err := interp.New(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := maps.New(inner, nil)
		if err := ivm.Map("outer").(*maps.OfMaps).Set(uint32(0), a, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		jvm, err := New(spec, &Options{Interp: &interp.Options{Maps: map[string]maps.Map{"outer": ivm.Map("outer")}}})
		if err != nil {
			t.Fatal(err)
		}
		jr, jerr := jvm.RunMemory(nil)
		ir, ierr := ivm.RunMemory(nil)
		jvm.Close()
		if c.err != nil {
			if !errors.Is(jerr, c.err) || !errors.Is(ierr, c.err) {
				t.Errorf("%s: jit %v, interp %v; want %v", c.what, jerr, ierr, c.err)
			}
			continue
		}
		if jerr != nil || ierr != nil || jr != 1 || ir != 1 {
			t.Errorf("%s: jit %d, %v; interp %d, %v", c.what, jr, jerr, ir, ierr)
		}
		var v uint64
		if err := a.Lookup(uint32(0), &v); err != nil || v != 7 {
			t.Errorf("%s: inner[0] = %d, %v", c.what, v, err)
		}
	}
}
