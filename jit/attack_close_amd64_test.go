//go:build amd64 && unix

package jit

import (
	"errors"
	"sync"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackCloseDuringRuns closes a VM while Runners and VM.RunMemory
// runs of it are in progress on other goroutines, each run looping
// through helper calls (exits to Go) and memory stores: every run must
// end with its result or an error wrapping ErrClosed, nothing may crash
// (run with -race), and every run after Close must fail with ErrClosed.
func TestAttackCloseDuringRuns(t *testing.T) {
	is := Instructions{
		Mov.Reg(R6, R1),
		Mov.Imm(R7, 0),
		Mov.Imm(R8, 2000),
		FnKtimeGetNs.Call().WithLabel("loop"),
		JLT.Imm(R7, 8, "skip"),
		StoreMem(R6, 0, R0, DW),
		Add.Imm(R7, 1).WithLabel("skip"),
		Add.Imm(R8, -1),
		JNE.Imm(R8, 0, "loop"),
		Mov.Reg(R0, R7),
		Exit(),
	}
	for round := range 20 {
		vm, err := New(&prog.Spec{Name: "close", Type: prog.UnspecifiedProgram, Instructions: is}, &Options{Interp: &interp.Options{Now: func() uint64 { return 42 }}})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, 64)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var rn *Runner
				if g%2 == 0 {
					var err error
					if rn, err = vm.NewRunner(); err != nil {
						if !errors.Is(err, ErrClosed) {
							errs <- err
						}
						return
					}
					defer rn.Close()
				}
				mem := make([]byte, 8+8*g) // different lengths per goroutine
				<-start
				closed := false
				for k := range 200 {
					var ret uint64
					var err error
					if rn != nil {
						if k%3 == 2 {
							ret, err = rn.RunMemory(mem[:8]) // alternate memory lengths
						} else {
							ret, err = rn.RunMemory(mem)
						}
					} else {
						ret, err = vm.RunMemory(mem)
					}
					switch {
					case err == nil:
						if closed {
							errs <- errors.New("a run succeeded after one failed with ErrClosed")
							return
						}
						if ret != 2000 {
							errs <- errors.New("wrong result")
							return
						}
					case errors.Is(err, ErrClosed):
						closed = true
					default:
						errs <- err
						return
					}
				}
			}()
		}
		close(start)
		if round%2 == 0 {
			for range 1000 * round {
				_ = round
			}
		}
		vm.Close()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := vm.RunMemory(make([]byte, 8)); !errors.Is(err, ErrClosed) {
			t.Fatalf("round %d: VM.RunMemory after Close: %v", round, err)
		}
	}
}

// TestAttackRunnerAfterVMClose runs every Run method of Runners of
// closed VMs (each context kind, after a first run armed its short path)
// and of closed Runners: each must fail with ErrClosed and return no
// packet.
func TestAttackRunnerAfterVMClose(t *testing.T) {
	ret := Instructions{Mov.Imm(R0, 2), Exit()}
	frame := make([]byte, 60)
	runs := map[prog.Type]func(rn *Runner) ([]byte, error){
		prog.UnspecifiedProgram: func(rn *Runner) ([]byte, error) { _, err := rn.RunMemory(make([]byte, 8)); return nil, err },
		prog.SocketFilter:       func(rn *Runner) ([]byte, error) { _, err := rn.RunSocketFilter(frame, nil); return nil, err },
		prog.Kprobe:             func(rn *Runner) ([]byte, error) { _, err := rn.RunKprobe(&interp.PtRegs{}); return nil, err },
		prog.XDP:                func(rn *Runner) ([]byte, error) { _, out, err := rn.RunXDP(frame, nil); return out, err },
		prog.SchedCLS:           func(rn *Runner) ([]byte, error) { _, out, err := rn.RunTC(frame, nil); return out, err },
		prog.RawTracePoint:      func(rn *Runner) ([]byte, error) { _, err := rn.RunRawTracepoint([]uint64{1}); return nil, err },
		prog.TracePoint:         func(rn *Runner) ([]byte, error) { _, err := rn.RunTracepoint(make([]byte, 16)); return nil, err },
		prog.PerfEvent:          func(rn *Runner) ([]byte, error) { _, err := rn.RunPerfEvent(&interp.PerfEventData{}); return nil, err },
	}
	for typ, run := range runs {
		t.Run(typ.String(), func(t *testing.T) {
			vm, err := New(&prog.Spec{Name: "c", Type: typ, License: "GPL", Instructions: ret}, nil)
			if err != nil {
				t.Fatal(err)
			}
			rn, err := vm.NewRunner()
			if err != nil {
				t.Fatal(err)
			}
			rn2, err := vm.NewRunner()
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := run(rn); err != nil {
					t.Fatal(err)
				}
			}
			rn2.Close()
			if out, err := run(rn2); !errors.Is(err, ErrClosed) || out != nil {
				t.Errorf("closed Runner: %v, % x; want ErrClosed", err, out)
			}
			vm.Close()
			for k := range 2 {
				if out, err := run(rn); !errors.Is(err, ErrClosed) || out != nil {
					t.Errorf("run %d after VM.Close: %v, % x; want ErrClosed", k, err, out)
				}
			}
			rn.Close()
		})
	}
}
