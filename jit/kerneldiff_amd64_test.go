//go:build amd64 && unix

package jit_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// TestXDPKernelDifferential runs xdp_ops.c on generated frames in the
// kernel (BPF_PROG_TEST_RUN), interp and jit through package bpftest,
// one frame per Run so that the maps are compared after every frame:
// actions, output packets, the helper results the program stores in
// rets, the protos map, the global data sections and the perf samples
// (with the packet bytes the flags append) agree. Frames the kernel's
// test run refuses (shorter than an Ethernet header, longer than a
// page's linear frame) are errors in all three. Needs root.
func TestXDPKernelDifferential(t *testing.T) {
	h := kernelHarness(t, "testdata/xdp_ops.o", "xdp_ops")
	frames := jit.XDPOpsFrames(rand.New(rand.NewPCG(15, 2)), 600)
	// Longer frames run as multi-buffer frames (frags), in the kernel
	// and in userspace: the longest linear frame, one byte more, a jumbo
	// frame, and frames of random bytes behind generated headers that
	// reach up to four fragments.
	frames = append(frames, make([]byte, 13), make([]byte, interp.XDPMaxFrame), make([]byte, interp.XDPMaxFrame+1), make([]byte, 9000))
	rng := rand.New(rand.NewPCG(15, 3))
	for _, f := range frames[:60] {
		long := make([]byte, interp.XDPMaxFrame+1+rng.IntN(4*interp.XDPFragSize))
		for i := range long {
			long[i] = byte(rng.Uint32())
		}
		frames = append(frames, append(append([]byte(nil), f...), long[len(f):]...))
	}
	samples, failed, actions := 0, 0, map[uint32]int{}
	for k, f := range frames {
		res, err := h.Run(bpftest.PacketInput(f))
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK() {
			failed++
			if failed < 5 {
				t.Errorf("frame %d (%d bytes, % x): %s", k, len(f), f[:min(len(f), 14)], res)
			}
		}
		samples += res.Records["events"]
		if o := res.Outcomes[0][0]; o.Err == nil {
			actions[uint32(o.Ret)]++
		} else if n := len(f); n >= 14 && n <= interp.XDPMaxFragsFrame {
			t.Errorf("frame %d: kernel: %v", k, o.Err)
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d frames differ", failed, len(frames))
	}
	if len(actions) < 4 || samples < 10 {
		t.Fatalf("actions %v, %d perf samples: the frames miss paths of xdp_ops", actions, samples)
	}
}

// TestKernelDifferential runs generated ALU/branch programs as socket
// filters in the kernel's JIT (BPF_PROG_TEST_RUN), interp and jit
// through package bpftest: the verdict (r0's low 32 bits) must agree.
// Needs root. The cpu v4 ALU operations (sdiv, smod, movsx) are
// generated only when the kernel takes them (prog.HaveV4ISA: Linux
// 6.6+).
func TestKernelDifferential(t *testing.T) {
	testenv.RequireRoot(t)
	v4 := prog.HaveV4ISA()
	if v4 != nil && !errors.Is(v4, prog.ErrNotSupported) {
		t.Fatalf("probe v4 instructions: %v", v4)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pkt := make([]byte, 64)
	for n := 0; n < 40; n++ {
		is := jit.GenALU(rng, 40, v4 == nil)
		spec := &prog.Spec{Name: "diff", Type: prog.SocketFilter, License: "GPL", Instructions: is}
		h, err := bpftest.NewProgram(spec, &bpftest.Options{Kernel: bpftest.KernelRequired})
		if err != nil {
			t.Fatalf("%v\n%s", err, is)
		}
		res, err := h.Run(bpftest.PacketInput(pkt), bpftest.PacketInput(pkt[:14]))
		h.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK() || res.Outcomes[0][0].Err != nil {
			t.Fatalf("%s\n%s", res, is)
		}
	}
}

// TestTCKernelDifferential runs tc_ops.c on generated frames and contexts
// in the kernel (BPF_PROG_TEST_RUN), interp and jit through package
// bpftest, one input per Run with the rets array zeroed before it in
// every engine, so that the maps are compared after every input:
// verdicts, output packets, the ctx_out fields (and between interp and
// jit every TCMeta field), the helper results and the fields the program
// reads back (rets), the protos map and the perf samples agree. bpftest
// gives interp and jit the running kernel's tc helper semantics
// (Options.KernelVersion) and opens a perf reader on the kernel's perf
// event array, so bpf_perf_event_output succeeds in all three. Frames the
// kernel's test run refuses fail in all three. Needs root.
func TestTCKernelDifferential(t *testing.T) {
	h := kernelHarness(t, "testdata/tc_ops.o", "tc_ops")
	frames, metas := jit.TCOpsInputs(rand.New(rand.NewPCG(15, 12)), 5000)
	frames = append(frames, make([]byte, 13), make([]byte, interp.TCMaxFrame), make([]byte, interp.TCMaxFrame+1), make([]byte, 60))
	metas = append(metas, interp.TCMeta{}, interp.TCMeta{}, interp.TCMeta{}, interp.TCMeta{WireLen: 59})
	failed, samples := 0, 0
	modes := map[uint32]int{}    // differences by helper mode (cb[0])
	verdicts := map[uint64]int{} // the kernel's verdicts
	refused := 0                 // inputs the kernel's test run refused
	for k, f := range frames {
		for _, m := range h.Maps("rets") {
			for i := uint32(0); i < jit.TCOpsRets; i++ {
				if err := m.Update(i, int64(0), prog.UpdateAny); err != nil {
					t.Fatal(err)
				}
			}
		}
		res, err := h.Run(bpftest.Input{Packet: f, TC: &metas[k]})
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK() {
			failed++
			modes[metas[k].CB[0]&31]++
			if failed < 5 {
				t.Errorf("input %d (%d bytes, cb % x, frame % x): %s", k, len(f), metas[k].CB, f[:min(len(f), 40)], res)
			}
		}
		samples += res.Records["events"]
		if o := res.Outcomes[0][0]; o.Err == nil {
			verdicts[o.Ret]++
		} else {
			refused++
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d inputs differ (by helper mode: %v)", failed, len(frames), modes)
	}
	if len(verdicts) < 5 || samples < 50 || refused < 3 || refused > len(frames)/4 {
		t.Fatalf("verdicts %v, %d perf samples, %d refused: the inputs miss paths of tc_ops", verdicts, samples, refused)
	}
	t.Logf("%d inputs: verdicts %v, %d perf samples, %d refused by the kernel", len(frames), verdicts, samples, refused)
}

// kernelHarness is a bpftest.Harness of program name of object, which
// must run in the kernel too: it needs root (testenv.RequireRoot).
func kernelHarness(t *testing.T, object, name string) *bpftest.Harness {
	testenv.RequireRoot(t)
	cs, err := prog.LoadCollectionSpec(object)
	if err != nil {
		t.Fatal(err)
	}
	return bpftest.NewT(t, cs, name, &bpftest.Options{Kernel: bpftest.KernelRequired})
}
