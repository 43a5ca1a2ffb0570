//go:build linux

package perf

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/sys"
)

// Ring buffer record header bits (include/uapi/linux/bpf.h, Linux 5.8+).
const (
	ringbufBusyBit    = 1 << 31 // BPF_RINGBUF_BUSY_BIT: reserved, not yet committed
	ringbufDiscardBit = 1 << 30 // BPF_RINGBUF_DISCARD_BIT: discarded, skip
	ringbufHdrSize    = 8       // BPF_RINGBUF_HDR_SZ: u32 len, u32 pg_off
)

// RingBufReader reads a BPF_MAP_TYPE_RINGBUF map (Linux 5.8+). The
// consumer page is mapped read-write, the producer page and the data area
// read-only; the kernel maps the data area twice in a row, so a record that
// wraps around the end is contiguous in memory.
//
// Records a program reserved but has not committed yet stop the reader
// until they are committed; discarded records are skipped. Unlike a perf
// event array, a full ring buffer makes the program's reserve or output
// call fail, so there are no lost-record notifications.
//
// Read and ReadInto may not be called concurrently with each other;
// SetDeadline and Close may be called from any goroutine.
type RingBufReader struct {
	mu       sync.Mutex
	mapFD    *sys.FD
	cons     []byte // consumer page mapping
	prod     []byte // producer page + 2 * data mapping
	data     []byte // the data area, of length 2*size
	mask     uint64
	consPos  uint64
	poll     *poller
	closed   bool
	pageSize int
}

// NewRingBufReader maps the ring buffer m.
func NewRingBufReader(m FDer) (*RingBufReader, error) {
	mapFD, info, err := mapInfo(m)
	if err != nil {
		return nil, fmt.Errorf("ring buffer reader: %w", err)
	}
	if info.Type != sys.MapTypeRingBuf {
		mapFD.Close()
		return nil, fmt.Errorf("ring buffer reader: map %q is a %v, want %v: %w", info.Name, info.Type, sys.MapTypeRingBuf, ErrMapType)
	}
	r := &RingBufReader{mapFD: mapFD, pageSize: unix.Getpagesize()}
	fail := func(err error) (*RingBufReader, error) {
		r.teardown()
		return nil, fmt.Errorf("ring buffer reader: %w", err)
	}
	size := int(info.MaxEntries)
	if !isPowerOfTwo(size) || size%r.pageSize != 0 {
		return fail(fmt.Errorf("map %q: max_entries %d is not a power-of-two multiple of the page size", info.Name, size))
	}
	r.cons, err = unix.Mmap(mapFD.Int(), 0, r.pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail(fmt.Errorf("mmap of the consumer page: %w", err))
	}
	r.prod, err = unix.Mmap(mapFD.Int(), int64(r.pageSize), r.pageSize+2*size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fail(fmt.Errorf("mmap of the producer page and data: %w", err))
	}
	r.data = r.prod[r.pageSize:]
	r.mask = uint64(size) - 1
	r.consPos = atomic.LoadUint64((*uint64)(unsafe.Pointer(&r.cons[0])))
	if r.poll, err = newPoller(1); err != nil {
		return fail(err)
	}
	if err := r.poll.add(mapFD.Int(), 0); err != nil {
		return fail(err)
	}
	return r, nil
}

// Size returns the size of the data area in bytes.
func (r *RingBufReader) Size() int {
	if r == nil {
		return 0
	}
	return int(r.mask + 1)
}

// SetDeadline makes Read and ReadInto return an error wrapping
// os.ErrDeadlineExceeded once t has passed and no record is ready. A zero
// t means no deadline.
func (r *RingBufReader) SetDeadline(t time.Time) {
	if r != nil && r.poll != nil {
		r.poll.setDeadline(t)
	}
}

// Read returns the next record, blocking until one arrives, the deadline
// passes or the reader is closed (ErrClosed).
func (r *RingBufReader) Read() (Record, error) {
	var rec Record
	err := r.ReadInto(&rec)
	return rec, err
}

// ReadInto is Read storing into rec and reusing rec.RawSample's memory.
func (r *RingBufReader) ReadInto(rec *Record) error {
	if r == nil {
		return errNilReader("RingBufReader")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	// The fast path, a record already in the ring, calls readPending
	// directly: no method value, no poller.
	if ok, err := r.readPending(rec); ok || err != nil {
		return err
	}
	return r.poll.read(rec, r.readPending)
}

func (r *RingBufReader) readPending(rec *Record) (bool, error) {
	prodPos := (*uint64)(unsafe.Pointer(&r.prod[0]))
	for {
		prod := atomic.LoadUint64(prodPos)
		if r.consPos >= prod {
			return false, nil
		}
		off := r.consPos & r.mask
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.data[off])))
		if hdr&ringbufBusyBit != 0 {
			// Reserved but not committed: the commit will wake us,
			// since the consumer position points at this record.
			return false, nil
		}
		n := uint64(hdr &^ (ringbufBusyBit | ringbufDiscardBit))
		total := (n + ringbufHdrSize + 7) &^ 7
		if total > r.mask+1 || r.consPos+total > prod {
			return false, fmt.Errorf("%w: ring buffer record of %d bytes at position %d (producer at %d, ring of %d bytes)",
				ErrCorrupt, n, r.consPos, prod, r.mask+1)
		}
		if hdr&ringbufDiscardBit == 0 {
			start := off + ringbufHdrSize
			if uint64(cap(rec.RawSample)) < n {
				rec.RawSample = make([]byte, n)
			}
			rec.RawSample = rec.RawSample[:n]
			// The data area is mapped twice, so start+n stays inside it.
			copy(rec.RawSample, r.data[start:start+n])
			rec.CPU = -1
			rec.LostSamples = 0
		}
		r.consPos += total
		atomic.StoreUint64((*uint64)(unsafe.Pointer(&r.cons[0])), r.consPos)
		if hdr&ringbufDiscardBit == 0 {
			return true, nil
		}
	}
}

// Close unblocks a blocked Read and unmaps the ring. It is safe to call
// more than once, and on a nil reader.
func (r *RingBufReader) Close() error {
	if r == nil {
		return nil
	}
	if r.poll != nil {
		r.poll.wake()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	return r.teardown()
}

func (r *RingBufReader) teardown() error {
	r.closed = true
	var errs []error
	if r.prod != nil {
		errs = append(errs, unix.Munmap(r.prod))
		r.prod, r.data = nil, nil
	}
	if r.cons != nil {
		errs = append(errs, unix.Munmap(r.cons))
		r.cons = nil
	}
	if r.poll != nil {
		r.poll.wake()
		r.poll.close()
	}
	if r.mapFD != nil {
		errs = append(errs, r.mapFD.Close())
		r.mapFD = nil
	}
	return errors.Join(errs...)
}
