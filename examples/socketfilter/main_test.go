//go:build linux

package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/prog/progtest"
)

// TestFilterVerdictsAndCounters runs the filter in interp over frames
// whose expected verdicts and counts follow from how they were built.
// interp does not verify programs as the kernel does, so the test also
// asks the kernel's verifier (progtest.Verify) and, when privileged, runs
// every frame in the kernel too (prog.Program.RunSocketFilter, which sees
// the Ethernet header as a socket and interp do).
func TestFilterVerdictsAndCounters(t *testing.T) {
	const port = 5353
	vm, err := interp.New(filterSpec(port), nil)
	if err != nil {
		t.Fatal(err)
	}
	var kernel *prog.Program
	if progtest.Verify(t, filterSpec(port)) {
		if kernel, err = prog.NewProgram(filterSpec(port), nil); err != nil {
			t.Fatal(err)
		}
		defer kernel.Close()
	}
	frag := udpFrame(1, port, "x")
	frag[14+6] = 0x20 // more fragments, offset 0: the first fragment passes
	laterFrag := udpFrame(1, port, "x")
	laterFrag[14+7] = 0x10 // offset 16 bytes: no UDP header, dropped
	withOptions := append(udpFrame(1, 2, ""), 0)
	withOptions = withOptions[:14+24+8]
	withOptions[14] = 0x46 // IHL 6: ports 4 bytes later
	copy(withOptions[14+24:], []byte{0, 1, port >> 8, port & 0xff})
	ipv6 := make([]byte, 14+40+8)
	ipv6[12], ipv6[13], ipv6[14+6] = 0x86, 0xdd, 17
	arp := make([]byte, 42)
	arp[12], arp[13] = 0x08, 0x06
	cases := []struct {
		name  string
		frame []byte
		pass  bool
		proto int // counter that goes up, -1 for none
	}{
		{"udp to port", udpFrame(1, port, "hi"), true, 17},
		{"udp to other port", udpFrame(1, port+1, "hi"), false, 17},
		{"udp from port", udpFrame(port, 1, "hi"), false, 17},
		{"tcp to port", tcpFrame(1, port, 0x02, ""), false, 6},
		{"first fragment", frag, true, 17},
		{"later fragment", laterFrag, false, 17},
		{"ip options", withOptions, true, 17},
		{"ipv6 udp", ipv6, false, 17},
		{"arp", arp, false, -1},
		{"truncated udp", udpFrame(1, port, "hi")[:36], false, 17},
		{"runt", []byte{1, 2, 3}, false, -1},
	}
	want := map[uint32]uint64{}
	for _, c := range cases {
		v, err := vm.RunSocketFilter(c.frame, &interp.SKBMeta{Protocol: 0x0800})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (v != 0) != c.pass {
			t.Errorf("%s: verdict %#x, want pass=%v", c.name, v, c.pass)
		}
		if c.pass && uint32(v) != 0xffffffff {
			t.Errorf("%s: verdict %#x, want the whole packet (0xffffffff)", c.name, v)
		}
		if kernel != nil && len(c.frame) >= 14 {
			kv, err := kernel.RunSocketFilter(c.frame)
			if err != nil {
				t.Fatalf("%s: kernel: %v", c.name, err)
			}
			if kv != uint32(v) {
				t.Errorf("%s: kernel verdict %#x, interp %#x", c.name, kv, v)
			}
		}
		if c.proto >= 0 {
			want[uint32(c.proto)]++
		}
	}
	m := vm.Map(countsMap)
	for proto := uint32(0); proto < 256; proto++ {
		var n uint64
		if err := m.Lookup(proto, &n); err != nil {
			t.Fatal(err)
		}
		if n != want[proto] {
			t.Errorf("counter %d = %d, want %d", proto, n, want[proto])
		}
	}
}

func TestSimulate(t *testing.T) {
	var out bytes.Buffer
	if err := run(config{port: 4242, simulate: true}, &out); err != nil {
		t.Fatal(err)
	}
	checkSimulated(t, out.String(), 4242)
}

