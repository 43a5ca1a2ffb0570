//go:build amd64 && unix

package jit

import (
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackFacts holds accesses the value facts (valuefacts.go) reason
// about to interp's verdicts in XDP VM runs and a Runner's (quick) runs:
// read-only and per-CPU values, callee-saved registers across a
// bpf-to-bpf call whose callee clobbers them, a NULL check that jumps to
// the next instruction, far map value loads moved back, a lookup result
// carried round a may_goto loop, 32-bit moves and JMP32 NULL checks of
// pointers, fetch atomics that overwrite their base, and r10-relative
// keys at the edge of the stack reach.
func TestAttackFacts(t *testing.T) {
	st := func(off int16, size insn.Size) insn.Instruction { return insn.StoreImm(insn.R0, off, 1, size) }
	ld := func(off int16, size insn.Size) insn.Instruction { return insn.LoadMem(insn.R1, insn.R0, off, size) }
	nn := insn.JEq.Imm(insn.R0, 0, "out")
	out := insn.Mov.Imm(insn.R0, 0).WithLabel("out")
	tests := []struct {
		name    string
		is      insn.Instructions
		wantErr bool
	}{
		{"ro read", ret(lookup("ro", 0), nn, ld(0, insn.DW), out), false},
		{"ro write", ret(lookup("ro", 0), nn, st(0, insn.DW), out), true},
		{"ro atomic", ret(lookup("ro", 0), nn, insn.Mov.Imm(insn.R1, 1), insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1), out), true},
		{"pcpu inside", ret(lookup("pcpu", 1), nn, st(0, insn.DW), out), false},
		{"pcpu past", ret(lookup("pcpu", 1), nn, st(1, insn.DW), out), true},
		{"arr last byte", ret(lookup("arr", 3), nn, st(11, insn.B), out), false},
		{"arr past", ret(lookup("arr", 3), nn, st(12, insn.B), out), true},
		{"arr key out of range", ret(lookup("arr", 4), insn.JNE.Imm(insn.R0, 0, "out"), st(0, insn.B), out), true},
		// The JEQ's target is its next instruction: both paths meet.
		{"null check to next", ret(lookup("hash", 9), insn.JEq.Imm(insn.R0, 0, "n"), st(0, insn.B).WithLabel("n"), out), true},
		{"jne to next", ret(lookup("hash", 9), insn.JNE.Imm(insn.R0, 0, "n"), st(0, insn.B).WithLabel("n"), out), true},
		// A JMP32 NULL check proves nothing about the upper half.
		{"jmp32 null check miss", ret(lookup("hash", 9), insn.JEq.Imm32(insn.R0, 0, "out"), st(0, insn.B), out), false},
		{"jmp32 null check hit", ret(lookup("hash", 3), insn.JEq.Imm32(insn.R0, 0, "out"), st(7, insn.B), st(8, insn.B), out), true},
		// w0 = w0 truncates the pointer.
		{"mov32 pointer", ret(lookup("arr", 0), nn, insn.Mov.Reg32(insn.R0, insn.R0), st(0, insn.B), out), true},
		// The pointer moved back by 8 after a far map value load.
		{"far value load", ret(insn.LoadMapValue(insn.R0, "glob", 15), insn.Sub.Imm(insn.R0, 7), st(0, insn.DW), out), false},
		{"far value load past", ret(insn.LoadMapValue(insn.R0, "glob", 15), insn.Sub.Imm(insn.R0, 6), st(0, insn.DW), out), true},
		{"value load minus", ret(insn.LoadMapValue(insn.R0, "glob", 0), insn.Add.Imm(insn.R0, -1), st(0, insn.B), out), true},
		// Sub of MinInt32 moves the pointer up by 2^31.
		{"sub min int32", ret(insn.LoadMapValue(insn.R0, "glob", 0), insn.Sub.Imm(insn.R0, -1<<31), st(0, insn.B), out), true},
		// fetch_add through r0 with r0 as the source: r0 is then a
		// number.
		{"fetch overwrites base", ret(lookup("arr", 0), nn, insn.Atomic(insn.AtomicAdd|insn.Fetch, insn.DW, insn.R0, 0, insn.R0), st(0, insn.B), out), true},
		{"cmpxchg overwrites r0", ret(lookup("arr", 0), nn, insn.Mov.Reg(insn.R6, insn.R0), insn.Atomic(insn.AtomicCmpXchg, insn.DW, insn.R6, 0, insn.R6), st(0, insn.B), out), true},
		// Load-acquire and store-release through proven pointers:
		// alignment and bounds as interp checks them; a load-acquire
		// into its own base register.
		{"load-acquire", ret(lookup("arr", 0), nn, insn.LoadAcquire(insn.R1, insn.R0, 8, insn.W), out), false},
		{"load-acquire misaligned", ret(lookup("arr", 0), nn, insn.LoadAcquire(insn.R1, insn.R0, 2, insn.W), out), false}, // interp lets it through (the kernel verifier may not: unverified)
		{"load-acquire past", ret(lookup("arr", 0), nn, insn.LoadAcquire(insn.R1, insn.R0, 8, insn.DW), out), true},
		{"load-acquire into base", ret(lookup("arr", 0), nn, insn.LoadAcquire(insn.R0, insn.R0, 0, insn.DW), st(0, insn.B), out), true},
		{"store-release", ret(lookup("arr", 0), nn, insn.Mov.Imm(insn.R1, 3), insn.StoreRelease(insn.R0, 4, insn.R1, insn.W), out), false},
		{"store-release misaligned", ret(lookup("arr", 0), nn, insn.Mov.Imm(insn.R1, 3), insn.StoreRelease(insn.R0, 3, insn.R1, insn.H), out), false},
		{"store-release ro", ret(lookup("ro", 0), nn, insn.Mov.Imm(insn.R1, 3), insn.StoreRelease(insn.R0, 0, insn.R1, insn.DW), out), true},
		{"xchg misaligned", ret(lookup("arr", 0), nn, insn.Mov.Imm(insn.R1, 3), insn.Atomic(insn.AtomicXchg, insn.W, insn.R0, 6, insn.R1), out), true},
		{"cmpxchg past", ret(lookup("arr", 0), nn, insn.Mov.Reg(insn.R6, insn.R0), insn.Mov.Imm(insn.R0, 0), insn.Atomic(insn.AtomicCmpXchg, insn.DW, insn.R6, 8, insn.R6), out), true},
		{"fetch_or in value", ret(lookup("hash", 3), nn, insn.Mov.Imm(insn.R1, 3), insn.Atomic(insn.AtomicOr|insn.Fetch, insn.DW, insn.R0, 0, insn.R1), out), false},
		// A lookup result carried round a loop: the second lookup
		// misses, but the first (stale) one is NULL-checked by the
		// second's check only.
		{"stale result in loop", ret(
			insn.Mov.Imm(insn.R7, 0),
			insn.Mov.Imm(insn.R6, 0),
			insn.StoreImm(insn.R10, -4, 9, insn.W).WithLabel("top"),
			insn.JEq.Imm(insn.R7, 0, "k"),
			insn.StoreImm(insn.R10, -4, 3, insn.W),
			insn.LoadMapPtr(insn.R1, "hash").WithLabel("k"),
			insn.Mov.Reg(insn.R2, insn.R10),
			insn.Add.Imm(insn.R2, -4),
			insn.Call(int32(insn.FnMapLookupElem)),
			insn.JNE.Imm(insn.R7, 0, "second"),
			insn.Mov.Reg(insn.R6, insn.R0),
			insn.Mov.Imm(insn.R7, 1),
			insn.Ja("top"),
			insn.JEq.Imm(insn.R0, 0, "out").WithLabel("second"),
			insn.StoreImm(insn.R6, 0, 1, insn.B),
			out), true},
		{"may_goto loop", ret(
			insn.Mov.Imm(insn.R6, 0),
			insn.MayGoto("done").WithLabel("top"),
			lookup("hash", 9),
			insn.JEq.Imm(insn.R0, 0, "top"),
			insn.Mov.Reg(insn.R6, insn.R0),
			insn.Ja("top"),
			insn.StoreImm(insn.R6, 0, 1, insn.B).WithLabel("done"),
			out), true},
		// A callee that clobbers r6: BPF restores it on return.
		{"callee clobbers r6", seq(
			lookup("arr", 0), nn,
			insn.Mov.Reg(insn.R6, insn.R0),
			insn.CallLocal("f"),
			insn.StoreImm(insn.R6, 8, 1, insn.W),
			out, insn.Exit(),
			insn.Mov.Imm(insn.R6, 64).WithLabel("f"),
			insn.Mov.Imm(insn.R0, 0),
			insn.Exit()), false},
		{"callee uses caller's r6", seq(
			lookup("arr", 0), nn,
			insn.Mov.Reg(insn.R6, insn.R0),
			insn.CallLocal("f"),
			out, insn.Exit(),
			insn.StoreImm(insn.R6, 12, 1, insn.W).WithLabel("f"),
			insn.Mov.Imm(insn.R0, 0),
			insn.Exit()), true},
		// A key at the deepest stack byte the program reaches and one
		// in a callee's frame.
		{"key in callee frame", seq(
			insn.StoreImm(insn.R10, -8, 0, insn.DW),
			insn.CallLocal("f"),
			insn.Exit(),
			insn.StoreImm(insn.R10, -4, 1, insn.W).WithLabel("f"),
			insn.LoadMapPtr(insn.R1, "arr"),
			insn.Mov.Reg(insn.R2, insn.R10),
			insn.Add.Imm(insn.R2, -4),
			insn.Call(int32(insn.FnMapLookupElem)),
			nn, st(0, insn.W), out, insn.Exit()), false},
		{"key in reach", seq(
			insn.StoreImm(insn.R10, -4, 1, insn.W),
			insn.LoadMapPtr(insn.R1, "arr"),
			insn.Mov.Reg(insn.R2, insn.R10),
			insn.Add.Imm(insn.R2, -6),
			insn.Call(int32(insn.FnMapLookupElem)),
			nn, st(0, insn.W), out, insn.Exit()), false},
		{"key above r10", seq(
			insn.StoreImm(insn.R10, -4, 1, insn.W),
			insn.LoadMapPtr(insn.R1, "arr"),
			insn.Mov.Reg(insn.R2, insn.R10),
			insn.Add.Imm(insn.R2, -2),
			insn.Call(int32(insn.FnMapLookupElem)),
			nn, st(0, insn.W), out, insn.Exit()), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := fastWorld(t)
			w.maps["hash"].Update(uint32(3), uint64(33), prog.UpdateAny)
			vm, rn, _ := xdpEngines(t, w, w.spec("facts", fastMaps, tt.is...), nil)
			norm := func(err error) string { return hexAddr.ReplaceAllString(fmt.Sprint(err), "ADDR") }
			// Each engine's run starts from the same map contents.
			reset := func() {
				for k := range uint32(4) {
					w.maps["arr"].Update(k, [12]byte{}, prog.UpdateAny)
				}
				w.maps["glob"].Update(uint32(0), [16]byte{}, prog.UpdateAny)
			}
			for run := range 3 {
				reset()
				iret, iout, ierr := vm.Interp().RunXDP(udp4Frame(), nil)
				reset()
				vret, vout, verr := vm.RunXDP(udp4Frame(), nil)
				reset()
				rret, rout, rerr := rn.RunXDP(udp4Frame(), nil)
				if (ierr != nil) != tt.wantErr {
					t.Fatalf("run %d: interp: %d, %v (want an error: %v)\n%s", run, iret, ierr, tt.wantErr, tt.is)
				}
				if norm(verr) != norm(ierr) || norm(rerr) != norm(ierr) || vret != iret || rret != iret ||
					string(vout) != string(iout) || string(rout) != string(iout) {
					t.Fatalf("run %d: interp %d, %v; jit VM %d, %v; jit Runner %d, %v\n%s", run, iret, ierr, vret, verr, rret, rerr, tt.is)
				}
			}
		})
	}
}
