package engine

import (
	"testing"

	"github.com/purebpf/purebpf/insn"
)

func TestStackReach(t *testing.T) {
	for _, c := range []struct {
		name string
		is   insn.Instructions
		want uint32
	}{
		{"no stack", insn.Instructions{insn.Mov.Imm(r0, 1), insn.Exit()}, 8}, // one slot at least
		{"store and load through r10", insn.Instructions{
			insn.StoreImm(r10, -16, 7, insn.DW), insn.LoadMem(r0, r10, -12, insn.W), insn.Exit()}, 16},
		{"byte at the bottom", insn.Instructions{insn.LoadMem(r0, r10, -512, insn.B), insn.Exit()}, 512},
		{"below the frame", insn.Instructions{insn.LoadMem(r0, r10, -600, insn.B), insn.Exit()}, StackSize},
		{"r10 copied", insn.Instructions{insn.Mov.Reg(r1, r10), insn.Mov.Imm(r0, 0), insn.Exit()}, StackSize},
		{"r10 stored", insn.Instructions{insn.StoreMem(r10, -8, r10, insn.DW), insn.Mov.Imm(r0, 0), insn.Exit()}, StackSize},
		{"r10 compared", insn.Instructions{insn.Mov.Imm(r0, 0), insn.JEq.Reg(r1, r10, "x"), insn.Exit().WithLabel("x")}, StackSize},
		{"at r10", insn.Instructions{insn.LoadMem(r0, r10, -4, insn.DW), insn.Exit()}, StackSize},
		{"atomic", insn.Instructions{insn.Mov.Imm(r1, 1), insn.Atomic(insn.AtomicAdd, insn.DW, r10, -24, r1), insn.Mov.Imm(r0, 0), insn.Exit()}, 24},
		{"local call", insn.Instructions{insn.CallLocal("f"), insn.Exit(), insn.Mov.Imm(r0, 0).WithLabel("f"), insn.Exit()}, StackSize},
		{"tail call", insn.Instructions{insn.Mov.Imm(r3, 0), insn.Call(int32(insn.FnTailCall)), insn.Mov.Imm(r0, 0), insn.Exit()}, StackSize},
	} {
		vm := mustVM(t, c.is, nil)
		if got := vm.prog.stackDepth; got != c.want {
			t.Errorf("%s: stack depth %d, want %d\n%s", c.name, got, c.want, c.is)
		}
	}
}

// TestStackZeroedEveryRun checks that each run sees a zeroed frame although
// runs zero only what the program can reach: a program reads stack bytes
// before writing them, on the same Env over and over, through r10 and
// through a copy of r10.
func TestStackZeroedEveryRun(t *testing.T) {
	for _, is := range []insn.Instructions{
		{
			insn.LoadMem(r0, r10, -16, insn.DW),
			insn.LoadMem(r1, r10, -3, insn.B), insn.Or.Reg(r0, r1),
			insn.StoreImm(r10, -16, -1, insn.DW), insn.StoreImm(r10, -3, 0x55, insn.B),
			insn.Exit(),
		},
		{
			insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -512),
			insn.LoadMem(r0, r2, 0, insn.DW), insn.LoadMem(r1, r2, 500, insn.W), insn.Or.Reg(r0, r1),
			insn.StoreImm(r2, 0, -1, insn.DW), insn.StoreImm(r2, 500, -1, insn.W),
			insn.Exit(),
		},
	} {
		vm := mustVM(t, is, nil)
		for k := 0; k < 4; k++ {
			if r, err := vm.RunMemory(nil); err != nil || r != 0 {
				t.Fatalf("run %d: %#x, %v; want 0 (stale stack)\n%s", k, r, err, is)
			}
		}
		// Two Envs at once: one is the VM's cached Env, the other comes
		// from its pool; both must start zeroed on reuse.
		for k := 0; k < 3; k++ {
			a, b := vm.AcquireEnv(), vm.AcquireEnv()
			for _, e := range []*Env{a, b} {
				if r, err := e.exec(vm.prog, 0, 0); err != nil || r != 0 {
					t.Fatalf("round %d: %#x, %v; want 0 (stale stack)\n%s", k, r, err, is)
				}
			}
			vm.ReleaseEnv(b)
			vm.ReleaseEnv(a)
		}
	}
}
