//go:build amd64 && unix

package jit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// tcRets is the size of tc_ops.c's rets array.
const tcRets = 24

// tcInput is one run of tc_ops.c: a frame and the context fields the
// kernel's test run takes in ctx_in (cb[0..2] pick the helper and its
// arguments).
type tcInput struct {
	frame []byte
	meta  interp.TCMeta
}

// tcResult is what one tc run gives in an engine.
type tcResult struct {
	verdict uint32
	out     []byte
	meta    interp.TCMeta // the ctx_out fields
	rets    [tcRets]int64
	err     error
}

// tcFrame generates one Ethernet frame: valid and malformed IPv4 (with
// options, truncated), IPv6 (with extension headers), 802.1Q and 802.1ad
// tagged, ARP, 802.3 length frames, TCP, UDP and ICMP, for every kind of
// destination MAC (the device's all-zero address, broadcast, multicast,
// another host).
func tcFrame(rng *rand.Rand) []byte {
	size := 14 + rng.IntN(140)
	switch rng.IntN(10) {
	case 0:
		size = 14 + rng.IntN(10)
	case 1:
		size = 200 + rng.IntN(interp.TCMaxFrame-200+20)
	}
	f := make([]byte, size)
	for i := range f {
		f[i] = byte(rng.Uint32())
	}
	switch rng.IntN(4) {
	case 0:
		copy(f, make([]byte, 6))
	case 1:
		copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	case 2:
		f[0] |= 1
	default:
		f[0] &^= 1
	}
	l3 := 14
	put16 := func(off int, v uint16) {
		if off+2 <= len(f) {
			binary.BigEndian.PutUint16(f[off:], v)
		}
	}
	et := []uint16{0x0800, 0x0800, 0x0800, 0x86dd, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x0040, 0x05dc, 0x1234}[rng.IntN(11)]
	put16(12, et)
	for et == 0x8100 || et == 0x88a8 {
		et = []uint16{0x0800, 0x86dd, 0x8100, 0x0020}[rng.IntN(4)]
		put16(l3+2, et)
		l3 += 4
	}
	if et < 0x0600 && rng.IntN(2) == 0 {
		put16(14, 0xffff)
	}
	l4proto := []byte{6, 17, 1, 47, 58}[rng.IntN(5)]
	switch et {
	case 0x0800:
		if l3+20 <= len(f) {
			ihl := 5 + rng.IntN(3)
			f[l3] = byte(0x40 | ihl)
			f[l3+8] = byte(rng.IntN(4)) // ttl: some 0
			f[l3+9] = l4proto
		}
	case 0x86dd:
		if l3+40 <= len(f) {
			f[l3] = 0x60
			f[l3+6] = []byte{6, 17, 58, 0, 43, 44}[rng.IntN(6)]
		}
	}
	return f
}

// tcInputs generates n inputs for tc_ops.c, every helper mode in turn.
func tcInputs(rng *rand.Rand, n int) []tcInput {
	var in []tcInput
	for k := 0; k < n; k++ {
		var m interp.TCMeta
		m.CB[0] = uint32(k%23) | uint32(rng.IntN(2))<<5
		m.CB[1] = rng.Uint32()
		m.CB[2] = rng.Uint32()
		switch rng.IntN(3) {
		case 0:
			m.CB[1] &= 0xff
			m.CB[2] &= 0x3ff
		case 1:
			m.CB[1] &= 0x1ff
		}
		if rng.IntN(3) == 0 {
			m.CB[1] = uint32(int32(-rng.IntN(60)))
		}
		m.CB[3], m.CB[4] = rng.Uint32(), rng.Uint32()
		m.Mark, m.Priority = rng.Uint32(), rng.Uint32()
		m.IngressIfindex = rng.Uint32N(5)
		m.Tstamp, m.HWTstamp = rng.Uint64(), rng.Uint64()
		m.GSOSegs = rng.Uint32N(70000)
		f := tcFrame(rng)
		if rng.IntN(4) == 0 {
			m.WireLen = uint32(len(f) + rng.IntN(100))
		}
		in = append(in, tcInput{frame: f, meta: m})
	}
	return in
}

