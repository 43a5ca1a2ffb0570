//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/perf"
	"github.com/purebpf/purebpf/prog"
)

var (
	testSrc = netip.MustParseAddrPort("10.201.0.2:40001")
	testDst = netip.MustParseAddrPort("10.201.0.1:8080")
)

// record builds the perf record xdp_http sends for frame: struct
// http_event, the first min(len, 512) bytes and the padding perf adds.
func record(frame []byte, method int, payloadOff int) []byte {
	capLen := min(len(frame), maxCapture)
	h := make([]byte, eventHeaderSize)
	le := binary.LittleEndian
	le.PutUint32(h[0:], uint32(len(frame)))
	le.PutUint32(h[4:], uint32(capLen))
	le.PutUint16(h[8:], 14)
	le.PutUint16(h[10:], uint16(payloadOff))
	h[12], h[13] = 4, byte(method)
	raw := append(h, frame[:capLen]...)
	for (len(raw)+4)%8 != 0 {
		raw = append(raw, 0xee)
	}
	return raw
}

// The decoder reads every demo request back from its record.
func TestDecodeEvents(t *testing.T) {
	for k, d := range demoRequests {
		frame, err := requestFrame(k, testSrc, testDst)
		if err != nil {
			t.Fatal(err)
		}
		e, err := parseEvent(record(frame, methodIndex(d.method), 54))
		if err != nil {
			t.Fatalf("%s %s: %v", d.method, d.path, err)
		}
		r, err := decodeEvent(e)
		if err != nil {
			t.Fatalf("%s %s: %v", d.method, d.path, err)
		}
		want := request{src: testSrc, dst: testDst, method: d.method, path: d.path, host: d.host}
		if r != want {
			t.Errorf("decoded %+v, want %+v", r, want)
		}
	}
}

