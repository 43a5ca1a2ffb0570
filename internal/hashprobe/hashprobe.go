// Package hashprobe is the machine-probe index of a userspace hash map
// (interp/maps.Hash): an open-addressing table of key and value
// addresses that the JIT's generated code searches without taking the
// map's mutex, so that bpf_map_lookup_elem on a hash map stays in machine
// code (jit/fastpath_hash_amd64.go).
//
// The map keeps the index under its mutex alongside its Go map, and
// publishes every change with a sequence counter (a seqlock): a writer
// makes Index.seq odd, changes the table, and makes it even again; a
// reader loads seq (and gives up when it is odd), searches, and loads seq
// again, and trusts what it found only when seq did not change. Readers
// that give up take the map's Go path, which is always right: the index
// only speeds up lookups, it decides nothing.
//
// What a reader may load, whatever a concurrent writer does:
//   - Index.tab, a pointer to a table (an array of Slots) that is never
//     written after the writer replaces it by a bigger one, so the mask a
//     table carries in its first slot always matches its length: a
//     reader's probes stay inside the table it loaded;
//   - each Slot's Key and Val, written as whole aligned 8-byte words,
//     each either nil or the address of a live key (KeySize bytes) or
//     value (ValueSize bytes, or CPUs × stride for per-CPU maps): a torn
//     read mixes two valid words, never half an address;
//   - the key bytes, which never change (Go strings).
//
// Nothing here is freed while the reader's goroutine stays in machine
// code: the goroutine cannot be preempted there, so no garbage
// collection can finish (its mark termination stops the world) between
// the reader's load of an address and its last use of it, and what was
// reachable from the index when the reader loaded it was marked by the
// last collection (an object, once unreachable, never becomes reachable
// again) and so is not swept either. Keeping an address past the stint
// is the reader's business (jit: state.hkeep).
//
// The package imports only the standard library.
package hashprobe

import (
	"math/rand/v2"
	"sync/atomic"
	"unsafe"
)

// Slot is one entry of a table. Slot 0 of a table is its header: its Tag
// is the table's scaled mask, (slots-1) × SlotSize; the entries follow.
type Slot struct {
	Tag uint64         // Hash of the key
	Key unsafe.Pointer // the key's KeySize bytes; nil when the slot is empty
	Val unsafe.Pointer // the value's first byte
	_   uint64         // to make SlotSize a power of two
}

// Layout of an Index and a Slot for generated code.
const (
	SlotSize = int32(unsafe.Sizeof(Slot{}))
	SlotTag  = int32(unsafe.Offsetof(Slot{}.Tag))
	SlotKey  = int32(unsafe.Offsetof(Slot{}.Key))
	SlotVal  = int32(unsafe.Offsetof(Slot{}.Val))
	// SlotShift is log2(SlotSize).
	SlotShift = 5

	IndexSeq  = int32(unsafe.Offsetof(Index{}.seq))
	IndexTab  = int32(unsafe.Offsetof(Index{}.tab))
	IndexSeed = int32(unsafe.Offsetof(Index{}.seed))
)

// MaxProbe is the most slots a reader looks at before it gives up (and
// takes the Go path): it bounds a lookup's time whatever keys a program
// makes up. With the table at most 3/8 full (Set grows it) a key is
// very rarely that far from its home slot.
const MaxProbe = 16

// Multipliers of Hash (the 64-bit golden ratio and a MurmurHash3
// finaliser constant).
const (
	Mul1 = 0x9e3779b97f4a7c15
	Mul2 = 0xff51afd7ed558ccd
)

// Index is the machine-probe index of one hash map. Its methods other
// than Seed and Hash must be called with the map's mutex held.
type Index struct {
	seq  atomic.Uint64
	tab  unsafe.Pointer // *Slot: slot 0 of the current table (see Slot)
	seed uint64

	keySize int
	slots   []Slot // the current table, as tab, for Go
	n       int    // keys in the table
}

// New returns an empty index for keys of keySize bytes (at least 1).
func New(keySize int) *Index {
	x := &Index{keySize: keySize, seed: rand.Uint64()}
	x.setTable(make([]Slot, 1+8))
	return x
}

// Seed returns the seed Hash starts from (random per index, so that
// programs cannot aim keys at one slot across maps).
func (x *Index) Seed() uint64 { return x.seed }

func (x *Index) setTable(s []Slot) {
	s[0].Tag = uint64(len(s)-2) << SlotShift
	x.slots = s
	x.tab = unsafe.Pointer(&s[0])
}

// Pieces returns the loads (offset, width in bytes) that Hash and the
// generated code's key comparison read of a key of n bytes: 8-byte words
// at 0, 8, ..., and for a length not a multiple of 8 one more word ending
// at the key's end (overlapping the one before it); shorter keys take two
// overlapping loads of 4 or of 2 and 1 bytes, or one byte. Every byte of
// the key is in one piece, so two keys are equal exactly when all their
// pieces are, and no piece reaches past the key.
func Pieces(n int) [][2]int {
	var p [][2]int
	switch {
	case n >= 8:
		for off := 0; off+8 <= n; off += 8 {
			p = append(p, [2]int{off, 8})
		}
		if n%8 != 0 {
			p = append(p, [2]int{n - 8, 8})
		}
	case n >= 4:
		p = append(p, [2]int{0, 4}, [2]int{n - 4, 4})
	case n >= 2:
		p = append(p, [2]int{0, 2}, [2]int{n - 1, 1})
	case n == 1:
		p = append(p, [2]int{0, 1})
	}
	return p
}

