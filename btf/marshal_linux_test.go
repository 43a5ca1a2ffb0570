package btf

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
)

// fixedObject returns a test object's spec after FixupELF.
func fixedObject(t *testing.T, path string) *object {
	t.Helper()
	o := loadObject(t, path)
	layout, err := ELFLayoutOf(o.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.spec.FixupELF(layout); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestFixupELF(t *testing.T) {
	o := loadObject(t, "testdata/core_vmlinux.bpf.o")
	bss, err := TypeByName[*Datasec](o.spec, ".bss")
	if err != nil {
		t.Fatal(err)
	}
	if bss.Size != 0 {
		t.Fatalf("clang wrote .bss size %d; the test expects 0", bss.Size)
	}
	layout, err := ELFLayoutOf(o.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.spec.FixupELF(layout); err != nil {
		t.Fatal(err)
	}
	syms, _ := o.file.Symbols()
	for _, name := range []string{".bss", ".data"} {
		ds, err := TypeByName[*Datasec](o.spec, name)
		if err != nil {
			t.Fatal(err)
		}
		if want := o.file.Section(name).Size; uint64(ds.Size) != want {
			t.Errorf("%s size %d, ELF section %d", name, ds.Size, want)
		}
		for _, v := range ds.Vars {
			vv := v.Type.(*Var)
			for _, s := range syms {
				if s.Name == vv.Name && uint64(v.Offset) != s.Value {
					t.Errorf("%s %s at %d, symbol at %d", name, vv.Name, v.Offset, s.Value)
				}
			}
		}
	}
	// Errors name the section and the variable.
	if err := o.spec.FixupELF(ELFLayout{}); err == nil || !strings.Contains(err.Error(), "DATASEC .") {
		t.Fatalf("fixup without symbols: %v", err)
	}
	o2 := loadObject(t, "testdata/core_vmlinux.bpf.o")
	err = o2.spec.FixupELF(ELFLayout{
		SectionSize: layout.SectionSize,
		Symbol:      func(string) (ELFSymbol, bool) { return ELFSymbol{}, false },
	})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "out") && !strings.Contains(err.Error(), "counter") {
		t.Fatalf("missing symbol: %v", err)
	}
	// Hidden globals become static, and ksyms are rewritten.
	i32 := &Int{Name: "int", Size: 4, Encoding: Signed, Bits: 32}
	fn := &Func{Name: "helper", Type: &FuncProto{Return: i32, Params: []FuncParam{{Name: "x", Type: i32}}}, Linkage: GlobalFunc}
	kfunc := &Func{Name: "bpf_kfunc", Type: &FuncProto{Return: i32, Params: []FuncParam{{Type: i32}}}, Linkage: ExternFunc}
	ksym := &Var{Name: "some_ksym", Type: &Struct{Name: "x", Size: 16}, Linkage: ExternVar}
	ksyms := &Datasec{Name: KsymsSection, Vars: []VarSecinfo{{Type: kfunc}, {Type: ksym}}}
	s, err := NewSpec(fn, ksyms)
	if err != nil {
		t.Fatal(err)
	}
	err = s.FixupELF(ELFLayout{Symbol: func(name string) (ELFSymbol, bool) { return ELFSymbol{Hidden: true}, name == "helper" }})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := TypeByName[*Func](s, "helper")
	if f.Linkage != StaticFunc {
		t.Errorf("hidden global function has linkage %s", f.Linkage)
	}
	ds, _ := TypeByName[*Datasec](s, KsymsSection)
	if ds.Size != 8 || ds.Vars[0].Type.(*Var).Name != "dummy_ksym" || ds.Vars[1].Offset != 4 {
		t.Errorf(".ksyms after fixup: %+v", ds)
	}
	if kf, _ := TypeByName[*Func](s, "bpf_kfunc"); kf.Linkage != GlobalFunc || kf.Type.(*FuncProto).Params[0].Name == "" {
		t.Errorf("kfunc after fixup: %+v", kf)
	}
	testLoads(t, s, 0)
}

// testLoads marshals s without the features in missing and loads it.
func testLoads(t *testing.T, s *Spec, missing Features) {
	t.Helper()
	if !testenv.CI() && unix.Geteuid() != 0 {
		return
	}
	h, err := NewHandle(s, &HandleOptions{Missing: &missing})
	if err != nil {
		t.Fatalf("load (missing %#x): %v", missing, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestKindReplacement forces the replacement of every newer kind, checks
// that none is left and that the kernel accepts the result.
func TestKindReplacement(t *testing.T) {
	testenv.RequireRoot(t)
	specs := map[string]*Spec{}
	for _, obj := range testObjects(t) {
		specs[obj] = fixedObject(t, obj).spec
	}
	sample, err := NewSpec(sampleTypes()...)
	if err != nil {
		t.Fatal(err)
	}
	specs["sample"] = sample
	if k, err := KernelSpec(); err == nil {
		specs["vmlinux"] = k
	}
	newer := map[Kind]Features{
		KindFunc: FeatFunc, KindFuncProto: FeatFunc, KindVar: FeatDatasec, KindDatasec: FeatDatasec,
		KindFloat: FeatFloat, KindDeclTag: FeatDeclTag, KindTypeTag: FeatTypeTag, KindEnum64: FeatEnum64,
	}
	for name, s := range specs {
		for _, missing := range []Features{AllFeatures, FeatEnum64, FeatTypeTag | FeatDeclTag | FeatFloat, FeatGlobalFunc} {
			b, err := s.Marshal(&MarshalOptions{Missing: missing})
			if err != nil {
				t.Fatal(err)
			}
			out, err := Parse(b)
			if err != nil {
				t.Fatalf("%s: replaced blob does not parse: %v", name, err)
			}
			for id, typ := range out.All() {
				if f, ok := newer[typ.Kind()]; ok && missing&f != 0 {
					t.Fatalf("%s missing %#x: [%d] is still %s", name, missing, id, typ.Kind())
				}
				if fn, ok := typ.(*Func); ok && missing&FeatGlobalFunc != 0 && fn.Linkage == GlobalFunc {
					t.Fatalf("%s: [%d] global func left", name, id)
				}
				if e, ok := typ.(*Enum); ok && missing&FeatEnum64 != 0 && e.Signed {
					t.Fatalf("%s: [%d] signed enum left", name, id)
				}
			}
			if out.NextID() < s.NextID() {
				t.Fatalf("%s: types lost", name)
			}
			h, err := NewHandleFromRaw(b, nil)
			if err != nil {
				t.Fatalf("%s missing %#x: kernel rejects: %v", name, missing, err)
			}
			h.Close()
		}
	}
}

func TestHandles(t *testing.T) {
	testenv.RequireRoot(t)
	k := requireKernelBTF(t)
	var nilHandle *Handle
	if err := nilHandle.Close(); err != nil {
		t.Fatalf("Close on nil: %v", err)
	}
	h, err := HandleByName("vmlinux")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	info, err := h.Info()
	if err != nil || !info.Kernel || info.Name != "vmlinux" {
		t.Fatalf("vmlinux info %+v, %v", info, err)
	}
	h2, err := HandleByID(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	back, err := h2.Spec(nil)
	if err != nil {
		t.Fatal(err)
	}
	if dump(t, back) != dump(t, k) {
		t.Fatal("the kernel's vmlinux BTF read back differs from /sys/kernel/btf/vmlinux")
	}
	if _, err := HandleByName("no_such_module_xyz"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing module: %v", err)
	}
	// The marshalled vmlinux loads into the kernel.
	loaded, err := NewHandle(k, nil)
	if err != nil {
		t.Fatal(err)
	}
	li, err := loaded.Info()
	if err != nil || li.Kernel || li.Size == 0 {
		t.Fatalf("loaded vmlinux info %+v, %v", li, err)
	}
	if err := loaded.Close(); err != nil {
		t.Fatal(err)
	}
	// A blob the kernel rejects gives its log.
	bad, _ := MarshalTypes([]Type{&Struct{Name: "bad name!", Size: 4}}, nil)
	_, err = NewHandleFromRaw(bad, nil)
	var le *LoadError
	if !errors.As(err, &le) || !strings.Contains(le.Log, "Invalid name") || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("bad blob: %v", err)
	}
	// HandleOptions.LogLevel returns the log of a successful load.
	hs, err := NewHandleFromRaw(bad[:0], nil)
	if err == nil || hs != nil {
		t.Fatal("empty blob loaded")
	}
	good, _ := MarshalTypes(sampleTypes(), nil)
	hl, err := NewHandleFromRaw(good, &HandleOptions{LogLevel: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer hl.Close()
	if !strings.Contains(hl.Log(), "magic") {
		t.Errorf("log of a successful load: %q", hl.Log())
	}
}

var libbpfKcfg = regexp.MustCompile(`extern \(kcfg\) #\d+: symbol \d+, off (\d+), name (\w+)`)

// TestFixupExterns: .kconfig is laid out as libbpf lays out its kconfig
// map (offsets compared with libbpf's debug output), .ksyms is rewritten
// so that the kernel accepts it, and the hidden function becomes static.
func TestFixupExterns(t *testing.T) {
	const obj = "testdata/externs.bpf.o"
	raw := loadObject(t, obj)
	if _, err := NewHandle(raw.spec, nil); err == nil && unix.Geteuid() == 0 {
		t.Error("the kernel accepted the object's BTF before FixupELF")
	}
	o := fixedObject(t, obj)
	kc, err := TypeByName[*Datasec](o.spec, KconfigSection)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint32{}
	for _, v := range kc.Vars {
		vv := v.Type.(*Var)
		got[vv.Name] = v.Offset
		if vv.Linkage != GlobalVar {
			t.Errorf("kconfig %s has linkage %s", vv.Name, vv.Linkage)
		}
	}
	if kc.Size != 23 {
		t.Errorf(".kconfig size %d, want 23", kc.Size)
	}
	if bpftool, err := exec.LookPath("bpftool"); err == nil && unix.Geteuid() == 0 {
		pin := filepath.Join("/sys/fs/bpf", fmt.Sprintf("purebpf_btf_externs_%d", os.Getpid()))
		defer os.RemoveAll(pin)
		out, _ := exec.Command(bpftool, "-d", "prog", "loadall", obj, pin).CombinedOutput()
		ms := libbpfKcfg.FindAllStringSubmatch(string(out), -1)
		if len(ms) != len(kc.Vars) {
			t.Fatalf("libbpf placed %d kconfig externs, the DATASEC has %d:\n%s", len(ms), len(kc.Vars), out)
		}
		for _, m := range ms {
			if off, _ := strconv.Atoi(m[1]); got[m[2]] != uint32(off) {
				t.Errorf("kconfig %s at %d, libbpf puts it at %d", m[2], got[m[2]], off)
			}
		}
	} else {
		testenv.SkipOrFail(t, "bpftool (as root) is needed to compare with libbpf")
	}
	ks, _ := TypeByName[*Datasec](o.spec, KsymsSection)
	if ks.Size != 12 || len(ks.Vars) != 3 {
		t.Fatalf(".ksyms after fixup: %+v", ks)
	}
	for i, v := range ks.Vars {
		vv, ok := v.Type.(*Var)
		if !ok || v.Offset != uint32(4*i) || v.Size != 4 || vv.Linkage != GlobalVar {
			t.Errorf(".ksyms entry %d: %+v", i, v)
		}
	}
	for name, want := range map[string]FuncLinkage{"twice": StaticFunc, "thrice": GlobalFunc, "bpf_task_acquire": GlobalFunc, "externs": GlobalFunc} {
		if f, err := TypeByName[*Func](o.spec, name); err != nil || f.Linkage != want {
			t.Errorf("func %s: linkage %v (%v), want %s", name, f, err, want)
		}
	}
	testLoads(t, o.spec, 0)
}
