//go:build amd64 && unix

package jit

import (
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackRegionRoom brings a run near engine.MaxDynamicRegions with
// array lookups the code makes itself, then makes lookups that Go makes
// (a hash map with keys too long for the code) and puts in the tables
// without rebuilding them, then more lookups the code records in
// state.pend, then leaves to Go (which gives the Env the pending grants)
// and uses the last value through a pointer the value facts cannot
// follow: interp fails the lookup that finds the Env full; the JIT must
// fail the same way, not drop grants it recorded beyond the Env's room
// (which would also let a hash value it kept alive go).
func TestAttackRegionRoom(t *testing.T) {
	const bigKey = 200
	w := newWorld(t,
		prog.MapSpec{Name: "big", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4096},
		prog.MapSpec{Name: "bk", Type: prog.Hash, KeySize: bigKey, ValueSize: 8, MaxEntries: 64},
	)
	for j := range 64 {
		k := make([]byte, bigKey)
		k[0] = byte(j)
		w.maps["bk"].Update(k, uint64(j), prog.UpdateAny)
	}
	look := func(m string, off int32) []insn.Instruction {
		return []insn.Instruction{
			insn.LoadMapPtr(insn.R1, m),
			insn.Mov.Reg(insn.R2, insn.R10),
			insn.Add.Imm(insn.R2, off),
			insn.Call(int32(insn.FnMapLookupElem)),
		}
	}
	program := func(n1, n2, n3 int32) insn.Instructions {
		is := seq(
			insn.Mov.Imm(insn.R8, n1),
			insn.StoreMem(insn.R10, -4, insn.R8, insn.W).WithLabel("l1"),
			look("big", -4),
			insn.Sub.Imm(insn.R8, 1),
			insn.JSGT.Imm(insn.R8, 0, "l1"),
		)
		for off := int16(-bigKey - 8); off < -8; off += 8 {
			is = append(is, insn.StoreImm(insn.R10, off, 0, insn.DW))
		}
		is = append(is, seq(
			insn.Mov.Imm(insn.R8, n2),
			insn.StoreMem(insn.R10, -bigKey-8, insn.R8, insn.W).WithLabel("l2"),
			look("bk", -bigKey-8),
			insn.Sub.Imm(insn.R8, 1),
			insn.JSGT.Imm(insn.R8, 0, "l2"),
			insn.Mov.Imm(insn.R7, 0),
			insn.Mov.Imm(insn.R8, n3),
			insn.Mov.Imm(insn.R1, 4095).WithLabel("l3"),
			insn.Sub.Reg(insn.R1, insn.R8),
			insn.StoreMem(insn.R10, -4, insn.R1, insn.W),
			look("big", -4),
			insn.JEq.Imm(insn.R0, 0, "n3"),
			insn.StoreMem(insn.R10, -16, insn.R0, insn.DW),
			insn.LoadMem(insn.R7, insn.R10, -16, insn.DW),
			insn.Sub.Imm(insn.R8, 1).WithLabel("n3"),
			insn.JSGT.Imm(insn.R8, 0, "l3"),
			insn.Call(int32(insn.FnKtimeGetNs)),
			insn.StoreImm(insn.R7, 0, 5, insn.DW),
			insn.Mov.Imm(insn.R0, 2),
			insn.Exit(),
		)...)
		return is
	}
	norm := func(err error) string { return hexAddr.ReplaceAllString(fmt.Sprint(err), "ADDR") }
	fails, runs := 0, 0
	for n1 := int32(4096 - 100); n1 <= 4096-20; n1 += 3 {
		for _, n2 := range []int32{0, 10, 29, 40} {
			spec := w.spec("room", []string{"big", "bk"}, program(n1, n2, 40)...)
			spec.Type = prog.XDP
			vm := w.jit(spec, &Options{Interp: &interp.Options{Helpers: w.registry(true), MaxInstructions: 1 << 22}})
			rn, err := vm.NewRunner()
			if err != nil {
				t.Fatal(err)
			}
			for run := range 2 {
				iret, _, ierr := vm.Interp().RunXDP(udp4Frame(), nil)
				vret, _, verr := vm.RunXDP(udp4Frame(), nil)
				rret, _, rerr := rn.RunXDP(udp4Frame(), nil)
				runs++
				if ierr != nil {
					fails++
				}
				if norm(verr) != norm(ierr) || norm(rerr) != norm(ierr) || vret != iret || rret != iret {
					t.Errorf("n1 %d, n2 %d, run %d: interp %d, %v; jit VM %d, %v; jit Runner %d, %v", n1, n2, run, iret, ierr, vret, verr, rret, rerr)
				}
			}
			rn.Close()
			vm.Close()
		}
	}
	if fails == 0 || fails == runs {
		t.Errorf("interp failed %d of %d runs: the runs do not reach the Env's limit, or always do", fails, runs)
	}
}
