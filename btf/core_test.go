package btf

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

// craftedTarget is a second target BTF, laid out unlike the host kernel:
// other offsets, a 32-byte comm, a bitfield elsewhere, other enum values,
// mmap_base behind an anonymous struct, filler types so that ids differ.
func craftedTarget(t testing.TB) *Spec {
	t.Helper()
	i32 := &Int{Name: "int", Size: 4, Encoding: Signed, Bits: 32}
	u32 := &Int{Name: "unsigned int", Size: 4, Bits: 32}
	ulong := &Int{Name: "long unsigned int", Size: 8, Bits: 64}
	char := &Int{Name: "char", Size: 1, Encoding: Signed, Bits: 8}
	pidT := &Typedef{Name: "pid_t", Type: i32}
	lh := &Struct{Name: "list_head", Size: 16}
	lh.Members = []Member{{Name: "next", Type: &Pointer{Target: lh}}, {Name: "prev", Type: &Pointer{Target: lh}, Offset: 64}}
	anon := &Struct{Size: 64, Members: []Member{
		{Name: "pad", Type: ulong}, {Name: "pad2", Type: ulong, Offset: 64}, {Name: "mmap_base", Type: ulong, Offset: 128},
	}}
	mm := &Struct{Name: "mm_struct", Size: 64, Members: []Member{{Type: anon}}}
	task := &Struct{Name: "task_struct", Size: 128, Members: []Member{
		{Name: "__state", Type: u32},
		{Name: "pid", Type: pidT, Offset: 64},
		{Name: "tgid", Type: pidT, Offset: 96},
		{Name: "flags_a", Type: u32, Offset: 128, BitfieldSize: 3},
		{Name: "sched_reset_on_fork", Type: u32, Offset: 131, BitfieldSize: 1},
		{Name: "comm", Type: &Array{Type: char, Index: i32, Nelems: 32}, Offset: 192},
		{Name: "tasks", Type: lh, Offset: 448},
		{Name: "mm", Type: &Pointer{Target: mm}, Offset: 576},
	}}
	funcID := &Enum{Name: "bpf_func_id", Size: 4, Values: []EnumValue{
		{Name: "BPF_FUNC_unspec", Value: 0}, {Name: "BPF_FUNC_map_lookup_elem", Value: 1}, {Name: "BPF_FUNC_ktime_get_ns", Value: 50},
	}}
	callchain := &Enum{Name: "perf_callchain_context", Size: 8, Is64: true, Values: []EnumValue{
		{Name: "PERF_CONTEXT_HV", Value: 0xffffffffffffffe0}, {Name: "PERF_CONTEXT_KERNEL", Value: 1 << 40},
	}}
	var filler []Type
	for i := range 20 {
		filler = append(filler, &Typedef{Name: fmt.Sprintf("filler%d", i), Type: i32})
	}
	s, err := NewSpec(append(filler, task, funcID, callchain)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// targetPath resolves a "member.member[3]" path from a named root type
// in the target by member names, descending into anonymous members, and
// returns the bit offset and the member reached.
func targetPath(t testing.TB, target *Spec, root string, path string) (bitOff uint64, m Member, parentKind Kind) {
	t.Helper()
	typ, err := TypeByName[*Struct](target, root)
	if err != nil {
		t.Fatal(err)
	}
	var cur Type = typ
	for _, step := range strings.Split(path, ".") {
		name, idx, hasIdx := step, 0, false
		if i := strings.IndexByte(step, '['); i >= 0 {
			fmt.Sscanf(step[i:], "[%d]", &idx)
			name, hasIdx = step[:i], true
		}
		off, mem, ok := findMember(skipModsAndTypedefs(cur), name)
		if !ok {
			t.Fatalf("target %s has no member %s", root, path)
		}
		bitOff += off
		m, parentKind = mem, cur.Kind()
		cur = mem.Type
		if hasIdx {
			a := skipModsAndTypedefs(cur).(*Array)
			sz, _ := Sizeof(a.Type)
			bitOff += uint64(idx * sz * 8)
			m = Member{Type: a.Type}
			cur = a.Type
		}
	}
	return bitOff, m, parentKind
}

func findMember(t Type, name string) (uint64, Member, bool) {
	for _, m := range Members(t) {
		if m.Name == name {
			return uint64(m.Offset), m, true
		}
		if m.Name == "" {
			if off, mm, ok := findMember(skipModsAndTypedefs(m.Type), name); ok {
				return uint64(m.Offset) + off, mm, true
			}
		}
	}
	return 0, Member{}, false
}

// localPath turns a relocation's access string into the member path
// targetPath reads ("comm[3]", "mmap_base").
func localPath(relo CORERelocation) string {
	parts := strings.Split(relo.Access, ":")
	var path []string
	cur := relo.Type
	for _, p := range parts[1:] {
		var idx int
		fmt.Sscanf(p, "%d", &idx)
		switch v := skipModsAndTypedefs(cur).(type) {
		case *Array:
			path[len(path)-1] += fmt.Sprintf("[%d]", idx)
			cur = v.Type
		default:
			m := Members(v)[idx]
			if m.Name != "" {
				path = append(path, m.Name)
			}
			cur = m.Type
		}
	}
	return strings.Join(path, ".")
}

// expected derives what a relocation must produce from the target BTF
// alone: ok false means the instruction must be poisoned.
func expected(t testing.TB, target *Spec, relo CORERelocation) (val uint64, ok bool) {
	t.Helper()
	root := essentialName(relo.Type.TypeName())
	switch relo.Kind {
	case TypeIDLocal:
		return uint64(relo.TypeID), true
	case TypeIDTarget, TypeExists, TypeSize, TypeMatches:
		typ, err := target.TypeByName(root, relo.Type.Kind())
		if errors.Is(err, ErrNotFound) {
			return 0, true
		}
		if err != nil {
			t.Fatal(err)
		}
		switch relo.Kind {
		case TypeIDTarget:
			id, _ := target.TypeID(typ)
			return uint64(id), true
		case TypeSize:
			sz, _ := Sizeof(typ)
			return uint64(sz), true
		}
		return 1, true
	case EnumValueExists, EnumValueValue:
		local := skipModsAndTypedefs(relo.Type).(*Enum)
		var idx int
		fmt.Sscanf(relo.Access, "%d", &idx)
		name := essentialName(local.Values[idx].Name)
		e, err := TypeByName[*Enum](target, root)
		if err == nil {
			for _, v := range e.Values {
				if v.Name == name {
					if relo.Kind == EnumValueExists {
						return 1, true
					}
					if !e.Is64 {
						return uint64(int64(int32(v.Value))), true
					}
					return v.Value, true
				}
			}
		}
		return 0, relo.Kind == EnumValueExists
	}
	path := localPath(relo)
	if _, err := TypeByName[*Struct](target, root); err != nil {
		return 0, relo.Kind == FieldExists
	}
	typ, _ := TypeByName[*Struct](target, root)
	first := strings.Split(path, ".")[0]
	if i := strings.IndexByte(first, '['); i >= 0 {
		first = first[:i]
	}
	if _, _, found := findMember(typ, first); !found {
		return 0, relo.Kind == FieldExists
	}
	bitOff, m, _ := targetPath(t, target, root, path)
	if relo.Kind == FieldExists {
		return 1, true
	}
	mt := skipModsAndTypedefs(m.Type)
	if m.BitfieldSize == 0 {
		sz, _ := Sizeof(m.Type)
		switch relo.Kind {
		case FieldByteOffset:
			return bitOff / 8, true
		case FieldByteSize:
			return uint64(sz), true
		case FieldSigned:
			i, isInt := mt.(*Int)
			return b2u(isInt && i.Encoding&Signed != 0), true
		case FieldLShiftU64:
			return uint64(64 - 8*sz), true
		case FieldRShiftU64:
			return uint64(64 - 8*sz), true
		}
	}
	// A bitfield is read with the smallest aligned load of at least its
	// type's size that covers it.
	size := uint64(mt.(*Int).Size)
	for {
		start := bitOff / 8 / size * size
		if bitOff+uint64(m.BitfieldSize) <= (start+size)*8 {
			switch relo.Kind {
			case FieldByteOffset:
				return start, true
			case FieldByteSize:
				return size, true
			case FieldSigned:
				return b2u(mt.(*Int).Encoding&Signed != 0), true
			case FieldLShiftU64:
				return 64 - (bitOff + uint64(m.BitfieldSize) - start*8), true
			case FieldRShiftU64:
				return 64 - uint64(m.BitfieldSize), true
			}
		}
		size *= 2
	}
}

// insnValue is the value a relocation wrote into an instruction.
func insnValue(in insn.Instruction) uint64 {
	switch c := in.OpCode.Class(); {
	case in.IsLoadImm64():
		return uint64(in.Imm)
	case c == insn.ClassLdX || c == insn.ClassSt || c == insn.ClassStX:
		return uint64(uint16(in.Offset))
	}
	return uint64(uint32(in.Imm))
}

func isPoison(in insn.Instruction) bool {
	return in.OpCode == insn.OpCode(insn.ClassJmp)|0x80 && in.Imm == COREPoisonImm
}

func TestCORERelocate(t *testing.T) {
	targets := map[string]*Spec{"crafted": craftedTarget(t)}
	if k, err := KernelSpec(); err == nil {
		targets["host"] = k
	} else {
		requireKernelBTF(t)
	}
	kinds := map[COREKind]bool{}
	for _, obj := range coreObjects(t) {
		o := loadObject(t, obj)
		for tname, target := range targets {
			for sec, relos := range o.ext.CORERelos {
				t.Run(fmt.Sprintf("%s/%s/%s", obj, tname, sec), func(t *testing.T) {
					orig := o.code[sec]
					in := append(insn.Instructions(nil), orig...)
					out, res, err := CORERelocate(in, relos, o.spec, &COREOptions{Targets: []*Spec{target}})
					if err != nil {
						t.Fatal(err)
					}
					if out.Slots() != orig.Slots() {
						t.Fatalf("%d slots after relocation, %d before", out.Slots(), orig.Slots())
					}
					for i, r := range res {
						relo := relos[i]
						kinds[relo.Kind] = true
						what := fmt.Sprintf("%s %s %q (%s)", relo.Kind, describe(relo.Type), relo.Access, localPath(relo))
						want, ok := expected(t, target, relo)
						got := out[r.Index]
						if !ok {
							if !r.Poisoned || !isPoison(got) {
								t.Errorf("%s: not poisoned: %v", what, got)
							}
							if !strings.Contains(r.Reason, relo.Access) || !strings.Contains(r.Reason, relo.Type.TypeName()) {
								t.Errorf("%s: reason %q does not name the type and access", what, r.Reason)
							}
							if orig[r.Index].IsLoadImm64() && !isPoison(out[r.Index+1]) {
								t.Errorf("%s: second half of LD_IMM64 not poisoned", what)
							}
							continue
						}
						if r.Poisoned {
							t.Errorf("%s: poisoned (%s), want %d", what, r.Reason, want)
							continue
						}
						if v := insnValue(got); v != want || r.Target != want {
							t.Errorf("%s: instruction %v has %d (result %d), want %d", what, got, v, r.Target, want)
						}
					}
				})
			}
		}
	}
	for k := FieldByteOffset; k <= TypeMatches; k++ {
		if !kinds[k] {
			t.Errorf("no test relocation of kind %s", k)
		}
	}
}

// TestCOREAmbiguous: two candidates that disagree fail the relocation,
// naming it, as in libbpf.
func TestCOREAmbiguous(t *testing.T) {
	i32 := &Int{Name: "int", Size: 4, Encoding: Signed, Bits: 32}
	a := &Struct{Name: "task_struct", Size: 8, Members: []Member{{Name: "pid", Type: i32}}}
	b := &Struct{Name: "task_struct___v2", Size: 8, Members: []Member{{Name: "pid", Type: i32, Offset: 32}}}
	target, err := NewSpec(a, b)
	if err != nil {
		t.Fatal(err)
	}
	o := loadObject(t, "testdata/core_flavors.bpf.o")
	for sec, relos := range o.ext.CORERelos {
		_, _, err := CORERelocate(append(insn.Instructions(nil), o.code[sec]...), relos, o.spec, &COREOptions{Targets: []*Spec{target}})
		if !errors.Is(err, ErrAmbiguous) {
			t.Fatalf("err = %v, want ErrAmbiguous", err)
		}
		for _, s := range []string{"byte_off", "task_struct___old", `"0:2"`} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not mention %s", err, s)
			}
		}
	}
}

