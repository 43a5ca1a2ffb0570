package btf

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/sys"
)

// loadedProgram loads a test object's program into the kernel the way a
// loader built on this package does: FixupELF, NewHandle, CO-RE against
// the running kernel, func and line info, and one array map per data
// section for the global variables. It returns the program's fd.
func loadedProgram(t *testing.T, path string) *sys.FD {
	t.Helper()
	o := fixedObject(t, path)
	h, err := NewHandle(o.spec, nil)
	if err != nil {
		t.Fatalf("load BTF: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	const sec = "raw_tracepoint/sys_enter"
	code := append(insn.Instructions(nil), o.code[sec]...)
	slots := code.SlotOffsets()
	bySlot := map[int]int{}
	for i, s := range slots {
		bySlot[s] = i
	}
	// Global variables: an array map per data section, referenced by
	// LD_IMM64 map_value instructions.
	syms, err := o.file.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	maps := map[elf.SectionIndex]*sys.FD{}
	rel := o.file.Section(".rel" + sec)
	if rel == nil {
		t.Fatalf("%s has no .rel%s", path, sec)
	}
	rb, err := rel.Data()
	if err != nil {
		t.Fatal(err)
	}
	for len(rb) >= 16 {
		off, info := binary.LittleEndian.Uint64(rb), binary.LittleEndian.Uint64(rb[8:])
		rb = rb[16:]
		sym := syms[info>>32-1]
		idx, ok := bySlot[int(off/8)]
		if !ok || !code[idx].IsLoadImm64() {
			t.Fatalf("relocation at %d against %s is not on an LD_IMM64", off, sym.Name)
		}
		fd, ok := maps[sym.Section]
		if !ok {
			data := o.file.Sections[sym.Section]
			fd, err = sys.MapCreate(&sys.MapCreateAttr{MapType: sys.MapTypeArray, KeySize: 4, ValueSize: uint32(data.Size), MaxEntries: 1})
			if err != nil {
				t.Fatalf("map for %s: %v", data.Name, err)
			}
			t.Cleanup(func() { fd.Close() })
			maps[sym.Section] = fd
		}
		code[idx].Src = insn.Register(insn.PseudoMapValue)
		code[idx].Imm = int64(uint64(fd.Uint()) | (sym.Value+uint64(code[idx].Imm))<<32)
	}
	code, results, err := CORERelocate(code, o.ext.CORERelos[sec], o.spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	poisoned := 0
	for _, r := range results {
		if r.Poisoned {
			poisoned++
		}
	}
	if poisoned == 0 {
		t.Fatalf("%s: no poisoned relocation; the test wants unreachable poisoned code", path)
	}
	b, err := code.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	fi := MarshalFuncInfos(o.ext.FuncInfos[sec], 0)
	li := MarshalLineInfos(o.ext.LineInfos[sec], 0)
	license := []byte("GPL\x00")
	fd, log, _, err := sys.LoadWithLog(0, 0, func(level uint32, buf []byte) (*sys.FD, uint32, error) {
		attr := sys.ProgLoadAttr{
			ProgType: sys.ProgTypeRawTracepoint, InsnCnt: uint32(len(b) / 8), Insns: sys.NewSlicePointer(b),
			License: sys.NewSlicePointer(license), ProgName: sys.NewObjName("core_test"),
			ProgBTFFD: h.FD().Uint(), FuncInfoRecSize: 8, FuncInfo: sys.NewSlicePointer(fi), FuncInfoCnt: uint32(len(fi) / 8),
			LineInfoRecSize: 16, LineInfo: sys.NewSlicePointer(li), LineInfoCnt: uint32(len(li) / 16),
		}
		if level != 0 {
			attr.LogLevel, attr.LogSize, attr.LogBuf = level, uint32(len(buf)), sys.NewSlicePointer(buf)
		}
		fd, err := sys.ProgLoad(&attr)
		return fd, attr.LogTrueSize, err
	})
	if err != nil {
		t.Fatalf("%s: the kernel rejects the relocated program: %v\n%s", path, err, log)
	}
	t.Cleanup(func() { fd.Close() })
	return fd
}

var (
	xlatedMap  = regexp.MustCompile(`map\[id:\d+\]`)
	xlatedAddr = regexp.MustCompile(`0x[0-9a-f]{8,}`)
)

// xlated returns the kernel's translated program, with map ids and
// kernel addresses normalised.
func xlated(t *testing.T, bpftool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bpftool, append([]string{"prog", "dump", "xlated"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("bpftool prog dump xlated %v: %v\n%s", args, err, out)
	}
	s := xlatedMap.ReplaceAllString(string(out), "map[id:N]")
	return xlatedAddr.ReplaceAllString(s, "0xADDR")
}

// TestRelocatedProgramLoads loads the CO-RE test programs relocated by
// this package (with their BTF, func info and line info) and compares the
// kernel's translation with that of the same object loaded by libbpf
// (bpftool prog loadall).
func TestRelocatedProgramLoads(t *testing.T) {
	testenv.RequireRoot(t)
	requireKernelBTF(t)
	bpftool, err := exec.LookPath("bpftool")
	if err != nil {
		testenv.SkipOrFail(t, "bpftool is not installed")
	}
	for _, obj := range coreObjects(t) {
		t.Run(filepath.Base(obj), func(t *testing.T) {
			fd := loadedProgram(t, obj)
			var info sys.ProgInfo
			if err := sys.ProgGetInfoByFD(fd, &info); err != nil {
				t.Fatal(err)
			}
			ours := xlated(t, bpftool, "id", fmt.Sprint(info.ID))
			pin := filepath.Join("/sys/fs/bpf", fmt.Sprintf("purebpf_btf_xlated_%d", os.Getpid()))
			defer os.RemoveAll(pin)
			if out, err := exec.Command(bpftool, "prog", "loadall", obj, pin).CombinedOutput(); err != nil {
				t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
			}
			ents, err := os.ReadDir(pin)
			if err != nil || len(ents) != 1 {
				t.Fatalf("pinned programs: %v %v", ents, err)
			}
			theirs := xlated(t, bpftool, "pinned", filepath.Join(pin, ents[0].Name()))
			if ours != theirs {
				ol, tl := strings.Split(ours, "\n"), strings.Split(theirs, "\n")
				for i := range min(len(ol), len(tl)) {
					if ol[i] != tl[i] {
						t.Fatalf("translated programs differ at line %d:\n ours   %s\n libbpf %s", i+1, ol[i], tl[i])
					}
				}
				t.Fatalf("translated programs: %d lines, libbpf's %d", len(ol), len(tl))
			}
		})
	}
}

// TestPoisonReachable: a poisoned instruction that the program reaches is
// rejected by the verifier with libbpf's marker, and a relocation's
// Reason says why.
func TestPoisonReachable(t *testing.T) {
	testenv.RequireRoot(t)
	i32 := &Int{Name: "int", Size: 4, Encoding: Signed, Bits: 32}
	local, err := NewSpec(&Struct{Name: "gone", Size: 4, Members: []Member{{Name: "x", Type: i32}}})
	if err != nil {
		t.Fatal(err)
	}
	target, err := NewSpec(&Struct{Name: "other", Size: 4, Members: []Member{{Name: "x", Type: i32}}})
	if err != nil {
		t.Fatal(err)
	}
	gone, _ := local.TypeByName("gone", KindStruct)
	id, _ := local.TypeID(gone)
	prog := insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}
	prog, res, err := CORERelocate(prog, []CORERelocation{{InsnOff: 0, TypeID: id, Type: gone, Access: "0:0", Kind: FieldByteOffset}}, local, &COREOptions{Targets: []*Spec{target}})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Poisoned || !strings.Contains(res[0].Reason, "gone") || !strings.Contains(res[0].Reason, `"0:0"`) {
		t.Fatalf("result %+v", res[0])
	}
	b, _ := prog.Marshal()
	license := []byte("GPL\x00")
	_, log, _, err := sys.LoadWithLog(0, 0, func(level uint32, buf []byte) (*sys.FD, uint32, error) {
		attr := sys.ProgLoadAttr{ProgType: sys.ProgTypeRawTracepoint, InsnCnt: uint32(len(b) / 8), Insns: sys.NewSlicePointer(b), License: sys.NewSlicePointer(license)}
		if level != 0 {
			attr.LogLevel, attr.LogSize, attr.LogBuf = level, uint32(len(buf)), sys.NewSlicePointer(buf)
		}
		fd, err := sys.ProgLoad(&attr)
		return fd, attr.LogTrueSize, err
	})
	if err == nil {
		t.Fatal("the verifier accepted a reachable poisoned instruction")
	}
	if !strings.Contains(log, "unknown#195896080") {
		t.Fatalf("verifier log does not show the poison marker: %v\n%s", err, log)
	}
}
