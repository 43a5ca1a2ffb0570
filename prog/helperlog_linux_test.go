package prog

import (
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

// missingHelper finds the last helper the verifier complains about, also
// at the end of a megabytes-long log.
func TestMissingHelper(t *testing.T) {
	for _, c := range []struct {
		log  string
		want insn.HelperFunc
	}{
		{"0: (85) call unknown#195896080\ninvalid func unknown#195896080\n", 195896080},
		{"0: R1=ctx()\nprogram of this type cannot use helper bpf_probe_read#4\n", 4},
		{"unknown func bpf_foo#7\nlater: unknown func (no number)\n", 7},
		{"processed 5 insns\n", -1},
	} {
		if got := missingHelper(c.log); got != c.want {
			t.Errorf("missingHelper(%q) = %d, want %d", c.log, got, c.want)
		}
	}
	big := strings.Repeat("12: (bf) r3 = r1 ; R1_w=scalar(id=1) R3_w=scalar(id=1)\n", 200000) + "invalid func unknown#5\n"
	if got := missingHelper(big); got != 5 {
		t.Errorf("missingHelper on an 11 MB log = %d, want 5", got)
	}
}
