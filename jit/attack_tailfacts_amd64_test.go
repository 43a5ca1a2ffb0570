//go:build amd64 && unix

package jit

import (
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackTailCallFacts: program b's store past 4 bytes of a lookup's
// result is proven (b's registry had the engine's map_lookup_elem when
// b was compiled). b runs as the tail call target of a, whose registry
// has another map_lookup_elem that grants 4 bytes, and then with its own
// registry's map_lookup_elem replaced after compiling: each way, the
// JIT (VM and Runner, quick runs among them) must do what interp does,
// which calls the running program's registry.
func TestAttackTailCallFacts(t *testing.T) {
	small := make([]byte, 4)
	grant4 := func(e *interp.Env, _, _, _, _, _ uint64) (uint64, error) {
		return e.AddRegion(small, interp.PermRead|interp.PermWrite)
	}
	for _, swapB := range []bool{false, true} {
		w := newWorld(t, progArray("jmp"), fastWorld(t).maps["arr"].MapSpec())
		regA, regB := w.registry(true), w.registry(true)
		if !swapB {
			regA.Register(insn.FnMapLookupElem, grant4)
		}
		xdp := func(name string, ms []string, is ...insn.Instruction) *prog.Spec {
			s := w.spec(name, ms, is...)
			s.Type = prog.XDP
			return s
		}
		a := w.jit(xdp("a", []string{"jmp", "arr"},
			insn.LoadMapPtr(insn.R2, "jmp"),
			insn.Mov.Imm(insn.R3, 0),
			insn.Call(int32(insn.FnTailCall)),
			insn.Mov.Imm(insn.R0, 1),
			insn.Exit(),
		), &Options{Interp: &interp.Options{Helpers: regA}})
		defer a.Close()
		b := w.jit(xdp("b", []string{"arr"}, ret(
			lookup("arr", 1),
			insn.JEq.Imm(insn.R0, 0, "out"),
			insn.StoreImm(insn.R0, 8, 5, insn.W),
			insn.Mov.Imm(insn.R0, 0).WithLabel("out"),
		)...), &Options{Interp: &interp.Options{Helpers: regB}})
		defer b.Close()
		if swapB {
			regB.Register(insn.FnMapLookupElem, grant4)
		}
		w.set("jmp", 0, b.Interp())
		rn, err := a.NewRunner()
		if err != nil {
			t.Fatal(err)
		}
		defer rn.Close()
		iret, _, ierr := a.Interp().RunXDP(udp4Frame(), nil)
		if swapB != (ierr != nil) || swapB && !errors.Is(ierr, interp.ErrMemoryAccess) {
			t.Fatalf("b's lookup swapped %v: interp %d, %v", swapB, iret, ierr)
		}
		for run := range 3 {
			for name, r := range map[string]xdpRunner{"VM": a, "Runner": rn} {
				ret, _, err := r.RunXDP(udp4Frame(), nil)
				if (err != nil) != (ierr != nil) || err == nil && ret != iret {
					t.Errorf("b's lookup swapped %v, run %d: jit %s %d, %v; interp %d, %v", swapB, run, name, ret, err, iret, ierr)
				}
				if string(small) != "\x00\x00\x00\x00" {
					t.Fatalf("b's lookup swapped %v: a store landed past the 4 bytes' start: %x", swapB, small)
				}
			}
		}
	}
}
