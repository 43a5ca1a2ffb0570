//go:build amd64 && unix

package jit

import (
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

func newRunnerT(t *testing.T, vm *VM) *Runner {
	t.Helper()
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rn.Close() })
	return rn
}

// TestRunnerStackDoesNotLeak runs programs that read stack slots before
// writing them, in the main frame and in a bpf-to-bpf callee, through one
// Runner again and again: every run must read zeros, as every VM run does.
func TestRunnerStackDoesNotLeak(t *testing.T) {
	is := insn.Instructions{
		insn.LoadMem(insn.R6, insn.R10, -8, insn.DW),
		insn.StoreImm(insn.R10, -8, 0x1234, insn.DW),
		insn.CallLocal("f"),
		insn.Add.Reg(insn.R0, insn.R6),
		insn.Exit(),
		// f: read its own frame through a computed pointer, then dirty it.
		insn.Mov.Reg(insn.R1, insn.R10).WithLabel("f"),
		insn.Add.Imm(insn.R1, -16),
		insn.LoadMem(insn.R0, insn.R1, 0, insn.DW),
		insn.StoreImm(insn.R1, 0, 0x99, insn.DW),
		insn.Exit(),
	}
	for _, unchecked := range []bool{false, true} {
		vm, err := New(&prog.Spec{Type: prog.UnspecifiedProgram, Instructions: is}, &Options{Unchecked: unchecked})
		if err != nil {
			t.Fatal(err)
		}
		defer vm.Close()
		rn := newRunnerT(t, vm)
		for k := range 5 {
			if r, err := rn.RunMemory(nil); r != 0 || err != nil {
				t.Fatalf("unchecked=%v run %d: r0 = %#x, %v; want 0 (stack left over from an earlier run)", unchecked, k, r, err)
			}
		}
	}
}

