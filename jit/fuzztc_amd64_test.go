//go:build amd64 && unix

package jit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// tcPrologue loads the packet pointers of __sk_buff into r2 (data), r3
// (data_end) and r4 (data_meta) before the fuzzed code, which keeps r1 =
// the context for the tc helpers.
var tcPrologue = insn.Instructions{
	insn.LoadMem(insn.R2, insn.R1, 76, insn.W),
	insn.LoadMem(insn.R3, insn.R1, 80, insn.W),
	insn.LoadMem(insn.R4, insn.R1, 140, insn.W),
}

// FuzzTC runs arbitrary bytecode as a sched_cls program, after
// tcPrologue, on arbitrary frames and context fields in interp, the JIT
// and a JIT Runner, interp and the JIT in one Env (the same context
// address and, taken from the pool in turn, the same packet buffer): load
// errors, verdicts, run errors (by sentinel and pc), output packets and
// the context fields given back must agree, and no access may leave
// [data, data_end) unnoticed (a run that goes out of bounds is an error
// in all three, or in none).
func FuzzTC(f *testing.F) {
	seed := func(is ...insn.Instruction) []byte {
		raw, err := insn.Instructions(is).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		return raw
	}
	frame := []byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x81\x00\x00\x05\x08\x00")
	ctx := make([]byte, 16)
	f.Add(seed(insn.LoadMem(insn.R0, insn.R2, 13, insn.B), insn.Exit()), frame, ctx)
	f.Add(seed(insn.StoreImm(insn.R2, 0, 7, insn.DW), insn.Mov.Imm(insn.R0, 3), insn.Exit()), frame, ctx)
	f.Add(seed(insn.LoadMem(insn.R0, insn.R3, -1, insn.B), insn.Exit()), frame, ctx)
	f.Add(seed(insn.Mov.Imm(insn.R2, 64), insn.Mov.Imm(insn.R3, 0), insn.FnSKBChangeHead.Call(), insn.LoadMem(insn.R2, insn.R1, 76, insn.W), insn.LoadMem(insn.R0, insn.R2, 63, insn.B), insn.Exit()), frame, ctx)
	f.Add(seed(insn.Mov.Imm(insn.R2, 100), insn.Mov.Imm(insn.R3, 0), insn.FnSKBChangeTail.Call(), insn.LoadMem(insn.R3, insn.R1, 80, insn.W), insn.LoadMem(insn.R0, insn.R3, -1, insn.B), insn.Exit()), frame, ctx)
	f.Add(seed(insn.Mov.Imm(insn.R2, 0x81), insn.Mov.Imm(insn.R3, 7), insn.Mov.Reg(insn.R6, insn.R1), insn.FnSKBVLANPush.Call(), insn.Mov.Reg(insn.R1, insn.R6), insn.FnSKBVLANPush.Call(), insn.Mov.Reg(insn.R1, insn.R6), insn.FnSKBVLANPop.Call(), insn.Exit()), frame, ctx)
	f.Add(seed(insn.Mov.Imm(insn.R2, 8), insn.Mov.Imm(insn.R3, 1), insn.Mov.Imm(insn.R4, 0), insn.FnSKBAdjustRoom.Call(), insn.Exit()), frame, ctx)
	f.Add(seed(insn.Mov.Imm(insn.R2, 12), insn.Mov.Imm(insn.R3, 0), insn.Mov.Imm(insn.R4, 0x1234), insn.Mov.Imm(insn.R5, 2), insn.FnL3CsumReplace.Call(), insn.Exit()), frame, ctx)
	f.Add(seed(insn.StoreImm(insn.R1, 12, 0x12345, insn.W), insn.LoadMem(insn.R0, insn.R1, 14, insn.H), insn.StoreImm(insn.R1, 48, 9, insn.B), insn.Exit()), frame, ctx)
	f.Add(seed(insn.Mov.Imm(insn.R1, 3), insn.Mov.Imm(insn.R2, 0), insn.FnRedirect.Call(), insn.Exit()), frame, ctx)
	f.Fuzz(func(t *testing.T, raw, frame, ctx []byte) {
		if len(raw) > 8*256 || len(frame) > 4000 {
			return
		}
		body, err := insn.Unmarshal(raw)
		if err != nil {
			return
		}
		var m interp.TCMeta
		if len(ctx) >= 16 {
			ne := binary.NativeEndian
			m.Mark, m.CB[0], m.CB[1] = ne.Uint32(ctx), ne.Uint32(ctx[4:]), ne.Uint32(ctx[8:])
			m.QueueMapping, m.TCIndex = ne.Uint16(ctx[12:]), ne.Uint16(ctx[14:])
		}
		is := append(append(insn.Instructions{}, tcPrologue...), body...)
		opts := &interp.Options{MaxInstructions: 20000, Now: func() uint64 { return 1 }, Rand: func() uint32 { return 4 }}
		spec := &prog.Spec{Name: "fuzz", Type: prog.SchedCLS, Instructions: is}
		ivm, vm := loadBoth(t, spec, opts)
		if vm == nil {
			return
		}
		defer vm.Close()
		in := append([]byte(nil), frame...)
		if engine.CheckTCFrame(in, &m) != nil {
			_, _, ierr := ivm.RunTC(in, &m)
			_, _, jerr := vm.RunTC(in, &m)
			if !errors.Is(ierr, interp.ErrContext) || !errors.Is(jerr, interp.ErrContext) {
				t.Fatalf("frame of %d bytes: interp %v, jit %v; want ErrContext", len(in), ierr, jerr)
			}
			return
		}
		wm, gm := m, m
		want, wout, werr := engine.RunTCIn(vm.ivm, vm.slot.Load().env, in, &wm)
		got, gout, gerr := vm.RunTC(in, &gm)
		if !bytes.Equal(in, frame) {
			t.Fatal("RunTC changed its input")
		}
		rn, err := vm.NewRunner()
		if err != nil {
			t.Fatal(err)
		}
		defer rn.Close()
		for k := range 2 {
			rm := m
			rgot, rout, rerr := rn.RunTC(in, &rm)
			if rgot != got || !sameErr(rerr, gerr) || errText(rerr) != errText(gerr) || !bytes.Equal(rout, gout) || rm != gm {
				t.Fatalf("Runner run %d = %#x, %v, % x, %+v; VM.RunTC = %#x, %v, % x, %+v\n%s", k, rgot, rerr, rout, rm, got, gerr, gout, gm, is)
			}
		}
		if errors.Is(werr, interp.ErrBudgetExhausted) || errors.Is(gerr, interp.ErrBudgetExhausted) {
			return
		}
		if got != want || !sameErr(gerr, werr) || !bytes.Equal(gout, wout) || gm != wm {
			t.Fatalf("jit = %#x, %v, % x, %+v; interp = %#x, %v, % x, %+v\n%s", got, gerr, gout, gm, want, werr, wout, wm, is)
		}
	})
}
