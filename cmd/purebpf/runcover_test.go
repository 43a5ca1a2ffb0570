package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// coverObj is an object with line info, two XDP programs joined by a
// program array, device maps and a program in a section that does not
// say its type (interp/testdata/cover.bpf.c).
const coverObj = "../../interp/testdata/cover.bpf.o"

// coverPacket writes a frame for cover_main: byte 14 chooses what it
// does, byte 15 is the argument.
func coverPacket(t *testing.T, mode, arg byte) string {
	t.Helper()
	f := make([]byte, 60)
	f[12], f[14], f[15] = 0x08, mode, arg
	return write(t, "pkt.bin", string(f))
}

func TestRunCover(t *testing.T) {
	pkt := coverPacket(t, 3, 1) // a tail call into cover_tail, which returns XDP_TX
	out := filepath.Join(t.TempDir(), "run.info")
	code, stdout, stderr := purebpf(t, "run", "--cover", out, "--packet", pkt, coverObj+":cover_main")
	if code != 0 || !strings.HasPrefix(stdout, "r0 = 0x3\npacket = ") {
		t.Fatalf("run --cover: %d %q %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	info := string(b)
	for _, want := range []string{
		"TN:cover_main\nSF:./interp/testdata/cover.bpf.c\nFN:45,count\nFN:55,cover_main\nFN:85,cover_tail\n",
		"FNDA:2,count\nFNDA:1,cover_main\nFNDA:1,cover_tail\nFNF:3\nFNH:3\n",
		"DA:50,2\n", // count's body: from both programs
		"DA:70,1\nDA:71,0\n",
		"DA:88,1\n",
		"end_of_record\n",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("tracefile lacks %q:\n%s", want, info)
		}
	}
	if strings.Contains(info, "legacy_vlan") {
		t.Errorf("a program the run did not load is in the tracefile")
	}
	// --repeat adds its runs.
	code, _, stderr = purebpf(t, "run", "--cover", out, "--repeat", "4", "--packet", pkt, coverObj+":cover_main")
	if b, _ := os.ReadFile(out); code != 0 || strings.Contains(string(b), "DA:88,1\n") || !strings.Contains(string(b), "DA:71,0\n") {
		t.Errorf("--cover --repeat: %d %s\n%s", code, stderr, b)
	}
}

func TestRunCoverErrors(t *testing.T) {
	pkt := coverPacket(t, 0, 0)
	out := filepath.Join(t.TempDir(), "x.info")
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--cover", out, "--engine", "jit", "--packet", pkt, coverObj + ":cover_main"}, 2, "--cover and --engine jit do not mix"},
		{[]string{"--cover", out, "--engine", "kernel", "--packet", pkt, coverObj + ":cover_main"}, 2, "--cover and --engine kernel do not mix"},
		{[]string{"--cover", out, write(t, "p.s", "r0 = 0\nexit\n")}, 1, "--cover: main has no C source lines"},
		{[]string{"--cover", filepath.Join(out, "no", "such"), "--packet", pkt, coverObj + ":cover_main"}, 1, "--cover: open "},
	}
	for _, c := range cases {
		code, _, stderr := purebpf(t, append([]string{"run"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("run %q: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}

// --trace prints the C line before the instructions that come from it,
// also in the program a tail call entered.
func TestRunTraceSource(t *testing.T) {
	pkt := coverPacket(t, 3, 0)
	code, out, stderr := purebpf(t, "run", "--trace", "--packet", pkt, coverObj+":cover_main")
	if code != 0 {
		t.Fatalf("run --trace: %d %s", code, stderr)
	}
	for _, want := range []string{
		"; int cover_main(struct xdp_md *ctx)\t[./interp/testdata/cover.bpf.c:55]\n    0: r0 = 0\n",
		"; count(0);\t[./interp/testdata/cover.bpf.c:63]\n    7: r1 = 0",
		"; static __noinline int count(__u32 k)\t[./interp/testdata/cover.bpf.c:45]\n   48: *(u32 *)(r10 - 4) = r1\n",
		"; bpf_tail_call(ctx, &jumps, 1);\t[./interp/testdata/cover.bpf.c:70]\n   28: r1 = r6",
		// cover_tail, after the tail call
		"   32: call tail_call\n; void *data_end = (void *)(long)ctx->data_end;\t[./interp/testdata/cover.bpf.c:85]\n    0: r7 = *(u32 *)(r1 + 4)",
		"; count(1);\t[./interp/testdata/cover.bpf.c:88]\n    2: r1 = 1",
		"r0 = 0x2\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
	// A source line is printed once for a run of its instructions.
	if n := strings.Count(out, "; if (data + 16 > data_end)\t[./interp/testdata/cover.bpf.c:61]"); n != 1 {
		t.Errorf("line 61 printed %d times:\n%s", n, out)
	}
	// Programs without line info trace as before (TestRunMemAndTrace).
}

// Prog-array objects run in interp and jit through a collection, with the
// same output; so do device map redirects and --type.
func TestRunObjectTailCallsAndType(t *testing.T) {
	cases := []struct {
		mode, arg byte
		want      string
	}{
		{0, 0, "r0 = 0x2\n"},
		{1, 2, "r0 = 0x1\n"}, // ports[2] is empty: the fallback action, XDP_DROP
		{2, 2, "r0 = 0x2\n"}, // ports_hash[2] is empty: XDP_PASS
		{3, 1, "r0 = 0x3\n"}, // tail call to cover_tail: XDP_TX
		{3, 0, "r0 = 0x2\n"},
		{4, 0, "r0 = 0x1\n"}, // jumps[0] is empty: falls through, XDP_DROP
		{5, 7, "r0 = 0x4\n"}, // bpf_redirect: XDP_REDIRECT
	}
	for _, c := range cases {
		pkt := coverPacket(t, c.mode, c.arg)
		var outs []string
		for _, engine := range []string{"interp", "jit"} {
			code, out, stderr := purebpf(t, "run", "--engine", engine, "--packet", pkt, "--dump-maps", coverObj+":cover_main")
			if code != 0 || !strings.HasPrefix(out, c.want+"packet = ") {
				t.Errorf("mode %d %s: %d %q %s; want %q", c.mode, engine, code, out, stderr, c.want)
			}
			outs = append(outs, out)
		}
		if outs[0] != outs[1] {
			t.Errorf("mode %d: interp and jit differ:\n%s\n%s", c.mode, outs[0], outs[1])
		}
	}
	vlan := make([]byte, 60)
	vlan[12], vlan[13] = 0x81, 0x00
	for _, engine := range []string{"interp", "jit"} {
		for frame, want := range map[string]string{string(vlan): "r0 = 0x1\n", string(testFrame): "r0 = 0x2\n"} {
			pkt := write(t, "f.bin", frame)
			code, out, stderr := purebpf(t, "run", "--engine", engine, "--type", "xdp", "--packet", pkt, coverObj+":legacy_vlan")
			if code != 0 || !strings.HasPrefix(out, want) {
				t.Errorf("--type xdp %s: %d %q %s; want %q", engine, code, out, stderr, want)
			}
		}
		code, out, stderr := purebpf(t, "run", "--engine", engine, "--type", "xdp", "--repeat", "20", "--packet", coverPacket(t, 3, 1), coverObj+":cover_main")
		if code != 0 || !strings.HasPrefix(out, "r0 = 0x3\npacket = ") || !strings.Contains(out, "ns per run over 20 runs") {
			t.Errorf("--repeat %s: %d %q %s", engine, code, out, stderr)
		}
	}
	if code, _, stderr := purebpf(t, "run", "--packet", coverPacket(t, 0, 0), coverObj+":legacy_vlan"); code != 2 || !strings.Contains(stderr, `section "xdp_vlan01" of program legacy_vlan does not say the program type; set it with --type`) {
		t.Errorf("without --type: %d %s", code, stderr)
	}
}

// --ctx gives a kprobe program its pt_regs in every userspace engine.
func TestRunCtxKprobe(t *testing.T) {
	src := write(t, "kp.s", "r0 = *(u64 *)(r1 + 112)\nr2 = *(u64 *)(r1 + 104)\nr0 += r2\nexit\n") // di + si
	regs := make([]byte, 168)
	binary.LittleEndian.PutUint64(regs[112:], 40) // di
	binary.LittleEndian.PutUint64(regs[104:], 2)  // si
	ctx := write(t, "regs.bin", string(regs))
	for _, engine := range []string{"interp", "jit"} {
		code, out, stderr := purebpf(t, "run", "--engine", engine, "--type", "kprobe", "--ctx", ctx, src)
		if code != 0 || out != "r0 = 0x2a\n" {
			t.Errorf("%s: %d %q %s", engine, code, out, stderr)
		}
	}
	big := write(t, "big.bin", strings.Repeat("\x00", 200))
	if code, _, stderr := purebpf(t, "run", "--type", "kprobe", "--ctx", big, src); code != 1 || !strings.Contains(stderr, "200 bytes is more than struct pt_regs (168 bytes)") {
		t.Errorf("oversized --ctx: %d %s", code, stderr)
	}
}
