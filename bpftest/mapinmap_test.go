package bpftest_test

import (
	"strings"
	"testing"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// mapInMapSpec is an object as clang and libbpf would give it: an XDP
// program that takes the first byte of the frame & 3 as the key of an
// array of maps (slots 0 and 2 filled by its initialiser with the arrays
// inner_a and inner_b) and counts in the inner array it finds; for an
// empty slot it looks the key up in a hash of maps (slot 1 holds the hash
// inner_h) and stores key+100 at key in the inner hash.
func mapInMapSpec() *prog.CollectionSpec {
	arr := func(name string) *prog.ObjectMapSpec {
		return &prog.ObjectMapSpec{MapSpec: prog.MapSpec{Name: name, Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}}
	}
	hash := func(name string) *prog.ObjectMapSpec {
		return &prog.ObjectMapSpec{MapSpec: prog.MapSpec{Name: name, Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4}}
	}
	outer := &prog.ObjectMapSpec{
		MapSpec:  prog.MapSpec{Name: "outer", Type: prog.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		InnerMap: arr("outer.inner"),
		Contents: []prog.MapEntry{{Key: 0, Value: "inner_a"}, {Key: 2, Value: "inner_b"}},
	}
	outerH := &prog.ObjectMapSpec{
		MapSpec:  prog.MapSpec{Name: "outer_h", Type: prog.HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		InnerMap: hash("outer_h.inner"),
		Contents: []prog.MapEntry{{Key: 1, Value: "inner_h"}},
	}
	cs := &prog.CollectionSpec{Maps: map[string]*prog.ObjectMapSpec{
		"outer": outer, "outer_h": outerH, "inner_a": arr("inner_a"), "inner_b": arr("inner_b"), "inner_h": hash("inner_h"),
	}}
	r0, r1, r2, r3, r4, r6, r7, r8, r10 := insn.R0, insn.R1, insn.R2, insn.R3, insn.R4, insn.R6, insn.R7, insn.R8, insn.R10
	call := func(fn insn.HelperFunc) insn.Instruction { return insn.Call(int32(fn)) }
	is := insn.Instructions{
		insn.Mov.Reg(r6, r1),
		insn.LoadMem(r2, r6, 0, insn.W), insn.LoadMem(r3, r6, 4, insn.W),
		insn.Mov.Reg(r4, r2), insn.Add.Imm(r4, 1),
		insn.JGT.Reg(r4, r3, "pass"),
		insn.LoadMem(r7, r2, 0, insn.B), insn.And.Imm(r7, 3),
		insn.StoreMem(r10, -4, r7, insn.W),
		insn.LoadMapPtr(r1, "outer"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "hash"),
		insn.Mov.Reg(r1, r0), insn.StoreImm(r10, -8, 0, insn.W), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "pass"),
		insn.Mov.Imm(r1, 1), insn.Atomic(insn.AtomicAdd, insn.DW, r0, 0, r1),
		insn.Mov.Imm(r0, 3), insn.Exit(),
		insn.LoadMapPtr(r1, "outer_h").WithLabel("hash"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "pass"),
		insn.Mov.Reg(r8, r0),
		insn.StoreMem(r10, -8, r7, insn.W), insn.Mov.Reg(r1, r7), insn.Add.Imm(r1, 100), insn.StoreMem(r10, -16, r1, insn.DW),
		insn.Mov.Reg(r1, r8), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8), insn.Mov.Reg(r3, r10), insn.Add.Imm(r3, -16), insn.Mov.Imm(r4, 0),
		call(insn.FnMapUpdateElem),
		insn.JNE.Imm(r0, 0, "pass"),
		insn.Mov.Imm(r0, 1), insn.Exit(),
		insn.Mov.Imm(r0, 2).WithLabel("pass"), insn.Exit(),
	}
	ps := &prog.ProgramSpec{Spec: prog.Spec{Name: "count", Type: prog.XDP, License: "GPL", Instructions: is,
		Maps: []*prog.MapSpec{&outer.MapSpec, &outerH.MapSpec}}, SectionName: "xdp", Autoload: true}
	cs.Programs = map[string]*prog.ProgramSpec{"count": ps}
	return cs
}

// TestMapInMapDifferential runs mapInMapSpec in interp, jit and the
// kernel (when it may) on frames whose first bytes pick every slot, and
// compares verdicts and every map, inner ones included; then checks the
// userspace counts themselves.
func TestMapInMapDifferential(t *testing.T) {
	h := bpftest.NewT(t, mapInMapSpec(), "count", nil)
	var inputs []bpftest.Input
	for k := range 40 {
		frame := make([]byte, 64)
		frame[0] = byte(k % 7)
		inputs = append(inputs, bpftest.PacketInput(frame))
	}
	inputs = append(inputs, bpftest.PacketInput(nil)) // too short: XDP_PASS
	res := h.Check(t, inputs...)
	if res == nil {
		return
	}
	t.Logf("engines %v, skipped %v", h.Engines(), h.Skipped())
	// Keys k%7&3 over k < 40: 0 from k%7 in {0,4}, 2 from {2,6}.
	want := map[string]uint64{"inner_a": 12, "inner_b": 11}
	for _, m := range h.Maps("inner_a") {
		var v uint64
		if err := m.Lookup(uint32(0), &v); err != nil || v != want["inner_a"] {
			t.Errorf("inner_a[0] = %d, %v; want %d", v, err, want["inner_a"])
		}
	}
	for _, m := range h.Maps("inner_b") {
		var v uint64
		if err := m.Lookup(uint32(0), &v); err != nil || v != want["inner_b"] {
			t.Errorf("inner_b[0] = %d, %v; want %d", v, err, want["inner_b"])
		}
	}
	for _, m := range h.Maps("inner_h") {
		var v uint64
		if err := m.Lookup(uint32(1), &v); err != nil || v != 101 {
			t.Errorf("inner_h[1] = %d, %v; want 101", v, err)
		}
	}
	for _, e := range h.Engines() {
		if e == bpftest.Kernel {
			continue
		}
		o, ok := h.Map(e, "outer").(*maps.OfMaps)
		if !ok {
			t.Fatalf("%v: outer is %T", e, h.Map(e, "outer"))
		}
		if in, err := o.Inner(uint32(2)); err != nil || in != h.Map(e, "inner_b") {
			t.Errorf("%v: outer[2] = %v, %v; want inner_b", e, in, err)
		}
	}
}

// TestMapInMapOuterUpdateRefused: the kernel's verifier refuses a program
// that calls map_update_elem on a map of maps
// (check_map_func_compatibility allows only map_lookup_elem); the
// userspace engines, which have no verifier, answer the call with
// -EINVAL and leave the map alone (internal/engine's
// TestMapInMapOuterWrites).
func TestMapInMapOuterUpdateRefused(t *testing.T) {
	testenv.RequireRoot(t)
	cs := mapInMapSpec()
	r1, r2, r3, r4, r10 := insn.R1, insn.R2, insn.R3, insn.R4, insn.R10
	ps := cs.Programs["count"]
	ps.Instructions = insn.Instructions{
		insn.StoreImm(r10, -4, 0, insn.W), insn.StoreImm(r10, -8, 0, insn.W),
		insn.LoadMapPtr(r1, "outer"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), insn.Mov.Reg(r3, r10), insn.Add.Imm(r3, -8), insn.Mov.Imm(r4, 0),
		insn.Call(int32(insn.FnMapUpdateElem)),
		insn.Mov.Imm(insn.R0, 2), insn.Exit(),
	}
	coll, err := prog.NewCollection(cs, nil)
	if err == nil {
		coll.Close()
		t.Fatal("the kernel loaded a program that updates an array of maps")
	}
	if !strings.Contains(err.Error(), "cannot pass map_type 12 into func bpf_map_update_elem") {
		t.Errorf("verifier error %v does not name the map type and helper", err)
	}
}