// checkSimulated checks the interp path's output: two rounds of traffic,
// each frame seen out and in; only UDP to port passes.
func checkSimulated(t *testing.T, out string, port uint16) {
	t.Helper()
	passLine := regexp.MustCompile(`^PASS (out|in) +len=\d+ +udp +127\.0\.0\.1:\d+ > 127\.0\.0\.1:` + strconv.Itoa(int(port)) + `$`)
	pass, drop := 0, 0
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "PASS"):
			pass++
			if !passLine.MatchString(l) {
				t.Errorf("unexpected pass: %q", l)
			}
		case strings.HasPrefix(l, "drop"):
			drop++
			if passLine.MatchString("PASS" + strings.TrimPrefix(l, "drop")) {
				t.Errorf("UDP to the port dropped: %q", l)
			}
		}
	}
	// Expectations from the frames' construction: two rounds, each frame
	// out and in.
	var udp, tcp, toPort int
	for _, f := range simulatedTraffic(port) {
		switch f[14+9] {
		case 17:
			udp++
			if int(f[14+20+2])<<8|int(f[14+20+3]) == int(port) {
				toPort++
			}
		case 6:
			tcp++
		}
	}
	frames := udp + tcp
	if pass != 4*toPort || pass+drop != 4*frames {
		t.Errorf("%d passed, %d dropped; want %d of %d:\n%s", pass, drop, 4*toPort, 4*frames, out)
	}
	counters := fmt.Sprintf("tcp=%d udp=%d", 4*tcp, 4*udp)
	summary := fmt.Sprintf("summary: %d of %d IP packets passed", 4*toPort, 4*frames)
	if !strings.Contains(out, "per-protocol counters (interp") || !strings.Contains(out, counters) || !strings.Contains(out, summary) {
		t.Errorf("want %q and %q in:\n%s", counters, summary, out)
	}
}

func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestCapture runs the kernel path on lo: only UDP to the port is
// printed, both directions, the counters saw TCP and UDP, and no
// descriptor is left open.
func TestCapture(t *testing.T) {
	testenv.RequireRoot(t)
	port := freeUDPPort(t)
	before := openFDs(t)
	var out bytes.Buffer
	if err := run(config{iface: "lo", port: port, duration: time.Second}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	line := regexp.MustCompile(`^(out|in) +len=49 +udp +127\.0\.0\.1:\d+ > 127\.0\.0\.1:` + strconv.Itoa(int(port)) + `$`)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	captured := lines[1 : len(lines)-2]
	if len(captured) < 2 {
		t.Fatalf("captured %d lines, want at least 2 (a datagram out and in):\n%s", len(captured), text)
	}
	outs := 0
	for _, l := range captured {
		if !line.MatchString(l) {
			t.Errorf("unexpected line %q", l)
		}
		if strings.HasPrefix(l, "out") {
			outs++
		}
	}
	// Each datagram is seen sent and received; the deadline may fall
	// between the two copies of the last one.
	if ins := len(captured) - outs; outs-ins < 0 || outs-ins > 1 {
		t.Errorf("%d lines outgoing, %d incoming: want one of each per datagram", outs, ins)
	}
	counters := regexp.MustCompile(`tcp=(\d+) udp=(\d+)`).FindStringSubmatch(text)
	if counters == nil {
		t.Fatalf("no tcp and udp counters:\n%s", text)
	}
	// Each round sends two datagrams, each seen twice.
	if udp, _ := strconv.Atoi(counters[2]); udp < 2*len(captured) {
		t.Errorf("udp counter %d, want at least %d", udp, 2*len(captured))
	}
	if !strings.Contains(text, "summary: "+strconv.Itoa(len(captured))+" of ") {
		t.Errorf("summary does not report %d passed:\n%s", len(captured), text)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open before, %d after", before, after)
	}
}

// TestCountStops checks that -count ends the capture early.
func TestCountStops(t *testing.T) {
	testenv.RequireRoot(t)
	var out bytes.Buffer
	start := time.Now()
	if err := run(config{iface: "lo", port: freeUDPPort(t), duration: 20 * time.Second, count: 2}, &out); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	if !strings.Contains(out.String(), "summary: 2 of ") {
		t.Fatalf("output:\n%s", out.String())
	}
}

// demoEnv, set in the environment, makes the test binary run the demo's
// main function instead of the tests (see TestMain), so that the demo
// can be run as another user without a Go toolchain or setpriv (neither
// exists in the VM the privileged tests also run in).
const demoEnv = "PUREBPF_SOCKETFILTER_DEMO"

func TestMain(m *testing.M) {
	if os.Getenv(demoEnv) == "1" {
		// The testing package registered its flags on the default set;
		// the demo parses its own.
		flag.CommandLine = flag.NewFlagSet(os.Args[0], flag.ExitOnError)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestUnprivileged runs the demo as nobody (uid and gid 65534, no
// supplementary groups): it explains what capture needs and shows the
// interp verdicts instead. The demo is this test binary re-executed with
// demoEnv set, copied where nobody may execute it.
func TestUnprivileged(t *testing.T) {
	testenv.RequireRoot(t) // to switch to nobody
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	// t.TempDir's parent is private to root; MkdirTemp's is /tmp.
	dir, err := os.MkdirTemp("", "purebpf-socketfilter")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "demo")
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-port", "4242")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), demoEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "capture needs CAP_NET_RAW and CAP_BPF") {
		t.Fatalf("no explanation:\n%s", out)
	}
	checkSimulated(t, string(out), 4242)
}
