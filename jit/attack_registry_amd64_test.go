//go:build amd64 && unix

package jit

import (
	"errors"
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackLookupReplacedBetweenRuns compiles programs whose accesses to
// a lookup's result the value facts proved (a store at the end of a
// 12-byte array value, of a hash value, through a copy moved by a
// constant), runs them in a Runner until its runs take the quick path,
// then replaces map_lookup_elem with a helper that grants 4 bytes: the
// next runs (of the Runner and of the VM) must fail rather than store
// past the 4 bytes, and a run of a program with no proof resting on the
// lookup must give interp's error.
func TestAttackLookupReplacedBetweenRuns(t *testing.T) {
	cases := []struct {
		name string
		is   insn.Instructions
	}{
		{"array", ret(lookup("arr", 1), insn.JEq.Imm(insn.R0, 0, "out"), insn.StoreImm(insn.R0, 8, 5, insn.W), insn.Mov.Imm(insn.R0, 0).WithLabel("out"))},
		{"hash", ret(lookup("hash", 3), insn.JEq.Imm(insn.R0, 0, "out"), insn.StoreImm(insn.R0, 4, 5, insn.W), insn.Mov.Imm(insn.R0, 0).WithLabel("out"))},
		{"copy moved", ret(lookup("arr", 1), insn.Mov.Reg(insn.R6, insn.R0), insn.JNE.Imm(insn.R0, 0, "hit"), insn.Ja("out"),
			insn.Add.Imm(insn.R6, 6).WithLabel("hit"), insn.StoreImm(insn.R6, 2, 5, insn.W), insn.Mov.Imm(insn.R0, 0).WithLabel("out"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := fastWorld(t)
			w.maps["hash"].Update(uint32(3), uint64(33), prog.UpdateAny)
			reg := w.registry(true)
			spec := w.spec("swap", fastMaps, c.is...)
			spec.Type = prog.XDP
			vm := w.jit(spec, &Options{Interp: &interp.Options{Helpers: reg}})
			defer vm.Close()
			if vm.code.comp == nil {
				t.Fatal("not compiled")
			}
			rn, err := vm.NewRunner()
			if err != nil {
				t.Fatal(err)
			}
			defer rn.Close()
			for run := range 3 {
				if ret, _, err := rn.RunXDP(udp4Frame(), nil); err != nil || ret != 2 {
					t.Fatalf("run %d before the swap: %d, %v", run, ret, err)
				}
			}
			small := make([]byte, 4)
			reg.Register(insn.FnMapLookupElem, func(e *interp.Env, _, _, _, _, _ uint64) (uint64, error) {
				return e.AddRegion(small, interp.PermRead|interp.PermWrite)
			})
			for run := range 3 {
				_, _, ierr := vm.Interp().RunXDP(udp4Frame(), nil)
				if !errors.Is(ierr, interp.ErrMemoryAccess) {
					t.Fatalf("interp after the swap: %v, want a memory access error", ierr)
				}
				for name, r := range map[string]interface {
					RunXDP([]byte, *interp.XDPMeta) (uint32, []byte, error)
				}{"VM": vm, "Runner": rn} {
					ret, _, err := r.RunXDP(udp4Frame(), nil)
					if err == nil {
						t.Fatalf("run %d after the swap: jit %s %d, no error (interp: %v); small = %v", run, name, ret, ierr, small)
					}
					if fmt.Sprint(small) != "[0 0 0 0]" {
						t.Fatalf("the 4 granted bytes changed: %v", small)
					}
				}
			}
		})
	}
}
