package interp_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// fragsCase is one run of testdata/xdp_frags.bpf.c: a frame and the
// operation its header asks for.
type fragsCase struct {
	frame []byte
	op    byte
}

// fragsFrame builds a frame of n bytes (at least 24) for xdp_frags.
func fragsFrame(rng *rand.Rand, n int, op, sel byte, off uint32, delta int32) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = byte(rng.Uint32())
	}
	f[14], f[15] = op, sel
	binary.LittleEndian.PutUint32(f[16:], off)
	binary.LittleEndian.PutUint32(f[20:], uint32(delta))
	return f
}

// fragsCases are frames of one page and longer (a linear part of
// XDPMaxFrame bytes and fragments of a page) with loads and stores at
// the boundaries, tails grown and shrunk across fragments, and perf
// samples of the frame.
func fragsCases(rng *rand.Rand) []fragsCase {
	const lin = interp.XDPMaxFrame
	sizes := []int{60, lin, lin + 1, 5000, lin + 4096, lin + 4097, 10000, lin + 3*4096 - 5, interp.XDPMaxFragsFrame}
	var cs []fragsCase
	add := func(n int, op, sel byte, off uint32, delta int32) {
		cs = append(cs, fragsCase{fragsFrame(rng, n, op, sel, off, delta), op})
	}
	for _, n := range sizes {
		add(n, 0, 0, 0, 0)
		for sel := byte(0); sel < 4; sel++ {
			for _, off := range []uint32{0, 30, lin - 1, lin - 8, lin - 64, lin, lin + 1, uint32(n) - 1, uint32(n) - 8, uint32(n) - 300, uint32(n), lin + 4090, 0x10000, 0xffff} {
				add(n, 1, sel, off, 0)
				add(n, 2, sel, off, 0)
			}
		}
		frag := (n - lin) % 4096
		for _, d := range []int32{0, 1, -1, 7, -7, 100, -100, int32(-frag), int32(-frag - 1), int32(4096 - frag), int32(4096 - frag + 1), -4096, -5000, int32(14 - n), int32(13 - n), 4096, 0x7fffffff, -0x80000000} {
			add(n, 3, 0, 0, d)
			add(n, 4, 0, 0, d)
		}
		for _, d := range []int32{0, 8, -8, 64, int32(lin - 40)} {
			add(n, 5, 3, lin-100, d)
		}
		for _, off := range []uint32{1, 14, lin, lin + 1, uint32(n), uint32(n) + 1} {
			add(n, 6, 0, off, 0)
		}
	}
	for range 300 {
		n := 24 + rng.IntN(interp.XDPMaxFragsFrame-24)
		add(n, byte(1+rng.IntN(5)), byte(rng.IntN(4)), uint32(rng.IntN(n+100)), int32(rng.IntN(9000)-4500))
	}
	return cs
}

// fragsResult is what a run of xdp_frags gives: the action, the output
// frame and the res map.
type fragsResult struct {
	action uint32
	out    []byte
	res    [5]int64
	err    error
}

func (r fragsResult) String() string {
	return fmt.Sprintf("action %d res %v out %d bytes err %v", r.action, r.res, len(r.out), r.err)
}

