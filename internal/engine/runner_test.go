package engine

import (
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
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

// TestRunnerRebind runs programs through one Runner run after run with
// contexts that change in every way a kept binding must follow (memory
// that appears, disappears, moves and changes size; packets and metadata;
// pt_regs), with runs in between that cannot keep their binding (an error,
// a packet load past the end): every run must give what the VM's method
// gives on the same input.
func TestRunnerRebind(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		// r0 = r2 + (r2 > 0 ? mem[r2-1] : 0), and mem[0]++ when r2 > 2.
		vm := mustVM(t, insn.Instructions{
			insn.Mov.Reg(r0, r2),
			insn.JEq.Imm(r2, 0, "out"),
			insn.Mov.Reg(r3, r1),
			insn.Add.Reg(r3, r2),
			insn.LoadMem(r4, r3, -1, insn.B),
			insn.Add.Reg(r0, r4),
			insn.JLE.Imm(r2, 2, "out"),
			insn.LoadMem(r4, r1, 0, insn.B),
			insn.Add.Imm(r4, 1),
			insn.StoreMem(r1, 0, r4, insn.B),
			insn.Exit().WithLabel("out"),
		}, nil)
		rn, _ := vm.NewRunner()
		defer rn.Close()
		for k, n := range []int{0, 3, 3, 0, 1, 5, 2, 0, 0, 7} {
			a, b := make([]byte, n), make([]byte, n)
			for j := range a {
				a[j], b[j] = byte(k+j), byte(k+j)
			}
			want, werr := vm.RunMemory(a)
			got, gerr := rn.RunMemory(b)
			if got != want || (werr == nil) != (gerr == nil) || string(a) != string(b) {
				t.Fatalf("run %d (len %d): Runner %d, %v, mem %v; VM %d, %v, mem %v", k, n, got, gerr, b, want, werr, a)
			}
		}
	})
	t.Run("socket_filter", func(t *testing.T) {
		// r0 = skb->len + skb->mark + pkt[1], reading the context before
		// the packet; a packet shorter than 2 bytes ends the run with 0.
		vm := sfVM(t, nil,
			insn.Mov.Reg(r6, r1),
			insn.JEq.Imm(r6, 0, "ctx"),
			insn.LoadMem(r7, r6, 0, insn.W).WithLabel("ctx"),
			insn.LoadMem(r8, r6, 8, insn.W),
			insn.LoadAbs(1, insn.B),
			insn.Add.Reg(r0, r7),
			insn.Add.Reg(r0, r8),
			insn.Exit(),
		)
		rn, _ := vm.NewRunner()
		defer rn.Close()
		for k, n := range []int{4, 4, 1, 9, 0, 3, 3} {
			pkt := make([]byte, n)
			for j := range pkt {
				pkt[j] = byte(10*k + j)
			}
			var meta *SKBMeta
			if k%3 != 0 {
				meta = &SKBMeta{Mark: uint32(100 * k), Len: uint32(k % 2 * 50)}
			}
			want, werr := vm.RunSocketFilter(pkt, meta)
			got, gerr := rn.RunSocketFilter(pkt, meta)
			if got != want || werr != nil || gerr != nil {
				t.Fatalf("run %d: Runner %d, %v; VM %d, %v", k, got, gerr, want, werr)
			}
		}
	})
	t.Run("kprobe", func(t *testing.T) {
		vm, err := New(&prog.Spec{Type: prog.Kprobe, Instructions: insn.Instructions{
			insn.LoadMem(r0, r1, 8*14, insn.DW), // di
			insn.JNE.Imm(r0, 7, "ok"),
			insn.LoadMem(r0, r1, 200, insn.DW), // past pt_regs: an error
			insn.Exit().WithLabel("ok"),
		}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rn, _ := vm.NewRunner()
		defer rn.Close()
		for k, di := range []uint64{1, 2, 7, 3, 7, 7, 4} {
			regs := &PtRegs{DI: di}
			want, werr := vm.RunKprobe(regs)
			got, gerr := rn.RunKprobe(regs)
			if got != want || (werr == nil) != (gerr == nil) || (werr != nil && !errors.Is(gerr, ErrMemoryAccess)) {
				t.Fatalf("run %d: Runner %d, %v; VM %d, %v", k, got, gerr, want, werr)
			}
		}
	})
}

// TestRunnerTracedAbort: a traced Runner's run that ends at an LD_ABS past
// the packet (which the fast loop ends itself) must leave the Env for
// exec, not for a rerun that would skip the tracer: every run reports
// every instruction it executes.
func TestRunnerTracedAbort(t *testing.T) {
	steps := 0
	vm := mustVM(t, insn.Instructions{
		insn.Mov.Reg(r6, r1),
		insn.LoadAbs(100, insn.W),
		insn.Exit(),
	}, &Options{Trace: func(pc int, _ insn.Instruction, _ *[11]uint64) {
		if pc >= 0 {
			steps++
		}
	}})
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	for k := range 3 {
		steps = 0
		if r0, err := rn.RunMemory(make([]byte, 8)); r0 != 0 || err != nil {
			t.Fatalf("run %d: %d, %v", k, r0, err)
		}
		if steps != 2 {
			t.Fatalf("run %d: the tracer saw %d instructions, want 2", k, steps)
		}
	}
}
