package maps

import (
	"encoding/binary"
	"fmt"
	"sync"
	"syscall"
	"unsafe"

	"github.com/purebpf/purebpf/prog"
)

// Ring buffer record header bits (include/uapi/linux/bpf.h).
const (
	ringbufBusyBit    = 1 << 31
	ringbufDiscardBit = 1 << 30
	ringbufHdrSize    = 8
	// ringbufMaxRecord is RINGBUF_MAX_RECORD_SZ (UINT_MAX/4).
	ringbufMaxRecord = (1<<32 - 1) / 4
)

// Flags of bpf_ringbuf_output and bpf_ringbuf_submit/discard, and the
// queries of bpf_ringbuf_query (include/uapi/linux/bpf.h).
const (
	RingbufNoWakeup    = 1 << 0 // BPF_RB_NO_WAKEUP
	RingbufForceWakeup = 1 << 1 // BPF_RB_FORCE_WAKEUP

	RingbufAvailData = 0 // BPF_RB_AVAIL_DATA
	RingbufRingSize  = 1 // BPF_RB_RING_SIZE
	RingbufConsPos   = 2 // BPF_RB_CONS_POS
	RingbufProdPos   = 3 // BPF_RB_PROD_POS
)

// RingBuf is a BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8 and
// later), as in kernel/bpf/ringbuf.c.
//
// Space is accounted exactly as in the kernel: each record takes an 8-byte
// header plus its size, rounded up to 8, and the producer may run at most
// MaxEntries-1 bytes ahead of the consumer, so a reservation fails once the
// unread and reserved records leave no room. Reserved records stay in
// place until submitted or discarded; the reader stops at the oldest record
// still reserved, and skips discarded ones.
//
// The buffer is MaxEntries bytes followed by a mirror region, as the kernel
// maps the data pages twice, so every reservation is one contiguous slice
// even when it wraps around the end of the ring. Reservation slices alias
// the buffer and stay valid Go memory for the map's lifetime.
//
// Through prog.Mapper every operation fails as the kernel's bpf(2) does
// for ring buffers (checked against Linux 6.18): EINVAL for a non-nil key
// (there are no key bytes), else ENOTSUPP.
type RingBuf struct {
	spec prog.MapSpec
	mask uint64
	mu   sync.Mutex
	data []byte // 2 × MaxEntries
	cons uint64
	prod uint64
	// pending holds the ring offsets of reserved records not yet
	// submitted or discarded, so Submit and Discard can check their
	// argument in constant time.
	pending map[uint64]struct{}
}

func newRingBuf(spec prog.MapSpec) (*RingBuf, error) {
	const mask = flagNUMANode
	n := spec.MaxEntries
	switch {
	case spec.Flags&^mask != 0:
		return nil, invalid("flags %#x has bits %#x not valid for %s", spec.Flags, spec.Flags&^mask, spec.Type)
	case spec.KeySize != 0:
		return nil, invalid("key_size %d, ring buffers have no key (0)", spec.KeySize)
	case spec.ValueSize != 0:
		return nil, invalid("value_size %d, ring buffers have no value (0)", spec.ValueSize)
	case n == 0 || n&(n-1) != 0 || n%pageSize != 0:
		return nil, invalid("max_entries %d is not a power-of-2 multiple of the page size %d", n, pageSize)
	}
	if 2*uint64(n) > maxPrealloc {
		return nil, fmt.Errorf("max_entries %d: %w", n, syscall.ENOMEM)
	}
	return &RingBuf{spec: spec, mask: uint64(n) - 1, data: make([]byte, 2*uint64(n)), pending: make(map[uint64]struct{})}, nil
}

// MapSpec returns the map's spec.
func (r *RingBuf) MapSpec() prog.MapSpec { return r.spec }

func (r *RingBuf) size() uint64 { return r.mask + 1 }

