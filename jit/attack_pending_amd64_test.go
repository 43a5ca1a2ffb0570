//go:build amd64 && unix

package jit

import (
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackPendingMany makes more lookups than the Env has room for
// helper-made regions (engine.MaxDynamicRegions), of array elements and
// hash values, each used through a pointer the value facts cannot follow
// (spilled to the stack), with and without a helper that leaves to Go
// between them (which takes the code's pending grants) and with the
// hash map's element deleted and re-added between lookups: interp, the
// JIT VM and a JIT Runner (three runs, the quick path among them) must
// give the same results and errors.
func TestAttackPendingMany(t *testing.T) {
	body := func(m string, helper, churn bool) insn.Instructions {
		is := seq(
			insn.Mov.Imm(insn.R8, 5000),
			insn.Mov.Reg(insn.R1, insn.R8).WithLabel("loop"),
			insn.And.Imm(insn.R1, 3),
			insn.StoreMem(insn.R10, -4, insn.R1, insn.W),
			insn.LoadMapPtr(insn.R1, m),
			insn.Mov.Reg(insn.R2, insn.R10),
			insn.Add.Imm(insn.R2, -4),
			insn.Call(int32(insn.FnMapLookupElem)),
			insn.JEq.Imm(insn.R0, 0, "next"),
			insn.StoreMem(insn.R10, -16, insn.R0, insn.DW),
			insn.LoadMem(insn.R7, insn.R10, -16, insn.DW),
			insn.LoadMem(insn.R1, insn.R7, 0, insn.B),
			insn.Add.Imm(insn.R1, 1),
			insn.StoreMem(insn.R7, 0, insn.R1, insn.B),
		)
		if helper {
			is = append(is, insn.Call(int32(insn.FnKtimeGetNs)))
		}
		if churn {
			is = append(append(is, reAddHash3(5)...),
				// The old value, deleted: interp's region keeps it.
				insn.LoadMem(insn.R1, insn.R7, 7, insn.B),
				insn.StoreMem(insn.R7, 7, insn.R1, insn.B),
			)
		}
		return append(is,
			insn.Sub.Imm(insn.R8, 1).WithLabel("next"),
			insn.JSGT.Imm(insn.R8, 0, "loop"),
			// Past the last value looked up.
			insn.LoadMem(insn.R1, insn.R7, 8, insn.DW),
			insn.Mov.Imm(insn.R0, 2),
			insn.Exit())
	}
	for _, c := range []struct {
		m             string
		helper, churn bool
	}{{"arr", false, false}, {"arr", true, false}, {"hash", false, false}, {"hash", true, false}, {"hash", false, true}, {"pcpu", false, false}, {"glob", true, false}} {
		t.Run(fmt.Sprintf("%s/helper=%v/churn=%v", c.m, c.helper, c.churn), func(t *testing.T) {
			w := fastWorld(t)
			reset := func() {
				for k := range uint32(4) {
					w.maps["hash"].Update(k, uint64(k), prog.UpdateAny)
					w.maps["arr"].Update(k, [12]byte{}, prog.UpdateAny)
				}
			}
			vm, rn, _ := xdpEngines(t, w, w.spec("many", fastMaps, body(c.m, c.helper, c.churn)...), &Options{Interp: &interp.Options{Helpers: w.registry(true), MaxInstructions: 1 << 22}})
			norm := func(err error) string { return hexAddr.ReplaceAllString(fmt.Sprint(err), "ADDR") }
			for run := range 3 {
				reset()
				iret, _, ierr := vm.Interp().RunXDP(udp4Frame(), nil)
				reset()
				vret, _, verr := vm.RunXDP(udp4Frame(), nil)
				reset()
				rret, _, rerr := rn.RunXDP(udp4Frame(), nil)
				if run == 0 {
					t.Logf("interp: %d, %v", iret, ierr)
				}
				if norm(verr) != norm(ierr) || norm(rerr) != norm(ierr) || vret != iret || rret != iret {
					t.Fatalf("run %d: interp %d, %v; jit VM %d, %v; jit Runner %d, %v", run, iret, ierr, vret, verr, rret, rerr)
				}
			}
		})
	}
}

// reAddHash3 deletes key 3 of map "hash" and adds it again with value v
// (keys at r10-8, values at r10-24).
func reAddHash3(v int32) []insn.Instruction {
	return []insn.Instruction{
		insn.StoreImm(insn.R10, -8, 3, insn.W),
		insn.LoadMapPtr(insn.R1, "hash"),
		insn.Mov.Reg(insn.R2, insn.R10),
		insn.Add.Imm(insn.R2, -8),
		insn.Call(int32(insn.FnMapDeleteElem)),
		insn.StoreImm(insn.R10, -24, v, insn.DW),
		insn.LoadMapPtr(insn.R1, "hash"),
		insn.Mov.Reg(insn.R2, insn.R10),
		insn.Add.Imm(insn.R2, -8),
		insn.Mov.Reg(insn.R3, insn.R10),
		insn.Add.Imm(insn.R3, -24),
		insn.Mov.Imm(insn.R4, 0),
		insn.Call(int32(insn.FnMapUpdateElem)),
	}
}
