package bpftest_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/internal/pktgen"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// corpusObjects are the project's committed C objects.
var corpusObjects = []string{"../prog/testdata/bpf/*.o", "../jit/testdata/*.o", "../examples/*/bpf/*.o", "testdata/*.o"}

// userspaceCannot lists the corpus's XDP and socket-filter programs that
// interp and jit cannot load yet, with the cause New must name: a
// feature of the engines, not of the harness. Any other load error
// fails the test.
var userspaceCannot = map[string]string{
	"typeless_ksyms.bpf.o:read_addrs": `no address in CollectionOptions.Ksyms`,
}

// jitSkipped lists the corpus programs the JIT does not run, with the
// reason the harness must report (Harness.Skipped) on amd64.
var jitSkipped = map[string]string{
	"callbacks.bpf.o:xdp_loops": "callbacks",
	"subprogs.bpf.o:xdp_second": "callbacks",
	"subprogs.bpf.o:xdp_third":  "callbacks",
}

// corpusPackets is how many generated frames each program runs: at
// least 2000, fewer under qemu's TCG emulation (make vmtest), where code
// runs 10-50 times slower.
func corpusPackets() int {
	if testenv.SoftwareEmulated() {
		return 400
	}
	return 2000
}

// Every XDP, socket-filter and tc program of the committed objects runs
// thousands of generated frames, valid and malformed (package pktgen),
// in the kernel, interp and jit, and every verdict, output packet and
// map must agree. Without root the kernel part does not run (a skip
// after interp and jit are compared; under CI=true a failure).
func TestCorpusDifferential(t *testing.T) {
	mode := bpftest.KernelRequired
	if os.Geteuid() != 0 {
		mode = bpftest.KernelNever
	}
	var objs []string
	for _, g := range corpusObjects {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, m...)
	}
	n := corpusPackets()
	frames := pktgen.New(15).Frames(n)
	ran := 0
	for _, o := range objs {
		cs, err := prog.LoadCollectionSpec(o)
		if err != nil {
			// Objects the loader refuses on purpose (big-endian, a
			// static function in a program section) are prog's tests.
			if !strings.Contains(err.Error(), "invalid object file") {
				t.Errorf("%s: %v", o, err)
			}
			continue
		}
		for _, name := range cs.ProgramNames() {
			ps := cs.Programs[name]
			switch ps.Type {
			case prog.XDP, prog.SocketFilter, prog.SchedCLS, prog.SchedACT:
			default:
				continue
			}
			id := filepath.Base(o) + ":" + name
			t.Run(id, func(t *testing.T) {
				h, err := bpftest.New(cs, name, &bpftest.Options{Kernel: mode})
				if want, known := userspaceCannot[id]; known {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("New: %v; want the error naming %s (userspaceCannot is out of date?)", err, want)
					}
					h.Close()
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				if want, ok := jitSkipped[id]; ok && runtime.GOARCH == "amd64" {
					if why := h.Skipped()[bpftest.JIT]; !strings.Contains(why, want) || slices.Contains(h.Engines(), bpftest.JIT) {
						t.Errorf("engines %v, jit skipped: %q; want it skipped for %s", h.Engines(), why, want)
					}
				}
				ran++
				runCorpus(t, h, ps.Type, frames, func() *bpftest.Harness {
					return bpftest.NewT(t, cs, name, &bpftest.Options{Kernel: bpftest.KernelNever})
				})
			})
		}
	}
	// In make vmtest's VMs only the testdata of the packages under test
	// are there (examples/*/bpf never): the corpus is what was found.
	want := 3 // pktparse.o's
	if m, _ := filepath.Glob(corpusObjects[0]); len(m) > 0 {
		want = 12
	}
	if ran < want {
		t.Errorf("only %d programs ran (of %d objects)", ran, len(objs))
	}
	if mode == bpftest.KernelNever {
		testenv.SkipOrFail(t, "not root: the corpus ran in interp and jit only, not in the kernel")
	}
}

