package engine

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// rfc1071 is the Internet checksum's one's complement sum of b as
// big-endian 16-bit words (RFC 1071), folded to 16 bits.
func rfc1071(b []byte) uint16 {
	var s uint32
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// csumPartial, folded, is the RFC 1071 sum (byte-swapped: it sums
// little-endian words), for every length and alignment; the checksum
// replace helpers keep a checksum valid when a 16- or 32-bit word of the
// data changes.
func TestCsumArithmetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if n%7 == 0 {
			clear(b) // all zeros: the 0 / 0xffff representation
		}
		got := ^csumFold(csumPartial(b, 0))
		want := bswap16(rfc1071(b))
		if got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
			t.Fatalf("%d bytes: csum_partial folds to %#04x, RFC 1071 %#04x", n, got, want)
		}
		if n < 8 || n%2 != 0 {
			continue
		}
		// A checksum over b (as a UDP checksum field would hold it) stays
		// valid after a word of b changes, with each replace helper.
		sum := csumFold(csumPartial(b, 0))
		off := 2 * rng.IntN(n/2-1)
		old2, new2 := ne.Uint16(b[off:]), uint16(rng.Uint32())
		ne.PutUint16(b[off:], new2)
		want2 := csumFold(csumPartial(b, 0))
		if g := csumReplace2(sum, old2, new2); g != want2 && g^want2 != 0xffff {
			t.Fatalf("csum_replace2: %#04x, recomputed %#04x", g, want2)
		}
		if g := csumReplace4(sum, uint32(old2), uint32(new2)); g != want2 && g^want2 != 0xffff {
			t.Fatalf("csum_replace4 of 16-bit values: %#04x, recomputed %#04x", g, want2)
		}
		diff := csumSub(uint32(new2), uint32(old2))
		if g := csumReplaceByDiff(sum, diff); g != want2 && g^want2 != 0xffff {
			t.Fatalf("csum_replace_by_diff: %#04x, recomputed %#04x", g, want2)
		}
	}
}
