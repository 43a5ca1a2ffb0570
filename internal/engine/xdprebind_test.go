package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// rebindProg is an XDP program that does what the frame's byte 14 says,
// with arguments in bytes 16 and 17: adjust head, tail and metadata and
// write the moved packet (1), redirect (2), read past data_end (3: an
// error), count in an array map's value and copy it to the packet (4),
// copy xdp_md fields to the packet (5), write the packet in a
// bpf-to-bpf call (6), reserve a ring buffer record and submit it or
// leave it (7), write xdp_get_buff_len to the packet (8); and anything
// else: pass. Every run first copies a stack slot to byte 15 and then
// writes the slot, which shows a stack that is not zeroed.
func rebindProg() (insn.Instructions, []*prog.MapSpec) {
	ms := []*prog.MapSpec{
		{Name: "arr", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Name: "rb", Type: prog.RingBuf, MaxEntries: 4096},
	}
	call := func(fn insn.HelperFunc) insn.Instruction { return insn.Call(int32(fn)) }
	is := insn.Instructions{
		insn.Mov.Reg(r6, r1),
		insn.LoadMem(r7, r6, 0, insn.W),
		insn.LoadMem(r8, r6, 4, insn.W),
		insn.LoadMem(r9, r7, 14, insn.B),
		insn.LoadMem(r0, r10, -8, insn.DW),
		insn.StoreMem(r7, 15, r0, insn.B),
		insn.StoreMem(r10, -8, r9, insn.DW),
		insn.JEq.Imm(r9, 1, "adjust"),
		insn.JEq.Imm(r9, 2, "redirect"),
		insn.JEq.Imm(r9, 3, "oob"),
		insn.JEq.Imm(r9, 4, "lookup"),
		insn.JEq.Imm(r9, 5, "ctx"),
		insn.JEq.Imm(r9, 6, "local"),
		insn.JEq.Imm(r9, 7, "ringbuf"),
		insn.JEq.Imm(r9, 8, "bufflen"),
		insn.Ja("pass"),

		insn.LoadMemSX(r8, r7, 16, insn.B).WithLabel("adjust"),
		insn.LoadMemSX(r9, r7, 17, insn.B),
		insn.Mov.Reg(r1, r6), insn.Mov.Reg(r2, r8), call(insn.FnXDPAdjustHead),
		insn.Mov.Reg(r1, r6), insn.Mov.Reg(r2, r9), call(insn.FnXDPAdjustTail),
		insn.Mov.Reg(r1, r6), insn.Mov.Imm(r2, -8), call(insn.FnXDPAdjustMeta),
		insn.LoadMem(r2, r6, 0, insn.W),
		insn.LoadMem(r3, r6, 4, insn.W),
		insn.Mov.Reg(r4, r2), insn.Add.Imm(r4, 1),
		insn.JGT.Reg(r4, r3, "pass"),
		insn.StoreImm(r2, 0, 0x77, insn.B),
		insn.LoadMem(r2, r6, 8, insn.W),
		insn.LoadMem(r5, r6, 0, insn.W),
		insn.Mov.Reg(r4, r2), insn.Add.Imm(r4, 8),
		insn.JGT.Reg(r4, r5, "pass"),
		insn.StoreImm(r2, 0, 0x11223344, insn.DW),
		insn.Ja("pass"),

		insn.LoadMem(r1, r7, 16, insn.B).WithLabel("redirect"),
		insn.LoadMem(r2, r7, 17, insn.B),
		insn.And.Imm(r2, 1),
		call(insn.FnRedirect),
		insn.Exit(),

		insn.LoadMem(r0, r8, 0, insn.B).WithLabel("oob"),
		insn.Exit(),

		insn.LoadMem(r1, r7, 16, insn.B).WithLabel("lookup"),
		insn.And.Imm(r1, 7),
		insn.StoreMem(r10, -16, r1, insn.W),
		insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -16),
		insn.LoadMapPtr(r1, "arr"),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "pass"),
		insn.LoadMem(r1, r0, 0, insn.DW),
		insn.Add.Imm(r1, 1),
		insn.StoreMem(r0, 0, r1, insn.DW),
		insn.LoadMem(r2, r6, 0, insn.W),
		insn.StoreMem(r2, 16, r1, insn.DW),
		insn.Mov.Imm(r0, XDPTX),
		insn.Exit(),

		insn.LoadMem(r1, r6, 12, insn.W).WithLabel("ctx"),
		insn.StoreMem(r7, 16, r1, insn.W),
		insn.LoadMem(r1, r6, 16, insn.W),
		insn.StoreMem(r7, 20, r1, insn.W),
		insn.Ja("pass"),

		insn.Mov.Reg(r1, r7).WithLabel("local"),
		insn.CallLocal("f"),
		insn.Ja("pass"),

		insn.LoadMapPtr(r1, "rb").WithLabel("ringbuf"),
		insn.Mov.Imm(r2, 8), insn.Mov.Imm(r3, 0),
		call(insn.FnRingbufReserve),
		insn.JEq.Imm(r0, 0, "pass"),
		insn.StoreMem(r0, 0, r9, insn.DW),
		insn.LoadMem(r1, r7, 16, insn.B),
		insn.And.Imm(r1, 1),
		insn.JEq.Imm(r1, 0, "pass"), // left reserved: the run's end discards it
		insn.Mov.Reg(r1, r0), insn.Mov.Imm(r2, 0),
		call(insn.FnRingbufSubmit),
		insn.Ja("pass"),

		insn.Mov.Reg(r1, r6).WithLabel("bufflen"),
		call(insn.FnXDPGetBuffLen),
		insn.LoadMem(r2, r6, 0, insn.W),
		insn.StoreMem(r2, 16, r0, insn.W),

		insn.Mov.Imm(r0, XDPPass).WithLabel("pass"),
		insn.Exit(),

		insn.StoreImm(r1, 16, 0x42, insn.B).WithLabel("f"),
		insn.Mov.Imm(r0, 0),
		insn.Exit(),
	}
	return is, ms
}

