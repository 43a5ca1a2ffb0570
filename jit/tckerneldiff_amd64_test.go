//go:build amd64 && unix

package jit_test

import (
	"math/rand/v2"
	"testing"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

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
	testenv.RequireRoot(t)
	cs, err := prog.LoadCollectionSpec("testdata/tc_ops.o")
	if err != nil {
		t.Fatal(err)
	}
	h := bpftest.NewT(t, cs, "tc_ops", &bpftest.Options{Kernel: bpftest.KernelRequired})
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
