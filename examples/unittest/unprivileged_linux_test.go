package unittest_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/internal/testenv"
)

// dirEnv tells the unprivileged copy of the test binary, which runs in a
// temporary directory, where the package's files are.
const dirEnv = "PUREBPF_UNITTEST_DIR"

// The example needs no privileges: as user nobody, bpftest says why the
// kernel does not run, interp and jit agree on every packet and the
// counts are right. (As root this test runs itself again as nobody.)
func TestUnprivileged(t *testing.T) {
	if !testenv.Unprivileged() {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(dirEnv, wd)
		testenv.RunUnprivileged(t)
		return
	}
	if err := os.Chdir(os.Getenv(dirEnv)); err != nil {
		t.Fatal(err)
	}
	h := bpftest.NewT(t, loadSpec(t), "count_packets", nil)
	if why := h.Skipped()[bpftest.Kernel]; !strings.Contains(why, "operation not permitted") {
		t.Fatalf("as nobody, the kernel did not skip for lack of privilege: engines %v, skipped %q", h.Engines(), why)
	}
	for _, p := range packets {
		if res := h.Check(t, bpftest.PacketInput(p.frame)); res.Outcomes[0][0].Ret != uint64(p.verdict) {
			t.Errorf("%s: %s", p.name, res)
		}
	}
	if got := counts(t, h.Maps("packets")[0]); fmt.Sprint(got) != fmt.Sprint(wantCounts) {
		t.Errorf("packets map %v, want %v", got, wantCounts)
	}
}
