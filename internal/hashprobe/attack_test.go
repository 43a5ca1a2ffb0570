package hashprobe

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// topBitKeys returns the 2^words keys of words*8 bytes that differ from
// base only in the top bit of some of their 8-byte words (bit 7 of bytes
// 7, 15, ...).
func topBitKeys(base []byte) []string {
	words := len(base) / 8
	var keys []string
	for mask := range 1 << words {
		k := append([]byte(nil), base...)
		for w := range words {
			if mask>>w&1 != 0 {
				k[8*w+7] ^= 0x80
			}
		}
		keys = append(keys, string(k))
	}
	return keys
}

// TestHashSeedHidesCollisions holds Hash to its promise that the seed
// keeps programs from aiming keys at one slot: keys that the program (or
// the packets it takes its keys from) makes up without knowing the seed
// must not share a full hash, whatever the seed.
//
// Flipping the top bit of a word flips the top bit of its product
// ((w^seed)+Pos) × Mul1 whatever the seed (adding 2^63 carries nowhere,
// and Mul1 is odd), so two flips cancel in the xor: every 16-byte key has
// a twin with the same Hash under every seed, a 128-byte key 2^15 of
// them, and all 2^16 share the home slot of any table smaller than 2^31
// slots.
func TestHashSeedHidesCollisions(t *testing.T) {
	for _, ks := range []int{16, 24, 64} {
		base := make([]byte, ks)
		for i := range base {
			base[i] = byte(i * 37)
		}
		keys := topBitKeys(base)
		for range 4 {
			seed := rand.Uint64()
			same := map[uint64]int{}
			for _, k := range keys {
				same[Hash(seed, []byte(k))]++
			}
			for h, n := range same {
				if n > 1 {
					t.Errorf("key size %d, seed %#x: %d of %d made-up keys share hash %#x", ks, seed, n, len(keys), h)
				}
			}
		}
	}
}

// TestProbeAimedKeys fills an index with keys aimed at one slot as above
// (64-byte keys, 2^8 of them, which a flow table keyed by packet bytes
// would take from the wire): the generated code's search must still find
// most of them within MaxProbe, or every lookup of them leaves the machine
// code for Go, and each Set and Delete walks the whole cluster.
func TestProbeAimedKeys(t *testing.T) {
	base := make([]byte, 64)
	for i := range base {
		base[i] = byte(i*11 + 3)
	}
	keys := topBitKeys(base)
	x := New(len(base))
	for _, k := range keys {
		x.Set(k, unsafe.Pointer(new(byte)))
	}
	gaveUp := 0
	for _, k := range keys {
		if _, ok := x.Probe([]byte(k)); !ok {
			gaveUp++
		}
	}
	if gaveUp*100 > len(keys) {
		t.Errorf("%d of %d searches of made-up keys gave up (MaxProbe %d)", gaveUp, len(keys), MaxProbe)
	}
}