// TestCOREMemSize: a load of a field whose size changes is resized when
// the value is an unsigned integer or pointer, and poisoned otherwise.
func TestCOREMemSize(t *testing.T) {
	mk := func(size uint32, enc IntEncoding) *Struct {
		u := &Int{Name: fmt.Sprintf("u%d", size), Size: size, Bits: uint8(8 * size)}
		s := &Int{Name: fmt.Sprintf("s%d", size), Size: size, Bits: uint8(8 * size), Encoding: enc}
		return &Struct{Name: "rec", Size: 2 * size, Members: []Member{{Name: "a", Type: u}, {Name: "b", Type: s, Offset: 8 * size}}}
	}
	local, err := NewSpec(mk(4, Signed))
	if err != nil {
		t.Fatal(err)
	}
	target, err := NewSpec(mk(8, Signed))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := TypeByName[*Struct](local, "rec")
	id, _ := local.TypeID(rec)
	prog := insn.Instructions{
		insn.LoadMem(insn.R0, insn.R1, 0, insn.W),
		insn.LoadMem(insn.R2, insn.R1, 4, insn.W),
		insn.Exit(),
	}
	relos := []CORERelocation{
		{InsnOff: 0, TypeID: id, Type: rec, Access: "0:0", Kind: FieldByteOffset},
		{InsnOff: 8, TypeID: id, Type: rec, Access: "0:1", Kind: FieldByteOffset},
	}
	out, res, err := CORERelocate(prog, relos, local, &COREOptions{Targets: []*Spec{target}})
	if err != nil {
		t.Fatal(err)
	}
	if want := insn.LoadMem(insn.R0, insn.R1, 0, insn.DW); out[0].OpCode != want.OpCode || out[0].Offset != 0 {
		t.Errorf("unsigned field: %v, want %v", out[0], want)
	}
	if !res[1].Poisoned || !isPoison(out[1]) {
		t.Errorf("signed field resized: %v (%+v)", out[1], res[1])
	}
	// A mismatch between the instruction and the local type is an error.
	bad := insn.Instructions{insn.LoadMem(insn.R0, insn.R1, 12, insn.W), insn.Exit()}
	if _, _, err := CORERelocate(bad, relos[:1], local, &COREOptions{Targets: []*Spec{target}}); err == nil || !strings.Contains(err.Error(), "expected 0") {
		t.Errorf("mismatched offset: %v", err)
	}
	// Bad relocation records are errors, not panics.
	for _, r := range []CORERelocation{
		{InsnOff: 4, TypeID: id, Type: rec, Access: "0:0", Kind: FieldByteOffset},
		{InsnOff: 0, TypeID: id, Type: rec, Access: "0:9", Kind: FieldByteOffset},
		{InsnOff: 0, TypeID: id, Type: rec, Access: "x", Kind: FieldByteOffset},
		{InsnOff: 0, TypeID: id, Type: rec, Access: "0", Kind: EnumValueValue},
		{InsnOff: 0, TypeID: id, Type: rec, Access: "0:0", Kind: 99},
		{InsnOff: 800, TypeID: id, Type: rec, Access: "0:0", Kind: FieldByteOffset},
	} {
		if _, _, err := CORERelocate(append(insn.Instructions(nil), prog...), []CORERelocation{r}, local, &COREOptions{Targets: []*Spec{target}}); err == nil {
			t.Errorf("%+v: no error", r)
		}
	}
}

