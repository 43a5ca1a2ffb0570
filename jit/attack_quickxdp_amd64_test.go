//go:build amd64 && unix

package jit

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
)

// TestAttackQuickXDPFrames runs a Runner's XDP runs (the quick path among
// them: a run that stays in machine code lets the next one only reload
// the frame) on frames of changing lengths, from 14 bytes to
// XDPMaxFrame and past it (fragments), some with metadata, and
// programs that read and write the packet's end, bytes past it, the
// headroom, the stack left from the last run, and a map value looked up
// in the last run (through a pointer stored in the map): each run must
// give interp's result, output and error.
func TestAttackQuickXDPFrames(t *testing.T) {
	prog1 := seq(
		insn.LoadMem(insn.R2, insn.R1, 0, insn.W), // data
		insn.LoadMem(insn.R3, insn.R1, 4, insn.W), // data_end
		insn.LoadMem(insn.R6, insn.R1, 8, insn.W), // data_meta
		// The stack the last run left: zero, whatever it wrote.
		insn.LoadMem(insn.R9, insn.R10, -8, insn.DW),
		insn.StoreImm(insn.R10, -8, 77, insn.DW),
		insn.LoadMem(insn.R8, insn.R2, 0, insn.B), // the first byte picks the test
		insn.JNE.Imm(insn.R8, 0xaa, "bounded"),
		// Unchecked: past a short packet's end.
		insn.LoadMem(insn.R0, insn.R2, 200, insn.B),
		insn.StoreImm(insn.R2, 200, 9, insn.B),
		insn.Ja("ret"),
		insn.JNE.Imm(insn.R8, 0xbb, "bounded2").WithLabel("bounded"),
		insn.LoadMem(insn.R0, insn.R2, -1, insn.B), // the headroom
		insn.Ja("ret"),
		insn.JNE.Imm(insn.R8, 0xcc, "bounded3").WithLabel("bounded2"),
		// The byte at data_end.
		insn.Mov.Reg(insn.R4, insn.R3),
		insn.LoadMem(insn.R0, insn.R4, 0, insn.B),
		insn.Ja("ret"),
		insn.Mov.Reg(insn.R4, insn.R2).WithLabel("bounded3"),
		insn.Add.Imm(insn.R4, 1500),
		insn.JGT.Reg(insn.R4, insn.R3, "short"),
		insn.LoadMem(insn.R0, insn.R2, 1499, insn.B),
		insn.Add.Imm(insn.R0, 1),
		insn.StoreMem(insn.R2, 1499, insn.R0, insn.B),
		insn.Ja("ret"),
		insn.Mov.Reg(insn.R0, insn.R3).WithLabel("short"),
		insn.Sub.Reg(insn.R0, insn.R2),
		insn.Mov.Reg(insn.R4, insn.R3),
		insn.Sub.Imm(insn.R4, 1),
		insn.LoadMem(insn.R5, insn.R4, 0, insn.B),
		insn.Add.Imm(insn.R5, 3),
		insn.StoreMem(insn.R4, 0, insn.R5, insn.B),
		insn.Mov.Reg(insn.R1, insn.R2).WithLabel("ret"),
		insn.Sub.Reg(insn.R1, insn.R6),
		insn.Mul.Imm(insn.R1, 10000),
		insn.Add.Reg(insn.R0, insn.R1),
		insn.Mul.Imm(insn.R9, 1000000),
		insn.Add.Reg(insn.R0, insn.R9),
		insn.Exit(),
	)
	w := fastWorld(t)
	vm, rn, irn := xdpEngines(t, w, w.spec("quick", fastMaps, prog1...), nil)
	frame := func(n int, first byte) []byte {
		f := make([]byte, n)
		for i := range f {
			f[i] = byte(i*7 + 1)
		}
		f[0] = first
		return f
	}
	lens := []int{1500, 14, 60, interp.XDPMaxFrame, 200, 201, 14, interp.XDPMaxFrame + 1, 1600, 14, 3000, 201, 1499, 1500}
	firsts := []byte{0, 0xaa, 0, 0xbb, 0, 0xcc, 0} // clean runs before each, so the next takes the quick path
	norm := func(err error) string { return hexAddr.ReplaceAllString(fmt.Sprint(err), "ADDR") }
	n, fails := 0, 0
	for round := range 3 {
		for _, l := range lens {
			for _, f := range firsts {
				var meta, imeta *interp.XDPMeta
				if (n+round)%5 == 4 {
					meta = &interp.XDPMeta{Meta: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
					imeta = &interp.XDPMeta{Meta: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
				}
				n++
				iret, iout, ierr := irn.RunXDP(frame(l, f), imeta)
				iout = bytes.Clone(iout)
				if ierr != nil {
					fails++
				}
				vret, vout, verr := vm.RunXDP(frame(l, f), imeta)
				rret, rout, rerr := rn.RunXDP(frame(l, f), meta)
				if norm(rerr) != norm(ierr) || rret != iret || !bytes.Equal(rout, iout) ||
					norm(verr) != norm(ierr) || vret != iret || !bytes.Equal(vout, iout) {
					t.Fatalf("run %d (len %d, first %#x, meta %v): interp %d, %v; jit VM %d, %v; jit Runner %d, %v (outputs equal: VM %v, Runner %v)",
						n, l, f, meta != nil, iret, ierr, vret, verr, rret, rerr, bytes.Equal(vout, iout), bytes.Equal(rout, iout))
				}
			}
		}
	}
	if fails == 0 || fails == n {
		t.Errorf("%d of %d runs failed in interp: the programs test nothing", fails, n)
	}
	t.Logf("%d of %d runs failed (in every engine)", fails, n)
}