// TestRunnerCachedRegions makes a run end at depth 1 with an LD_ABS abort
// after a checked access cached the callee's stack region, and then runs a
// store below the main frame on the same memory: the store must fail as in
// interp, not pass through the stale cache. It also switches between two
// buffers, so that the memory region of an earlier run is never reachable.
func TestRunnerCachedRegions(t *testing.T) {
	is := insn.Instructions{
		insn.LoadMem(insn.R3, insn.R1, 0, insn.B),
		insn.JEq.Imm(insn.R3, 1, "deep"),
		// mem[0] != 1: store 8 bytes below the main frame.
		insn.Mov.Reg(insn.R4, insn.R10),
		insn.Add.Imm(insn.R4, -520),
		insn.StoreImm(insn.R4, 0, 7, insn.DW),
		insn.Mov.Imm(insn.R0, 2),
		insn.Exit(),
		insn.CallLocal("f").WithLabel("deep"),
		insn.Exit(),
		// f: a checked stack store, then an LD_ABS past the end aborts.
		insn.Mov.Reg(insn.R7, insn.R10).WithLabel("f"),
		insn.Add.Imm(insn.R7, -8),
		insn.StoreImm(insn.R7, 0, 1, insn.DW),
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.LoadAbs(1000, insn.W),
		insn.Exit(),
	}
	spec := &prog.Spec{Type: prog.UnspecifiedProgram, Instructions: is}
	vm, err := New(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	rn := newRunnerT(t, vm)
	a, b := make([]byte, 16), make([]byte, 16)
	for k, step := range []struct {
		mem   []byte
		first byte
	}{{a, 1}, {a, 0}, {a, 1}, {b, 0}, {a, 1}, {b, 1}, {b, 0}} {
		step.mem[0] = step.first
		want, werr := engine.RunMemoryIn(vm.ivm, rn.r.env, step.mem) // the same stack
		got, gerr := rn.RunMemory(step.mem)
		if got != want || !sameErr(gerr, werr) {
			t.Fatalf("step %d: Runner = %#x, %v; interp = %#x, %v", k, got, gerr, want, werr)
		}
		if step.first == 0 && !errors.Is(gerr, interp.ErrMemoryAccess) {
			t.Fatalf("step %d: a store below the frame gave %#x, %v; want a memory access error", k, got, gerr)
		}
	}
}

// TestRunnerMisuse checks the errors of a closed Runner and of Runners of
// closed VMs, and of a Runner on a program that does not take raw memory.
func TestRunnerMisuse(t *testing.T) {
	is := insn.Instructions{insn.Mov.Imm(insn.R0, 1), insn.Exit()}
	vm, err := New(&prog.Spec{Type: prog.UnspecifiedProgram, Instructions: is}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	if r, err := rn.RunMemory(nil); r != 1 || err != nil {
		t.Fatalf("r0 = %d, %v", r, err)
	}
	if err := rn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rn.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := rn.RunMemory(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("run after Close: %v; want ErrClosed", err)
	}
	// A Runner that outlives its VM's code.
	rn2, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn2.Close()
	for range 2 { // the second run takes the short path (run.quickMem)
		if r, err := rn2.RunMemory(nil); r != 1 || err != nil {
			t.Fatalf("r0 = %d, %v", r, err)
		}
	}
	vm.Close()
	if _, err := rn2.RunMemory(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Runner run after VM.Close: %v; want ErrClosed", err)
	}
	if _, err := vm.RunMemory(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("VM.RunMemory after Close: %v; want ErrClosed", err)
	}
	if _, err := vm.NewRunner(); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewRunner after Close: %v; want ErrClosed", err)
	}

	// A socket filter: the Runner gives VM.RunMemory's error.
	sf, err := New(&prog.Spec{Type: prog.SocketFilter, License: "GPL", Instructions: is}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	srn := newRunnerT(t, sf)
	_, want := sf.RunMemory(nil)
	_, got := srn.RunMemory(nil)
	if want == nil || got == nil || got.Error() != want.Error() || !errors.Is(got, interp.ErrContext) {
		t.Fatalf("Runner on a socket filter: %v; VM.RunMemory: %v", got, want)
	}
	// A socket filter's Runner, its short path armed (run.quickSKB),
	// after its VM's Close.
	for range 2 {
		if r, err := srn.RunSocketFilter(make([]byte, 14), nil); r != 1 || err != nil {
			t.Fatalf("socket filter: r0 = %d, %v", r, err)
		}
	}
	sf.Close()
	if _, err := srn.RunSocketFilter(make([]byte, 14), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("socket-filter Runner run after VM.Close: %v; want ErrClosed", err)
	}
}

// TestRunnerInterp checks a Runner of a VM that runs in interp (what
// Options.Fallback gives when the program cannot be compiled).
func TestRunnerInterp(t *testing.T) {
	is := insn.Instructions{
		insn.LoadMem(insn.R0, insn.R10, -8, insn.DW),
		insn.StoreImm(insn.R10, -8, 5, insn.DW),
		insn.LoadMem(insn.R3, insn.R1, 0, insn.B),
		insn.Add.Reg(insn.R0, insn.R3),
		insn.Exit(),
	}
	ivm, err := interp.New(&prog.Spec{Type: prog.UnspecifiedProgram, Instructions: is}, nil)
	if err != nil {
		t.Fatal(err)
	}
	vm := &VM{ivm: engine.HandleVM(ivm), pub: ivm, typ: prog.UnspecifiedProgram}
	rn := newRunnerT(t, vm)
	for k := range 3 {
		if r, err := rn.RunMemory([]byte{byte(k)}); r != uint64(k) || err != nil {
			t.Fatalf("run %d: %d, %v", k, r, err)
		}
	}
	if _, err := rn.RunMemory(nil); !errors.Is(err, interp.ErrMemoryAccess) {
		t.Fatalf("empty memory: %v; want a memory access error", err)
	}
	rn.Close()
	if _, err := rn.RunMemory([]byte{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestRunnerZeroAllocs checks that a Runner's runs allocate nothing, with
// and without exits to Go.
func TestRunnerZeroAllocs(t *testing.T) {
	is := insn.Instructions{
		insn.LoadMem(insn.R0, insn.R1, 0, insn.B),
		insn.Call(int32(insn.FnGetSMPProcessorID)),
		insn.Exit(),
	}
	vm, err := New(&prog.Spec{Type: prog.UnspecifiedProgram, Instructions: is}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	rn := newRunnerT(t, vm)
	mem := make([]byte, 8)
	rn.RunMemory(mem)
	if n := testing.AllocsPerRun(100, func() { rn.RunMemory(mem) }); n != 0 {
		t.Errorf("Runner.RunMemory allocates %.1f times per run", n)
	}
}

// TestRunnerPacketZeroAllocs checks that a Runner's XDP and tc runs
// allocate nothing (their output packet is a view of the Runner's buffer)
// and that the output of a run is overwritten by the next one, as the
// Runner's docs say, while VM runs return copies.
func TestRunnerPacketZeroAllocs(t *testing.T) {
	// Write the frame's byte 14 over its first byte, with a helper call
	// (an exit to Go) in between, and pass.
	for _, typ := range []prog.Type{prog.XDP, prog.SchedCLS} {
		dataOff := int16(0)
		if typ == prog.SchedCLS {
			dataOff = 76 // __sk_buff data
		}
		is := insn.Instructions{
			insn.Mov.Reg(insn.R6, insn.R1),
			insn.Call(int32(insn.FnGetSMPProcessorID)),
			insn.LoadMem(insn.R2, insn.R6, dataOff, insn.W),
			insn.LoadMem(insn.R3, insn.R6, dataOff+4, insn.W),
			insn.Mov.Reg(insn.R4, insn.R2),
			insn.Add.Imm(insn.R4, 15),
			insn.JGT.Reg(insn.R4, insn.R3, "out"),
			insn.LoadMem(insn.R5, insn.R2, 14, insn.B),
			insn.StoreMem(insn.R2, 0, insn.R5, insn.B),
			insn.Mov.Imm(insn.R0, 2).WithLabel("out"), // XDP_PASS; TC_ACT_SHOT is as good here
			insn.Exit(),
		}
		vm, err := New(&prog.Spec{Type: typ, Instructions: is}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer vm.Close()
		rn := newRunnerT(t, vm)
		run := func(f []byte) []byte {
			var out []byte
			var err error
			if typ == prog.XDP {
				_, out, err = rn.RunXDP(f, nil)
			} else {
				_, out, err = rn.RunTC(f, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		a, b := make([]byte, 60), make([]byte, 60)
		a[12], a[13], a[14] = 0x88, 0xb5, 7
		b[12], b[13], b[14] = 0x88, 0xb5, 9
		out := run(a)
		if out[0] != 7 {
			t.Fatalf("%v: output byte 0 = %d, want 7", typ, out[0])
		}
		run(b)
		if out[0] != 9 {
			t.Errorf("%v: the first run's output (a view) was not overwritten by the next run: %d", typ, out[0])
		}
		if n := testing.AllocsPerRun(100, func() { run(a) }); n != 0 {
			t.Errorf("%v: Runner run allocates %.1f times", typ, n)
		}
		var vout []byte
		if typ == prog.XDP {
			_, vout, _ = vm.RunXDP(a, nil)
			vm.RunXDP(b, nil)
		} else {
			_, vout, _ = vm.RunTC(a, nil)
			vm.RunTC(b, nil)
		}
		if vout[0] != 7 {
			t.Errorf("%v: a VM run's output changed after another run", typ)
		}
	}
}