// TestCORETypeMatches: type_matches is the deep check, type_exists the
// shallow one (libbpf's bpf_core_types_match and _are_compat).
func TestCORETypeMatches(t *testing.T) {
	o := loadObject(t, "testdata/core_flavors.bpf.o")
	i32 := &Int{Name: "int", Size: 4, Encoding: Signed, Bits: 32}
	lh := &Struct{Name: "list_head", Size: 16, Members: []Member{{Name: "next", Type: i32}, {Name: "prev", Type: i32, Offset: 64}}}
	target, err := NewSpec(lh, &Struct{Name: "task_struct", Size: 8, Members: []Member{{Name: "pid", Type: i32}}})
	if err != nil {
		t.Fatal(err)
	}
	for sec, relos := range o.ext.CORERelos {
		var picked []CORERelocation
		for _, r := range relos {
			if r.Kind == TypeMatches {
				picked = append(picked, r)
				exists := r
				exists.Kind = TypeExists
				picked = append(picked, exists)
			}
		}
		if len(picked) == 0 {
			t.Fatal("no type_matches relocation in the test object")
		}
		// The type_exists copy of the record points at the same
		// instruction, whose immediate is 1 for both kinds.
		for i, want := range []uint64{0, 1} {
			code := append(insn.Instructions(nil), o.code[sec]...)
			out, res, err := CORERelocate(code, picked[i:i+1], o.spec, &COREOptions{Targets: []*Spec{target}})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Target != want || insnValue(out[res[0].Index]) != want {
				t.Errorf("%s of list_head___old against list_head with int members = %d, want %d", picked[i].Kind, res[0].Target, want)
			}
		}
	}
}

