//go:build amd64 && linux

package jit

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// Raw tracepoint programs give the kernel's results (BPF_PROG_TEST_RUN
// with the argument array as ctx_in, bpf_prog_test_run_raw_tp) in interp
// and jit. Tracepoint and perf_event programs have no test run in the
// kernel; their contexts are compared between the engines only
// (TestTraceContexts).
func TestRawTracepointKernel(t *testing.T) {
	testenv.RequireRoot(t)
	spec := &prog.Spec{Name: "mix", Type: prog.RawTracePoint, License: "GPL", Instructions: Instructions{
		LoadMem(R2, R1, 0, DW),
		LoadMem(R3, R1, 8, DW),
		LoadMem(R4, R1, 16, DW),
		LoadMem(R5, R1, 24, DW),
		Mov.Reg(R0, R2),
		Mul.Imm(R0, 3),
		RSh.Imm(R3, 5),
		Xor.Reg(R0, R3),
		Add.Reg(R0, R4),
		JGT.Reg(R4, R5, "big"),
		Sub.Reg(R0, R5),
		Ja("out"),
		Add.Imm(R0, 1).WithLabel("big"),
		Mov.Reg(R6, R5).WithLabel("out"),
		ArSh.Imm(R6, 7),
		Xor.Reg(R0, R6),
		Exit(),
	}}
	kp, err := prog.NewProgram(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kp.Close()
	ivm, err := interp.New(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := New(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	rng := rand.New(rand.NewPCG(15, 1))
	ctx := make([]byte, 32)
	for n := range 2000 {
		args := []uint64{rng.Uint64(), rng.Uint64(), rng.Uint64() >> rng.IntN(64), rng.Uint64() >> rng.IntN(64)}
		if n%7 == 0 {
			args[3] = args[2]
		}
		for k, a := range args {
			binary.LittleEndian.PutUint64(ctx[8*k:], a)
		}
		res, err := kp.Run(&prog.RunOptions{Context: ctx})
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]tracer{"interp": ivm, "jit": vm} {
			got, err := r.RunRawTracepoint(args)
			// The test run reports the low 32 bits of r0.
			if err != nil || uint32(got) != res.Retval {
				t.Fatalf("%s(%#x) = %#x, %v; kernel %#x", name, args, got, err, res.Retval)
			}
		}
	}
}
