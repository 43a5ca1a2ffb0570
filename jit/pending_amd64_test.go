//go:build amd64 && unix

package jit

import (
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// TestPendingGrants holds the grants the fast paths record in state.pend
// (the regions of map values the code looked up itself, which reach the
// tables only when Go takes them) to interp's verdicts, through accesses
// the value facts cannot prove (the pointer went through the stack), in
// an XDP Runner's quick runs and in VM runs, three runs each: inside a
// value and at each side of it, after more grants than pend holds, after
// a helper that makes Go take the grants, and in a run after the one
// that made a grant (which must not carry over).
func TestPendingGrants(t *testing.T) {
	// spilled is r7 = r0 through the stack, which the facts do not track.
	spilled := []insn.Instruction{
		insn.StoreMem(insn.R10, -16, insn.R0, insn.DW),
		insn.LoadMem(insn.R7, insn.R10, -16, insn.DW),
	}
	at := func(off int16, size insn.Size) []insn.Instruction {
		return []insn.Instruction{insn.LoadMem(insn.R1, insn.R7, off, size), insn.StoreMem(insn.R7, off, insn.R1, size)}
	}
	manyLookups := func(n int32) []insn.Instruction {
		return seq(
			insn.Mov.Imm(insn.R8, n),
			insn.StoreImm(insn.R10, -4, 3, insn.W).WithLabel("more"),
			insn.LoadMapPtr(insn.R1, "hash"),
			insn.Mov.Reg(insn.R2, insn.R10),
			insn.Add.Imm(insn.R2, -4),
			insn.Call(int32(insn.FnMapLookupElem)),
			lookup("pcpu", 1),
			insn.Sub.Imm(insn.R8, 1),
			insn.JSGT.Imm(insn.R8, 0, "more"),
		)
	}
	tests := []struct {
		name    string
		is      insn.Instructions
		wantErr bool
	}{
		{"inside", ret(lookup("arr", 1), insn.JEq.Imm(insn.R0, 0, "out"), spilled, at(0, insn.DW), at(8, insn.W), at(11, insn.B),
			insn.Atomic(insn.AtomicAdd, insn.W, insn.R7, 4, insn.R1), insn.Mov.Imm(insn.R0, 0).WithLabel("out")), false},
		{"one past", ret(lookup("arr", 1), insn.JEq.Imm(insn.R0, 0, "out"), spilled, at(9, insn.W), insn.Mov.Imm(insn.R0, 0).WithLabel("out")), true},
		{"one before", ret(lookup("arr", 1), insn.JEq.Imm(insn.R0, 0, "out"), spilled, at(-1, insn.B), insn.Mov.Imm(insn.R0, 0).WithLabel("out")), true},
		{"hash value", ret(lookup("hash", 3), insn.JEq.Imm(insn.R0, 0, "out"), spilled, at(0, insn.DW), insn.Mov.Imm(insn.R0, 0).WithLabel("out")), false},
		{"hash value past", ret(lookup("hash", 3), insn.JEq.Imm(insn.R0, 0, "out"), spilled, at(4, insn.DW), insn.Mov.Imm(insn.R0, 0).WithLabel("out")), true},
		{"global data", ret(insn.LoadMapValue(insn.R0, "glob", 8), spilled, at(0, insn.DW), at(-8, insn.DW), insn.Mov.Imm(insn.R0, 0)), false},
		{"global data past", ret(insn.LoadMapValue(insn.R0, "glob", 8), spilled, at(1, insn.DW), insn.Mov.Imm(insn.R0, 0)), true},
		// More grants than state.pend holds: the rest go through Go,
		// and the first one is still granted.
		{"many grants", ret(lookup("arr", 2), spilled, manyLookups(40), insn.JEq.Imm(insn.R7, 0, "out"), at(0, insn.DW),
			insn.Mov.Imm(insn.R0, 0).WithLabel("out")), false},
		// A helper that reads the pending element (map_update_elem's
		// value) makes Go take the grants; the access after it goes
		// through Go's tables.
		{"taken by Go", ret(lookup("arr", 1), insn.JEq.Imm(insn.R0, 0, "out"), spilled,
			insn.StoreImm(insn.R10, -8, 2, insn.W),
			insn.LoadMapPtr(insn.R1, "hash"), insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -8),
			insn.Mov.Reg(insn.R3, insn.R7), insn.Mov.Imm(insn.R4, 0),
			insn.Call(int32(insn.FnMapUpdateElem)),
			at(0, insn.DW), at(8, insn.W), insn.Mov.Imm(insn.R0, 0).WithLabel("out")), false},
		{"taken by Go, past", ret(lookup("arr", 1), insn.JEq.Imm(insn.R0, 0, "out"), spilled,
			insn.StoreImm(insn.R10, -8, 2, insn.W),
			insn.LoadMapPtr(insn.R1, "hash"), insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -8),
			insn.Mov.Reg(insn.R3, insn.R7), insn.Mov.Imm(insn.R4, 0),
			insn.Call(int32(insn.FnMapUpdateElem)),
			at(12, insn.B), insn.Mov.Imm(insn.R0, 0).WithLabel("out")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := fastWorld(t)
			w.maps["hash"].Update(uint32(3), uint64(33), prog.UpdateAny)
			spec := w.spec("pend", fastMaps, tt.is...)
			spec.Type = prog.XDP
			vm := w.jit(spec, nil)
			defer vm.Close()
			rn, err := vm.NewRunner()
			if err != nil {
				t.Fatal(err)
			}
			defer rn.Close()
			for run := range 3 {
				iret, _, ierr := vm.Interp().RunXDP(udp4Frame(), nil)
				vret, _, verr := vm.RunXDP(udp4Frame(), nil)
				rret, _, rerr := rn.RunXDP(udp4Frame(), nil)
				norm := func(err error) string { return hexAddr.ReplaceAllString(fmt.Sprint(err), "ADDR") }
				if (ierr != nil) != tt.wantErr {
					t.Fatalf("run %d: interp: %d, %v (want an error: %v)", run, iret, ierr, tt.wantErr)
				}
				if norm(verr) != norm(ierr) || norm(rerr) != norm(ierr) || vret != iret || rret != iret {
					t.Fatalf("run %d: interp %d, %v; jit VM %d, %v; jit Runner %d, %v", run, iret, ierr, vret, verr, rret, rerr)
				}
			}
		})
	}
}

// TestPendingNotAcrossRuns stores an element's address in a map in one
// run and uses it in the next, which did not look the element up: the
// grant was the first run's only, in quick runs too.
func TestPendingNotAcrossRuns(t *testing.T) {
	is := seq(
		lookup("arr", 0),
		insn.JEq.Imm(insn.R0, 0, "out"),
		insn.Mov.Reg(insn.R6, insn.R0),
		insn.LoadMem(insn.R1, insn.R6, 0, insn.DW),
		insn.JNE.Imm(insn.R1, 0, "second"),
		lookup("arr", 1),
		insn.JEq.Imm(insn.R0, 0, "out"),
		insn.StoreMem(insn.R6, 0, insn.R0, insn.DW), // arr[0] = &arr[1]
		insn.Ja("out"),
		insn.StoreImm(insn.R1, 0, 7, insn.W).WithLabel("second"), // through last run's grant
		insn.Mov.Imm(insn.R0, 2).WithLabel("out"),
		insn.Exit(),
	)
	secondRunFails(t, is, "wrote an element it did not look up")
}