// rebindCase is one run's input: a frame and its metadata.
type rebindCase struct {
	frame []byte
	meta  *XDPMeta
}

// randRebindCase makes a frame of a random mode and length, with random
// metadata, fragments and redirect target, now and then one that RunXDP
// refuses.
func randRebindCase(rnd *rand.Rand) rebindCase {
	n := 14 + rnd.IntN(80)
	switch rnd.IntN(20) {
	case 0:
		n = XDPMaxFrame + 1 + rnd.IntN(3000) // fragments
	case 1:
		n = rnd.IntN(14) // refused
	}
	f := make([]byte, n)
	for k := range f {
		f[k] = byte(rnd.Uint32())
	}
	if n > 14 {
		f[14] = byte(rnd.IntN(10))
	}
	if n > 17 && rnd.IntN(2) == 0 {
		f[16], f[17] = byte(int8(rnd.IntN(64)-32)), byte(int8(rnd.IntN(64)-32))
	}
	var meta *XDPMeta
	if rnd.IntN(3) > 0 {
		meta = &XDPMeta{IngressIfindex: uint32(rnd.IntN(3)), RxQueueIndex: rnd.Uint32(), EgressIfindex: uint32(rnd.IntN(2))}
		if rnd.IntN(2) == 0 {
			meta.Meta = make([]byte, 4*rnd.IntN(9))
			for k := range meta.Meta {
				meta.Meta[k] = byte(rnd.Uint32())
			}
		}
		if rnd.IntN(15) == 0 {
			meta.Meta = make([]byte, 3) // refused
		}
		if rnd.IntN(2) == 0 {
			meta.Redirect = &XDPTarget{Ifindex: 99, Map: "stale"}
		}
		if n <= XDPMaxFrame && rnd.IntN(8) == 0 {
			meta.Frags = [][]byte{bytes.Repeat([]byte{0xab}, 1+rnd.IntN(100))}
		}
	}
	return rebindCase{f, meta}
}

// xdpResult is what a run gives: verdict, output, error and the redirect
// target it reports.
type xdpResult struct {
	verdict uint32
	out     []byte
	err     string
	target  XDPTarget
}

func (r xdpResult) String() string {
	return fmt.Sprintf("verdict %d, err %q, target %+v, out % x", r.verdict, r.err, r.target, r.out)
}

var hexAddr = regexp.MustCompile(`0x[0-9a-f]+`)

func runCase(run func([]byte, *XDPMeta) (uint32, []byte, error), c rebindCase) xdpResult {
	meta := c.meta
	if meta != nil && meta.Redirect != nil {
		m := *meta
		m.Redirect = &XDPTarget{Ifindex: 99, Map: "stale"}
		meta = &m
	}
	v, out, err := run(c.frame, meta)
	res := xdpResult{verdict: v, out: bytes.Clone(out)}
	if err != nil {
		res.err = hexAddr.ReplaceAllString(err.Error(), "0x?") // the pages differ
	}
	if meta != nil && meta.Redirect != nil {
		res.target = *meta.Redirect
	}
	return res
}

