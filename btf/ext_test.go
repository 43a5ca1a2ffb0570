package btf

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
)

// TestExtInfo checks func_info, line_info and CO-RE records of the test
// objects: functions are FUNCs at the start of their section, and every
// line record carries the source text of its line in the .c file.
func TestExtInfo(t *testing.T) {
	for _, obj := range testObjects(t) {
		o := loadObject(t, obj)
		src := strings.Split(string(readFile(t, strings.TrimSuffix(obj, ".o")+".c")), "\n")
		if len(o.ext.FuncInfos) == 0 || len(o.ext.LineInfos) == 0 || len(o.ext.CORERelos) == 0 && strings.Contains(obj, "core_") {
			t.Fatalf("%s: missing ext info: %d func, %d line, %d relo sections", obj, len(o.ext.FuncInfos), len(o.ext.LineInfos), len(o.ext.CORERelos))
		}
		for sec, fis := range o.ext.FuncInfos {
			if fis[0].InsnOff != 0 || fis[0].Func == nil || fis[0].Func.Name == "" {
				t.Errorf("%s %s: first func_info %+v", obj, sec, fis[0])
			}
			if _, ok := o.code[sec]; !ok {
				t.Errorf("%s: func_info for section %s, which has no code", obj, sec)
			}
		}
		for sec, lis := range o.ext.LineInfos {
			for _, li := range lis {
				if !strings.HasSuffix(li.FileName, filepath.Base(strings.TrimSuffix(obj, ".o")+".c")) {
					t.Errorf("%s %s: line info file %q", obj, sec, li.FileName)
					continue
				}
				if li.LineNumber == 0 || int(li.LineNumber) > len(src) {
					t.Errorf("%s: line %d out of range", obj, li.LineNumber)
					continue
				}
				if want := src[li.LineNumber-1]; li.Line != want {
					t.Errorf("%s:%d: line text %q, source has %q", obj, li.LineNumber, li.Line, want)
				}
				if li.InsnOff%8 != 0 || int(li.InsnOff/8) >= o.code[sec].Slots() {
					t.Errorf("%s:%d: instruction offset %d out of range", obj, li.LineNumber, li.InsnOff)
				}
			}
		}
		sec := "raw_tracepoint/sys_enter"
		if _, ok := o.ext.FuncInfos[sec]; !ok {
			sec = "tp_btf/sched_switch"
		}
		fi := MarshalFuncInfos(o.ext.FuncInfos[sec], 0)
		if len(fi) != 8 || binary.NativeEndian.Uint32(fi[4:]) == 0 {
			t.Errorf("%s: marshalled func_info %x", obj, fi)
		}
		lis := o.ext.LineInfos[sec]
		li := MarshalLineInfos(lis, 0)
		if len(li) != 16*len(lis) || binary.NativeEndian.Uint32(li[16*(len(lis)-1):]) != lis[len(lis)-1].InsnOff/8 {
			t.Errorf("%s: marshalled line_info", obj)
		}
	}
}

func extHeader(lens ...uint32) []byte {
	b := []byte{0x9f, 0xeb, 1, 0}
	b = binary.LittleEndian.AppendUint32(b, 32)
	for _, v := range lens {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func TestParseExtMalformed(t *testing.T) {
	o := loadObject(t, "testdata/core_flavors.bpf.o")
	secName := uint32(0)
	for off := uint32(1); off < uint32(len(o.spec.strs)); off++ {
		if o.spec.name(off) == "raw_tracepoint/sys_enter" {
			secName = off
			break
		}
	}
	u32s := func(vs ...uint32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		return b
	}
	cases := []struct {
		name, want string
		b          []byte
	}{
		{"short", "shorter than its header", []byte{0x9f, 0xeb}},
		{"magic", "bad .BTF.ext magic", append([]byte{1, 2}, extHeader(0, 0, 0, 0, 0, 0)[2:]...)},
		{"header length", "header length", append([]byte{0x9f, 0xeb, 1, 0}, u32s(99)...)},
		{"section past end", "past the end of .BTF.ext", extHeader(0, 100, 0, 0, 0, 0)},
		{"record size", "record size", append(extHeader(0, 4, 0, 0, 0, 0), u32s(3)...)},
		{"records past end", "run past the end", append(extHeader(0, 16, 0, 0, 0, 0), u32s(8, secName, 5, 0)...)},
		{"bad section name", "section name offset", append(extHeader(0, 12, 0, 0, 0, 0), u32s(8, 1<<30, 1)...)},
		{"func_info type", "refers to", append(extHeader(0, 20, 0, 0, 0, 0), u32s(8, secName, 1, 0, 1)...)},
		{"func_info id", "not found", append(extHeader(0, 20, 0, 0, 0, 0), u32s(8, secName, 1, 0, 1<<20)...)},
		{"line name", "line offset", append(extHeader(0, 0, 0, 28, 0, 0), u32s(16, secName, 1, 0, 0, 1<<30, 0)...)},
		{"relo kind", "unknown kind", append(extHeader(0, 0, 0, 0, 0, 28), u32s(16, secName, 1, 0, 1, 0, 77)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseExt(c.b, o.spec)
			if err == nil {
				t.Fatal("no error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) && !errors.Is(err, ErrNotFound) {
				t.Errorf("%v is not a *ParseError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

// TestObjectsUpToDate rebuilds the test objects with clang-19 and checks
// that the committed ones match their sources byte for byte. clang-19
// orders some BTF types (forward declarations) by heap addresses, which
// depend on the length and depth of the build directory's path, so the
// objects are built, here and by testdata/Makefile, in a directory of
// one fixed shape, /tmp/purebpf-btf-XXXXXXXXXX, whatever the checkout's
// path.
func TestObjectsUpToDate(t *testing.T) {
	clang, err := exec.LookPath("clang-19")
	if err != nil {
		// The objects are committed so that the tests run without clang
		// (in the VM, say); this check needs it. CI installs clang-19.
		t.Skip("clang-19 is not installed; cannot check testdata/*.o against their sources")
	}
	for _, obj := range testObjects(t) {
		src := filepath.Base(strings.TrimSuffix(obj, ".o") + ".c")
		dir := testenv.BuildDir(t, "purebpf-btf")
		for _, f := range []string{src, "vmlinux.h"} {
			if err := os.WriteFile(filepath.Join(dir, f), readFile(t, filepath.Join("testdata", f)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(clang, "-target", "bpf", "-O2", "-g", "-fdebug-compilation-dir=.", "-I.", "-c", src, "-o", filepath.Base(obj))
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", src, err, b)
		}
		if string(readFile(t, filepath.Join(dir, filepath.Base(obj)))) != string(readFile(t, obj)) {
			t.Errorf("%s is stale: run make -C btf/testdata", obj)
		}
	}
}
