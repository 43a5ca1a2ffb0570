package bpftest_test

import (
	"strings"
	"testing"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// tcWriterSpec is a sched_cls program that writes the context fields a tc
// program may write, from cb[0], and returns TC_ACT_SHOT.
func tcWriterSpec() *prog.Spec {
	return &prog.Spec{Name: "tc_writer", Type: prog.SchedCLS, License: "GPL", Instructions: insn.Instructions{
		insn.LoadMem(insn.R2, insn.R1, 48, insn.W), // cb[0]
		insn.StoreMem(insn.R1, 8, insn.R2, insn.W), // mark
		insn.Add.Imm(insn.R2, 1),
		insn.StoreMem(insn.R1, 32, insn.R2, insn.W),   // priority
		insn.StoreMem(insn.R1, 44, insn.R2, insn.W),   // tc_index
		insn.StoreMem(insn.R1, 72, insn.R2, insn.W),   // tc_classid
		insn.StoreMem(insn.R1, 64, insn.R2, insn.W),   // cb[4]
		insn.StoreMem(insn.R1, 152, insn.R2, insn.DW), // tstamp
		insn.Mov.Imm(insn.R0, 2),                      // TC_ACT_SHOT
		insn.Exit(),
	}}
}

// A tc input's context fields reach the program as ctx_in, and the
// fields it writes come back from every engine: the ctx_out fields from
// the kernel, all of them from interp and jit. Frames the kernel's test
// run refuses fail in all three; a context ctx_in cannot carry runs in
// userspace only.
func TestTCContext(t *testing.T) {
	h, err := bpftest.NewProgram(tcWriterSpec(), &bpftest.Options{Kernel: kernelMode(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ip := make([]byte, 40)
	ip[0] = 0x45
	f := frame("\x00\x00\x00\x00\x00\x00", 0x0800, ip...)
	res := h.Check(t,
		bpftest.Input{Packet: f, TC: &interp.TCMeta{CB: [5]uint32{0x1234}, Mark: 9, IngressIfindex: 3}},
		bpftest.Input{Packet: f},                                                  // no context: all zero
		bpftest.Input{Packet: f[:20]},                                             // a short IPv4 frame: EINVAL, ErrContext
		bpftest.Input{Packet: f, TC: &interp.TCMeta{TCIndex: 1}},                  // not in ctx_in
		bpftest.Input{Packet: f, TC: &interp.TCMeta{WireLen: uint32(len(f) - 1)}}, // shorter than the frame: EINVAL
	)
	for _, o := range res.Outcomes[0] {
		if o.Err != nil || o.Ret != 2 || o.TC == nil {
			t.Fatalf("%s: %v", o.Engine, o)
		}
		want := interp.TCMeta{Mark: 0x1234, Priority: 0x1235, IngressIfindex: 3, Ifindex: 1, WireLen: uint32(len(f)), Tstamp: 0x1235, CB: [5]uint32{0x1234, 0, 0, 0, 0x1235}}
		if got := bpftest.CtxOut(*o.TC); got != want {
			t.Errorf("%s: ctx_out fields %+v, want %+v", o.Engine, got, want)
		}
		if o.Engine != bpftest.Kernel && (o.TC.TCIndex != 0x1235 || o.TC.TCClassid != 0x1235 || o.TC.Protocol != 0x0800) {
			t.Errorf("%s: tc_index %#x, tc_classid %#x, protocol %#x", o.Engine, o.TC.TCIndex, o.TC.TCClassid, o.TC.Protocol)
		}
	}
	if o := res.Outcomes[1][0]; o.Err != nil || o.TC.Mark != 0 || o.TC.Priority != 1 {
		t.Errorf("%s without a context: %v %+v", o.Engine, o, o.TC)
	}
	for _, i := range []int{2, 4} {
		for _, o := range res.Outcomes[i] {
			if o.Err == nil {
				t.Errorf("input %d: %s took it: %v", i, o.Engine, o)
			}
		}
	}
	if res.Engines[0] == bpftest.Kernel {
		if why := res.Outcomes[3][0].KernelSkipped; !strings.Contains(why, "tc_index") {
			t.Errorf("a tc_index in the context: kernel skipped %q", why)
		}
		if len(res.Notes) == 0 {
			t.Error("no note that the kernel's maps are compared no more")
		}
	}
}
