//go:build linux

package prog

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
)

// requireBpftool returns bpftool's path, skipping (failing under CI)
// when it is missing.
func requireBpftool(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("bpftool")
	if err == nil {
		return p
	}
	testenv.SkipOrFail(t, "bpftool is not installed")
	return ""
}

// bpftoolJSON runs bpftool -j with args and decodes its output into v.
func bpftoolJSON(t testing.TB, v any, args ...string) {
	t.Helper()
	tool := requireBpftool(t)
	out, err := exec.Command(tool, append([]string{"-j"}, args...)...).Output()
	if err != nil {
		t.Fatalf("bpftool %v: %v", args, err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("bpftool %v: decode %q: %v", args, out, err)
	}
}

// pinDir returns a fresh directory below /sys/fs/bpf, removed at the end
// of the test.
func pinDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(BPFFSPath, "purebpf-test-"+strconv.Itoa(os.Getpid()), t.Name())
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(dir)) })
	return dir
}

// mustLoad loads spec or fails the test, closing the program at the end.
func mustLoad(t testing.TB, spec *Spec, opts *ProgramOptions) *Program {
	t.Helper()
	p, err := NewProgram(spec, opts)
	if err != nil {
		t.Fatalf("NewProgram(%s): %v", spec.Name, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// packet returns an n-byte test packet of counting bytes. Its ethertype
// (0x0c0d) is neither IPv4 nor IPv6, so the kernel's test run does not
// expect an IP header after it.
func packet(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// counterSpec is a socket filter that adds 1 to element 0 of the array
// map "counters" and returns skb->len.
func counterSpec(mapType MapType) *Spec {
	return &Spec{
		Name: "counter", Type: SocketFilter, License: "GPL",
		Maps: []*MapSpec{{Name: "counters", Type: mapType, KeySize: 4, ValueSize: 8, MaxEntries: 4}},
		Instructions: insn.Instructions{
			insn.Mov.Reg(insn.R6, insn.R1),
			insn.StoreImm(insn.RFP, -4, 0, insn.W),
			insn.Mov.Reg(insn.R2, insn.RFP),
			insn.Add.Imm(insn.R2, -4),
			insn.LoadMapPtr(insn.R1, "counters"),
			insn.FnMapLookupElem.Call(),
			insn.JEq.Imm(insn.R0, 0, "out"),
			insn.Mov.Imm(insn.R1, 1),
			insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1),
			insn.LoadMem(insn.R0, insn.R6, 0, insn.W).WithLabel("out"), // skb->len
			insn.Exit(),
		},
	}
}

// hashWriterSpec is a socket filter that stores value under key skb->len
// in map "h" (of the given type) and returns the helper's result.
func hashWriterSpec(mapType MapType, value int64) *Spec {
	return &Spec{
		Name: "writer", Type: SocketFilter, License: "GPL",
		Maps: []*MapSpec{{Name: "h", Type: mapType, KeySize: 4, ValueSize: 8, MaxEntries: 16}},
		Instructions: insn.Instructions{
			insn.LoadMem(insn.R1, insn.R1, 0, insn.W), // skb->len
			insn.StoreMem(insn.RFP, -4, insn.R1, insn.W),
			insn.LoadImm64(insn.R1, value),
			insn.StoreMem(insn.RFP, -16, insn.R1, insn.DW),
			insn.LoadMapPtr(insn.R1, "h"),
			insn.Mov.Reg(insn.R2, insn.RFP),
			insn.Add.Imm(insn.R2, -4),
			insn.Mov.Reg(insn.R3, insn.RFP),
			insn.Add.Imm(insn.R3, -16),
			insn.Mov.Imm(insn.R4, 0),
			insn.FnMapUpdateElem.Call(),
			insn.Exit(),
		},
	}
}