// Words returns the 64-bit words Hash mixes for key: its pieces as
// little-endian numbers, those of a key shorter than 8 bytes joined into
// one word (the second piece shifted past the first).
func Words(key []byte) []uint64 {
	var ws []uint64
	ps := Pieces(len(key))
	load := func(p [2]int) uint64 {
		var v uint64
		for k := p[1] - 1; k >= 0; k-- {
			v = v<<8 | uint64(key[p[0]+k])
		}
		return v
	}
	if len(key) >= 8 {
		for _, p := range ps {
			ws = append(ws, load(p))
		}
		return ws
	}
	w := load(ps[0])
	if len(ps) > 1 {
		w |= load(ps[1]) << (8 * ps[0][1])
	}
	return append(ws, w)
}

// Hash is the index's hash of key: the words of key (Words) each mixed
// on its own, p = ((w_i ^ seed) + Pos(i)) × Mul1, p ^= p >> 29, and
// h ^= p × Mul2 from h = seed; then Finish. The words' mixes do not
// depend on each other, so the generated code computes them in parallel
// (a chain through every word took three times as long); Pos keeps the
// words' positions apart (a flow key and its reverse hash differently).
// The second multiply matters: after the first alone, flipping a word's
// top bit flips its product's top bit whatever the seed, so two such
// flips would cancel in the xor and programs could make up keys that
// share a hash under every seed (TestHashSeedHidesCollisions). The
// generated code computes the same.
func Hash(seed uint64, key []byte) uint64 {
	h := seed
	for i, w := range Words(key) {
		p := ((w ^ seed) + uint64(int64(Pos(i)))) * Mul1
		p ^= p >> 29
		h ^= p * Mul2
	}
	return Finish(h)
}

// Pos is the constant Hash adds to word i: a 32-bit immediate, which the
// code's add sign-extends.
func Pos(i int) int32 { return int32(uint32(i+1) * 0x9e3779b9) }

// Finish is the end of Hash: it folds the high half, which every bit of
// every word reaches through the products, into the low bits the table
// index takes.
func Finish(h uint64) uint64 {
	return h ^ h>>32
}

// begin and end bracket a change of the table (see the package doc).
func (x *Index) begin() { x.seq.Add(1) }
func (x *Index) end()   { x.seq.Add(1) }

func (x *Index) keyOf(s *Slot) string { return unsafe.String((*byte)(s.Key), x.keySize) }

// find returns the table index of key's slot, or of the empty slot that
// ends its probe sequence, and whether it holds key.
func (x *Index) find(key string, h uint64) (int, bool) {
	mask := len(x.slots) - 2
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &x.slots[1+i]
		if s.Key == nil {
			return 1 + i, false
		}
		if s.Tag == h && x.keyOf(s) == key {
			return 1 + i, true
		}
	}
}

// Set makes key's value val: it adds key (whose bytes must never change
// and stay reachable while the index holds them) or changes its value.
func (x *Index) Set(key string, val unsafe.Pointer) {
	h := Hash(x.seed, unsafe.Slice(unsafe.StringData(key), len(key)))
	x.begin()
	defer x.end()
	k, ok := x.find(key, h)
	if ok {
		x.slots[k].Val = val
		return
	}
	if 8*(x.n+1) > 3*(len(x.slots)-1) {
		x.grow()
		k, _ = x.find(key, h)
	}
	x.put(k, Slot{Tag: h, Key: unsafe.Pointer(unsafe.StringData(key)), Val: val})
	x.n++
}

// grow replaces the table by one twice as big (called inside begin/end),
// filled before it is published. The old table is left as it is, for
// readers still in it.
func (x *Index) grow() {
	old := x.slots
	s := make([]Slot, 1+2*(len(old)-1))
	mask := len(s) - 2
	for k := 1; k < len(old); k++ {
		e := old[k]
		if e.Key == nil {
			continue
		}
		i := int(e.Tag) & mask
		for s[1+i].Key != nil {
			i = (i + 1) & mask
		}
		s[1+i] = e
	}
	x.setTable(s)
}

// put writes slot k of the current table word by word (each an aligned
// 8-byte store a reader sees whole; a struct copy may use wider moves),
// the key last.
func (x *Index) put(k int, e Slot) {
	s := &x.slots[k]
	s.Key = nil
	s.Tag, s.Val = e.Tag, e.Val
	s.Key = e.Key
}

// Delete removes key, if present, shifting later entries of its probe
// sequence back so that no search stops early.
func (x *Index) Delete(key string) {
	k, ok := x.find(key, Hash(x.seed, unsafe.Slice(unsafe.StringData(key), len(key))))
	if !ok {
		return
	}
	x.begin()
	defer x.end()
	mask := len(x.slots) - 2
	hole := k - 1
	for i := (hole + 1) & mask; ; i = (i + 1) & mask {
		s := &x.slots[1+i]
		if s.Key == nil {
			break
		}
		// The entry at i may fill the hole when its home slot is not
		// cyclically in (hole, i].
		home := int(s.Tag) & mask
		if (i-home)&mask >= (i-hole)&mask {
			x.put(1+hole, *s)
			hole = i
		}
	}
	x.put(1+hole, Slot{})
	x.n--
}

// Len returns the number of keys in the index.
func (x *Index) Len() int { return x.n }

// Probe searches key as the generated code does (for tests): the value
// address, or nil, and false when the search gave up (MaxProbe).
func (x *Index) Probe(key []byte) (unsafe.Pointer, bool) {
	h := Hash(x.seed, key)
	s := unsafe.Slice((*Slot)(x.tab), 1+(x.slots[0].Tag>>SlotShift)+1)
	mask := int(s[0].Tag >> SlotShift)
	i := int(h) & mask
	for range MaxProbe {
		e := &s[1+i]
		if e.Key == nil {
			return nil, true
		}
		if e.Tag == h && x.keyOf(e) == string(key) {
			return e.Val, true
		}
		i = (i + 1) & mask
	}
	return nil, false
}
