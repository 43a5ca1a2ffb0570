//go:build amd64 && unix

package jit

import (
	"errors"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackRingbufStale keeps the pointer of a ring buffer reservation
// past its submit or discard, and past the end of the run (in a Runner's
// next run, through the stack: a value read from memory the program
// wrote), and uses it: every use after the reservation ended must fail
// with a memory access error in interp, the JIT and a JIT Runner, also
// when the reservation was the region the last access hit.
func TestAttackRingbufStale(t *testing.T) {
	rb := &prog.MapSpec{Name: "rb", Type: prog.RingBuf, MaxEntries: 4096}
	reserve := append(reserve16(),
		Mov.Reg(R6, R0).WithLabel("ok"),
		StoreImm(R6, 0, 1, DW), // the reservation becomes the hot region
		StoreImm(R6, 8, 2, DW),
	)
	end := func(fn HelperFunc) Instructions {
		return Instructions{Mov.Reg(R1, R6), Mov.Imm(R2, 0), fn.Call()}
	}
	cat := func(parts ...Instructions) Instructions {
		var is Instructions
		for _, p := range parts {
			is = append(is, p...)
		}
		return is
	}
	cases := map[string]Instructions{
		"store after submit":  cat(reserve, end(FnRingbufSubmit), Instructions{StoreImm(R6, 0, 3, DW), Mov.Imm(R0, 0), Exit()}),
		"load after discard":  cat(reserve, end(FnRingbufDiscard), Instructions{LoadMem(R0, R6, 8, DW), Exit()}),
		"submit twice":        cat(reserve, end(FnRingbufSubmit), end(FnRingbufSubmit), Instructions{Mov.Imm(R0, 0), Exit()}),
		"atomic after submit": cat(reserve, end(FnRingbufSubmit), Instructions{Mov.Imm(R2, 1), Atomic(AtomicAdd, DW, R6, 0, R2), Mov.Imm(R0, 0), Exit()}),
		"probe_read into a submitted reservation": cat(reserve, end(FnRingbufSubmit), Instructions{
			Mov.Reg(R3, R6), Mov.Imm(R2, 8), Mov.Reg(R1, R10), Add.Imm(R1, -8), StoreImm(R10, -8, 0, DW), FnProbeReadKernel.Call(), Exit(),
		}),
		// The pointer of the last run, kept in mem: the next run stores through it.
		"pointer from an earlier run": cat(Instructions{
			Mov.Reg(R9, R1),
			LoadMem(R7, R9, 0, DW),
			JEq.Imm(R7, 0, "fresh"),
			StoreImm(R7, 0, 9, DW),
			Mov.Imm(R0, 1),
			Exit(),
		}, Instructions{LoadMapPtr(R1, "rb").WithLabel("fresh")}, reserve[1:], Instructions{StoreMem(R9, 0, R6, DW)}, end(FnRingbufSubmit), Instructions{Mov.Imm(R0, 2), Exit()}),
	}
	for name, is := range cases {
		t.Run(name, func(t *testing.T) {
			spec := &prog.Spec{Name: "rb", Type: prog.UnspecifiedProgram, License: "GPL", Instructions: is, Maps: []*prog.MapSpec{rb}}
			ivm, vm, irn, rn := attackEngines(t, spec, nil)
			for k := range 3 {
				for ename, run := range map[string]func([]byte) (uint64, error){"interp": ivm.RunMemory, "jit": vm.RunMemory, "jit Runner": rn.RunMemory, "interp Runner": irn.RunMemory} {
					mem := make([]byte, 8)
					got, err := run(mem)
					if name == "pointer from an earlier run" {
						got, err = run(mem) // the second run finds the pointer
					}
					if name == "probe_read into a submitted reservation" {
						// probe_read_kernel of a stale address faults: -EFAULT, no error.
						if err != nil || got != uint64(interp.Errno(14)) {
							t.Errorf("%s run %d: %#x, %v; want -EFAULT", ename, k, got, err)
						}
						continue
					}
					if !errors.Is(err, interp.ErrMemoryAccess) {
						t.Errorf("%s run %d: %#x, %v; want a memory access error", ename, k, got, err)
					}
				}
			}
		})
	}
}