// Records that cannot come from xdp_http, or that disagree with their
// frame, are errors that say why.
func TestDecodeBadEvents(t *testing.T) {
	frame, err := requestFrame(0, testSrc, testDst)
	if err != nil {
		t.Fatal(err)
	}
	good := record(frame, 0, 54)
	capTooBig := bytes.Clone(good)
	binary.LittleEndian.PutUint32(capTooBig[4:], 600)
	capPastRecord := bytes.Clone(good[:40])
	badMethod := bytes.Clone(good)
	badMethod[13] = 7
	for _, c := range []struct {
		name, raw []byte
		want      string
	}{
		{[]byte("short"), good[:10], "shorter than its 16-byte header"},
		{[]byte("cap over 512"), capTooBig, "captured bytes"},
		{[]byte("cap past the record"), capPastRecord, "the record holds"},
		{[]byte("method 7"), badMethod, "method 7"},
	} {
		if _, err := parseEvent(c.raw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	e, err := parseEvent(record(frame, methodIndex("POST"), 54))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeEvent(e); err == nil || !strings.Contains(err.Error(), "POST") {
		t.Errorf("method mismatch: %v", err)
	}
	e, err = parseEvent(record(frame, 0, 60))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeEvent(e); err == nil || !strings.Contains(err.Error(), "payload at 60") {
		t.Errorf("offset mismatch: %v", err)
	}
}

// A request whose headers go past the 512 captured bytes is printed with
// what was captured.
func TestDecodeTruncated(t *testing.T) {
	long := "/" + strings.Repeat("a", 500)
	frame := tcpFrame(testSrc, testDst, []byte("GET "+long+" HTTP/1.1\r\nHost: late.example\r\n\r\n"))
	e, err := parseEvent(record(frame, 0, 54))
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	if !r.truncated || r.host != "" || !strings.HasPrefix(long, r.path) || !strings.Contains(r.String(), "(not captured)") {
		t.Fatalf("truncated request decoded as %+v (%s)", r, r)
	}
}

// xdpPass is XDP_PASS.
const xdpPass = 2

// TestProgramInKernel runs xdp_http in the kernel (BPF_PROG_TEST_RUN)
// over HTTP requests and other packets: every packet passes, each request
// is counted under its method and sends one event that decodes to it, and
// nothing else does.
func TestProgramInKernel(t *testing.T) {
	testenv.RequireRoot(t)
	spec, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	coll, err := prog.NewCollection(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	rd, err := perf.NewPerfReader(coll.Maps[eventsMap], perf.PerfReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	p := coll.Programs[programName]
	run := func(frame []byte) {
		t.Helper()
		res, err := p.Run(&prog.RunOptions{Data: frame})
		if err != nil {
			t.Fatal(err)
		}
		if res.Retval != xdpPass {
			t.Fatalf("verdict %d, want XDP_PASS", res.Retval)
		}
	}
	want := make([]uint64, len(methods))
	for k, d := range demoRequests {
		frame, err := requestFrame(k, testSrc, testDst)
		if err != nil {
			t.Fatal(err)
		}
		run(frame)
		want[methodIndex(d.method)]++
		rd.SetDeadline(time.Now().Add(time.Second))
		rec, err := rd.Read()
		if err != nil {
			t.Fatalf("%s %s: no event: %v", d.method, d.path, err)
		}
		e, err := parseEvent(rec.RawSample)
		if err != nil {
			t.Fatal(err)
		}
		if int(e.pktLen) != len(frame) || !bytes.Equal(e.frame, frame[:min(len(frame), maxCapture)]) {
			t.Fatalf("%s: event carries %d of %d bytes that differ from the frame", d.method, len(e.frame), e.pktLen)
		}
		r, err := decodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		if r.method != d.method || r.path != d.path || r.host != d.host || r.src != testSrc || r.dst != testDst {
			t.Fatalf("decoded %+v for %s %s", r, d.method, d.path)
		}
	}
	// Packets the program must let pass without an event or a count.
	syn := tcpFrame(testSrc, testDst, nil)
	udp := tcpFrame(testSrc, testDst, []byte("GET / HTTP/1.1\r\n\r\n"))
	udp[14+9] = 17
	noSpace := tcpFrame(testSrc, testDst, []byte("GETX / HTTP/1.1\r\n\r\n"))
	lower := tcpFrame(testSrc, testDst, []byte("get / HTTP/1.1\r\n\r\n"))
	short := tcpFrame(testSrc, testDst, []byte("GET /\r\n"))
	later := tcpFrame(testSrc, testDst, []byte("GET / HTTP/1.1\r\n\r\n"))
	later[14+7] = 1 // fragment offset 8: no TCP header here
	arp := make([]byte, 42)
	arp[12], arp[13] = 0x08, 0x06
	// BPF_PROG_TEST_RUN takes no XDP frame shorter than an Ethernet
	// header; an IPv4 frame cut after it is the shortest.
	cut := bytes.Clone(syn[:14])
	for _, f := range [][]byte{syn, udp, noSpace, lower, short, later, arp, cut, syn[:14+20+10]} {
		run(f)
	}
	// An IPv6 request counts too.
	v6 := ipv6Frame(t, []byte("OPTIONS * HTTP/1.1\r\nHost: v6.example\r\n\r\n"))
	run(v6)
	want[methodIndex("OPTIONS")]++
	rd.SetDeadline(time.Now().Add(time.Second))
	rec, err := rd.Read()
	if err != nil {
		t.Fatalf("IPv6 request: no event: %v", err)
	}
	e, err := parseEvent(rec.RawSample)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := decodeEvent(e); err != nil || r.host != "v6.example" || e.ipVersion != 6 {
		t.Fatalf("IPv6 request decoded as %+v, %v", r, err)
	}
	rd.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if rec, err := rd.Read(); err == nil {
		t.Fatalf("an event for a packet that is no request: % x", rec.RawSample)
	}
	got, err := readCounts(coll.Maps[countsMap])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
}

// ipv6Frame wraps payload in Ethernet, IPv6 and TCP headers.
func ipv6Frame(t *testing.T, payload []byte) []byte {
	t.Helper()
	f := make([]byte, 14+40+20)
	binary.BigEndian.PutUint16(f[12:], 0x86dd)
	f[14] = 0x60
	binary.BigEndian.PutUint16(f[14+4:], uint16(20+len(payload)))
	f[14+6], f[14+7] = 6, 64
	f[14+8+15], f[14+24+15] = 2, 1 // ::2 -> ::1
	binary.BigEndian.PutUint16(f[54:], 40000)
	binary.BigEndian.PutUint16(f[56:], 8080)
	f[54+12] = 5 << 4
	return append(f, payload...)
}

// lineRE matches a request line of the tracer's output.
var lineRE = regexp.MustCompile(`^10\.201\.0\.2:(\d+) +-> 10\.201\.0\.1:8080 +(\w+) +(\S+) +Host: (\S+)$`)

// checkTraced checks the requests the tracer printed: n of them, the demo's
// in order, from distinct source ports.
func checkTraced(t *testing.T, out string, n int) {
	t.Helper()
	k := 0
	ports := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		d := demoRequests[k%len(demoRequests)]
		if m[2] != d.method || m[3] != d.path || m[4] != d.host {
			t.Errorf("line %d: %q, want %s %s Host: %s", k+1, line, d.method, d.path, d.host)
		}
		ports[m[1]] = true
		k++
	}
	if k != n || len(ports) != n {
		t.Fatalf("%d request lines from %d source ports, want %d:\n%s", k, len(ports), n, out)
	}
}

func TestTrace(t *testing.T) {
	testenv.RequireRoot(t)
	before := snapshot(t)
	var out bytes.Buffer
	const n = 10
	if err := run(context.Background(), config{requests: n, timeout: time.Minute}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("output:\n%s", out.String())
	checkTraced(t, out.String(), n)
	// 10 requests: the 8 demo requests, then GET / and POST again.
	if !strings.Contains(out.String(), "per-method counters (map counts): GET 3  POST 2  PUT 1  DELETE 1  HEAD 1  OPTIONS 1  PATCH 1") {
		t.Fatalf("counters line missing or wrong:\n%s", out.String())
	}
	if strings.Contains(out.String(), "note:") {
		t.Fatalf("the tracer noted a discrepancy:\n%s", out.String())
	}
	checkNothingLeft(t, before, nil)
}

// demoEnv makes the test binary run the demo's main instead of the tests,
// for the signal test and the run as nobody.
const demoEnv = "PUREBPF_XDP_DEMO"

func TestMain(m *testing.M) {
	if os.Getenv(demoEnv) == "1" {
		flag.CommandLine = flag.NewFlagSet(os.Args[0], flag.ExitOnError)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// state is what the demo could leave behind: interfaces in this
// namespace, named namespaces, and its programs and maps still loaded
// (held by a pin or a link, or leaked). Pins are not compared as a
// directory listing: other tests running at the same time pin and unpin
// their own objects.
type state struct {
	ifaces, netnsNames []string
	programs, maps     int
}

func snapshot(t *testing.T) state {
	t.Helper()
	var s state
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		s.ifaces = append(s.ifaces, i.Name)
	}
	if ents, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range ents {
			s.netnsNames = append(s.netnsNames, e.Name())
		}
	}
	progs, err := prog.Programs()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range progs {
		if p.Name == programName {
			s.programs++
		}
	}
	maps, err := prog.Maps()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range maps {
		// The counts map; "events" is too common a name (opensnoop's
		// perf event array has it too) to tell the demo's apart.
		if m.Name == countsMap && m.Type == prog.Array && m.ValueSize == 8 && m.MaxEntries == uint32(len(methods)) {
			s.maps++
		}
	}
	return s
}

// checkNothingLeft waits up to 5 s (the kernel frees programs and
// namespaces after their last reference, asynchronously) until the state
// is as before: no new interface or named namespace, no xdp_http program
// or its maps (which a pin or a link would keep), and none of the network
// namespaces in gone still in use.
func checkNothingLeft(t *testing.T, before state, gone []string) {
	t.Helper()
	var now state
	var left []string
	for try := 0; try < 50; try++ {
		now, left = snapshot(t), liveNamespaces(gone)
		if fmt.Sprint(now.ifaces, now.netnsNames) == fmt.Sprint(before.ifaces, before.netnsNames) &&
			now.programs == 0 && now.maps == 0 && len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("left behind: before %+v, after %+v; namespaces still alive: %v", before, now, left)
}

// netNamespaces returns the network namespaces ("net:[inode]") that
// process pid's threads are in or that it holds descriptors of.
func netNamespaces(pid int) []string {
	threads, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/ns/net", pid))
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	seen := map[string]bool{}
	var out []string
	for _, p := range append(threads, fds...) {
		if ns, err := os.Readlink(p); err == nil && strings.HasPrefix(ns, "net:[") && !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out
}

// liveNamespaces returns those of nss that a thread is in or a process
// holds a descriptor of.
func liveNamespaces(nss []string) []string {
	want := map[string]bool{}
	for _, ns := range nss {
		want[ns] = true
	}
	var live []string
	threads, _ := filepath.Glob("/proc/[0-9]*/task/*/ns/net")
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, p := range append(threads, fds...) {
		if ns, err := os.Readlink(p); err == nil && want[ns] {
			live = append(live, ns+" ("+p+")")
			delete(want, ns)
		}
	}
	return live
}

// TestInterrupt sends SIGINT to the demo in the middle of its requests:
// it stops, prints its counters, exits with status 130 and leaves no
// interface, namespace, program, link or pin behind.
func TestInterrupt(t *testing.T) {
	testenv.RequireRoot(t)
	before := snapshot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-requests", "1000", "-interval", "20ms")
	cmd.Env = append(os.Environ(), demoEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	var out strings.Builder
	lines := 0
	for lines < 3 && sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if lineRE.MatchString(sc.Text()) {
			lines++
		}
	}
	if lines < 3 {
		t.Fatalf("the demo printed no 3 requests:\n%s%s", out.String(), stderr.String())
	}
	mine := map[string]bool{}
	for _, ns := range netNamespaces(os.Getpid()) {
		mine[ns] = true
	}
	var created []string
	for _, ns := range netNamespaces(cmd.Process.Pid) {
		if !mine[ns] {
			created = append(created, ns)
		}
	}
	if len(created) != 2 {
		t.Fatalf("the demo is in network namespaces %v besides ours, want its 2", created)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	t.Logf("output:\n%s%s", out.String(), stderr.String())
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v, want status 130", err)
	}
	if !strings.Contains(stderr.String(), "interrupted after") || !strings.Contains(out.String(), "per-method counters") {
		t.Fatalf("no orderly stop:\n%s%s", out.String(), stderr.String())
	}
	checkNothingLeft(t, before, created)
}

// TestSimulate checks the fallback's output.
func TestSimulate(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), config{requests: 8, simulate: true}, &out); err != nil {
		t.Fatal(err)
	}
	checkSimulated(t, out.String(), 8)
}

func checkSimulated(t *testing.T, out string, n int) {
	t.Helper()
	for _, want := range []string{
		"program xdp_http (xdp, section \"xdp\"",
		"maps events (perf_event_array) and counts (array, 7 entries)",
		"running xdp_http in interp (no kernel) on the same",
		"per-method counters (map counts): GET 2  POST 1  PUT 1  DELETE 1  HEAD 1  OPTIONS 1  PATCH 1",
		"8 requests traced in interp",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	checkTraced(t, out, n)
}

// TestUnprivileged runs the demo as nobody: it says what is missing and
// falls back.
func TestUnprivileged(t *testing.T) {
	if testenv.Unprivileged() {
		var out bytes.Buffer
		if err := run(context.Background(), config{requests: 8, timeout: time.Minute}, &out); err != nil {
			t.Fatal(err)
		}
		t.Log(out.String())
		if !strings.Contains(out.String(), "tracing needs root (CAP_BPF") {
			t.Fatalf("no explanation:\n%s", out.String())
		}
		checkSimulated(t, out.String(), 8)
		return
	}
	testenv.RunUnprivileged(t)
}

// The timeout stops the requests like Ctrl-C does, with an error that
// says it was the timeout, and nothing is left behind.
func TestTimeout(t *testing.T) {
	testenv.RequireRoot(t)
	before := snapshot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, config{requests: maxRequests, interval: 50 * time.Millisecond, timeout: 500 * time.Millisecond}, &out)
	if !errors.Is(err, errInterrupted) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "-timeout") {
		t.Fatalf("run: %v, want an interruption by the timeout\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "per-method counters") {
		t.Fatalf("no counters:\n%s", out.String())
	}
	checkNothingLeft(t, before, nil)
}
