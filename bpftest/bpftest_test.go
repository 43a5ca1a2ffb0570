package bpftest_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// kernelMode is KernelRequired where the kernel must run (root, or
// CI=true, where a missing kernel fails the test) and KernelIfAvailable
// otherwise.
func kernelMode(t *testing.T) bpftest.KernelMode {
	if os.Geteuid() == 0 || testenv.CI() {
		return bpftest.KernelRequired
	}
	t.Logf("not root: the kernel part does not run")
	return bpftest.KernelIfAvailable
}

// skbFields are the __sk_buff fields a socket filter may read, by offset:
// len, pkt_type, mark, queue_mapping, protocol, vlan_present, vlan_tci,
// vlan_proto, priority, ingress_ifindex, ifindex, tc_index, cb[0..4],
// hash.
var skbFields = []int16{0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68}

// skbFieldsSpec is a socket filter that copies every __sk_buff field it
// may read into the value of map "fields" and keeps the whole packet.
func skbFieldsSpec() *prog.Spec {
	is := insn.Instructions{
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.StoreImm(insn.RFP, -4, 0, insn.W),
		insn.LoadMapPtr(insn.R1, "fields"),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -4),
		insn.FnMapLookupElem.Call(),
		insn.JEq.Imm(insn.R0, 0, "out"),
	}
	for k, off := range skbFields {
		is = append(is, insn.LoadMem(insn.R3, insn.R6, off, insn.W), insn.StoreMem(insn.R0, int16(4*k), insn.R3, insn.W))
	}
	is = append(is, insn.Mov.Imm(insn.R0, -1).WithLabel("out"), insn.Exit())
	return &prog.Spec{Name: "skb_fields", Type: prog.SocketFilter, License: "GPL", Instructions: is,
		Maps: []*prog.MapSpec{{Name: "fields", Type: prog.Array, KeySize: 4, ValueSize: uint32(4 * len(skbFields)), MaxEntries: 1}}}
}

