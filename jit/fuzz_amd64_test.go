//go:build amd64 && unix

package jit

import (
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/conformance"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// FuzzDiff compiles arbitrary bytecode and runs it on arbitrary memory in
// interp, in the JIT (checked mode) and in a JIT Runner: load errors,
// results, run errors (compared by sentinel and pc, see sameErr) and the
// final memory must be equal. A budget error on either side of the
// interp/JIT comparison only requires that the other side did not return
// a different result or error while the budgets differ in how they count
// (see the package doc); the Runner must match VM.RunMemory exactly.
// FuzzDiffCalls (fuzzcalls_amd64_test.go) extends it to tail calls,
// calls, maps, helpers and garbage collections across programs.
func FuzzDiff(f *testing.F) {
	if dir := conformance.Dir(); dir != "" {
		if tests, err := conformance.Load(dir); err == nil {
			for _, tc := range tests {
				f.Add(tc.Program, tc.Memory)
			}
		}
	}
	f.Add([]byte{0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0}, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, raw, mem []byte) {
		if len(raw) > 8*256 || len(mem) > 512 {
			return
		}
		is, err := insn.Unmarshal(raw)
		if err != nil {
			return
		}
		diffRun(t, is, mem)
	})
}

func diffRun(t *testing.T, is insn.Instructions, mem []byte) {
	t.Helper()
	opts := &interp.Options{MaxInstructions: 20000, Helpers: unwindHelpers(), Now: func() uint64 { return 1 }, Rand: func() uint32 { return 4 }}
	spec := &prog.Spec{Name: "fuzz", Type: prog.UnspecifiedProgram, Instructions: is}
	ivm, ierr := interp.New(spec, opts)
	_, jerr := New(spec, &Options{Interp: opts})
	if (ierr == nil) != (jerr == nil) {
		t.Fatalf("load: interp %v, jit %v\n%s", ierr, jerr, is)
	}
	if ierr != nil {
		return
	}
	// All three engines run in the JIT VM's own Env (the same stack
	// address) on the same buffer: programs may compute with addresses.
	vm, err := (&VM{opts: Options{Interp: opts}}).compile(ivm)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	buf := make([]byte, len(mem))
	copy(buf, mem)
	want, werr := interpInSlot(vm, buf)
	imem := append([]byte(nil), buf...)
	copy(buf, mem)
	got, gerr := vm.RunMemory(buf)
	jmem := append([]byte(nil), buf...)
	// The third engine: a Runner, which borrows the same idle Env (and
	// stack address) the runs above used. Its runs count the budget as
	// VM.RunMemory does, so they must agree exactly, and twice in a row
	// (nothing leaks from one run into the next).
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	for k := range 2 {
		copy(buf, mem)
		rgot, rerr := rn.RunMemory(buf)
		if rgot != got || !sameErr(rerr, gerr) || errText(rerr) != errText(gerr) {
			t.Fatalf("Runner run %d = %#x, %v; VM.RunMemory = %#x, %v\n%s", k, rgot, rerr, got, gerr, is)
		}
		if string(buf) != string(jmem) {
			t.Fatalf("Runner run %d: memory % x; VM.RunMemory % x\n%s", k, buf, jmem, is)
		}
	}
	if errors.Is(werr, interp.ErrBudgetExhausted) || errors.Is(gerr, interp.ErrBudgetExhausted) {
		return
	}
	if got != want || !sameErr(gerr, werr) {
		t.Fatalf("jit = %#x, %v; interp = %#x, %v\n%s", got, gerr, want, werr, is)
	}
	if string(imem) != string(jmem) {
		t.Fatalf("memory: jit % x; interp % x\n%s", jmem, imem, is)
	}
}

// sentinels are the causes a run error can wrap.
var sentinels = []error{interp.ErrMemoryAccess, interp.ErrBudgetExhausted, interp.ErrCallDepth,
	interp.ErrUnknownHelper, interp.ErrContext, interp.ErrHelper, interp.ErrHalt, interp.ErrLoad}

// sameErr reports whether two run errors mean the same: both nil, or both
// *interp.RunError at the same pc wrapping the same sentinels. Texts are
// not compared: they name host addresses, which differ between runs (the
// stack of a pooled Env, the race detector's allocations), and helper
// names that the two engines spell differently.
func sameErr(a, b error) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	var ra, rb *interp.RunError
	if !errors.As(a, &ra) || !errors.As(b, &rb) || ra.PC != rb.PC {
		return false
	}
	for _, s := range sentinels {
		if errors.Is(a, s) != errors.Is(b, s) {
			return false
		}
	}
	return true
}

// interpInSlot runs vm's program in interp in the Env of vm's own run
// state, which VM runs and the first Runner use too.
func interpInSlot(vm *VM, mem []byte) (uint64, error) {
	r := vm.slot.Load()
	return engine.RunMemoryIn(vm.ivm, r.env, mem)
}
