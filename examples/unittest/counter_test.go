package unittest_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// The XDP verdicts (enum xdp_action) and IP protocols the test uses.
const (
	xdpDrop = 1
	xdpPass = 2

	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
)

// frame builds an Ethernet frame of the given ethertype with payload
// behind the header.
func frame(ethertype uint16, payload ...byte) []byte {
	f := []byte{
		0x02, 0, 0, 0, 0, 2, // destination MAC
		0x02, 0, 0, 0, 0, 1, // source MAC
		byte(ethertype >> 8), byte(ethertype),
	}
	return append(f, payload...)
}

// ipv4 builds an Ethernet frame holding an IPv4 header (10.0.0.1 ->
// 10.0.0.2) of protocol proto and 8 bytes of payload.
func ipv4(proto byte) []byte {
	return frame(0x0800,
		0x45, 0, 0, 28, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0, 0, 0, 0, 0, 0, 0, 0)
}

// packets are the test's input and the verdict each must get.
var packets = []struct {
	name    string
	frame   []byte
	verdict uint32
}{
	{"tcp", ipv4(protoTCP), xdpPass},
	{"udp", ipv4(protoUDP), xdpPass},
	{"icmp", ipv4(protoICMP), xdpDrop}, // blocked_proto
	{"udp again", ipv4(protoUDP), xdpPass},
	{"arp", frame(0x0806, make([]byte, 28)...), xdpPass}, // not IPv4: uncounted
	{"truncated ipv4", ipv4(protoTCP)[:14+10], xdpDrop},  // half an IP header
}

// wantCounts is the "packets" map after the packets: IP protocol to count.
var wantCounts = map[uint8]uint64{protoTCP: 1, protoUDP: 2, protoICMP: 1}

