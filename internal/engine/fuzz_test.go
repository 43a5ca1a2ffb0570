package engine

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/conformance"
)

// FuzzRun feeds arbitrary bytecode and memory to the VM. Loading may fail;
// a run may fail with one of the VM's errors; it must never panic, never
// run past its small budget, and never write outside the memory it was
// given (canaries around it stay intact).
func FuzzRun(f *testing.F) {
	seeds := []insn.Instructions{
		{insn.Mov.Imm(r0, 1), insn.Exit()},
		{insn.LoadMem(r0, r1, 0, insn.DW), insn.StoreMem(r1, 8, r0, insn.W), insn.Exit()},
		{insn.Mov.Imm(r2, 1), insn.Atomic(insn.AtomicFetchAdd, insn.DW, r10, -8, r2), insn.Mov.Imm(r0, 0), insn.Exit()},
		{insn.CallLocal("f"), insn.Exit(), insn.Mov.Imm(r0, 2).WithLabel("f"), insn.Exit()},
		{insn.MayGoto("out").WithLabel("l"), insn.Ja("l"), insn.Exit().WithLabel("out")},
		{insn.Call(int32(insn.FnTracePrintk)), insn.Exit()},
		{insn.LoadAbs(0, insn.W), insn.Exit()},
		// bpf_loop with a callback (callback.go), and a callback handle
		// read as memory.
		loopSumProgram(9, 4, 0),
		{loadFunc(r2, "cb"), insn.Mov.Imm(r1, 3), insn.Mov.Reg(r3, r1), insn.Mov.Imm(r4, 0), insn.Call(int32(insn.FnLoop)),
			insn.LoadMem(r0, r2, 0, insn.B), insn.Exit(), insn.Mov.Imm(r0, 0).WithLabel("cb"), insn.Exit()},
	}
	for _, s := range seeds {
		b, err := s.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	}
	if dir := conformance.Dir(); dir != "" {
		if tests, err := conformance.Load(dir); err == nil {
			for _, c := range tests {
				f.Add(c.Program, c.Memory)
			}
		}
	}
	f.Fuzz(func(t *testing.T, code, mem []byte) {
		const budget = 20000
		vm, err := Load(code, &Options{MaxInstructions: budget, Now: func() uint64 { return 1 }, Rand: func() uint32 { return 4 }})
		if err != nil {
			if !errors.Is(err, ErrLoad) {
				t.Fatalf("load error %v does not wrap ErrLoad", err)
			}
			return
		}
		const pad = 64
		buf := make([]byte, pad+len(mem)+pad)
		for k := range buf {
			buf[k] = 0xa5
		}
		copy(buf[pad:], mem)
		m := buf[pad : pad+len(mem) : pad+len(mem)]
		_, st, err := vm.RunMemoryStats(m)
		if st.Instructions > budget {
			t.Fatalf("executed %d instructions with a budget of %d", st.Instructions, budget)
		}
		if err != nil {
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("run error %v is not a *RunError", err)
			}
			if !errors.Is(err, ErrMemoryAccess) && !errors.Is(err, ErrBudgetExhausted) && !errors.Is(err, ErrCallDepth) &&
				!errors.Is(err, ErrUnknownHelper) && !errors.Is(err, ErrHelper) && !errors.Is(err, ErrContext) {
				t.Fatalf("run error %v wraps no sentinel", err)
			}
		}
		if !bytes.Equal(buf[:pad], bytes.Repeat([]byte{0xa5}, pad)) || !bytes.Equal(buf[pad+len(mem):], bytes.Repeat([]byte{0xa5}, pad)) {
			t.Fatalf("memory outside the program's buffer changed")
		}
		// Differential check of the fast path: with a tracer every
		// instruction goes through the single-step path. On the same Env
		// and memory (so that addresses match) the result, the error and
		// the instruction count must be the same.
		e := vm.AcquireEnv()
		defer vm.ReleaseEnv(e)
		once := func(tr Tracer) (uint64, uint64, error) {
			e.reset()
			e.releaseAll()
			e.tracer = tr
			copy(m, mem)
			r1, r2 := e.bindMemory(m)
			ret, err := e.exec(vm.prog, r1, r2)
			return ret, e.executed, err
		}
		r0, n0, err0 := once(nil)
		steps := uint64(0)
		r1, n1, err1 := once(func(pc int, _ insn.Instruction, _ *[11]uint64) {
			if pc >= 0 {
				steps++
			}
		})
		if r0 != r1 || n0 != n1 || fmt.Sprint(err0) != fmt.Sprint(err1) || (steps != n0 && !errors.Is(err0, ErrBudgetExhausted)) {
			t.Fatalf("traced run differs: r0 %#x/%#x, count %d/%d/%d (%d steps), err %v / %v", r0, r1, n0, n1, st.Instructions, steps, err0, err1)
		}
		// A Runner's runs: the first starts its Env, the next ones may
		// rerun it as the last one left it (Env.rerun, fast's cached
		// mode). Same Env, same memory: every run must give the first
		// one's result, count, error and memory.
		rn, _ := vm.NewRunner()
		defer rn.Close()
		var first struct {
			r0, n uint64
			err   string
			mem   []byte
		}
		for k := range 3 {
			copy(m, mem)
			ret, err := rn.RunMemory(m)
			got := first
			got.r0, got.n, got.err, got.mem = ret, rn.env.executed, fmt.Sprint(err), append([]byte(nil), m...)
			if k == 0 {
				first = got
				continue
			}
			if got.r0 != first.r0 || got.n != first.n || got.err != first.err || !bytes.Equal(got.mem, first.mem) {
				t.Fatalf("Runner run %d: r0 %#x, count %d, err %v, memory % x; first run: %#x, %d, %v, % x",
					k, got.r0, got.n, got.err, got.mem, first.r0, first.n, first.err, first.mem)
			}
		}
	})
}
