//go:build amd64 && unix

package jit

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/conformance"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// unwindHelpers is interp's default registry plus the conformance suite's
// helper 5, "unwind".
func unwindHelpers() *interp.Registry {
	reg := interp.DefaultHelpers().Clone()
	reg.Register(5, func(_ *interp.Env, r1, _, _, _, _ uint64) (uint64, error) {
		if r1 == 0 {
			return 0, interp.ErrHalt
		}
		return r1, nil
	})
	return reg
}

// TestConformanceVM runs the suite through the public API in both modes and
// compares every result with interp's.
func TestConformanceVM(t *testing.T) {
	tests := conformance.Require(t)
	for _, unchecked := range []bool{false, true} {
		for _, tc := range tests {
			vm, err := Load(tc.Program, &Options{Interp: &interp.Options{Helpers: unwindHelpers()}, Unchecked: unchecked})
			if err != nil {
				t.Errorf("%s: %v", tc.Name, err)
				continue
			}
			got, err := vm.RunMemory(append([]byte(nil), tc.Memory...))
			want, ierr := vm.Interp().RunMemory(append([]byte(nil), tc.Memory...))
			rn, rerr := vm.NewRunner()
			if rerr != nil {
				t.Fatal(rerr)
			}
			for range 2 {
				rgot, rerr := rn.RunMemory(append([]byte(nil), tc.Memory...))
				if rerr != nil || rgot != tc.Result {
					t.Errorf("%s (unchecked=%v): Runner r0 = %#x, %v; want %#x\n%s", tc.Name, unchecked, rgot, rerr, tc.Result, tc.Asm)
				}
			}
			rn.Close()
			vm.Close()
			if err != nil || got != tc.Result {
				t.Errorf("%s (unchecked=%v): r0 = %#x, %v; want %#x\n%s", tc.Name, unchecked, got, err, tc.Result, tc.Asm)
			}
			if ierr != nil || want != got {
				t.Errorf("%s: interp gives %#x, %v; jit %#x", tc.Name, want, ierr, got)
			}
		}
	}
}

// runBoth runs a raw-memory program in interp and in the JIT (checked and
// unchecked) on copies of mem and requires the same result, error text and
// final memory. It returns the JIT's result.
func runBoth(t *testing.T, is insn.Instructions, mem []byte, opts *interp.Options) (uint64, error) {
	t.Helper()
	spec := &prog.Spec{Name: "t", Type: prog.UnspecifiedProgram, Instructions: is}
	ivm, err := interp.New(spec, opts)
	if err != nil {
		t.Fatalf("interp.New: %v", err)
	}
	imem := append([]byte(nil), mem...)
	want, werr := ivm.RunMemory(imem)
	var got uint64
	var gerr error
	for _, unchecked := range []bool{false, true} {
		if unchecked && werr != nil && errors.Is(werr, interp.ErrMemoryAccess) {
			continue // unchecked code does not find out-of-region accesses
		}
		vm, err := New(spec, &Options{Interp: opts, Unchecked: unchecked})
		if err != nil {
			t.Fatalf("jit.New: %v", err)
		}
		jmem := append([]byte(nil), mem...)
		got, gerr = vm.RunMemory(jmem)
		if got != want || normErr(gerr, jmem) != normErr(werr, imem) {
			t.Errorf("unchecked=%v: jit = %#x, %v; interp = %#x, %v\n%s", unchecked, got, gerr, want, werr, is)
		}
		if string(jmem) != string(imem) {
			t.Errorf("unchecked=%v: memory differs: jit % x, interp % x", unchecked, jmem, imem)
		}
		// A Runner, twice on the same buffer and once on another: the
		// same again.
		rn, err := vm.NewRunner()
		if err != nil {
			t.Fatal(err)
		}
		rmem := append([]byte(nil), mem...)
		for k := range 3 {
			if k < 2 {
				copy(rmem, mem)
			} else {
				rmem = append([]byte(nil), mem...)
			}
			r, rerr := rn.RunMemory(rmem)
			if r != want || normErr(rerr, rmem) != normErr(werr, imem) {
				t.Errorf("unchecked=%v: Runner run %d = %#x, %v; interp = %#x, %v\n%s", unchecked, k, r, rerr, want, werr, is)
			}
			if string(rmem) != string(imem) {
				t.Errorf("unchecked=%v: Runner run %d: memory differs: % x, interp % x", unchecked, k, rmem, imem)
			}
		}
		rn.Close()
		vm.Close()
	}
	return got, gerr
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var hexAddr = regexp.MustCompile(`0x[0-9a-f]{6,}`)

// normErr is an error's text with host addresses replaced: by their offset
// when they are near mem, else by "ADDR" (the two engines run on different
// copies of memory and different stacks).
func normErr(err error, mem []byte) string {
	base := addrOfSlice(mem)
	return hexAddr.ReplaceAllStringFunc(errText(err), func(h string) string {
		v, _ := strconv.ParseUint(h[2:], 16, 64)
		if base != 0 && v-base+4096 < uint64(len(mem))+8192 {
			return fmt.Sprintf("mem%+d", int64(v-base))
		}
		return "ADDR"
	})
}

func isRoot() bool { return os.Geteuid() == 0 }
