//go:build amd64 && unix

package jit

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// The modes of hostilePktProg, chosen by the frame's byte 14.
const (
	hostileDirty = 1 // take all the room the helpers give, fill everything with 0xff
	hostileProbe = 2 // take all the room, write nothing but a summary of the metadata
	hostileShort = 3 // tc: shrink to 15 bytes, then grow as far as possible
)

// tryDelta emits a loop calling fn(ctx=r6, delta) with delta from start
// stepping by step until the helper succeeds or delta reaches stop.
func tryDelta(fn HelperFunc, start, step, stop int32, l string) Instructions {
	return Instructions{
		Mov.Imm(R8, start),
		Mov.Reg(R1, R6).WithLabel(l),
		Mov.Reg(R2, R8),
		Mov.Imm(R3, 0),
		Mov.Imm(R4, 0),
		Call(int32(fn)),
		JEq.Imm(R0, 0, l+"done"),
		Add.Imm(R8, step),
		JNE.Imm(R8, stop, l),
		Mov.Imm(R0, 0).WithLabel(l + "done"),
	}
}

// fill emits a loop storing 0xff to every byte of [*(r6+lo), *(r6+hi)).
func fill(lo, hi int16, l string) Instructions {
	return Instructions{
		LoadMem(R2, R6, lo, W),
		LoadMem(R3, R6, hi, W),
		JGE.Reg(R2, R3, l+"done").WithLabel(l),
		StoreImm(R2, 0, 0xff, B),
		Add.Imm(R2, 1),
		Ja(l),
		Mov.Imm(R0, 0).WithLabel(l + "done"),
	}
}

// hostileXDP: dirty fills metadata room, headroom, the packet, tailroom
// and (through bpf_xdp_store_bytes) every fragment byte with 0xff; probe
// takes the same room and ORs the metadata room's bytes into the packet's
// byte 15, so that the output shows any stale byte (inputs are < 0x80).
func hostileXDP() Instructions {
	is := Instructions{
		Mov.Reg(R6, R1),
		LoadMem(R2, R6, 0, W),
		LoadMem(R3, R6, 4, W),
		Mov.Reg(R4, R2),
		Add.Imm(R4, 16),
		JGT.Reg(R4, R3, "out"),
		LoadMem(R7, R2, 14, B),
		JEq.Imm(R7, hostileDirty, "dirty"),
		JEq.Imm(R7, hostileProbe, "probe"),
		Ja("out"),
	}
	d := Instructions{}
	d = append(d, tryDelta(FnXDPAdjustMeta, -252, 4, 0, "dm")...)
	d = append(d, fill(8, 0, "dfm")...)
	// metadata back to nothing: data_meta = data
	d = append(d, LoadMem(R2, R6, 0, W), LoadMem(R3, R6, 8, W), Sub.Reg(R2, R3), Mov.Reg(R1, R6), Call(int32(FnXDPAdjustMeta)))
	d = append(d, tryDelta(FnXDPAdjustHead, -512, 4, 0, "dh")...)
	d = append(d, tryDelta(FnXDPAdjustTail, 8192, -4, 0, "dt")...)
	d = append(d, fill(0, 4, "dfp")...)
	// every byte of the frame, fragments too, through xdp_store_bytes
	d = append(d,
		StoreImm(R10, -8, -1, DW),
		Mov.Imm(R9, 0),
		Mov.Reg(R1, R6).WithLabel("dsb"),
		Mov.Reg(R2, R9),
		Mov.Reg(R3, R10),
		Add.Imm(R3, -8),
		Mov.Imm(R4, 1),
		Call(int32(FnXDPStoreBytes)),
		JNE.Imm(R0, 0, "out"),
		Add.Imm(R9, 1),
		Ja("dsb"),
	)
	d[0] = d[0].WithLabel("dirty")
	is = append(is, d...)
	p := Instructions{}
	p = append(p, tryDelta(FnXDPAdjustMeta, -252, 4, 0, "pm")...)
	p = append(p,
		LoadMem(R2, R6, 8, W),
		LoadMem(R3, R6, 0, W),
		Mov.Imm(R9, 0),
		JGE.Reg(R2, R3, "pmd").WithLabel("pml"),
		LoadMem(R4, R2, 0, B),
		Or.Reg(R9, R4),
		Add.Imm(R2, 1),
		Ja("pml"),
		LoadMem(R2, R6, 0, W).WithLabel("pmd"),
		StoreMem(R2, 15, R9, B),
	)
	p = append(p, tryDelta(FnXDPAdjustHead, -512, 4, 0, "ph")...)
	p = append(p, tryDelta(FnXDPAdjustTail, 8192, -4, 0, "pt")...)
	p[0] = p[0].WithLabel("probe")
	is = append(is, p...)
	return append(is, Mov.Imm(R0, 2).WithLabel("out"), Exit())
}

