//go:build amd64 && unix

package jit

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackCallxNumbers calls through callx with hostile numbers in a
// program that also calls a registered kfunc: the number a kfunc call
// became (1<<30), numbers past the kfunc table, numbers whose low 32
// bits name a helper, negative numbers, and ordinary helpers. interp,
// the JIT and a JIT Runner must give the same results and errors.
func TestAttackCallxNumbers(t *testing.T) {
	kcall := Instruction{OpCode: OpCall, Src: 2, Ref: "test_kfunc"}
	is := Instructions{
		Mov.Reg(R7, R1),
		Mov.Imm(R1, 5),
		kcall,
		Mov.Reg(R6, R0),
		LoadMem(R8, R7, 0, DW),
		Mov.Imm(R1, 7),
		Mov.Imm(R2, 0),
		CallX(R8),
		Add.Reg(R0, R6),
		Exit(),
	}
	opts := &interp.Options{
		Now: func() uint64 { return 77 },
		Kfuncs: map[string]interp.Helper{"test_kfunc": func(_ *interp.Env, r1, _, _, _, _ uint64) (uint64, error) {
			return r1 + 1000, nil
		}},
	}
	spec := &prog.Spec{Name: "callx", Type: prog.UnspecifiedProgram, Instructions: is}
	ivm, vm, _, rn := attackEngines(t, spec, opts)
	for _, num := range []uint64{1 << 30, 1<<30 + 1, 1<<30 - 1, 1 << 31, 1<<32 + 5, 1<<32 + 1<<30, ^uint64(0), ^uint64(0) - 1<<30 + 1, 0, 5, 1<<16 + 5, uint64(FnTailCall)} {
		mem := make([]byte, 8)
		binary.NativeEndian.PutUint64(mem, num)
		want, werr := ivm.RunMemory(mem)
		got, gerr := vm.RunMemory(mem)
		rg, rerr := rn.RunMemory(mem)
		if got != want || rg != want || !sameErr(gerr, werr) || !sameErr(rerr, werr) || errText(gerr) != errText(werr) {
			t.Errorf("callx %#x: interp %#x, %v; jit %#x, %v; Runner %#x, %v", num, want, werr, got, gerr, rg, rerr)
		}
		if num >= 1<<30 && num < 1<<31 && !errors.Is(werr, interp.ErrUnknownHelper) {
			t.Errorf("callx %#x: %#x, %v; want an unknown helper (a callx reaches helpers, not kfuncs)", num, want, werr)
		}
		if int64(num) != int64(int32(num)) && werr != nil && strings.Contains(werr.Error(), "("+HelperFunc(int32(num)).String()+")") {
			t.Errorf("callx %#x: the error names helper %s, which was not called: %v", num, HelperFunc(int32(num)), werr)
		}
	}
}