// TestCOREModuleTarget: candidates are found in split (module) BTF, and
// target ids are the split spec's.
func TestCOREModuleTarget(t *testing.T) {
	base, _, raw := splitSample(t)
	mod, err := ParseSplit(raw, base)
	if err != nil {
		t.Fatal(err)
	}
	wrapper, _ := TypeByName[*Struct](mod, "wrapper")
	wantID, _ := mod.TypeID(wrapper)
	i32 := &Int{Name: "int", Size: 4, Encoding: Signed, Bits: 32}
	local, err := NewSpec(&Struct{Name: "wrapper___mine", Size: 8, Members: []Member{{Name: "v", Type: &Pointer{Target: i32}}}})
	if err != nil {
		t.Fatal(err)
	}
	lw, _ := local.TypeByName("wrapper___mine", KindStruct)
	lid, _ := local.TypeID(lw)
	prog := insn.Instructions{insn.LoadImm64(insn.R0, int64(lid)), insn.Mov.Imm(insn.R1, 8), insn.Exit()}
	relos := []CORERelocation{
		{InsnOff: 0, TypeID: lid, Type: lw, Access: "0", Kind: TypeIDTarget},
		{InsnOff: 16, TypeID: lid, Type: lw, Access: "0", Kind: TypeSize},
	}
	out, res, err := CORERelocate(prog, relos, local, &COREOptions{Targets: []*Spec{base, mod}})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Imm != int64(wantID) || res[0].Target != uint64(wantID) {
		t.Errorf("target id %d, want the module's [%d]", out[0].Imm, wantID)
	}
	if out[1].Imm != 8 {
		t.Errorf("type size %d, want 8", out[1].Imm)
	}
}
