package jit

import (
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// Compiled code has no callbacks: a callback handle it makes up (an
// LD_IMM64 of the value interp's function address loads give) reaches
// no subprogram through bpf_loop and no memory, in checked and unchecked
// code alike.
func TestCallbackHandleForgedCompiled(t *testing.T) {
	h := int64(engine.CallbackHandle(6))
	for _, is := range []insn.Instructions{
		{insn.Mov.Imm(insn.R1, 1), insn.LoadImm64(insn.R2, h), insn.Mov.Imm(insn.R3, 0), insn.Mov.Imm(insn.R4, 0),
			insn.Call(int32(insn.FnLoop)), insn.Exit(), insn.Mov.Imm(insn.R0, 0), insn.Exit()},
		{insn.LoadImm64(insn.R1, h), insn.LoadMem(insn.R0, insn.R1, 0, insn.B), insn.Exit()},
	} {
		vm, err := New(&prog.Spec{Name: "forged", Instructions: is}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := vm.RunMemory(nil); !errors.Is(err, interp.ErrMemoryAccess) {
			t.Errorf("%s: %v, want a memory access error", is, err)
		}
		vm.Close()
	}
	// A real function address load: ErrCallbacks, or interp with Fallback.
	fn := insn.Instructions{
		insn.Mov.Imm(insn.R1, 4),
		{OpCode: insn.OpLdImm64, Dst: insn.R2, Src: insn.Register(insn.PseudoFunc), Ref: "cb"},
		insn.Mov.Imm(insn.R3, 0), insn.Mov.Imm(insn.R4, 0),
		insn.Call(int32(insn.FnLoop)), insn.Exit(),
		insn.Mov.Imm(insn.R0, 0).WithLabel("cb"), insn.Exit(),
	}
	spec := &prog.Spec{Name: "loop", Instructions: fn}
	if _, err := New(spec, nil); !errors.Is(err, ErrCallbacks) || !errors.Is(err, ErrNotSupported) {
		t.Fatalf("New: %v, want ErrCallbacks", err)
	}
	vm, err := New(spec, &Options{Fallback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	if got, err := vm.RunMemory(nil); err != nil || got != 4 || vm.Compiled() {
		t.Errorf("Fallback: %d, %v, compiled %v; want 4 from interp", got, err, vm.Compiled())
	}
}
