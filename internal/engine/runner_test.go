package engine

import (
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

// TestRunner runs a program that reads a stack slot before writing it and
// stores into its memory through a Runner: every run must match
// VM.RunMemory (zeroed stack, same memory effects), a closed Runner must
// fail with ErrClosed, and runs must not allocate.
func TestRunner(t *testing.T) {
	vm := mustVM(t, insn.Instructions{
		insn.LoadMem(r0, r10, -8, insn.DW),
		insn.StoreImm(r10, -8, 3, insn.DW),
		insn.LoadMem(r3, r1, 0, insn.B),
		insn.Add.Imm(r3, 1),
		insn.StoreMem(r1, 0, r3, insn.B),
		insn.Add.Reg(r0, r3),
		insn.Exit(),
	}, nil)
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	a, b := []byte{5}, []byte{5}
	for k := range 3 {
		want, werr := vm.RunMemory(a)
		got, gerr := rn.RunMemory(b)
		if got != want || werr != nil || gerr != nil || a[0] != b[0] {
			t.Fatalf("run %d: Runner %d, %v, mem %d; VM %d, %v, mem %d", k, got, gerr, b[0], want, werr, a[0])
		}
	}
	_, werr := vm.RunMemory(nil)
	_, gerr := rn.RunMemory(nil)
	if !errors.Is(gerr, ErrMemoryAccess) || gerr.Error() != werr.Error() {
		t.Fatalf("empty memory: Runner %v; VM %v", gerr, werr)
	}
	if n := testing.AllocsPerRun(100, func() { rn.RunMemory(b) }); n != 0 {
		t.Errorf("Runner.RunMemory allocates %.1f times per run", n)
	}
	if err := rn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rn.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := rn.RunMemory(b); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v; want ErrClosed", err)
	}
}