// Reserve is bpf_ringbuf_reserve: it reserves size bytes and returns them,
// aliasing the ring, for the program to fill before Submit or Discard.
// Where the kernel returns NULL it fails: E2BIG when the record could
// never fit (more than RINGBUF_MAX_RECORD_SZ or than the ring), EAGAIN when
// there is no room now.
func (r *RingBuf) Reserve(size uint64) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.reserve(size)
	if err != nil {
		return nil, opError(r.spec.Name, "reserve", err)
	}
	return p, nil
}

func (r *RingBuf) reserve(size uint64) ([]byte, error) {
	if size > ringbufMaxRecord {
		return nil, fmt.Errorf("record of %d bytes exceeds %d: %w", size, ringbufMaxRecord, syscall.E2BIG)
	}
	l := (size + ringbufHdrSize + 7) &^ 7
	if l > r.size() {
		return nil, fmt.Errorf("record of %d bytes (%d with header) exceeds the ring's %d: %w", size, l, r.size(), syscall.E2BIG)
	}
	if r.prod+l-r.cons > r.mask {
		return nil, fmt.Errorf("no room for %d bytes (%d unread or reserved of %d): %w", l, r.prod-r.cons, r.size(), syscall.EAGAIN)
	}
	off := r.prod & r.mask
	binary.NativeEndian.PutUint32(r.data[off:], uint32(size)|ringbufBusyBit)
	binary.NativeEndian.PutUint32(r.data[off+4:], uint32(off/pageSize)) // pg_off, as the kernel records it
	r.prod += l
	r.pending[off] = struct{}{}
	start := off + ringbufHdrSize
	if size == 0 {
		// Capacity 1 keeps the slice's pointer at the record (Go does not
		// advance the pointer of a zero-capacity slice), so Submit and
		// Discard can find it.
		return r.data[start : start : start+1], nil
	}
	return r.data[start : start+size : start+size], nil
}

// Submit is bpf_ringbuf_submit: it commits the record p (as returned by
// Reserve) for the reader. A p that is not a pending reservation is
// EINVAL.
func (r *RingBuf) Submit(p []byte) error { return r.commit(p, false, "submit") }

// Discard is bpf_ringbuf_discard: the reader skips the record p.
func (r *RingBuf) Discard(p []byte) error { return r.commit(p, true, "discard") }

func (r *RingBuf) commit(p []byte, discard bool, op string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	base := uintptr(unsafe.Pointer(unsafe.SliceData(r.data)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	if p == nil || at < base+ringbufHdrSize || at >= base+uintptr(len(r.data)) {
		return opError(r.spec.Name, op, fmt.Errorf("record is not in the ring buffer: %w", syscall.EINVAL))
	}
	off := uint64(at-base) - ringbufHdrSize
	if off%8 != 0 || off > r.mask {
		return opError(r.spec.Name, op, fmt.Errorf("record at offset %d is not a reservation: %w", off+ringbufHdrSize, syscall.EINVAL))
	}
	hdr := binary.NativeEndian.Uint32(r.data[off:])
	if _, ok := r.pending[off]; !ok || uint64(hdr&^(ringbufBusyBit|ringbufDiscardBit)) != uint64(len(p)) {
		return opError(r.spec.Name, op, fmt.Errorf("record at offset %d is not a pending reservation of %d bytes: %w", off+ringbufHdrSize, len(p), syscall.EINVAL))
	}
	delete(r.pending, off)
	hdr &^= ringbufBusyBit
	if discard {
		hdr |= ringbufDiscardBit
	}
	binary.NativeEndian.PutUint32(r.data[off:], hdr)
	return nil
}

// Output is bpf_ringbuf_output: it copies data into a new record and
// submits it. flags may hold RingbufNoWakeup or RingbufForceWakeup (no
// effect here); other bits are EINVAL. When the record does not fit it
// fails with EAGAIN, as the kernel does in every such case.
func (r *RingBuf) Output(data []byte, flags uint64) error {
	if flags&^(RingbufNoWakeup|RingbufForceWakeup) != 0 {
		return opError(r.spec.Name, "output", fmt.Errorf("flags %#x: %w", flags, syscall.EINVAL))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.reserve(uint64(len(data)))
	if err != nil {
		return opError(r.spec.Name, "output", fmt.Errorf("%v: %w", err, syscall.EAGAIN))
	}
	copy(p, data)
	off := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(p)))-uintptr(unsafe.Pointer(unsafe.SliceData(r.data)))) - ringbufHdrSize
	binary.NativeEndian.PutUint32(r.data[off:], uint32(len(data)))
	delete(r.pending, off)
	return nil
}

