//go:build amd64 && unix

package jit

import (
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/conformance"
)

// conformanceHelpers are the helpers the conformance suite defines: 5 is
// "unwind", which returns its argument and ends the run when it is 0.
var conformanceHelpers = map[int64]func(r1, r2, r3, r4, r5 uint64) (uint64, error){
	5: func(r1, _, _, _, _ uint64) (uint64, error) {
		if r1 == 0 {
			return 0, errTestHalt
		}
		return r1, nil
	},
}

// TestConformanceRaw runs the eBPF conformance suite through the code
// generator with the minimal raw-memory environment, in checked and
// unchecked mode.
func TestConformanceRaw(t *testing.T) {
	tests := conformance.Require(t)
	for _, unchecked := range []bool{false, true} {
		failed := 0
		for _, tc := range tests {
			is, err := insn.Unmarshal(tc.Program)
			if err != nil {
				t.Errorf("%s: %v", tc.Name, err)
				failed++
				continue
			}
			mem := append([]byte(nil), tc.Memory...)
			got, err := runRaw(is, mem, compileOptions{unchecked: unchecked}, 1<<30, conformanceHelpers)
			if err != nil {
				t.Errorf("%s (unchecked=%v): %v\n%s", tc.Name, unchecked, err, tc.Asm)
				failed++
				continue
			}
			if got != tc.Result {
				t.Errorf("%s (unchecked=%v): r0 = %#x, want %#x\n%s", tc.Name, unchecked, got, tc.Result, tc.Asm)
				failed++
			}
		}
		t.Logf("unchecked=%v: %d passed, %d failed", unchecked, len(tests)-failed, failed)
	}
}
