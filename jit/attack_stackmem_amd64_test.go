//go:build amd64 && unix

package jit

import (
	"fmt"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

//go:noinline
func growStack(n int) byte {
	var pad [1024]byte
	pad[n%1024] = byte(n)
	if n == 0 {
		return pad[0]
	}
	return growStack(n-1) + pad[n%1024]
}

// stackMemRun runs a JIT Runner on a buffer the compiler may keep on
// the goroutine's stack if Runner.RunMemory says its memory does not
// escape (it said so while runnerMemory was go:noescape), through a
// helper that makes the stack grow, and hence move, in the middle of the
// run. It must take the concrete *Runner: through an interface the
// buffer always escapes.
//
//go:noinline
func stackMemRun(rn *Runner) (uint64, byte, byte, error) {
	var buf [64]byte
	buf[1] = 7
	ret, err := rn.RunMemory(buf[:])
	return ret, buf[0], buf[63], err
}

// stackMemRunAny is stackMemRun for the other engines.
//
//go:noinline
func stackMemRunAny(rn interface{ RunMemory([]byte) (uint64, error) }) (uint64, byte, byte, error) {
	var buf [64]byte
	buf[1] = 7
	ret, err := rn.RunMemory(buf[:])
	return ret, buf[0], buf[63], err
}

// TestAttackRunnerStackMemory: the memory a Runner runs on may lie on the
// caller's goroutine stack, which Go moves when it grows (or a GC shrinks
// it). A run that exits to Go (a helper) can see its stack move; its
// stores after that must still land in the caller's buffer, never in
// the old, freed stack.
func TestAttackRunnerStackMemory(t *testing.T) {
	reg := interp.DefaultHelpers().Clone()
	reg.Register(210, func(_ *interp.Env, r1, _, _, _, _ uint64) (uint64, error) {
		return uint64(growStack(int(r1))), nil
	})
	is := Instructions{
		Mov.Reg(R6, R1),
		LoadMem(R7, R6, 1, B),
		Mov.Imm(R1, 2000), // ~2 MB of Go stack
		Call(210),
		StoreImm(R6, 0, 0x42, B),
		StoreImm(R6, 63, 0x43, B),
		Mov.Reg(R0, R7),
		Exit(),
	}
	spec := &prog.Spec{Name: "stackmem", Type: prog.UnspecifiedProgram, Instructions: is}
	vm, err := New(spec, &Options{Interp: &interp.Options{Helpers: reg}})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	jrn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer jrn.Close()
	irn, err := vm.Interp().NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer irn.Close()
	for name, rn := range map[string]interface{ RunMemory([]byte) (uint64, error) }{"jit Runner": jrn, "interp Runner": irn, "jit VM": vm, "interp VM": vm.Interp()} {
		done := make(chan string)
		for k := range 3 {
			go func() { // a fresh goroutine: a small stack that must grow
				var ret uint64
				var err error
				var b0, b63 byte
				if jr, ok := rn.(*Runner); ok {
					ret, b0, b63, err = stackMemRun(jr)
				} else {
					ret, b0, b63, err = stackMemRunAny(rn)
				}
				if ret != 7 || err != nil || b0 != 0x42 || b63 != 0x43 {
					done <- fmt.Sprintf("%s run %d: %d, %v, bytes %#x %#x: stores after the helper missed the caller's buffer", name, k, ret, err, b0, b63)
					return
				}
				done <- ""
			}()
			if msg := <-done; msg != "" {
				t.Error(msg)
			}
		}
	}
}
