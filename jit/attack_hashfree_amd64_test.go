//go:build amd64 && unix

package jit

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackHashValueFreed looks a hash value up in machine code, keeps
// the pointer in a callee-saved register (the value facts prove the
// stores through it), deletes the element (and re-adds the key, with
// another value), collects garbage and sprays the heap with objects of
// the value's size, then stores through the old pointer: interp lets the
// store through (the run's region keeps the old value), so the JIT does
// too, and it must land in the old value, which the run kept alive, never
// in one of the new objects. Also with the pointer only in a
// register the facts cannot follow (spilled), and in quick Runner runs.
func TestAttackHashValueFreed(t *testing.T) {
	for _, spill := range []bool{false, true} {
		t.Run(fmt.Sprintf("spill=%v", spill), func(t *testing.T) {
			w := fastWorld(t)
			var spray [][]byte
			w.hook = func() {
				runtime.GC()
				runtime.GC()
				spray = spray[:0]
				for range 20000 {
					b := make([]byte, 8)
					for i := range b {
						b[i] = 0xaa
					}
					spray = append(spray, b)
				}
			}
			keep := []insn.Instruction{insn.Mov.Reg(insn.R6, insn.R0)}
			if spill {
				keep = []insn.Instruction{insn.StoreMem(insn.R10, -32, insn.R0, insn.DW), insn.LoadMem(insn.R6, insn.R10, -32, insn.DW)}
			}
			is := ret(
				lookup("hash", 3),
				insn.JEq.Imm(insn.R0, 0, "out"),
				keep,
				// delete hash[3], then hash[3] = 7
				reAddHash3(7),
				insn.Call(fnTestGC),
				insn.StoreImm(insn.R6, 0, 0x55, insn.DW),
				insn.LoadMem(insn.R0, insn.R6, 0, insn.DW),
				insn.Exit(),
				insn.Mov.Imm(insn.R0, 0).WithLabel("out"),
			)
			vm, rn, _ := xdpEngines(t, w, w.spec("free", fastMaps, is...), nil)
			check := func(who string) {
				for _, b := range spray {
					if !bytes.Equal(b, bytes.Repeat([]byte{0xaa}, 8)) {
						t.Fatalf("%s: a store through a deleted value's pointer landed in a new object: %x", who, b)
					}
				}
				var v uint64
				if err := w.maps["hash"].Lookup(uint32(3), &v); err != nil || v != 7 {
					t.Fatalf("%s: hash[3] = %d, %v, want 7", who, v, err)
				}
			}
			for run := range 3 {
				for name, r := range map[string]interface {
					RunXDP([]byte, *interp.XDPMeta) (uint32, []byte, error)
				}{"interp": vm.Interp(), "VM": vm, "Runner": rn} {
					w.maps["hash"].Update(uint32(3), uint64(33), prog.UpdateAny)
					ret, _, err := r.RunXDP(udp4Frame(), nil)
					if err != nil || ret != 0x55 {
						t.Fatalf("run %d, %s: %d, %v, want 0x55", run, name, ret, err)
					}
					check(fmt.Sprintf("run %d, %s", run, name))
				}
			}
		})
	}
}
