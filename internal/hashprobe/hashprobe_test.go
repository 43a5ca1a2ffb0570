package hashprobe

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestPieces checks that a key's pieces cover each of its bytes and stay
// inside it, for every key size the JIT inlines and more.
func TestPieces(t *testing.T) {
	for n := 1; n <= 200; n++ {
		covered := make([]bool, n)
		for _, p := range Pieces(n) {
			if p[0] < 0 || p[0]+p[1] > n || (p[1] != 1 && p[1] != 2 && p[1] != 4 && p[1] != 8) {
				t.Fatalf("key of %d bytes: piece %v", n, p)
			}
			for k := p[0]; k < p[0]+p[1]; k++ {
				covered[k] = true
			}
		}
		for k, c := range covered {
			if !c {
				t.Fatalf("key of %d bytes: byte %d in no piece", n, k)
			}
		}
		// A change in any byte changes the words (and so, almost
		// surely, the hash).
		key := make([]byte, n)
		w0 := Words(key)
		for k := range key {
			key[k] = 1
			w1 := Words(key)
			same := len(w0) == len(w1)
			for i := range w0 {
				same = same && w0[i] == w1[i]
			}
			if same {
				t.Fatalf("key of %d bytes: byte %d does not reach the words", n, k)
			}
			key[k] = 0
		}
	}
}

// TestIndexAgreesWithMap drives an index and a Go map with the same
// random sets and deletes (through growth) and checks that Probe finds
// exactly the map's keys, with their values, and rarely gives up
// (MaxProbe) at this load.
func TestIndexAgreesWithMap(t *testing.T) {
	for _, ks := range []int{1, 3, 4, 7, 8, 13, 40, 64} {
		x := New(ks)
		vals := map[string]*byte{}
		rng := rand.New(rand.NewPCG(uint64(ks), 7))
		key := func() string {
			k := make([]byte, ks)
			for i := range k {
				k[i] = byte(rng.IntN(4)) // few distinct bytes: many near keys
			}
			if ks >= 2 {
				k[0], k[ks-1] = byte(rng.IntN(256)), byte(rng.IntN(256))
			}
			return string(k)
		}
		probes, gaveUp := 0, 0
		probe := func(k string) {
			probes++
			got, ok := x.Probe([]byte(k))
			if !ok {
				gaveUp++
				return
			}
			if v := vals[k]; got != unsafe.Pointer(v) {
				t.Fatalf("key size %d: key %x: %p, want %p", ks, k, got, v)
			}
		}
		for step := range 3000 {
			k := key()
			if rng.IntN(3) == 0 {
				delete(vals, k)
				x.Delete(k)
			} else {
				v := new(byte)
				vals[k] = v
				x.Set(k, unsafe.Pointer(v))
			}
			if x.Len() != len(vals) {
				t.Fatalf("key size %d, step %d: index holds %d keys, map %d", ks, step, x.Len(), len(vals))
			}
			if x.seq.Load()%2 != 0 {
				t.Fatalf("seq %d is odd after a change", x.seq.Load())
			}
			if step%300 == 0 {
				for k := range vals {
					probe(k)
				}
				for range 20 {
					probe(key())
				}
			}
		}
		if gaveUp*100 > probes {
			t.Errorf("key size %d: %d of %d searches gave up", ks, gaveUp, probes)
		}
	}
}