// runCorpus runs frames through h in batches, comparing the maps after
// each. Socket-filter frames the kernel's test run refuses go through a
// second harness without the kernel, so that they do not end the
// kernel's map comparison.
func runCorpus(t *testing.T, h *bpftest.Harness, typ prog.Type, frames []pktgen.Frame, userHarness func() *bpftest.Harness) {
	var in, userOnly []bpftest.Input
	verdicts := map[uint64]int{}
	records := map[string]int{}
	flush := func() {
		if len(in) == 0 {
			return
		}
		res := h.Check(t, in...)
		for _, o := range res.Outcomes {
			if o[0].Err == nil {
				verdicts[o[0].Ret]++
			}
		}
		for m, n := range res.Records {
			records[m] += n
		}
		if t.Failed() {
			t.FailNow()
		}
		in = in[:0]
	}
	for k, f := range frames {
		i := bpftest.PacketInput(f.Data)
		if typ == prog.XDP && k%8 == 7 {
			// Some frames arrive with metadata in front (xdp_md's
			// data_meta, given to the kernel as a context).
			i.XDP = &interp.XDPMeta{Meta: []byte{byte(k), 1, 2, 3, 4, 5, 6, 7}[:4*(1+k%2)]}
		}
		if typ == prog.SchedCLS || typ == prog.SchedACT {
			i.TC = tcMeta(k)
		}
		if typ == prog.SocketFilter && h.Engines()[0] == bpftest.Kernel && bpftest.SocketFilterRefused(f.Data) != "" {
			userOnly = append(userOnly, i)
			continue
		}
		in = append(in, i)
		if len(in) == 100 {
			flush()
		}
	}
	flush()
	if len(userOnly) > 0 && h.Engines()[0] == bpftest.Kernel {
		userHarness().Check(t, userOnly...)
	}
	t.Logf("%d frames (%d for interp and jit only) in %v; verdicts %v; records %v", len(frames), len(userOnly), h.Engines(), verdicts, records)
	if t.Name() == "TestCorpusDifferential/pktparse.o:xdp_parse" {
		// The parser's every path ran: drops (malformed, port 9), passes,
		// echoes (XDP_TX) and SYN records.
		n := len(frames)
		if verdicts[interp.XDPDrop] < n/40 || verdicts[interp.XDPPass] < n/4 || verdicts[interp.XDPTX] < n/200 || records["syns"] < n/200 {
			t.Errorf("verdicts %v, records %v: the frames miss paths of the parser", verdicts, records)
		}
	}
	if t.Name() == "TestCorpusDifferential/pktparse.o:tc_classify" {
		// The classifier's every path ran: drops, passes, unclassified,
		// port rewrites, VLAN pops and pushes (seen in the classes map).
		n := len(frames)
		var bss [16]byte // last_len, tc_rewrites
		if err := h.Maps(".bss")[0].Lookup(uint32(0), &bss); err != nil {
			t.Fatal(err)
		}
		rewrites := binary.NativeEndian.Uint64(bss[8:])
		var vlanDNS uint64 // CLASS_VLAN | CLASS_DNS
		h.Maps("classes")[0].Lookup(uint32(0x16), &vlanDNS)
		if verdicts[interp.TCActShot] < n/40 || verdicts[interp.TCActOK] < n/4 || verdicts[0xffffffff] < n/40 /* TC_ACT_UNSPEC, -1 */ || rewrites < uint64(n/400) || vlanDNS == 0 {
			t.Errorf("verdicts %v, %d rewrites, %d tagged DNS packets: the frames miss paths of the classifier", verdicts, rewrites, vlanDNS)
		}
	}
}

// tcMeta is the __sk_buff context of the k-th corpus frame of a tc
// program: none for some, and for others the fields ctx_in may set.
func tcMeta(k int) *interp.TCMeta {
	if k%4 == 0 {
		return nil
	}
	u := uint32(k) * 0x9e3779b9
	m := &interp.TCMeta{Mark: u, Priority: u >> 7, IngressIfindex: uint32(k % 3), Tstamp: uint64(u) << 9, HWTstamp: uint64(k)}
	m.CB = [5]uint32{u, u >> 3, u >> 5, uint32(k), 7}
	return m
}