// The __sk_buff a socket filter sees in the kernel's test run (pkt_type
// and protocol from eth_type_trans, ifindex) is the one the harness gives
// interp and jit, frame after frame, for host, other-host, broadcast and
// multicast destinations and Ethernet II, 802.3 and 802.2 frames, and
// frames the kernel refuses are run in userspace only.
func TestSocketFilterContext(t *testing.T) {
	h, err := bpftest.NewProgram(skbFieldsSpec(), &bpftest.Options{Kernel: kernelMode(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ip := make([]byte, 40)
	ip[0] = 0x45
	frames := [][]byte{
		frame("\x00\x00\x00\x00\x00\x00", 0x0800, ip...),            // to the loopback's address: PACKET_HOST
		frame("\x02\x00\x00\x00\x00\x09", 0x0800, ip...),            // PACKET_OTHERHOST
		frame("\xff\xff\xff\xff\xff\xff", 0x0806, ip...),            // broadcast: PACKET_MULTICAST on the loopback, ARP
		frame("\xff\xff\xff\xff\xff\xff", 0x05dc, ip...),            // ETH_P_802_3: the frame starts with 0xffff
		frame("\x01\x00\x5e\x00\x00\x01", 0x86dd, ip...),            // PACKET_MULTICAST, IPv6
		frame("\x00\x00\x00\x00\x00\x00", 0x8100, ip...),            // VLAN tag, not accelerated
		frame("\x00\x00\x00\x00\x00\x00", 0x05dc, 0xff, 0xff, 1, 2), // ETH_P_802_2: 0xffff after the header does not count
		frame("\x00\x00\x00\x00\x00\x00", 0x05dc, 0xaa, 0xaa, 3),    // 802.2 LLC: ETH_P_802_2
		frame("\x00\x00\x00\x00\x00\x00", 0x0800, 0x45, 0),          // short IPv4: the kernel refuses it
		make([]byte, 9), // no Ethernet header
	}
	// One Run per frame: the map is compared after each.
	for k, f := range frames {
		res := h.Check(t, bpftest.PacketInput(f))
		if res.Engines[0] != bpftest.Kernel {
			continue
		}
		refused := k >= len(frames)-2
		if o := res.Outcomes[0][0]; (o.KernelSkipped != "") != refused {
			t.Errorf("frame %d: kernel outcome %v", k, o)
		}
		if refused != (len(res.Notes) > 0) {
			t.Errorf("frame %d: notes %q", k, res.Notes)
		}
	}
}

func frame(dst string, ethertype uint16, payload ...byte) []byte {
	f := make([]byte, 14, 14+len(payload))
	copy(f, dst)
	copy(f[6:], "\x02\x00\x00\x00\x00\x01")
	binary.BigEndian.PutUint16(f[12:], ethertype)
	return append(f, payload...)
}

// Differences are found and reported: here interp and jit draw
// different "random" numbers from one counter, which the program returns
// and stores in a map.
func TestReportsDifferences(t *testing.T) {
	n := uint32(0)
	spec := &prog.Spec{Name: "rnd", Type: prog.XDP, License: "GPL", Instructions: insn.Instructions{
		insn.FnGetPrandomU32.Call(),
		insn.StoreMem(insn.RFP, -8, insn.R0, insn.W),
		insn.StoreImm(insn.RFP, -4, 0, insn.W),
		insn.LoadMapPtr(insn.R1, "last"),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -4),
		insn.Mov.Reg(insn.R3, insn.RFP),
		insn.Add.Imm(insn.R3, -8),
		insn.Mov.Imm(insn.R4, 0),
		insn.FnMapUpdateElem.Call(),
		insn.LoadMem(insn.R0, insn.RFP, -8, insn.W),
		insn.And.Imm(insn.R0, 3),
		insn.Exit(),
	}, Maps: []*prog.MapSpec{{Name: "last", Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4}}}
	h, err := bpftest.NewProgram(spec, &bpftest.Options{Kernel: bpftest.KernelNever, Program: &interp.Options{Rand: func() uint32 { n++; return n }}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if len(h.Engines()) < 2 {
		t.Skipf("only %v run here: %v", h.Engines(), h.Skipped())
	}
	res, err := h.Run(bpftest.PacketInput(make([]byte, 60)))
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() || len(res.Diffs) != 2 {
		t.Fatalf("want a return value and a map difference, got:\n%s", res)
	}
	if d := res.Diffs[0]; d.Input != 0 || d.What != "return value" || d.Want != bpftest.Interp || d.Got != bpftest.JIT || d.WantValue != "1 (0x1)" || d.GotValue != "2 (0x2)" {
		t.Errorf("diff 0: %+v", d)
	}
	if d := res.Diffs[1]; d.Input != -1 || d.What != `map "last" key 00000000` || d.WantValue != "01 00 00 00" || d.GotValue != "02 00 00 00" {
		t.Errorf("diff 1: %+v", d)
	}
	if s := res.String(); !strings.Contains(s, "2 differences") || !strings.Contains(s, `input 0: return value: interp 1 (0x1); jit 2 (0x2)`) {
		t.Errorf("report:\n%s", s)
	}
	// Ring buffer records are drained and compared in order.
	rb := &prog.Spec{Name: "rb", Type: prog.XDP, License: "GPL", Instructions: insn.Instructions{
		insn.FnGetPrandomU32.Call(),
		insn.StoreMem(insn.RFP, -8, insn.R0, insn.DW),
		insn.LoadMapPtr(insn.R1, "events"),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -8),
		insn.Mov.Imm(insn.R3, 8),
		insn.Mov.Imm(insn.R4, 0),
		insn.FnRingbufOutput.Call(),
		insn.Mov.Imm(insn.R0, interp.XDPPass),
		insn.Exit(),
	}, Maps: []*prog.MapSpec{{Name: "events", Type: prog.RingBuf, MaxEntries: 4096}}}
	h3, err := bpftest.NewProgram(rb, &bpftest.Options{Kernel: bpftest.KernelNever, Program: &interp.Options{Rand: func() uint32 { n++; return n }}})
	if err != nil {
		t.Fatal(err)
	}
	defer h3.Close()
	res, err = h3.Run(bpftest.PacketInput(make([]byte, 60)), bpftest.PacketInput(make([]byte, 60)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diffs) != 2 || res.Diffs[0].What != `map "events" record 0` || res.Diffs[1].What != `map "events" record 1` || res.Records["events"] != 2 {
		t.Fatalf("want two record differences:\n%s", res)
	}
	// IgnoreMaps leaves the map out.
	h2, err := bpftest.NewProgram(spec, &bpftest.Options{Kernel: bpftest.KernelNever, IgnoreMaps: []string{"last"}, Program: &interp.Options{Rand: func() uint32 { return 7 }}})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if res, err := h2.Run(bpftest.PacketInput(make([]byte, 60))); err != nil || !res.OK() {
		t.Fatalf("%v %v", res, err)
	}
}

// The harness needs no privileges: as user nobody it says why the kernel
// does not run, compares interp and jit, and fails New only when the
// kernel is required.
func TestUnprivileged(t *testing.T) {
	spec := &prog.Spec{Name: "pass", Type: prog.XDP, License: "GPL", Instructions: insn.Instructions{
		insn.Mov.Imm(insn.R0, interp.XDPPass),
		insn.Exit(),
	}}
	if !testenv.Unprivileged() {
		testenv.RunUnprivileged(t)
		return
	}
	if err := bpftest.KernelAvailable(); err == nil {
		t.Fatal("KernelAvailable: nil as nobody")
	}
	if _, err := bpftest.NewProgram(spec, &bpftest.Options{Kernel: bpftest.KernelRequired}); !errors.Is(err, bpftest.ErrKernelUnavailable) {
		t.Fatalf("KernelRequired as nobody: %v", err)
	}
	h, err := bpftest.NewProgram(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if why := h.Skipped()[bpftest.Kernel]; why == "" || h.Engines()[0] != bpftest.Interp {
		t.Fatalf("engines %v, skipped %v", h.Engines(), h.Skipped())
	}
	res := h.Check(t, bpftest.PacketInput(make([]byte, 60)))
	if res.Outcomes[0][0].Ret != interp.XDPPass || !strings.Contains(res.String(), "kernel skipped: ") {
		t.Fatalf("%s", res)
	}
	t.Log(res)
}

// Queues and stacks are compared element by element and left as they
// were; Harness.Maps sets up the same state in every engine.
func TestQueueStackAndSetup(t *testing.T) {
	var is insn.Instructions
	for _, m := range []string{"q", "s"} {
		is = append(is,
			insn.LoadMem(insn.R2, insn.R6, 4, insn.W), // data_end
			insn.LoadMem(insn.R3, insn.R6, 0, insn.W), // data
			insn.Sub.Reg(insn.R2, insn.R3),
			insn.StoreMem(insn.RFP, -8, insn.R2, insn.DW),
			insn.LoadMapPtr(insn.R1, m),
			insn.Mov.Reg(insn.R2, insn.RFP),
			insn.Add.Imm(insn.R2, -8),
			insn.Mov.Imm(insn.R3, 0),
			insn.FnMapPushElem.Call(),
		)
	}
	// r0 = counters[0] (set up by the test) + 1, stored back.
	is = append(insn.Instructions{insn.Mov.Reg(insn.R6, insn.R1)}, is...)
	is = append(is,
		insn.StoreImm(insn.RFP, -4, 0, insn.W),
		insn.LoadMapPtr(insn.R1, "counters"),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -4),
		insn.FnMapLookupElem.Call(),
		insn.JEq.Imm(insn.R0, 0, "out"),
		insn.LoadMem(insn.R1, insn.R0, 0, insn.DW),
		insn.Add.Imm(insn.R1, 1),
		insn.StoreMem(insn.R0, 0, insn.R1, insn.DW),
		insn.Mov.Imm(insn.R0, interp.XDPPass),
		insn.Exit().WithLabel("out"),
	)
	spec := &prog.Spec{Name: "qs", Type: prog.XDP, License: "GPL", Instructions: is, Maps: []*prog.MapSpec{
		{Name: "q", Type: prog.Queue, ValueSize: 8, MaxEntries: 8},
		{Name: "s", Type: prog.Stack, ValueSize: 8, MaxEntries: 8},
		{Name: "counters", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4},
	}}
	h, err := bpftest.NewProgram(spec, &bpftest.Options{Kernel: kernelMode(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, m := range h.Maps("counters") {
		if err := m.Update(uint32(0), uint64(40), prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	h.Check(t, bpftest.PacketInput(make([]byte, 20)), bpftest.PacketInput(make([]byte, 30)))
	h.Check(t, bpftest.PacketInput(make([]byte, 40)))
	for _, e := range h.Engines() {
		var c uint64
		if err := h.Map(e, "counters").Lookup(uint32(0), &c); err != nil || c != 43 {
			t.Errorf("%s: counters[0] = %d, %v; want 43", e, c, err)
		}
		for m, want := range map[string][]uint64{"q": {20, 30, 40}, "s": {40, 30, 20}} {
			var got []uint64
			var v uint64
			for h.Map(e, m).LookupAndDelete(nil, &v) == nil {
				got = append(got, v)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: %s popped %v, want %v", e, m, got, want)
			}
		}
	}
}

// Raw-memory programs run in interp and jit only (the kernel has no test
// run for them); the buffer after the run is compared.
func TestMemoryInput(t *testing.T) {
	spec := &prog.Spec{Name: "mem", Instructions: insn.Instructions{
		insn.LoadMem(insn.R0, insn.R1, 0, insn.DW),
		insn.StoreImm(insn.R1, 8, 7, insn.DW),
		insn.Exit(),
	}}
	h, err := bpftest.NewProgram(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if !strings.Contains(h.Skipped()[bpftest.Kernel], "cannot run memory programs") {
		t.Errorf("skipped: %v", h.Skipped())
	}
	mem := make([]byte, 16)
	mem[0] = 42
	res := h.Check(t, bpftest.Input{Memory: mem}, bpftest.Input{Memory: make([]byte, 4)})
	if o := res.Outcomes[0][0]; o.Ret != 42 || o.Memory[8] != 7 || mem[8] != 0 {
		t.Errorf("outcome %v, memory % x", o, o.Memory)
	}
	if o := res.Outcomes[1][0]; !errors.Is(o.Err, interp.ErrMemoryAccess) {
		t.Errorf("4-byte buffer: %v", o)
	}
	if _, err := h.Run(bpftest.Input{Kind: bpftest.XDP, Packet: make([]byte, 20)}); err == nil || !strings.Contains(err.Error(), "takes memory inputs") {
		t.Errorf("XDP input to a memory program: %v", err)
	}
	if _, err := bpftest.NewProgram(spec, &bpftest.Options{Kernel: bpftest.KernelRequired}); !errors.Is(err, bpftest.ErrKernelUnavailable) {
		t.Errorf("KernelRequired for a memory program: %v", err)
	}
}

// A program userspace cannot run is an error from New that names the
// helper it lacks.
func TestMissingHelper(t *testing.T) {
	spec := &prog.Spec{Name: "sig", Type: prog.XDP, License: "GPL", Instructions: insn.Instructions{
		insn.Mov.Imm(insn.R1, 9),
		insn.FnSendSignal.Call(),
		insn.Mov.Imm(insn.R0, interp.XDPPass),
		insn.Exit(),
	}}
	_, err := bpftest.NewProgram(spec, &bpftest.Options{Kernel: bpftest.KernelNever})
	if !errors.Is(err, interp.ErrUnknownHelper) || !strings.Contains(err.Error(), insn.FnSendSignal.String()) || !strings.Contains(err.Error(), "interp cannot run") {
		t.Fatalf("New: %v", err)
	}
	t.Log(err)
}