// hostileTC: dirty pushes as much headroom and tailroom as the helpers
// give and fills the packet with 0xff; probe does the same without
// writing; short trims the packet to 15 bytes and grows it again.
func hostileTC() Instructions {
	is := Instructions{
		Mov.Reg(R6, R1),
		LoadMem(R2, R6, 76, W),
		LoadMem(R3, R6, 80, W),
		Mov.Reg(R4, R2),
		Add.Imm(R4, 16),
		JGT.Reg(R4, R3, "out"),
		LoadMem(R7, R2, 14, B),
		JEq.Imm(R7, hostileDirty, "dirty"),
		JEq.Imm(R7, hostileProbe, "probe"),
		JEq.Imm(R7, hostileShort, "short"),
		Ja("out"),
	}
	d := Instructions{}
	d = append(d, tryDelta(FnSKBChangeHead, 4096, -16, 0, "dh")...)
	d = append(d, tryDelta(FnSKBChangeTail, 4096, -16, 0, "dt")...)
	d = append(d, fill(76, 80, "df")...)
	d = append(d, Ja("out"))
	d[0] = d[0].WithLabel("dirty")
	is = append(is, d...)
	p := Instructions{}
	p = append(p, tryDelta(FnSKBChangeHead, 4096, -16, 0, "ph")...)
	p = append(p, tryDelta(FnSKBChangeTail, 4096, -16, 0, "pt")...)
	p = append(p, Ja("out"))
	p[0] = p[0].WithLabel("probe")
	is = append(is, p...)
	s := Instructions{}
	s = append(s, tryDelta(FnSKBChangeTail, 15, 1, 16, "st")...)
	// room for an IPv4 header in front of the network header
	s = append(s, Mov.Reg(R1, R6), Mov.Imm(R2, 64), Mov.Imm(R3, 0), Mov.Imm(R4, 0), Call(int32(FnSKBAdjustRoom)), StoreMem(R6, 8, R0, W))
	s = append(s, tryDelta(FnSKBChangeTail, 4096, -16, 0, "sg")...)
	s[0] = s[0].WithLabel("short")
	is = append(is, s...)
	return append(is, Mov.Imm(R0, 0).WithLabel("out"), Exit())
}

// hostileFrame is a frame of n bytes below 0x80 with mode at byte 14:
// IPv4 for tc (so that bpf_skb_adjust_room works on it; the test run
// checks only its length), an unassigned ethertype for XDP.
func hostileFrame(rng *rand.Rand, mode byte, n int, ipv4 bool) []byte {
	f := make([]byte, n)
	for k := range f {
		f[k] = byte(rng.IntN(0x80))
	}
	f[12], f[13] = 0x08, 0x01
	if ipv4 {
		f[13] = 0x00
	}
	f[14] = mode
	return f
}

func highByte(b []byte) int {
	for k, c := range b {
		if c >= 0x80 {
			return k
		}
	}
	return -1
}

