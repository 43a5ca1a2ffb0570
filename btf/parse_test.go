package btf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestParseKernel(t *testing.T) {
	s := requireKernelBTF(t)
	task, err := TypeByName[*Struct](s, "task_struct")
	if err != nil {
		t.Fatal(err)
	}
	var pid *Member
	for i := range task.Members {
		if task.Members[i].Name == "pid" {
			pid = &task.Members[i]
		}
	}
	if pid == nil {
		t.Fatal("task_struct has no pid")
	}
	if td, ok := pid.Type.(*Typedef); !ok || td.Name != "pid_t" {
		t.Fatalf("task_struct.pid is %s, want typedef pid_t", describe(pid.Type))
	}
	u, err := UnderlyingType(pid.Type)
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := u.(*Int); !ok || i.Size != 4 || i.Encoding != Signed {
		t.Fatalf("pid_t is %#v, want a signed 4-byte int", u)
	}
	id, err := s.TypeID(task)
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := s.TypeByID(id); back != task {
		t.Fatalf("TypeByID(TypeID(task_struct)) is another type")
	}
	if sz, err := Sizeof(task); err != nil || sz != int(task.Size) {
		t.Fatalf("Sizeof(task_struct) = %d, %v; want %d", sz, err, task.Size)
	}
	if a, err := Alignof(task); err != nil || a != 64 && a != 8 {
		t.Fatalf("Alignof(task_struct) = %d, %v", a, err)
	}
	if _, err := s.TypeByName("task_struct", KindUnion); !errors.Is(err, ErrNotFound) {
		t.Fatalf("union task_struct: %v, want ErrNotFound", err)
	}
	if _, err := s.TypeByName("no_such_type_anywhere", KindUnknown); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing type: %v", err)
	}
	if ts, err := s.TypesByName("task_struct"); err != nil || len(ts) < 1 {
		t.Fatalf("TypesByName(task_struct) = %d types, %v", len(ts), err)
	}
}

func TestSampleTypes(t *testing.T) {
	s, err := NewSpec(sampleTypes()...)
	if err != nil {
		t.Fatal(err)
	}
	node, err := TypeByName[*Struct](s, "node")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := node.Members[0].Type.(*Pointer); !ok || p.Target != node {
		t.Fatalf("node.next does not point back at node")
	}
	if SkipQualifiers(node.Members[1].Type).(*Int).Name != "int" {
		t.Fatalf("SkipQualifiers(node.val) is not int")
	}
	if node.Members[3].BitfieldSize != 5 || node.Members[3].Offset != 99 {
		t.Fatalf("bitfield b = %+v", node.Members[3])
	}
	sizes := map[string]int{"node": 24, "u": 8, "color": 4, "big": 8, "node_t": 24, "double": 8, ".data": 4}
	for name, want := range sizes {
		typ, err := s.TypeByName(name, KindUnknown)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Sizeof(typ); err != nil || got != want {
			t.Errorf("Sizeof(%s) = %d, %v; want %d", name, got, err, want)
		}
	}
	arr := node.Members[4].Type
	if got, _ := Sizeof(arr); got != 8 {
		t.Errorf("Sizeof(unsigned char[8]) = %d", got)
	}
	if a, _ := Alignof(node); a != 8 {
		t.Errorf("Alignof(node) = %d, want 8", a)
	}
	fn, err := TypeByName[*Func](s, "walk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sizeof(fn); !errors.Is(err, ErrNoSize) {
		t.Errorf("Sizeof(func) = %v, want ErrNoSize", err)
	}
	e, _ := TypeByName[*Enum](s, "color")
	if int32(e.Values[0].Value) != -1 || !e.Signed {
		t.Errorf("signed enum value = %#x", e.Values[0].Value)
	}
	e64, _ := TypeByName[*Enum](s, "big")
	if !e64.Is64 || e64.Kind() != KindEnum64 || e64.Values[0].Value != 1<<40 {
		t.Errorf("enum64 = %+v", e64)
	}
	tags := 0
	for _, typ := range s.All() {
		if typ.Kind() == KindTypeTag || typ.Kind() == KindDeclTag {
			tags++
		}
	}
	if tags != 2 {
		t.Errorf("%d tags, want 2", tags)
	}
}

