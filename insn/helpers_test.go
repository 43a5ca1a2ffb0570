package insn_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
)

// helperConstants returns the value of every FnXxx constant in
// helpers.go, by name, read from the source.
func helperConstants(t *testing.T) map[string]int64 {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "helpers.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for k, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "Fn") || k >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[k].(*ast.BasicLit)
				if !ok {
					t.Fatalf("%s is not a literal", n.Name)
				}
				v, err := strconv.ParseInt(lit.Value, 0, 64)
				if err != nil {
					t.Fatal(err)
				}
				out[n.Name] = v
			}
		}
	}
	return out
}

// Every helper of the uapi header (and, when readable, of the running
// kernel's BTF) has an FnXxx constant of its number, String names it and
// ParseHelper reads the name back.
func TestEveryHelperHasAConstant(t *testing.T) {
	consts := helperConstants(t)
	byValue := map[int64]string{}
	for n, v := range consts {
		byValue[v] = n
	}
	type helper struct {
		name string
		num  int64
	}
	var helpers []helper
	sources := 0
	if b, err := os.ReadFile("/usr/include/linux/bpf.h"); err == nil {
		sources++
		for _, m := range regexp.MustCompile(`FN\((\w+), (\d+),`).FindAllStringSubmatch(string(b), -1) {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			helpers = append(helpers, helper{m[1], n})
		}
	}
	if b, err := os.ReadFile("/sys/kernel/btf/vmlinux"); err == nil {
		// The enum's names are in the BTF string section, its values in
		// the type section; the names alone, in enum order, suffice:
		// BPF_FUNC_unspec is 0 and the enum is dense.
		sources++
		names := regexp.MustCompile(`BPF_FUNC_(\w+)\x00`).FindAllSubmatch(b, -1)
		for k, m := range names {
			if string(m[1]) == "MAX_ID" {
				break
			}
			helpers = append(helpers, helper{string(m[1]), int64(k)})
		}
	}
	if sources == 0 {
		testenv.SkipOrFail(t, "neither /usr/include/linux/bpf.h (linux-libc-dev) nor /sys/kernel/btf/vmlinux is readable")
	}
	if len(helpers) < 200 {
		t.Fatalf("found only %d helpers in the sources", len(helpers))
	}
	for _, h := range helpers {
		if _, ok := byValue[h.num]; !ok {
			t.Errorf("helper bpf_%s (%d) has no FnXxx constant", h.name, h.num)
		}
		if got := insn.HelperFunc(h.num).String(); got != h.name {
			t.Errorf("HelperFunc(%d).String() = %q, want %q", h.num, got, h.name)
		}
		if h.num == 0 {
			continue
		}
		for _, n := range []string{h.name, "bpf_" + h.name} {
			if f, ok := insn.ParseHelper(n); !ok || int64(f) != h.num {
				t.Errorf("ParseHelper(%q) = %d, %v; want %d", n, f, ok, h.num)
			}
		}
	}
	if _, ok := insn.ParseHelper("no_such_helper"); ok {
		t.Error("ParseHelper accepted an unknown name")
	}
}

// "call name" calls the helper of that name unless a label has it; the
// disassembler prints helper names, and a program whose label shadows a
// helper's name still reads back the same.
func TestParseHelperCalls(t *testing.T) {
	for src, want := range map[string]insn.Instruction{
		"call ringbuf_reserve\nexit":     insn.FnRingbufReserve.Call(),
		"call bpf_ringbuf_reserve\nexit": insn.FnRingbufReserve.Call(),
		"call 131\nexit":                 insn.FnRingbufReserve.Call(),
	} {
		is, err := insn.Parse(src)
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		if is[0] != want {
			t.Errorf("%q: %+v, want %+v", src, is[0], want)
		}
		if is[0].String() != "call ringbuf_reserve" {
			t.Errorf("String() = %q", is[0].String())
		}
	}
	_, err := insn.Parse("call ringbuf_reserv\nexit")
	if !errors.Is(err, insn.ErrUnresolvedLabel) || !strings.Contains(err.Error(), "no kernel helper has that name") {
		t.Errorf("unknown name: %v", err)
	}
	// A label called like a helper wins, and String keeps them apart.
	src := "call map_lookup_elem\ncall 1\nexit\nmap_lookup_elem:\nr0 = 0\nexit\n"
	is, err := insn.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if !is[0].IsLocalCall() || !is[1].IsHelperCall() {
		t.Fatalf("label shadowing a helper: %v", is)
	}
	again, err := insn.Parse(is.String())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := is.Marshal()
	b, _ := again.Marshal()
	if string(a) != string(b) || !strings.Contains(is.String(), "call 1\n") {
		t.Errorf("round trip of %q through %q changed the program", src, is.String())
	}
}

// CurrentCPU is BPF_F_CURRENT_CPU, and the update flags the kernel's.
func TestHelperFlagConstants(t *testing.T) {
	if insn.CurrentCPU != 0xffffffff {
		t.Errorf("CurrentCPU = %#x", insn.CurrentCPU)
	}
	if insn.UpdateAny != 0 || insn.UpdateNoExist != 1 || insn.UpdateExist != 2 || insn.UpdateLock != 4 {
		t.Error("update flags")
	}
}

// addr_space_cast takes only the two casts the verifier accepts, on 64-bit
// registers.
func TestAddrSpaceCastChecks(t *testing.T) {
	for _, bad := range []string{
		"r1 = addr_space_cast(r2, 0, 0)",
		"r1 = addr_space_cast(r2, 2, 1)",
		"r1 = addr_space_cast(r2, 1, 1)",
		"w1 = addr_space_cast(r2, 0, 1)",
		"r1 = addr_space_cast(w2, 0, 1)",
		"r1 = addr_space_cast(r2, 0)",
	} {
		if _, err := insn.Parse(bad + "\nexit"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	i := insn.AddrSpaceCast(insn.R1, insn.R2, 0, 1)
	i.OpCode = i.OpCode&^0x07 | insn.OpCode(insn.ClassALU)
	if err := (insn.Instructions{i, insn.Exit()}).Validate(); !errors.Is(err, insn.ErrInvalidField) {
		t.Errorf("32-bit addr_space_cast: %v", err)
	}
	if !insn.AddrSpaceCast(insn.R1, insn.R2, 1, 0).IsAddrSpaceCast() || insn.MovSX8.Reg(insn.R1, insn.R2).IsAddrSpaceCast() {
		t.Error("IsAddrSpaceCast")
	}
}
