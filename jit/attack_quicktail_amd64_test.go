//go:build amd64 && unix

package jit

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
)

// TestAttackQuickXDPTail: runs that grow the packet's tail
// (bpf_xdp_adjust_tail) or its head and write the bytes they exposed,
// clean runs that write a long packet's end, and runs (quick ones among
// them) that grow a shorter packet and return the bytes they expose:
// every run must see what interp's fresh bind shows (zeros), never an
// earlier run's bytes.
func TestAttackQuickXDPTail(t *testing.T) {
	is := seq(
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.LoadMem(insn.R2, insn.R6, 0, insn.W),
		insn.LoadMem(insn.R3, insn.R6, 4, insn.W),
		insn.Mov.Reg(insn.R4, insn.R2),
		insn.Add.Imm(insn.R4, 14),
		insn.JGT.Reg(insn.R4, insn.R3, "drop"),
		insn.LoadMem(insn.R7, insn.R2, 0, insn.B),
		insn.JNE.Imm(insn.R7, 1, "notwrite"),
		// 1: grow the tail by 64 and fill it with 0xee.
		insn.Mov.Reg(insn.R1, insn.R6),
		insn.Mov.Imm(insn.R2, 64),
		insn.Call(int32(insn.FnXDPAdjustTail)),
		insn.JNE.Imm(insn.R0, 0, "drop"),
		insn.LoadMem(insn.R3, insn.R6, 4, insn.W),
		insn.Mov.Reg(insn.R4, insn.R3),
		insn.Sub.Imm(insn.R4, 64),
		insn.LoadMem(insn.R2, insn.R6, 0, insn.W),
		insn.JLT.Reg(insn.R4, insn.R2, "drop"),
		insn.Mov.Imm(insn.R5, 0),
		insn.StoreImm(insn.R4, 0, -0x11111112, insn.W).WithLabel("fill"),
		insn.Add.Imm(insn.R4, 4),
		insn.JLT.Reg(insn.R4, insn.R3, "fill"),
		insn.Mov.Imm(insn.R0, 3),
		insn.Exit(),
		insn.JNE.Imm(insn.R7, 2, "notgrow").WithLabel("notwrite"),
		// 2: grow the tail by 64 and return the sum of its bytes.
		insn.Mov.Reg(insn.R1, insn.R6),
		insn.Mov.Imm(insn.R2, 64),
		insn.Call(int32(insn.FnXDPAdjustTail)),
		insn.JNE.Imm(insn.R0, 0, "drop"),
		insn.LoadMem(insn.R3, insn.R6, 4, insn.W),
		insn.LoadMem(insn.R2, insn.R6, 0, insn.W),
		insn.Mov.Reg(insn.R4, insn.R3),
		insn.Sub.Imm(insn.R4, 64),
		insn.JLT.Reg(insn.R4, insn.R2, "drop"),
		insn.Mov.Imm(insn.R0, 0),
		insn.LoadMem(insn.R5, insn.R4, 0, insn.DW).WithLabel("sum"),
		insn.Add.Reg(insn.R0, insn.R5),
		insn.Add.Imm(insn.R4, 8),
		insn.JLT.Reg(insn.R4, insn.R3, "sum"),
		insn.Exit(),
		// else: a clean run that writes the last 8 bytes.
		insn.Mov.Reg(insn.R4, insn.R3).WithLabel("notgrow"),
		insn.Sub.Imm(insn.R4, 8),
		insn.StoreImm(insn.R4, 0, -1, insn.DW),
		insn.Mov.Imm(insn.R0, 2),
		insn.Exit(),
		insn.Mov.Imm(insn.R0, 1).WithLabel("drop"),
		insn.Exit(),
	)
	w := fastWorld(t)
	vm, rn, irn := xdpEngines(t, w, w.spec("tail", fastMaps, is...), nil)
	frame := func(n int, first byte) []byte {
		f := bytes.Repeat([]byte{0x42}, n)
		f[0] = first
		return f
	}
	type step struct {
		n     int
		first byte
	}
	steps := []step{{1000, 1}, {60, 0}, {60, 0}, {60, 2}, {1000, 0}, {1000, 0}, {300, 2}, {1000, 0}, {200, 1}, {100, 0}, {100, 0}, {100, 2},
		{interp.XDPMaxFrame - 64, 1}, {interp.XDPMaxFrame - 128, 0}, {interp.XDPMaxFrame - 128, 0}, {interp.XDPMaxFrame - 200, 2}}
	for round := range 2 {
		for k, s := range steps {
			iret, iout, ierr := irn.RunXDP(frame(s.n, s.first), nil)
			iout = bytes.Clone(iout)
			vret, vout, verr := vm.RunXDP(frame(s.n, s.first), nil)
			vout = bytes.Clone(vout)
			rret, rout, rerr := rn.RunXDP(frame(s.n, s.first), nil)
			if fmt.Sprint(ierr) != fmt.Sprint(rerr) || fmt.Sprint(ierr) != fmt.Sprint(verr) || iret != rret || iret != vret ||
				!bytes.Equal(iout, rout) || !bytes.Equal(iout, vout) {
				t.Fatalf("round %d, step %d (%d bytes, kind %d): interp %#x, %v; jit VM %#x, %v; jit Runner %#x, %v", round, k, s.n, s.first, iret, ierr, vret, verr, rret, rerr)
			}
			if s.first == 2 && (iret != 0 || ierr != nil) {
				t.Fatalf("step %d: interp %#x, %v: the grown tail is not zero", k, iret, ierr)
			}
		}
	}
}
