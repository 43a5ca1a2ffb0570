package btf

import (
	"debug/elf"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

func sectionBytes(t testing.TB, path, name string) []byte {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := f.Section(name).Data()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParse: any bytes either parse, or fail with a *ParseError; what
// parses can be walked, dumped and marshalled, and the marshalled blob
// parses to the same spec.
func FuzzParse(f *testing.F) {
	sample, err := MarshalTypes(sampleTypes(), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add(sectionBytes(f, "testdata/core_flavors.bpf.o", ".BTF"))
	f.Add(blob([]uint32{1, info(KindTypedef, 0, false), 2, 0, info(KindConst, 0, false), 1}, "\x00int\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		if err := s.DumpRaw(io.Discard); err != nil {
			t.Fatal(err)
		}
		for id, typ := range s.All() {
			if got, err := s.TypeID(typ); err != nil || got != id {
				t.Fatalf("TypeID([%d]) = %d, %v", id, got, err)
			}
			Sizeof(typ)
			Alignof(typ)
			UnderlyingType(typ)
			if n := typ.TypeName(); n != "" {
				if _, err := s.TypesByName(n); err != nil {
					t.Fatalf("TypesByName(%q): %v", n, err)
				}
			}
		}
		out, err := s.Marshal(nil)
		if err != nil {
			t.Fatalf("a spec that parsed does not marshal: %v", err)
		}
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("marshalled blob does not parse: %v", err)
		}
		// A non-zero name offset of an empty string (bpftool prints '')
		// is written back as offset 0 ('(anon)'): the same empty name.
		anon := strings.NewReplacer("''", "'(anon)'")
		if anon.Replace(dump(t, s2)) != anon.Replace(dump(t, s)) {
			t.Fatal("round trip changed the spec")
		}
		replaced, err := s.Marshal(&MarshalOptions{Missing: AllFeatures})
		if err != nil {
			t.Fatalf("marshal with replacements: %v", err)
		}
		if _, err := Parse(replaced); err != nil {
			t.Fatalf("replaced blob does not parse: %v", err)
		}
	})
}

// FuzzParseExt: any .BTF.ext bytes either parse or fail with an error;
// CO-RE records that parse are applied against the crafted target
// without panicking.
func FuzzParseExt(f *testing.F) {
	o := loadObject(f, "testdata/core_flavors.bpf.o")
	target := craftedTarget(f)
	f.Add(sectionBytes(f, "testdata/core_flavors.bpf.o", ".BTF.ext"))
	f.Add(extHeader(0, 0, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		ext, err := ParseExt(b, o.spec)
		if err != nil {
			return
		}
		for sec, relos := range ext.CORERelos {
			code := o.code[sec]
			if code == nil {
				code = o.code["raw_tracepoint/sys_enter"]
			}
			CORERelocate(append(insn.Instructions(nil), code...), relos, o.spec, &COREOptions{Targets: []*Spec{target}})
		}
	})
}

// FuzzCORERelocate: any relocation record (type, access string, kind,
// instruction) either relocates, keeping the program's slots, or fails
// with an error; it never panics.
func FuzzCORERelocate(f *testing.F) {
	o := loadObject(f, "testdata/core_flavors.bpf.o")
	target := craftedTarget(f)
	const sec = "raw_tracepoint/sys_enter"
	for _, r := range o.ext.CORERelos[sec] {
		f.Add(r.InsnOff, uint32(r.TypeID), r.Access, uint32(r.Kind), true)
	}
	f.Fuzz(func(t *testing.T, insnOff, typeID uint32, access string, kind uint32, useTarget bool) {
		typ, err := o.spec.TypeByID(TypeID(typeID))
		if err != nil {
			return
		}
		relo := CORERelocation{InsnOff: insnOff, TypeID: TypeID(typeID), Type: typ, Access: access, Kind: COREKind(kind)}
		targets := []*Spec{target}
		if !useTarget {
			targets = []*Spec{o.spec}
		}
		code := append(insn.Instructions(nil), o.code[sec]...)
		out, res, err := CORERelocate(code, []CORERelocation{relo}, o.spec, &COREOptions{Targets: targets})
		if err != nil {
			return
		}
		if out.Slots() != o.code[sec].Slots() || len(res) != 1 {
			t.Fatalf("%d slots, %d results", out.Slots(), len(res))
		}
		if res[0].Poisoned && !isPoison(out[res[0].Index]) {
			t.Fatalf("poisoned result, instruction %v", out[res[0].Index])
		}
	})
}
