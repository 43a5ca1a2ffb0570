//go:build amd64 && unix

package jit

import (
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

// TestAttackCalleeStackAcrossRuns: callees (two deep) read stack bytes of
// their frames they never wrote in this run, then write them; the main
// frame reads below its reach through a pointer. Each run of a Runner
// (quick runs among them) must read what interp reads (zero: a callee's
// frame is zeroed when it is entered), never the last run's bytes.
func TestAttackCalleeStackAcrossRuns(t *testing.T) {
	is := seq(
		insn.CallLocal("f"),
		insn.Mov.Reg(insn.R6, insn.R0),
		insn.LoadMem(insn.R1, insn.R10, -8, insn.DW),
		insn.Add.Reg(insn.R6, insn.R1),
		insn.StoreImm(insn.R10, -8, 0x1000, insn.DW),
		insn.Mov.Reg(insn.R0, insn.R6),
		insn.Exit(),
		// f: reads r10-8 and r10-512 of its frame, writes them, calls g.
		insn.LoadMem(insn.R0, insn.R10, -8, insn.DW).WithLabel("f"),
		insn.LoadMem(insn.R1, insn.R10, -512, insn.DW),
		insn.Add.Reg(insn.R0, insn.R1),
		insn.StoreImm(insn.R10, -8, 0x10, insn.DW),
		insn.StoreImm(insn.R10, -512, 0x20, insn.DW),
		insn.Mov.Reg(insn.R6, insn.R0),
		insn.CallLocal("g"),
		insn.Add.Reg(insn.R0, insn.R6),
		insn.Exit(),
		// g: the same, one frame deeper, and a pointer into f's frame.
		insn.LoadMem(insn.R0, insn.R10, -8, insn.DW).WithLabel("g"),
		insn.LoadMem(insn.R1, insn.R10, -256, insn.DW),
		insn.Add.Reg(insn.R0, insn.R1),
		insn.StoreImm(insn.R10, -8, 0x100, insn.DW),
		insn.StoreImm(insn.R10, -256, 0x200, insn.DW),
		insn.Exit(),
	)
	w := fastWorld(t)
	vm, rn, irn := xdpEngines(t, w, w.spec("calls", fastMaps, is...), nil)
	for run := range 4 {
		iret, ierr := diffXDPRuns(t, fmt.Sprintf("run %d", run), udp4Frame, nil, irn, vm, rn)
		if iret != 0 || ierr != nil {
			t.Fatalf("run %d: interp %#x, %v: want 0 (stack bytes no run wrote)", run, iret, ierr)
		}
	}
}
