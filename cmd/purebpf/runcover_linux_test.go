//go:build linux

package main

import (
	"encoding/hex"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
)

// The prog-array object of TestRunObjectTailCallsAndType gives the same
// output, maps included, in the kernel (BPF_PROG_TEST_RUN) as in interp
// and jit: program arrays print the names of their programs.
func TestRunObjectTailCallsKernel(t *testing.T) {
	testenv.RequireRoot(t)
	for _, c := range []struct{ mode, arg byte }{{0, 0}, {1, 2}, {2, 2}, {3, 1}, {3, 0}, {4, 0}, {5, 7}} {
		pkt := coverPacket(t, c.mode, c.arg)
		var outs []string
		for _, engine := range []string{"interp", "jit", "kernel"} {
			code, out, stderr := purebpf(t, "run", "--engine", engine, "--packet", pkt, "--dump-maps", coverObj+":cover_main")
			if code != 0 {
				t.Fatalf("mode %d %s: %d %s", c.mode, engine, code, stderr)
			}
			outs = append(outs, out)
		}
		if outs[0] != outs[2] || outs[1] != outs[2] {
			t.Errorf("mode %d: interp, jit and kernel differ:\n%s\n%s\n%s", c.mode, outs[0], outs[1], outs[2])
		}
	}
	vlan := make([]byte, 60)
	vlan[12], vlan[13] = 0x81, 0x00
	pkt := write(t, "vlan.bin", string(vlan))
	code, out, stderr := purebpf(t, "run", "--engine", "kernel", "--type", "xdp", "--packet", pkt, coverObj+":legacy_vlan")
	if code != 0 || out != "r0 = 0x1\npacket = "+hex.EncodeToString(vlan)+"\n" {
		t.Errorf("--type xdp in the kernel: %d %q %s", code, out, stderr)
	}
}