func fragsBlob() []byte {
	b := make([]byte, 300)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func readRes(t *testing.T, m prog.Mapper) (out [5]int64) {
	for k := range out {
		if err := m.Lookup(uint32(k), &out[k]); err != nil {
			t.Fatal(err)
		}
		if err := m.Update(uint32(k), int64(0), prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// userFrags runs the cases in interp or jit.
func userFrags(t *testing.T, cs *prog.CollectionSpec, cases []fragsCase, useJIT bool) ([]fragsResult, *maps.PerfEventArray) {
	var p interp.Program
	var ms map[string]maps.Map
	if useJIT {
		c, err := jit.NewCollection(cs, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		p, ms = c.Programs["xdp_frags"], c.Maps
	} else {
		c, err := interp.NewCollection(cs, nil)
		if err != nil {
			t.Fatal(err)
		}
		p, ms = c.Programs["xdp_frags"], c.Maps
	}
	var out []fragsResult
	for _, c := range cases {
		// Loads write into buf: every run starts from the same blob.
		if err := ms["buf"].Update(uint32(0), fragsBlob(), prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		var r fragsResult
		r.action, r.out, r.err = p.RunXDP(c.frame, nil)
		r.res = readRes(t, ms["res"])
		out = append(out, r)
	}
	return out, ms["events"].(*maps.PerfEventArray)
}

func loadFrags(t *testing.T) *prog.CollectionSpec {
	cs, err := prog.LoadCollectionSpec("testdata/xdp_frags.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestXDPFragsEngines runs xdp_frags on single- and multi-buffer frames
// in interp and jit, wants the same results, and checks them against a
// model of the frame: lengths, loads across fragments, stores, and perf
// samples that carry bytes from the fragments.
func TestXDPFragsEngines(t *testing.T) {
	cs := loadFrags(t)
	cases := fragsCases(rand.New(rand.NewPCG(6, 18)))
	ir, iev := userFrags(t, cs, cases, false)
	jr, jev := userFrags(t, cs, cases, true)
	blob := fragsBlob()
	for k, c := range cases {
		a, b := ir[k], jr[k]
		if a.err != nil || b.err != nil || a.action != b.action || a.res != b.res || !bytes.Equal(a.out, b.out) {
			t.Fatalf("case %d (op %d, %d bytes): interp %v, jit %v", k, c.op, len(c.frame), a, b)
		}
		n := len(c.frame)
		if a.action != interp.XDPPass || a.res[0] != int64(n) {
			t.Fatalf("case %d: %v; want XDP_PASS and buff len %d", k, a, n)
		}
		if a.res[4] != int64(min(n, interp.XDPMaxFrame)) && c.op != 3 && c.op != 4 && c.op != 5 {
			t.Fatalf("case %d: linear part %d bytes", k, a.res[4])
		}
		off := int(binary.LittleEndian.Uint32(c.frame[16:]))
		size := []int{1, 8, 64, 300}[c.frame[15]&3]
		fits := off <= 0xffff && off+size <= n
		switch c.op {
		case 0, 1:
			if !bytes.Equal(a.out, c.frame) {
				t.Fatalf("case %d: the frame changed", k)
			}
			if c.op == 1 && (a.res[1] == 0) != fits {
				t.Fatalf("case %d: load of %d at %d from %d bytes: %d", k, size, off, n, a.res[1])
			}
		case 2:
			want := bytes.Clone(c.frame)
			if fits {
				copy(want[off:], blob[:size])
			}
			if !bytes.Equal(a.out, want) || (a.res[1] == 0) != fits {
				t.Fatalf("case %d: store of %d at %d into %d bytes: %d, output differs: %v", k, size, off, n, a.res[1], !bytes.Equal(a.out, want))
			}
		case 3, 4:
			if int64(len(a.out)) != a.res[2] {
				t.Fatalf("case %d: output %d bytes, buff len %d", k, len(a.out), a.res[2])
			}
			m := min(len(a.out), n)
			if !bytes.Equal(a.out[:m], c.frame[:m]) || bytes.ContainsFunc(a.out[m:], func(r rune) bool { return r != 0 }) {
				t.Fatalf("case %d: the tail moved other bytes or grew non-zero ones", k)
			}
		}
	}
	is, js := iev.Records(), jev.Records()
	if len(is) != len(js) || len(is) == 0 {
		t.Fatalf("perf samples: interp %d, jit %d", len(is), len(js))
	}
	s := 0
	for k, c := range cases {
		if c.op != 6 || ir[k].res[1] != 0 {
			continue
		}
		off := int(binary.LittleEndian.Uint32(c.frame[16:]) & 0xffff)
		want := append([]byte{0, 0, 0, 0}, c.frame[:off]...)
		if !bytes.Equal(is[s].Sample, want) || !bytes.Equal(js[s].Sample, want) {
			t.Fatalf("case %d: sample of %d frame bytes differs", k, off)
		}
		s++
	}
	if s != len(is) {
		t.Fatalf("%d samples, %d expected", len(is), s)
	}
}

// Fragments laid out by the test (XDPMeta.Frags) behave like the same
// bytes split as the kernel splits them, wherever the boundaries are.
func TestXDPFragsExplicit(t *testing.T) {
	ic, jc := bothCollections(t, loadFrags(t))
	t.Run("interp", func(t *testing.T) { fragsExplicit(t, ic.Programs["xdp_frags"], ic.Maps) })
	t.Run("jit", func(t *testing.T) { fragsExplicit(t, jc.Programs["xdp_frags"], jc.Maps) })
}

func fragsExplicit(t *testing.T, p interp.Program, ms map[string]maps.Map) {
	res := ms["res"]
	rng := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		n := 100 + rng.IntN(20000)
		full := fragsFrame(rng, n, 1, 3, uint32(rng.IntN(n)), 0)
		lin := 24 + rng.IntN(min(n, interp.XDPMaxFrame)-24)
		var frags [][]byte
		for rest := full[lin:]; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(interp.XDPFragSize))
			frags, rest = append(frags, rest[:k]), rest[k:]
		}
		if len(frags) > interp.XDPMaxFrags {
			continue
		}
		act, out, err := p.RunXDP(full[:lin], &interp.XDPMeta{Frags: frags})
		r := readRes(t, res)
		off := int(binary.LittleEndian.Uint32(full[16:]))
		var loaded [300]byte
		if err := ms["buf"].Lookup(uint32(0), loaded[:]); err != nil {
			t.Fatal(err)
		}
		if err != nil || act != interp.XDPPass || !bytes.Equal(out, full) || r[0] != int64(n) || r[4] != int64(lin) {
			t.Fatalf("%d bytes as %d + %d frags: %d %v %v", n, lin, len(frags), act, r, err)
		}
		if fits := off+300 <= n; (r[1] == 0) != fits || fits && !bytes.Equal(loaded[:], full[off:off+300]) {
			t.Fatalf("load of 300 at %d from %d bytes (%d linear): %d", off, n, lin, r[1])
		}
	}
	frame := make([]byte, 60)
	for _, bad := range []struct {
		frame []byte
		frags [][]byte
	}{
		{make([]byte, interp.XDPMaxFrame+1), [][]byte{{1}}},
		{frame, [][]byte{{}}},
		{frame, [][]byte{make([]byte, interp.XDPFragSize+1)}},
		{frame, make([][]byte, interp.XDPMaxFrags+1)},
		{make([]byte, interp.XDPMaxFragsFrame+1), nil},
	} {
		if _, _, err := p.RunXDP(bad.frame, &interp.XDPMeta{Frags: bad.frags}); !errors.Is(err, interp.ErrContext) {
			t.Errorf("frame of %d bytes, %d frags: %v, want ErrContext", len(bad.frame), len(bad.frags), err)
		}
	}
}

// FuzzXDPFrags runs xdp_frags on frames of any length, split into
// fragments anywhere, with any operation, offset and delta, in interp
// and jit: no run may fail, both must agree, and the output must be as
// long as the frame the program reports.
func FuzzXDPFrags(f *testing.F) {
	f.Add(uint32(5000), byte(3), byte(0), uint32(0), int32(-1500), uint64(1))
	f.Add(uint32(60), byte(1), byte(3), uint32(30), int32(0), uint64(0))
	f.Add(uint32(interp.XDPMaxFragsFrame), byte(4), byte(1), uint32(0), int32(-4096*16), uint64(2))
	cs, err := prog.LoadCollectionSpec("testdata/xdp_frags.bpf.o")
	if err != nil {
		f.Fatal(err)
	}
	ic, jc := bothCollections(f, cs)
	f.Fuzz(func(t *testing.T, n uint32, op, sel byte, off uint32, delta int32, split uint64) {
		size := 24 + int(n%uint32(interp.XDPMaxFragsFrame-23))
		rng := rand.New(rand.NewPCG(split, uint64(size)))
		frame := fragsFrame(rng, size, op%6, sel, off, delta)
		var meta *interp.XDPMeta
		if split&1 != 0 { // lay out fragments of random sizes
			lin := 24 + rng.IntN(min(size, interp.XDPMaxFrame)-23)
			var frags [][]byte
			for rest := frame[lin:]; len(rest) > 0; {
				k := min(len(rest), 1+rng.IntN(interp.XDPFragSize))
				frags, rest = append(frags, rest[:k]), rest[k:]
			}
			if len(frags) <= interp.XDPMaxFrags {
				meta, frame = &interp.XDPMeta{Frags: frags}, frame[:lin]
			}
		}
		var rs [2]fragsResult
		for k, c := range []struct {
			p  interp.Program
			ms map[string]maps.Map
		}{{ic.Programs["xdp_frags"], ic.Maps}, {jc.Programs["xdp_frags"], jc.Maps}} {
			if err := c.ms["buf"].Update(uint32(0), fragsBlob(), prog.UpdateAny); err != nil {
				t.Fatal(err)
			}
			rs[k].action, rs[k].out, rs[k].err = c.p.RunXDP(frame, meta)
			rs[k].res = readRes(t, c.ms["res"])
		}
		a, b := rs[0], rs[1]
		if a.err != nil || b.err != nil || a.action != b.action || a.res != b.res || !bytes.Equal(a.out, b.out) {
			t.Fatalf("interp %v, jit %v", a, b)
		}
		if int64(len(a.out)) != a.res[2] || a.res[0] != int64(size) {
			t.Fatalf("%d-byte frame: output %d bytes, lengths %v", size, len(a.out), a.res)
		}
	})
}
