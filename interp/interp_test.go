package interp_test

import (
	"errors"
	"os"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// TestTailCallTargets runs tail calls through a program array holding
// each kind of program handle: an *interp.VM, a *jit.VM (interp runs its
// program), and a closed *jit.VM, which is an empty slot as in the JIT.
func TestTailCallTargets(t *testing.T) {
	jmp, err := maps.New(prog.MapSpec{Name: "jmp", Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms := jmp.MapSpec()
	opts := &interp.Options{Maps: map[string]maps.Map{"jmp": jmp}}
	caller, err := interp.New(&prog.Spec{Name: "caller", Maps: []*prog.MapSpec{&ms}, Instructions: insn.Instructions{
		insn.LoadMapPtr(insn.R2, "jmp"),
		insn.LoadImm64(insn.R3, 1<<32), // index 0: the low 32 bits
		insn.Call(int32(insn.FnTailCall)),
		insn.Mov.Imm(insn.R0, 99),
		insn.Exit(),
	}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	target := &prog.Spec{Name: "target", Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 7), insn.Exit()}}
	ivm, err := interp.New(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	jvm, err := jit.New(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	closed, err := jit.New(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	pa := jmp.(*maps.ProgArray)
	for _, c := range []struct {
		name   string
		handle any
		want   uint64
	}{{"*interp.VM", ivm, 7}, {"*jit.VM", jvm, 7}, {"closed *jit.VM", closed, 99}, {"nil", nil, 99}} {
		pa.SetProgram(0, c.handle)
		var engines []interp.Program = []interp.Program{caller}
		if jc, err := jit.New(caller.Spec(), &jit.Options{Interp: opts}); err == nil {
			defer jc.Close()
			engines = append(engines, jc)
		} else {
			t.Fatal(err)
		}
		for k, p := range engines {
			if got, err := p.RunMemory(nil); got != c.want || err != nil {
				t.Errorf("%s, engine %d: %d, %v; want %d", c.name, k, got, err, c.want)
			}
		}
	}
}

func TestErrClosedIsOSErrClosed(t *testing.T) {
	vm, err := interp.LoadBytes([]byte{0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	rn, _ := vm.NewRunner()
	rn.Close()
	if _, err := rn.RunMemory(nil); !errors.Is(err, os.ErrClosed) || !errors.Is(err, interp.ErrClosed) {
		t.Fatalf("closed Runner: %v, want os.ErrClosed", err)
	}
}
