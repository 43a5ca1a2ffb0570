//go:build amd64 && unix

package jit

import (
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// TestDisassemble checks the listing of a compiled program: every BPF
// instruction appears with the machine code compiled from it, and the
// register mapping shows (r7 lives in r13, a 32-bit shift goes through cl
// and zero-extends).
func TestDisassemble(t *testing.T) {
	is := insn.Instructions{
		insn.Mov.Imm(insn.R7, 5),
		insn.LSh.Reg32(insn.R7, insn.R2),
		insn.Mov.Reg(insn.R0, insn.R7),
		insn.Exit(),
	}
	vm, err := New(&prog.Spec{Type: prog.UnspecifiedProgram, Instructions: is}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	var sb strings.Builder
	if err := vm.Disassemble(&sb); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{"r7 = 5", "mov r13d, 0x5", "mov ecx, esi", "shl r13d, cl", "mov r13d, r13d", "mov rax, r13", "ret"} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
}
