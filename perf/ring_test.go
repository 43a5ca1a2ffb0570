//go:build linux

package perf

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/purebpf/purebpf/sys"
)

// fakeRing builds a perf ring over Go memory: a metadata page whose
// data_head the test sets, and a data area of size bytes.
func fakeRing(size int) (*ring, []byte) {
	meta := make([]byte, sys.PerfMmapPageSize)
	data := make([]byte, size)
	return &ring{meta: unsafe.Pointer(&meta[0]), data: data, mask: uint64(size - 1)}, meta
}

// put writes b into the ring at position pos, wrapping at the end.
func put(r *ring, pos uint64, b []byte) {
	for i, c := range b {
		r.data[(pos+uint64(i))&r.mask] = c
	}
}

func setHead(meta []byte, head uint64) {
	binary.NativeEndian.PutUint64(meta[sys.PerfMmapPageDataHeadOffset:], head)
}

func sampleRecord(payload []byte) []byte {
	size := 8 + 4 + len(payload)
	rec := make([]byte, size)
	binary.NativeEndian.PutUint32(rec[0:], sys.PerfRecordSample)
	binary.NativeEndian.PutUint16(rec[6:], uint16(size))
	binary.NativeEndian.PutUint32(rec[8:], uint32(len(payload)))
	copy(rec[12:], payload)
	return rec
}

func TestRingWrapAndLost(t *testing.T) {
	r, meta := fakeRing(64)
	// Start near the end so the second record wraps around.
	start := uint64(64*3 + 40)
	r.tail, r.head = start, start
	lost := make([]byte, 24)
	binary.NativeEndian.PutUint32(lost[0:], sys.PerfRecordLost)
	binary.NativeEndian.PutUint16(lost[6:], 24)
	binary.NativeEndian.PutUint64(lost[16:], 7)
	put(r, start, lost)
	payload := []byte("0123456789abcdefghij") // 20 bytes: record of 32
	put(r, start+24, sampleRecord(payload))
	setHead(meta, start+24+32)

	var rec Record
	ok, err := r.next(&rec)
	if !ok || err != nil || rec.LostSamples != 7 || len(rec.RawSample) != 0 {
		t.Fatalf("first record: ok %v err %v lost %d raw %q", ok, err, rec.LostSamples, rec.RawSample)
	}
	ok, err = r.next(&rec)
	if !ok || err != nil || string(rec.RawSample) != string(payload) || rec.LostSamples != 0 {
		t.Fatalf("wrapped sample: ok %v err %v raw %q", ok, err, rec.RawSample)
	}
	tail := binary.NativeEndian.Uint64(meta[sys.PerfMmapPageDataTailOffset:])
	if tail != start+56 {
		t.Fatalf("data_tail %d, want %d", tail, start+56)
	}
	if ok, err := r.next(&rec); ok || err != nil {
		t.Fatalf("empty ring: ok %v err %v", ok, err)
	}
}

func TestRingCorrupt(t *testing.T) {
	for _, c := range []struct {
		name string
		rec  func() []byte
		head uint64
	}{
		{"record larger than the ring", func() []byte {
			b := sampleRecord(make([]byte, 8))
			binary.NativeEndian.PutUint16(b[6:], 4096)
			return b
		}, 64},
		{"head beyond the ring size", func() []byte { return sampleRecord(nil) }, 1 << 20},
		{"size below the header", func() []byte {
			b := sampleRecord(nil)
			binary.NativeEndian.PutUint16(b[6:], 4)
			return b
		}, 16},
		{"raw size beyond the record", func() []byte {
			b := sampleRecord(make([]byte, 4))
			binary.NativeEndian.PutUint32(b[8:], 1000)
			return b
		}, 16},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, meta := fakeRing(64)
			put(r, 0, c.rec())
			setHead(meta, c.head)
			var rec Record
			_, err := r.next(&rec)
			mustErrorIs(t, err, ErrCorrupt, c.name)
		})
	}
}

func TestRingBufCorrupt(t *testing.T) {
	const size = 64
	page := 4096
	prod := make([]byte, page+2*size)
	cons := make([]byte, page)
	r := &RingBufReader{cons: cons, prod: prod, data: prod[page:], mask: size - 1}
	// A committed record claiming more bytes than the ring holds.
	binary.NativeEndian.PutUint32(r.data[0:], 1000)
	binary.NativeEndian.PutUint64(prod[0:], 2000)
	var rec Record
	_, err := r.readPending(&rec)
	mustErrorIs(t, err, ErrCorrupt, "ring buffer record larger than the ring")

	// Busy record: not readable yet. Discarded record: skipped.
	binary.NativeEndian.PutUint32(r.data[0:], 8|ringbufDiscardBit)
	binary.NativeEndian.PutUint32(r.data[16:], 4|ringbufBusyBit)
	binary.NativeEndian.PutUint64(prod[0:], 32)
	ok, err := r.readPending(&rec)
	if ok || err != nil {
		t.Fatalf("busy record after a discarded one: ok %v err %v", ok, err)
	}
	if got := binary.NativeEndian.Uint64(cons); got != 16 {
		t.Fatalf("consumer position %d, want 16 (past the discarded record)", got)
	}
	binary.NativeEndian.PutUint32(r.data[16:], 4)
	copy(r.data[24:], "abcd")
	ok, err = r.readPending(&rec)
	if !ok || err != nil || string(rec.RawSample) != "abcd" || rec.CPU != -1 {
		t.Fatalf("committed record: ok %v err %v raw %q", ok, err, rec.RawSample)
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	if got := unescapeMountinfo(`/mnt/with\040space`); got != "/mnt/with space" {
		t.Fatalf("got %q", got)
	}
}
