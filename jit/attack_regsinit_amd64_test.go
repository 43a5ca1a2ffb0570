//go:build amd64 && unix

package jit

import (
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

// TestAttackRegistersAtEntry: a program that reads r0 and r2-r9 before
// writing them, then leaves pointers (a map value, the stack, the
// packet) in them: each run, the VM's and a Runner's quick ones, must
// read what interp reads, never what the last run left (which would
// leak host addresses).
func TestAttackRegistersAtEntry(t *testing.T) {
	is := seq(
		insn.Mov.Reg(insn.R1, insn.R0),
		insn.Xor.Reg(insn.R1, insn.R2),
		insn.Xor.Reg(insn.R1, insn.R3),
		insn.Xor.Reg(insn.R1, insn.R4),
		insn.Xor.Reg(insn.R1, insn.R5),
		insn.Xor.Reg(insn.R1, insn.R6),
		insn.Xor.Reg(insn.R1, insn.R7),
		insn.Xor.Reg(insn.R1, insn.R8),
		insn.Xor.Reg(insn.R1, insn.R9),
		insn.StoreMem(insn.R10, -16, insn.R1, insn.DW),
		lookup("arr", 1),
		insn.Mov.Reg(insn.R6, insn.R0),
		insn.Mov.Reg(insn.R7, insn.R10),
		insn.Mov.Reg(insn.R8, insn.R0),
		insn.Mov.Reg(insn.R9, insn.R10),
		insn.Mov.Reg(insn.R2, insn.R10),
		insn.Mov.Reg(insn.R3, insn.R6),
		insn.Mov.Reg(insn.R4, insn.R6),
		insn.Mov.Reg(insn.R5, insn.R6),
		insn.LoadMem(insn.R0, insn.R10, -16, insn.DW),
		insn.Exit(),
	)
	w := fastWorld(t)
	vm, rn, irn := xdpEngines(t, w, w.spec("regs", fastMaps, is...), nil)
	for run := range 4 {
		diffXDPRuns(t, fmt.Sprintf("run %d", run), udp4Frame, nil, irn, vm, rn)
	}
}
