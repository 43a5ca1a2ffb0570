//go:build amd64 && unix

package jit

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackSignalsInCode runs JIT code (VM runs and a Runner's short
// path, through helper exits too) on several goroutines while the CPU
// profiler's SIGPROF, the execution tracer, the scheduler's preemption signals, GCs and
// all-goroutine tracebacks (runtime.Stack) land on the threads running
// it: no crash, and every run gives its result.
func TestAttackSignalsInCode(t *testing.T) {
	is := Instructions{
		Mov.Imm(R6, 20000),
		Mov.Imm(R0, 0),
		Add.Imm(R0, 3).WithLabel("l"),
		Xor.Reg(R0, R6),
		Add.Imm(R6, -1),
		JNE.Imm(R6, 0, "l"),
		Mov.Reg(R7, R0),
		FnKtimeGetNs.Call(),
		Add.Reg(R0, R7),
		Exit(),
	}
	spec := &prog.Spec{Name: "sig", Type: prog.UnspecifiedProgram, Instructions: is}
	opts := &interp.Options{Now: func() uint64 { return 1 }, MaxInstructions: 1 << 22}
	vm, err := New(spec, &Options{Interp: opts})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	want, err := vm.Interp().RunMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	var prof bytes.Buffer
	if err := pprof.StartCPUProfile(&prof); err != nil {
		t.Skipf("no CPU profiler: %v", err)
	}
	defer pprof.StopCPUProfile()
	// The execution tracer unwinds Go stacks by their frame pointers,
	// which JIT code uses for its own stack.
	var tr bytes.Buffer
	if err := trace.Start(&tr); err == nil {
		defer trace.Stop()
	}
	stop := make(chan struct{})
	var noise sync.WaitGroup
	noise.Add(1)
	go func() {
		defer noise.Done()
		buf := make([]byte, 1<<20)
		for {
			select {
			case <-stop:
				return
			default:
			}
			runtime.GC()
			runtime.Stack(buf, true)
			runtime.Gosched()
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rn, err := vm.NewRunner()
			if err != nil {
				errs <- err.Error()
				return
			}
			defer rn.Close()
			for range 300 {
				var got uint64
				var err error
				if g == 0 {
					got, err = vm.RunMemory(nil)
				} else {
					got, err = rn.RunMemory(nil)
				}
				if got != want || err != nil {
					errs <- "wrong result"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	noise.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
