//go:build amd64 && unix

package jit

import (
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
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
	spec := w.spec("calls", fastMaps, is...)
	spec.Type = prog.XDP
	vm := w.jit(spec, nil)
	defer vm.Close()
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	irn, err := vm.Interp().NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer irn.Close()
	for run := range 4 {
		iret, _, ierr := irn.RunXDP(udp4Frame(), nil)
		vret, _, verr := vm.RunXDP(udp4Frame(), nil)
		rret, _, rerr := rn.RunXDP(udp4Frame(), nil)
		if fmt.Sprint(ierr) != fmt.Sprint(rerr) || fmt.Sprint(ierr) != fmt.Sprint(verr) || iret != rret || iret != vret {
			t.Fatalf("run %d: interp %#x, %v; jit VM %#x, %v; jit Runner %#x, %v", run, iret, ierr, vret, verr, rret, rerr)
		}
		if iret != 0 || ierr != nil {
			t.Fatalf("run %d: interp %#x, %v: want 0 (stack bytes no run wrote)", run, iret, ierr)
		}
	}
}
