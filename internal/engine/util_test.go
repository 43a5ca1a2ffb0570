package engine

import (
	"errors"
	"math"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

type R = insn.Register

const (
	r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10 = insn.R0, insn.R1, insn.R2, insn.R3, insn.R4, insn.R5, insn.R6, insn.R7, insn.R8, insn.R9, insn.R10
)

// mustVM loads a raw-memory program.
func mustVM(t testing.TB, is insn.Instructions, opts *Options) *VM {
	t.Helper()
	vm, err := New(&prog.Spec{Name: "t", Instructions: is}, opts)
	if err != nil {
		t.Fatalf("New: %v\n%s", err, is)
	}
	return vm
}

// run runs a raw-memory program and returns r0.
func run(t testing.TB, mem []byte, is ...insn.Instruction) uint64 {
	t.Helper()
	r0, err := mustVM(t, is, nil).RunMemory(mem)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, insn.Instructions(is))
	}
	return r0
}

// runErr runs a raw-memory program that must fail with target.
func runErr(t testing.TB, target error, mem []byte, is ...insn.Instruction) *RunError {
	t.Helper()
	_, err := mustVM(t, is, nil).RunMemory(mem)
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v\n%s", err, target, insn.Instructions(is))
	}
	var re *RunError
	if !errors.As(err, &re) {
		t.Fatalf("err %v is not a *RunError", err)
	}
	return re
}

// bin computes dst OP src with the given 64-bit operands.
func bin(op insn.ALUOp, is32 bool, dst, src uint64) insn.Instructions {
	f := op.Reg
	if is32 {
		f = op.Reg32
	}
	return insn.Instructions{
		insn.LoadImm64(r0, int64(dst)),
		insn.LoadImm64(r1, int64(src)),
		f(r0, r1),
		insn.Exit(),
	}
}

func binK(op insn.ALUOp, is32 bool, dst uint64, imm int32) insn.Instructions {
	f := op.Imm
	if is32 {
		f = op.Imm32
	}
	return insn.Instructions{
		insn.LoadImm64(r0, int64(dst)),
		f(r0, imm),
		insn.Exit(),
	}
}

const minI64 = uint64(1) << 63

var _ = math.MaxInt32