// TestRunnerRebindXDP runs random frames through a Runner, which keeps
// its XDP binding between runs and rebinds it (RebindXDP), and through
// VM.RunXDP, which binds each run afresh, on two VMs of the same program
// and maps: verdicts, packets, errors, redirect targets and the maps'
// contents must agree, run by run, across runs that move the packet's
// head, tail and metadata, redirect, fail, use fragments, hold ring
// buffer records, and across Close.
func TestRunnerRebindXDP(t *testing.T) {
	is, ms := rebindProg()
	mk := func() *VM {
		vm, err := New(&prog.Spec{Name: "rebind", Type: prog.XDP, Instructions: is, Maps: ms}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return vm
	}
	vmR, vmF := mk(), mk()
	rn, err := vmR.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { rn.Close() }()
	rnd := rand.New(rand.NewPCG(1, 2))
	rebinds := 0
	for k := range 3000 {
		if k%500 == 499 { // Close in between: the next run binds afresh
			rn.Close()
			if _, _, err := rn.RunXDP(make([]byte, 60), nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("run after Close: %v", err)
			}
			if rn, err = vmR.NewRunner(); err != nil {
				t.Fatal(err)
			}
		}
		c := randRebindCase(rnd)
		if rn.bound {
			rebinds++
		}
		got := runCase(rn.RunXDP, c)
		want := runCase(vmF.RunXDP, c)
		if got.String() != want.String() {
			t.Fatalf("run %d (frame % x, meta %+v, rebound %v):\nRunner %s\nVM     %s", k, c.frame[:min(len(c.frame), 20)], c.meta, rn.bound, got, want)
		}
		if got.err == "" && c.frame[14] != 7 && !rn.bound {
			t.Fatalf("run %d: a successful run without ring buffer records should stay bound", k)
		}
	}
	if rebinds < 1000 {
		t.Errorf("only %d of 3000 runs rebound", rebinds)
	}
	for _, name := range []string{"arr", "rb"} {
		a, b := vmR.Map(name), vmF.Map(name)
		if name == "arr" {
			for key := range uint32(4) {
				k := []byte{byte(key), 0, 0, 0}
				if x, y := a.LookupRaw(k, 0), b.LookupRaw(k, 0); !bytes.Equal(x, y) {
					t.Errorf("arr[%d]: Runner's %x, VM's %x", key, x, y)
				}
			}
		}
	}
}

// TestRebindXDPContract checks RebindXDP and KeepXDP directly: what they
// refuse, that a refused frame leaves the binding alone, and that the
// context's address and the region indices stay put.
func TestRebindXDPContract(t *testing.T) {
	is, ms := rebindProg()
	vm, err := New(&prog.Spec{Name: "rebind", Type: prog.XDP, Instructions: is, Maps: ms}, nil)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 60)
	var out []byte

	// An Env that does not keep its packets never stays bound.
	e := vm.AcquireEnv()
	r1, err := BindXDP(e, frame, nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vm.exec(e, r1, 0); err != nil {
		t.Fatal(err)
	}
	if KeepXDP(e) {
		t.Fatal("KeepXDP kept the binding of an Env that does not keep its packets")
	}
	if _, ok, err := RebindXDP(e, frame, nil, &out); ok || err != nil {
		t.Fatalf("RebindXDP of an Env that does not keep its packets: %v, %v", ok, err)
	}
	vm.ReleaseEnv(e)

	e = vm.AcquireEnv()
	KeepPackets(e, true)
	defer func() {
		vm.EndEnv(e)
		KeepPackets(e, false)
		vm.put(e)
	}()
	if _, ok, err := RebindXDP(e, frame, nil, &out); ok || err != nil {
		t.Fatalf("RebindXDP of an unbound Env: %v, %v", ok, err)
	}
	frame[14], frame[16] = 4, 1 // count in arr[1]: a dynamic region
	if r1, err = BindXDP(e, frame, nil, &out); err != nil {
		t.Fatal(err)
	}
	ctx, pkt := r1, Regions(e)[2]
	if ctx != XDPContext(e) || pkt.Start != addrOf(e.xdp.page.buf)+XDPHeadroom {
		t.Fatalf("context 0x%x, packet region %+v", ctx, pkt)
	}
	for k := range 3 {
		if ret, err := vm.exec(e, r1, 0); err != nil || ret != XDPTX {
			t.Fatalf("run %d: %d, %v", k, ret, err)
		}
		if DynamicRegions(e) != 1 {
			t.Fatalf("run %d: %d dynamic regions, want the map value", k, DynamicRegions(e))
		}
		if !KeepXDP(e) {
			t.Fatalf("run %d: KeepXDP refused", k)
		}
		if want := uint64(k + 1); len(out) != len(frame) || ne.Uint64(out[16:]) != want {
			t.Fatalf("run %d: output % x, want the count %d at 16", k, out, want)
		}
		// A refused frame changes nothing.
		if _, ok, err := RebindXDP(e, frame[:10], nil, &out); ok || !errors.Is(err, ErrContext) {
			t.Fatalf("run %d: RebindXDP of a short frame: %v, %v", k, ok, err)
		}
		frame[0] = byte(k)
		var ok bool
		if r1, ok, err = RebindXDP(e, frame, nil, &out); !ok || err != nil {
			t.Fatalf("run %d: RebindXDP: %v, %v", k, ok, err)
		}
		if r1 != ctx || DynamicRegions(e) != 0 || Regions(e)[2].Start != pkt.Start || Regions(e)[1].Start != ctx {
			t.Fatalf("run %d: rebind gave context 0x%x (want 0x%x), %d dynamic regions, packet region at 0x%x (want 0x%x)", k, r1, ctx, DynamicRegions(e), Regions(e)[2].Start, pkt.Start)
		}
		if got := e.xdpPacket(); !bytes.Equal(got, frame) {
			t.Fatalf("run %d: rebound packet % x, want % x", k, got, frame)
		}
		e.zeroStack(vm.prog)
	}
	// A run that leaves a ring buffer record reserved is not kept.
	frame[14], frame[16] = 7, 0
	if r1, _, err = RebindXDP(e, frame, nil, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.exec(e, r1, 0); err != nil {
		t.Fatal(err)
	}
	if KeepXDP(e) {
		t.Fatal("KeepXDP kept a run with a ring buffer reservation")
	}
	if _, ok, _ := RebindXDP(e, frame, nil, &out); ok {
		t.Fatal("RebindXDP rebound an Env with a ring buffer reservation")
	}
	vm.EndEnv(e)
	if len(out) != len(frame) {
		t.Fatalf("EndEnv gave % x", out)
	}
}

// TestXDPContextLoads loads every field width at every offset around
// xdp_md, with ldx and ldsx: fast loads aligned whole words itself (the
// context window) and leaves the rest to exec, and both must give what
// checkXDPAccess and the context's bytes say.
func TestXDPContextLoads(t *testing.T) {
	frame := make([]byte, 60)
	meta := &XDPMeta{IngressIfindex: 7, RxQueueIndex: 0x80000003, EgressIfindex: 5}
	for _, sx := range []bool{false, true} {
		for _, sz := range []insn.Size{insn.B, insn.H, insn.W, insn.DW} {
			if sx && sz == insn.DW {
				continue
			}
			for off := int16(-8); off <= xdpSize+4; off++ {
				ld := insn.LoadMem(r0, r1, off, sz)
				if sx {
					ld = insn.LoadMemSX(r0, r1, off, sz)
				}
				vm, err := New(&prog.Spec{Name: "ctx", Type: prog.XDP, Instructions: insn.Instructions{ld, insn.Exit()}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := vm.RunXDP(frame, meta)
				name := fmt.Sprintf("ldx sx=%v size %d off %d", sx, sz.Bytes(), off)
				inside := off >= 0 && int(off)+sz.Bytes() <= xdpSize
				if !inside || checkXDPAccess(uint64(off), sz.Bytes(), false) != nil {
					if err == nil {
						t.Errorf("%s: %#x, want an error", name, got)
					}
					continue
				}
				// The fields other than the pointers.
				want := map[int16]uint32{xdpIngressIfindex: 7, xdpRxQueueIndex: 0x80000003, xdpEgressIfindex: 5}
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if w, ok := want[off]; ok && sz == insn.W {
					wv := uint64(w)
					if sx {
						wv = uint64(int64(int32(w)))
					}
					if uint64(got) != uint64(uint32(wv)) {
						t.Errorf("%s: %#x, want %#x", name, got, wv)
					}
				}
			}
		}
	}
}