// TestAttackPacketViews runs random sequences of dirtying and probing
// XDP and tc runs, with frames, metadata and fragments of changing
// sizes, through an interp Runner, a JIT Runner and VM runs of both: all
// must agree, and no probe may show a byte of an earlier run.
func TestAttackPacketViews(t *testing.T) {
	for _, xdp := range []bool{true, false} {
		name, typ, is := "xdp", prog.XDP, hostileXDP()
		if !xdp {
			name, typ, is = "tc", prog.SchedCLS, hostileTC()
		}
		t.Run(name, func(t *testing.T) {
			spec := &prog.Spec{Name: "hostile", Type: typ, Instructions: is}
			opts := &interp.Options{MaxInstructions: 1 << 22}
			ivm, vm, irn, jrn := attackEngines(t, spec, opts)
			type runner interface {
				RunXDP([]byte, *interp.XDPMeta) (uint32, []byte, error)
				RunTC([]byte, *interp.TCMeta) (uint32, []byte, error)
			}
			engines := []struct {
				name string
				r    runner
			}{{"interp VM", ivm}, {"interp Runner", irn}, {"jit VM", vm}, {"jit Runner", jrn}}
			rng := rand.New(rand.NewPCG(1, 2))
			sizes := []int{16, 60, 61, 200, 1000, 1500, 3000, 3520}
			modes := []byte{0, hostileDirty, hostileProbe, hostileShort}
			shortRooms := map[uint32]int{}
			defer func() {
				if !xdp && shortRooms[0] == 0 {
					t.Errorf("bpf_skb_adjust_room never succeeded in the short mode: %v", shortRooms)
				}
			}()
			for k := range 400 {
				mode := modes[rng.IntN(len(modes))]
				size := sizes[rng.IntN(len(sizes))]
				if !xdp {
					size = max(size, 34) // an Ethernet and an IPv4 header
				}
				f := hostileFrame(rng, mode, size, !xdp)
				var xm *interp.XDPMeta
				var tm *interp.TCMeta
				if xdp {
					xm = &interp.XDPMeta{}
					if rng.IntN(2) == 0 {
						xm.Meta = bytes.Repeat([]byte{0x22}, 4*rng.IntN(64))
					}
					for range rng.IntN(4) {
						xm.Frags = append(xm.Frags, bytes.Repeat([]byte{0x11}, 1+rng.IntN(4096)))
					}
				} else if rng.IntN(2) == 0 {
					tm = &interp.TCMeta{Mark: 7}
				}
				var first []byte
				var firstV uint32
				var firstE error
				for j, e := range engines {
					var v uint32
					var out []byte
					var err error
					if xdp {
						v, out, err = e.r.RunXDP(f, xm)
					} else {
						var m *interp.TCMeta
						if tm != nil {
							c := *tm
							m = &c
						}
						v, out, err = e.r.RunTC(f, m)
						if mode == hostileShort && m != nil && j == 0 {
							shortRooms[m.Mark]++
						}
					}
					desc := fmt.Sprintf("run %d (mode %d, frame %d, %s)", k, mode, len(f), e.name)
					if xm != nil {
						desc += fmt.Sprintf(" meta %d frags %d", len(xm.Meta), len(xm.Frags))
					}
					if err != nil {
						t.Fatalf("%s: %v", desc, err)
					}
					if mode != hostileDirty {
						if at := highByte(out); at >= 0 {
							t.Fatalf("%s: byte %d of the output (%d bytes) is %#x: an earlier run's byte is visible", desc, at, len(out), out[at])
						}
					}
					in := len(f)
					if xm != nil {
						for _, fr := range xm.Frags {
							in += len(fr)
						}
					}
					if mode == hostileProbe && len(out) <= in {
						t.Fatalf("%s: the probe exposed no room: %d bytes out of %d", desc, len(out), in)
					}
					if j == 0 {
						first, firstV, firstE = bytes.Clone(out), v, err
					} else if v != firstV || !bytes.Equal(out, first) || (err == nil) != (firstE == nil) {
						t.Fatalf("%s = %d, %d bytes; %s = %d, %d bytes", desc, v, len(out), engines[0].name, firstV, len(first))
					}
				}
			}
		})
	}
}