// Read returns a copy of the next submitted record, skipping discarded
// ones, and frees its room. It fails with an error wrapping ErrNoRecord
// when there is none, including when the oldest record is still reserved
// (the reader waits for it, as the kernel's consumer does).
func (r *RingBuf) Read() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.cons < r.prod {
		off := r.cons & r.mask
		hdr := binary.NativeEndian.Uint32(r.data[off:])
		if hdr&ringbufBusyBit != 0 {
			break
		}
		n := uint64(hdr &^ (ringbufBusyBit | ringbufDiscardBit))
		r.cons += (n + ringbufHdrSize + 7) &^ 7
		if hdr&ringbufDiscardBit != 0 {
			continue
		}
		start := off + ringbufHdrSize
		return append([]byte(nil), r.data[start:start+n]...), nil
	}
	return nil, fmt.Errorf("map %q: read: %w", r.spec.Name, ErrNoRecord)
}

// Query is bpf_ringbuf_query: RingbufAvailData (bytes not yet consumed,
// including reserved records), RingbufRingSize, RingbufConsPos or
// RingbufProdPos; 0 for an unknown query.
func (r *RingBuf) Query(what uint64) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch what {
	case RingbufAvailData:
		return r.prod - r.cons
	case RingbufRingSize:
		return r.size()
	case RingbufConsPos:
		return r.cons
	case RingbufProdPos:
		return r.prod
	}
	return 0
}

func (r *RingBuf) unsupported(op string, key any) error {
	if err := noKey(&r.spec, key); err != nil {
		return opError(r.spec.Name, op, err)
	}
	return opError(r.spec.Name, op, fmt.Errorf("ring buffers have no elements: %w", ENOTSUPP))
}

// LookupRaw returns nil: programs use Reserve and Output.
func (r *RingBuf) LookupRaw(key []byte, cpu int) []byte { return nil }

// UpdateRaw fails with ENOTSUPP.
func (r *RingBuf) UpdateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error {
	return r.unsupported("update", nil)
}

// DeleteRaw fails with ENOTSUPP.
func (r *RingBuf) DeleteRaw(key []byte) error { return r.unsupported("delete", nil) }

// Lookup fails as bpf(2) does: EINVAL for a non-nil key, else ENOTSUPP.
func (r *RingBuf) Lookup(key, valueOut any) error { return r.unsupported("lookup", key) }

// Update fails as bpf(2) does: EINVAL for a non-nil key, else ENOTSUPP.
func (r *RingBuf) Update(key, value any, flags prog.UpdateFlags) error {
	return r.unsupported("update", key)
}

// Delete fails as bpf(2) does: EINVAL for a non-nil key, else ENOTSUPP.
func (r *RingBuf) Delete(key any) error { return r.unsupported("delete", key) }

// LookupAndDelete fails as bpf(2) does: EINVAL for a non-nil key, else
// ENOTSUPP.
func (r *RingBuf) LookupAndDelete(key, valueOut any) error {
	return r.unsupported("lookup and delete", key)
}

// NextKey fails as bpf(2) does: EINVAL for a non-nil key, else ENOTSUPP.
func (r *RingBuf) NextKey(key, nextKeyOut any) error { return r.unsupported("next key", key) }
