package btf

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
)

// object is a compiled test object read with debug/elf (the object
// loader lives in prog, which builds on this package).
type object struct {
	path string
	spec *Spec
	ext  *ExtInfo
	code map[string]insn.Instructions
	file *elf.File
}

func loadObject(t testing.TB, path string) *object {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	spec, ext, err := LoadELFFile(f)
	if err != nil {
		t.Fatal(err)
	}
	o := &object{path: path, spec: spec, ext: ext, code: map[string]insn.Instructions{}, file: f}
	for _, sec := range f.Sections {
		if sec.Type == elf.SHT_PROGBITS && sec.Flags&elf.SHF_EXECINSTR != 0 && sec.Size > 0 {
			b, err := sec.Data()
			if err != nil {
				t.Fatal(err)
			}
			is, err := insn.Unmarshal(b)
			if err != nil {
				t.Fatalf("%s: %v", sec.Name, err)
			}
			o.code[sec.Name] = is
		}
	}
	return o
}

// testObjects are the compiled objects in testdata.
func testObjects(t testing.TB) []string {
	t.Helper()
	objs, err := filepath.Glob("testdata/*.o")
	if err != nil || len(objs) == 0 {
		t.Fatalf("no test objects in testdata: %v", err)
	}
	sort.Strings(objs)
	return objs
}

// coreObjects are the test objects with CO-RE relocations.
func coreObjects(t testing.TB) []string {
	t.Helper()
	objs, err := filepath.Glob("testdata/core_*.o")
	if err != nil || len(objs) == 0 {
		t.Fatalf("no CO-RE test objects in testdata: %v", err)
	}
	sort.Strings(objs)
	return objs
}

const vmlinuxPath = "/sys/kernel/btf/vmlinux"

// requireKernelBTF skips (or under CI fails) without kernel BTF.
func requireKernelBTF(t testing.TB) *Spec {
	t.Helper()
	s, err := KernelSpec()
	if err != nil {
		testenv.SkipOrFail(t, "kernel BTF: %v", err)
	}
	return s
}

// dump returns spec's raw dump.
func dump(t testing.TB, s *Spec) string {
	t.Helper()
	var buf bytes.Buffer
	if err := s.DumpRaw(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sample is a small spec with one type of every kind, built from Go
// values.
func sampleTypes() []Type {
	i32 := &Int{Name: "int", Size: 4, Encoding: Signed, Bits: 32}
	u8 := &Int{Name: "unsigned char", Size: 1, Bits: 8}
	u64 := &Int{Name: "long long unsigned int", Size: 8, Bits: 64}
	node := &Struct{Name: "node", Size: 24}
	node.Members = []Member{
		{Name: "next", Type: &Pointer{Target: node}},
		{Name: "val", Type: &Volatile{Type: &Const{Type: i32}}, Offset: 64},
		{Name: "a", Type: u8, Offset: 96, BitfieldSize: 3},
		{Name: "b", Type: u8, Offset: 99, BitfieldSize: 5},
		{Name: "tag", Type: &Array{Type: u8, Index: i32, Nelems: 8}, Offset: 128},
	}
	u := &Union{Name: "u", Size: 8, Members: []Member{{Name: "x", Type: u64}, {Name: "n", Type: &Pointer{Target: &Fwd{Name: "opaque"}}}}}
	e := &Enum{Name: "color", Size: 4, Signed: true, Values: []EnumValue{{Name: "RED", Value: ^uint64(0)}, {Name: "GREEN", Value: 2}}}
	e64 := &Enum{Name: "big", Size: 8, Is64: true, Values: []EnumValue{{Name: "HUGE", Value: 1 << 40}}}
	td := &Typedef{Name: "node_t", Type: node}
	proto := &FuncProto{Return: i32, Params: []FuncParam{{Name: "n", Type: &Pointer{Target: &Restrict{Type: td}}}, {Name: "c", Type: e}}}
	fn := &Func{Name: "walk", Type: proto, Linkage: GlobalFunc}
	v := &Var{Name: "counter", Type: i32, Linkage: GlobalVar}
	ds := &Datasec{Name: ".data", Size: 4, Vars: []VarSecinfo{{Type: v, Size: 4}}}
	fl := &Float{Name: "double", Size: 8}
	dt := &DeclTag{Value: "kfunc", Type: fn, Index: -1}
	tt := &Pointer{Target: &TypeTag{Value: "user", Type: i32}}
	return []Type{i32, node, u, e, e64, td, fn, ds, fl, dt, tt, &Fwd{Name: "un", Union: true}}
}