func TestTypedefLoopDepth(t *testing.T) {
	a := &Typedef{Name: "a"}
	b := &Typedef{Name: "b", Type: a}
	a.Type = b
	if _, err := UnderlyingType(a); !errors.Is(err, ErrLoop) {
		t.Fatalf("UnderlyingType of a loop: %v", err)
	}
	if _, err := Sizeof(a); !errors.Is(err, ErrLoop) {
		t.Fatalf("Sizeof of a loop: %v", err)
	}
}

// blob builds a raw BTF blob from type words and a string table.
func blob(types []uint32, strs string) []byte {
	b := binary.LittleEndian.AppendUint16(nil, btfMagic)
	b = append(b, 1, 0)
	for _, v := range []uint32{24, 0, uint32(4 * len(types)), uint32(4 * len(types)), uint32(len(strs))} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for _, w := range types {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return append(b, strs...)
}

func info(kind Kind, vlen uint32, kflag bool) uint32 {
	v := uint32(kind)<<24 | vlen
	if kflag {
		v |= 1 << 31
	}
	return v
}

func TestParseMalformed(t *testing.T) {
	intT := []uint32{1, info(KindInt, 0, false), 4, 32}
	strs := "\x00int\x00"
	good := blob(intT, strs)
	if _, err := Parse(good); err != nil {
		t.Fatalf("good blob: %v", err)
	}
	cases := []struct {
		name   string
		b      []byte
		want   string
		id     TypeID
		offset int
	}{
		{"empty", nil, "shorter than the BTF header", 0, 0},
		{"magic", append([]byte{0x12, 0x34}, good[2:]...), "bad magic", 0, 0},
		{"version", append([]byte{0x9f, 0xeb, 2}, good[3:]...), "unsupported version", 0, 2},
		{"header past end", good[:20], "header length", 0, 4},
		{"types past end", good[:30], "type section", 0, 8},
		{"string offset", blob([]uint32{99, info(KindInt, 0, false), 4, 32}, strs), "name offset 99", 1, 24},
		{"unknown kind", blob([]uint32{0, info(25, 0, false), 0}, strs), "unknown kind", 1, 24},
		{"vlen past end", blob([]uint32{1, info(KindStruct, 3, false), 4, 0, 0, 0}, strs), "runs past the end", 1, 24},
		{"truncated type", blob([]uint32{1, info(KindInt, 0, false)}, strs), "truncated type header", 1, 24},
		{"bad reference", blob([]uint32{0, info(KindPointer, 0, false), 7}, strs), "refers to type [7]", 1, 32},
		{"typedef loop", blob([]uint32{1, info(KindTypedef, 0, false), 2, 0, info(KindConst, 0, false), 1}, strs), "type loop", 2, 36},
		{"self-containing struct", blob([]uint32{1, info(KindStruct, 1, false), 4, 1, 1, 0}, strs), "type loop", 1, 24},
		{"bad int", blob([]uint32{1, info(KindInt, 0, false), 4, 64}, strs), "INT of size 4", 1, 24},
		{"no NUL", blob(intT, "\x00int"), "does not end with NUL", 0, 24 + 16 + 3},
		{"member name", blob([]uint32{1, info(KindStruct, 1, false), 4, 200, 0, 0}, strs), "member 0 name offset 200", 1, 36},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.b)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v does not wrap ErrMalformed", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%v is not a *ParseError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if pe.TypeID != c.id || pe.Offset != c.offset {
				t.Errorf("error at type %d offset %d, want type %d offset %d (%v)", pe.TypeID, pe.Offset, c.id, c.offset, err)
			}
		})
	}
}

