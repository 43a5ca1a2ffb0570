package btf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
)

var (
	libbpfPatched = regexp.MustCompile(`prog '([^']+)': relo #(\d+): patched insn #(\d+) \(([^)]+)\) (?:imm|imm64|off) (-?\d+) -> (-?\d+)`)
	libbpfPoison  = regexp.MustCompile(`prog '([^']+)': relo #(\d+): substituting insn #(\d+) w/ invalid insn`)
)

// TestCOREMatchesLibbpf relocates the test objects against the host
// kernel and compares every relocation with what libbpf does to the same
// object (bpftool -d prog loadall prints libbpf's decisions), and checks
// that the kernel accepted libbpf's result, poisoned code included.
func TestCOREMatchesLibbpf(t *testing.T) {
	testenv.RequireRoot(t)
	requireKernelBTF(t)
	bpftool, err := exec.LookPath("bpftool")
	if err != nil {
		testenv.SkipOrFail(t, "bpftool is not installed")
	}
	for _, obj := range coreObjects(t) {
		t.Run(filepath.Base(obj), func(t *testing.T) {
			pin := filepath.Join("/sys/fs/bpf", fmt.Sprintf("purebpf_btf_test_%d", os.Getpid()))
			defer os.RemoveAll(pin)
			out, err := exec.Command(bpftool, "-d", "prog", "loadall", obj, pin).CombinedOutput()
			if err != nil {
				t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
			}
			type decision struct {
				slot   int
				value  uint64
				poison bool
			}
			libbpf := map[int]decision{}
			for _, m := range libbpfPatched.FindAllStringSubmatch(string(out), -1) {
				n, _ := strconv.Atoi(m[2])
				slot, _ := strconv.Atoi(m[3])
				v, err := strconv.ParseInt(m[6], 10, 64)
				if err != nil {
					u, _ := strconv.ParseUint(m[6], 10, 64)
					v = int64(u)
				}
				libbpf[n] = decision{slot: slot, value: uint64(v)}
			}
			for _, m := range libbpfPoison.FindAllStringSubmatch(string(out), -1) {
				n, _ := strconv.Atoi(m[2])
				slot, _ := strconv.Atoi(m[3])
				if _, ok := libbpf[n]; !ok {
					libbpf[n] = decision{slot: slot, poison: true}
				}
			}
			o := loadObject(t, obj)
			total := 0
			for sec, relos := range o.ext.CORERelos {
				got, res, err := CORERelocate(append(insn.Instructions(nil), o.code[sec]...), relos, o.spec, nil)
				if err != nil {
					t.Fatal(err)
				}
				slots := got.SlotOffsets()
				for n, r := range res {
					total++
					want, ok := libbpf[n]
					if !ok {
						t.Errorf("relo #%d: libbpf printed no decision", n)
						continue
					}
					if slots[r.Index] != want.slot {
						t.Errorf("relo #%d: instruction slot %d, libbpf %d", n, slots[r.Index], want.slot)
					}
					if r.Poisoned != want.poison {
						t.Errorf("relo #%d (%s %q): poisoned %v, libbpf %v", n, relos[n].Kind, relos[n].Access, r.Poisoned, want.poison)
						continue
					}
					if want.poison {
						continue
					}
					in := got[r.Index]
					v := insnValue(in)
					w := want.value
					if !in.IsLoadImm64() {
						w = uint64(uint32(w))
						if c := in.OpCode.Class(); c == insn.ClassLdX || c == insn.ClassSt || c == insn.ClassStX {
							w = uint64(uint16(w))
						}
					}
					if v != w {
						t.Errorf("relo #%d (%s %q): %d, libbpf %d", n, relos[n].Kind, relos[n].Access, v, w)
					}
				}
			}
			if total != len(libbpf) {
				t.Errorf("%d relocations, libbpf made %d", total, len(libbpf))
			}
		})
	}
}
