//go:build amd64 && unix

package jit

import (
	"errors"
	"math/rand/v2"
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
	// Programs of ALU operations and jumps that need no context, which
	// FuzzDiff also compares with the kernel (kernelDiff).
	rng := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		if raw, err := genALU(rng, 30, true).Marshal(); err == nil {
			f.Add(raw, []byte(nil))
		}
	}
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
	// All three engines run in the JIT VM's own Env (the same stack
	// address) on the same buffer: programs may compute with addresses.
	_, vm := loadBoth(t, spec, opts)
	if vm == nil {
		return
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
	kernelDiff(t, is)
}

// kernelDiff is FuzzDiff's comparison with the kernel, where the test may
// load programs (root): a program that sees nothing a raw-memory run and a
// socket filter see differently (contextFree) runs as a socket filter in
// the kernel through BPF_PROG_TEST_RUN if the verifier accepts it, and in
// interp and the jit Runner on no memory; the verdicts (r0's low half, a
// u32 in the kernel) must be equal. The program runs after a prologue that
// zeroes its 512-byte stack frame, because a privileged program may read
// stack bytes it never wrote (allow_uninit_stack), which hold garbage in
// the kernel and zeros here.
func kernelDiff(t *testing.T, is insn.Instructions) {
	if !isRoot() || !contextFree(is) || hasBackwardJump(is) {
		return
	}
	var full insn.Instructions
	for off := -8; off >= -engine.StackSize; off -= 8 {
		full = append(full, insn.StoreImm(insn.R10, int16(off), 0, insn.DW))
	}
	full = append(full, is...)
	kp, err := prog.NewProgram(&prog.Spec{Name: "fuzzk", Type: prog.SocketFilter, License: "GPL", Instructions: full}, nil)
	if err != nil {
		return // the verifier refuses it
	}
	defer kp.Close()
	res, err := kp.Run(&prog.RunOptions{Data: make([]byte, 64)})
	if err != nil {
		t.Fatalf("kernel test run: %v\n%s", err, is)
	}
	// The verifier accepts bounded loops of up to a million instructions.
	opts := &interp.Options{MaxInstructions: 1 << 22}
	spec := &prog.Spec{Name: "fuzzk", Type: prog.UnspecifiedProgram, Instructions: full}
	ivm, err := interp.New(spec, opts)
	if err != nil {
		t.Fatalf("interp refuses what the kernel accepts: %v\n%s", err, is)
	}
	want, werr := ivm.RunMemory(nil)
	if errors.Is(werr, interp.ErrBudgetExhausted) {
		return
	}
	if werr != nil || uint32(want) != res.Retval {
		t.Fatalf("interp = %#x, %v; kernel = %#x\n%s", want, werr, res.Retval, is)
	}
	vm, err := New(spec, &Options{Interp: opts})
	if err != nil {
		t.Fatalf("jit refuses what the kernel accepts: %v\n%s", err, is)
	}
	defer vm.Close()
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	if got, err := rn.RunMemory(nil); err != nil || uint32(got) != res.Retval {
		t.Fatalf("jit Runner = %#x, %v; kernel = %#x\n%s", got, err, res.Retval, is)
	}
}

// contextFree reports whether is sees nothing that differs between a
// raw-memory run in interp and a socket-filter run in the kernel: it names
// neither r1 (the context or memory) nor r10 other than as the base
// address of a load or store (the stack's address differs), and makes no
// calls or callx (helpers see r1; bpf-to-bpf calls are left out with
// them) and no
// packet loads (LD_ABS, LD_IND) or map loads.
//
// r1 may be used after the program overwrote it with a constant in the
// straight-line code it starts with (r1free), as generated programs do.
func contextFree(is insn.Instructions) bool {
	free := r1free(is)
	for _, in := range is {
		op := in.OpCode
		if op.Class() == insn.ClassJmp && op&0xf0 == 0x80 || op.Class() == insn.ClassLd && (op.Mode() != insn.ModeImm || in.Src != 0) {
			return false
		}
		if !free && (in.Dst == insn.R1 || in.Src == insn.R1) {
			return false
		}
		base := op.Class() == insn.ClassLdX && in.Src == insn.R10 ||
			(op.Class() == insn.ClassSt || op.Class() == insn.ClassStX) && in.Dst == insn.R10 && in.Src != insn.R10
		if !base && (in.Dst == insn.R10 || in.Src == insn.R10) {
			return false
		}
	}
	return true
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

// r1free reports whether is sets r1 to a constant (mov r1, K or a plain
// LD_IMM64) before any jump, exit or other use of r1: every path to the
// rest of the program then passes that write.
func r1free(is insn.Instructions) bool {
	for _, in := range is {
		op := in.OpCode
		if c := op.Class(); c == insn.ClassJmp || c == insn.ClassJmp32 {
			return false
		}
		if in.Dst != insn.R1 && in.Src != insn.R1 {
			continue
		}
		movK := (op.Class() == insn.ClassALU64 || op.Class() == insn.ClassALU) && op&0xf8 == 0xb0 && in.Offset == 0
		return in.Dst == insn.R1 && in.Src == 0 && (movK || op == insn.OpLdImm64)
	}
	return false
}

// loadBoth loads spec in interp and in the JIT, fails t if only one of
// them refuses it, and returns the interp VM and a JIT VM compiled from it
// (sharing its Env), or nils if both refuse the program.
func loadBoth(t *testing.T, spec *prog.Spec, opts *interp.Options) (*interp.VM, *VM) {
	t.Helper()
	ivm, ierr := interp.New(spec, opts)
	jvm, jerr := New(spec, &Options{Interp: opts})
	if jerr == nil {
		jvm.Close()
	}
	if ierr == nil && errors.Is(jerr, ErrCallbacks) {
		return nil, nil // interp only: the JIT does not compile callbacks
	}
	if (ierr == nil) != (jerr == nil) {
		t.Fatalf("load: interp %v, jit %v\n%s", ierr, jerr, spec.Instructions)
	}
	if ierr != nil {
		return nil, nil
	}
	vm, err := (&VM{opts: Options{Interp: opts}}).compile(ivm)
	if err != nil {
		t.Fatal(err)
	}
	return ivm, vm
}

// hasBackwardJump reports whether is jumps backwards. The kernel
// comparison leaves loops out: the verifier can spend seconds exploring
// one before it refuses it, and the fuzzer then reports a hang (an input
// took 21 s). interp and the JIT still compare loops with each other.
func hasBackwardJump(is insn.Instructions) bool {
	for _, in := range is {
		if c := in.OpCode.Class(); (c == insn.ClassJmp || c == insn.ClassJmp32) && in.Offset < 0 {
			return true
		}
	}
	return false
}