// splitSample returns the sample spec and a split blob on top of it: a
// pointer to the base's int, and a struct whose name is appended after
// the base's strings.
func splitSample(t testing.TB) (base *Spec, i32 Type, raw []byte) {
	t.Helper()
	base, err := NewSpec(sampleTypes()...)
	if err != nil {
		t.Fatal(err)
	}
	i32, _ = base.TypeByName("int", KindInt)
	i32id, _ := base.TypeID(i32)
	next := base.NextID()
	strs := "\x00wrapper\x00v\x00"
	baseStrLen := uint32(len(base.strs))
	raw = blob([]uint32{
		0, info(KindPointer, 0, false), uint32(i32id),
		baseStrLen + 1, info(KindStruct, 1, false), 8, baseStrLen + 9, uint32(next), 0,
	}, strs)
	return base, i32, raw
}

func TestParseSplit(t *testing.T) {
	base, i32, raw := splitSample(t)
	next := base.NextID()
	s, err := ParseSplit(raw, base)
	if err != nil {
		t.Fatal(err)
	}
	if s.FirstID() != next || s.NextID() != next+2 {
		t.Fatalf("split ids [%d, %d), want [%d, %d)", s.FirstID(), s.NextID(), next, next+2)
	}
	w, err := TypeByName[*Struct](s, "wrapper")
	if err != nil {
		t.Fatal(err)
	}
	p := w.Members[0].Type.(*Pointer)
	if p.Target != i32 || w.Members[0].Name != "v" {
		t.Fatalf("split member does not reach the base's int: %+v", w.Members[0])
	}
	// Base types are found through the split spec.
	if _, err := TypeByName[*Struct](s, "node"); err != nil {
		t.Fatal(err)
	}
	b, err := s.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseSplit(b, base)
	if err != nil {
		t.Fatal(err)
	}
	if dump(t, s2) != dump(t, s) {
		t.Fatalf("split round trip differs:\n%s\n%s", dump(t, s), dump(t, s2))
	}
	if _, err := ParseSplit(raw, s); err == nil {
		t.Fatal("split on split accepted")
	}
}

func TestParseBigEndian(t *testing.T) {
	b, err := MarshalTypes(sampleTypes(), &MarshalOptions{ByteOrder: binary.BigEndian})
	if err != nil {
		t.Fatal(err)
	}
	be, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	le, _ := NewSpec(sampleTypes()...)
	if dump(t, be) != dump(t, le) {
		t.Fatal("big-endian blob parses differently")
	}
}

func TestKernelSpecCached(t *testing.T) {
	a := requireKernelBTF(t)
	b, _ := KernelSpec()
	if a != b {
		t.Fatal("KernelSpec parsed twice")
	}
	FlushKernelSpec()
	c, err := KernelSpec()
	if err != nil || c == a {
		t.Fatalf("FlushKernelSpec kept the spec (%v)", err)
	}
	mods, err := KernelModules()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		s, err := ModuleSpec(m)
		if err != nil {
			t.Fatalf("module %s: %v", m, err)
		}
		if s.Base() != c {
			t.Fatalf("module %s is not split on the kernel spec", m)
		}
	}
	if _, err := ModuleSpec("no_such_module_xyz"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing module: %v", err)
	}
}

func TestLoadELFMalformed(t *testing.T) {
	obj := readFile(t, "testdata/core_flavors.bpf.o")
	for _, cut := range []int{0, 3, 64, 200, len(obj) / 2, len(obj) - 1} {
		if _, _, err := LoadELF(bytes.NewReader(obj[:cut])); err == nil {
			t.Errorf("ELF cut at %d: no error", cut)
		}
	}
	// An ELF without .BTF.
	if _, _, err := LoadELF(bytes.NewReader(readFile(t, "/proc/self/exe"))); !errors.Is(err, ErrNotFound) {
		t.Errorf("ELF without .BTF: %v", err)
	}
}