func loadTCOps(t *testing.T) *prog.CollectionSpec {
	t.Helper()
	cs, err := prog.LoadCollectionSpec("testdata/tc_ops.o")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// userTC runs the inputs in interp (jit false) or jit, in a collection of
// tc_ops.o, through the VM or (runner) a Runner.
func userTC(t *testing.T, cs *prog.CollectionSpec, ins []tcInput, useJIT, runner bool, kv uint32) ([]tcResult, map[string]maps.Map) {
	t.Helper()
	p, ms := loadColl(t, cs, &interp.Options{MapOptions: &maps.Options{CPUs: 1}, KernelVersion: kv}, useJIT, "tc_ops")
	run := p.RunTC
	if runner {
		switch v := p.(type) {
		case *VM:
			r, err := v.NewRunner()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			run = r.RunTC
		case *interp.VM:
			r, err := v.NewRunner()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			run = r.RunTC
		}
	}
	zero := make([]byte, 8)
	var res []tcResult
	for _, in := range ins {
		for k := uint32(0); k < tcRets; k++ {
			ms["rets"].UpdateRaw(binary.NativeEndian.AppendUint32(nil, k), zero, prog.UpdateAny, 0)
		}
		var r tcResult
		f := append([]byte(nil), in.frame...)
		m := in.meta
		r.verdict, r.out, r.err = run(f, &m)
		r.out = bytes.Clone(r.out) // a Runner's output is valid until its next run
		if !bytes.Equal(f, in.frame) {
			t.Fatal("RunTC changed its input frame")
		}
		if r.err == nil {
			r.meta = m
		} else if m != in.meta {
			t.Fatal("a failed RunTC changed *meta")
		}
		for k := range r.rets {
			v := ms["rets"].LookupRaw(binary.NativeEndian.AppendUint32(nil, uint32(k)), 0)
			r.rets[k] = int64(binary.NativeEndian.Uint64(v))
		}
		res = append(res, r)
	}
	return res, ms
}

// TestTCEngines runs tc_ops.c on generated frames in interp and jit, each
// through the VM and a Runner: verdicts, output packets, context fields,
// helper results and maps agree, and frames the kernel's test run refuses
// are refused with ErrContext.
func TestTCEngines(t *testing.T) {
	cs := loadTCOps(t)
	ins := tcInputs(rand.New(rand.NewPCG(15, 11)), 1200)
	ins = append(ins, tcInput{frame: make([]byte, 13)}, tcInput{frame: make([]byte, interp.TCMaxFrame+1)},
		tcInput{frame: make([]byte, 60), meta: interp.TCMeta{WireLen: 59}}, tcInput{frame: make([]byte, 60), meta: interp.TCMeta{GSOSegs: 65536}})
	base, bms := userTC(t, cs, ins, false, false, 0)
	verdicts := map[uint32]int{}
	for k, in := range ins {
		a := base[k]
		if err := checkTCFrameErr(in); err {
			if !errors.Is(a.err, interp.ErrContext) {
				t.Fatalf("input %d (%d bytes): err %v, want ErrContext", k, len(in.frame), a.err)
			}
			continue
		}
		if a.err != nil {
			t.Fatalf("input %d: %v", k, a.err)
		}
		verdicts[a.verdict]++
	}
	if len(verdicts) < 5 {
		t.Fatalf("verdicts seen: %v; want variety", verdicts)
	}
	// Every perf sample is the tag and the first cb[1]&0x7f bytes of the
	// packet as the program saw it; a length past the packet is -EFAULT.
	samples := bms["events"].(*maps.PerfEventArray).Records()
	n := 0
	for k, in := range ins {
		a := base[k]
		if in.meta.CB[0]&31 != 22 || a.err != nil || a.rets[1] != int64(in.meta.CB[0]) {
			continue // not mode 22, or the program returned before it (a TTL of 0)
		}
		if want := int(in.meta.CB[1] & 0x7f); want > len(in.frame) {
			if a.rets[0] != -14 {
				t.Fatalf("input %d: perf output of %d bytes of a %d-byte packet: %d", k, want, len(in.frame), a.rets[0])
			}
			continue
		}
		s := samples[n].Sample
		if a.rets[0] != 0 || binary.NativeEndian.Uint32(s) != 0xfeedf00d || len(s) != 4+int(in.meta.CB[1]&0x7f) {
			t.Fatalf("input %d: perf sample % x (result %d)", k, s, a.rets[0])
		}
		n++
	}
	if n == 0 || n != len(samples) {
		t.Fatalf("%d perf samples, %d checked", len(samples), n)
	}
	for _, c := range []struct {
		name        string
		jit, runner bool
	}{{"interp Runner", false, true}, {"jit", true, false}, {"jit Runner", true, true}} {
		got, ms := userTC(t, cs, ins, c.jit, c.runner, 0)
		for k := range ins {
			a, b := base[k], got[k]
			if (a.err == nil) != (b.err == nil) || a.verdict != b.verdict || !bytes.Equal(a.out, b.out) || a.rets != b.rets || a.meta != b.meta {
				t.Fatalf("%s: input %d (cb % x, frame % x...): interp %d %v %+v % x %v; %s %d %v %+v % x %v", c.name, k, ins[k].meta.CB, ins[k].frame[:min(len(ins[k].frame), 20)],
					a.verdict, a.rets, a.meta, a.out, a.err, c.name, b.verdict, b.rets, b.meta, b.out, b.err)
			}
		}
		for key := uint32(0); key < 256; key++ {
			kb := binary.NativeEndian.AppendUint32(nil, key)
			if !bytes.Equal(bms["protos"].LookupRaw(kb, 0), ms["protos"].LookupRaw(kb, 0)) {
				t.Fatalf("%s: protos[%d] differ", c.name, key)
			}
		}
		recs := ms["events"].(*maps.PerfEventArray).Records()
		if len(recs) != len(samples) {
			t.Fatalf("%s: %d perf samples, interp %d", c.name, len(recs), len(samples))
		}
		for k := range recs {
			if !bytes.Equal(recs[k].Sample, samples[k].Sample) {
				t.Fatalf("%s: perf sample %d: % x, interp % x", c.name, k, recs[k].Sample, samples[k].Sample)
			}
		}
	}
}

func checkTCFrameErr(in tcInput) bool {
	n := len(in.frame)
	if n >= 14 {
		switch binary.BigEndian.Uint16(in.frame[12:]) {
		case 0x0800:
			if n < 34 {
				return true
			}
		case 0x86dd:
			if n < 54 {
				return true
			}
		}
	}
	return n < 14 || n > interp.TCMaxFrame || in.meta.WireLen != 0 && (int(in.meta.WireLen) < n || in.meta.WireLen > 65536) || in.meta.GSOSegs > 65535
}