// loadSpec reads the committed object: its programs, maps and global
// variables, as the kernel loader and interp/jit all take them.
func loadSpec(t *testing.T) *prog.CollectionSpec {
	t.Helper()
	spec, err := prog.LoadCollectionSpec("bpf/counter.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// counts reads every entry of the "packets" map, walking its keys.
func counts(t *testing.T, m prog.Mapper) map[uint8]uint64 {
	t.Helper()
	got := map[uint8]uint64{}
	var key any // nil asks for the first key
	var next uint8
	for {
		if err := m.NextKey(key, &next); errors.Is(err, prog.ErrKeyNotExist) {
			return got
		} else if err != nil {
			t.Fatal(err)
		}
		var n uint64
		if err := m.Lookup(next, &n); err != nil {
			t.Fatal(err)
		}
		got[next] = n
		key = next
	}
}

// TestCounter runs the object in the interpreter and in the JIT, which
// take the same collection spec and give each program userspace maps.
func TestCounter(t *testing.T) {
	for _, engine := range []string{"interp", "jit"} {
		t.Run(engine, func(t *testing.T) {
			spec := loadSpec(t)
			// Both collections hold the programs (interp.Program: the
			// same Run methods) and their userspace maps by name.
			var program interp.Program
			var packetsMap prog.Mapper
			switch engine {
			case "interp":
				coll, err := interp.NewCollection(spec, nil)
				if err != nil {
					t.Fatal(err)
				}
				program, packetsMap = coll.Programs["count_packets"], coll.Maps["packets"]
			case "jit":
				coll, err := jit.NewCollection(spec, nil, nil)
				if errors.Is(err, jit.ErrNotSupported) {
					t.Skipf("no JIT here: %v", err) // it compiles for amd64 Unix systems
				}
				if err != nil {
					t.Fatal(err)
				}
				defer coll.Close() // the JIT's machine code
				program, packetsMap = coll.Programs["count_packets"], coll.Maps["packets"]
			}

			for _, p := range packets {
				verdict, _, err := program.RunXDP(p.frame, nil) // nil: no xdp_md metadata
				if err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
				if verdict != p.verdict {
					t.Errorf("%s: verdict %d, want %d", p.name, verdict, p.verdict)
				}
			}
			if got := counts(t, packetsMap); fmt.Sprint(got) != fmt.Sprint(wantCounts) {
				t.Errorf("packets map %v, want %v", got, wantCounts)
			}
		})
	}
}

// TestBlockUDP sets the .rodata constant blocked_proto before loading,
// as a Go loader of this object would: UDP is dropped, ICMP passes.
func TestBlockUDP(t *testing.T) {
	spec := loadSpec(t)
	if err := spec.Variables["blocked_proto"].Set(uint8(protoUDP)); err != nil {
		t.Fatal(err)
	}
	coll, err := interp.NewCollection(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	for proto, want := range map[byte]uint32{protoUDP: xdpDrop, protoICMP: xdpPass, protoTCP: xdpPass} {
		if v, _, err := coll.Programs["count_packets"].RunXDP(ipv4(proto), nil); err != nil || v != want {
			t.Errorf("protocol %d: verdict %d (%v), want %d", proto, v, err, want)
		}
	}
}

// TestKernelAgrees runs the packets through package bpftest, in interp,
// the JIT and, as root, the kernel (BPF_PROG_TEST_RUN): verdicts, output
// packets and every map must agree after each packet.
func TestKernelAgrees(t *testing.T) {
	spec := loadSpec(t)
	mode := bpftest.KernelRequired
	if bpftest.KernelAvailable() != nil {
		mode = bpftest.KernelNever // interp against jit only
	}
	h := bpftest.NewT(t, spec, "count_packets", &bpftest.Options{Kernel: mode})
	for _, p := range packets {
		res := h.Check(t, bpftest.PacketInput(p.frame)) // fails the test on any difference
		if got := res.Outcomes[0][0].Ret; got != uint64(p.verdict) {
			t.Errorf("%s: %s verdict %d, want %d", p.name, res.Engines[0], got, p.verdict)
		}
	}
	// The reference engine's map (the kernel's when it ran) holds the
	// counts too.
	if got := counts(t, h.Maps("packets")[0]); fmt.Sprint(got) != fmt.Sprint(wantCounts) {
		t.Errorf("packets map %v, want %v", got, wantCounts)
	}
	if mode == bpftest.KernelNever {
		// Skip after the userspace comparison has run; under CI=true
		// this fails instead, as privileged parts must run there.
		testenv.SkipOrFail(t, "the kernel part needs root: %v", bpftest.KernelAvailable())
	}
}

// TestCoverage writes an lcov tracefile of the C lines the packets ran,
// for genhtml: interp counts instructions and maps them to lines through
// the object's .BTF.ext line info.
func TestCoverage(t *testing.T) {
	spec := loadSpec(t)
	cov := interp.NewCoverage()
	coll, err := interp.NewCollection(spec, &interp.CollectionOptions{Program: &interp.Options{Coverage: cov}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packets {
		if _, _, err := coll.Programs["count_packets"].RunXDP(p.frame, nil); err != nil {
			t.Fatal(err)
		}
	}

	// make bpf compiles in the repository root (the object names its
	// source ./examples/unittest/bpf/counter.bpf.c): SourceRoot makes
	// the file's SF: record an absolute path genhtml can open.
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "counter.lcov")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cov.WriteLCOV(f, &interp.LCOVOptions{TestName: "TestCoverage", SourceRoot: root}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	lcov, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// The tracefile names the C file, and its counts are the packets':
	// a protocol's first packet creates its entry (three times), the
	// second UDP packet increments it (once).
	src := filepath.Join(root, "examples/unittest/bpf/counter.bpf.c")
	if !strings.Contains(string(lcov), "SF:"+src+"\n") {
		t.Fatalf("the tracefile does not name %s:\n%s", src, lcov)
	}
	c, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(c), "\n")
	for code, count := range map[string]int{"__sync_fetch_and_add(n, 1);": 1, "bpf_map_update_elem(&packets": 3} {
		line := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, code) }) + 1
		if want := fmt.Sprintf("DA:%d,%d\n", line, count); line == 0 || !strings.Contains(string(lcov), want) {
			t.Errorf("the tracefile has no %q for line %d (%s):\n%s", want, line, code, lcov)
		}
	}
	// Every line that ran is listed with its count; a count of 0 marks
	// a line no packet reached.
	for _, l := range cov.Lines() {
		t.Logf("%3d %2d| %s", l.Line, l.Count, lines[l.Line-1])
	}
}
