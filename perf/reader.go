//go:build linux

package perf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/sys"
)

// PerfReader reads the per-CPU rings behind a BPF_MAP_TYPE_PERF_EVENT_ARRAY
// map. It opens one PERF_COUNT_SW_BPF_OUTPUT event per online CPU, mmaps
// its ring and stores the event in the map under the CPU's index, which is
// where bpf_perf_event_output with BPF_F_CURRENT_CPU writes.
//
// Read and ReadInto may not be called concurrently with each other;
// SetDeadline, Pause, Resume and Close may be called from any goroutine.
type PerfReader struct {
	mu     sync.Mutex // held by Read for the whole call and by Close
	pause  sync.Mutex // serialises Pause, Resume and Close's map cleanup
	mapFD  *sys.FD
	rings  []*perfRing
	poll   *poller
	next   int // ring to read next, round robin
	paused bool
	closed bool
	lost   atomic.Uint64
}

// perfRing is one CPU's mmapped perf ring.
type perfRing struct {
	cpu  int
	fd   *sys.FD
	mmap []byte
	ring
}

// ring is the consumer view of a perf ring's data area.
type ring struct {
	meta unsafe.Pointer // struct perf_event_mmap_page
	data []byte
	mask uint64
	head uint64 // last data_head seen
	tail uint64 // our data_tail
}

func (r *ring) loadHead() uint64 {
	return atomic.LoadUint64((*uint64)(unsafe.Add(r.meta, sys.PerfMmapPageDataHeadOffset)))
}

func (r *ring) storeTail(v uint64) {
	atomic.StoreUint64((*uint64)(unsafe.Add(r.meta, sys.PerfMmapPageDataTailOffset)), v)
}

// copyOut copies n bytes starting at ring position pos into dst, which must
// have room, handling the wrap at the end of the data area.
func (r *ring) copyOut(dst []byte, pos uint64) {
	off := pos & r.mask
	n := copy(dst, r.data[off:])
	if n < len(dst) {
		copy(dst[n:], r.data)
	}
}

// next decodes the next record into rec. It returns false when the ring
// is empty. Records other than samples and lost records are skipped.
func (r *ring) next(rec *Record) (bool, error) {
	var hdr [16]byte
	for {
		if r.tail == r.head {
			r.head = r.loadHead()
			if r.tail == r.head {
				return false, nil
			}
		}
		avail := r.head - r.tail
		if avail < sys.PerfEventHeaderLen || avail > uint64(len(r.data)) {
			return false, fmt.Errorf("%w: %d bytes between tail %d and head %d of a %d-byte ring",
				ErrCorrupt, avail, r.tail, r.head, len(r.data))
		}
		r.copyOut(hdr[:8], r.tail)
		typ := binary.NativeEndian.Uint32(hdr[0:4])
		size := uint64(binary.NativeEndian.Uint16(hdr[6:8]))
		if size < sys.PerfEventHeaderLen || size > avail {
			return false, fmt.Errorf("%w: record of type %d claims %d bytes, %d available in a %d-byte ring",
				ErrCorrupt, typ, size, avail, len(r.data))
		}
		body := r.tail + sys.PerfEventHeaderLen
		bodyLen := size - sys.PerfEventHeaderLen
		handled := false
		switch typ {
		case sys.PerfRecordSample:
			if bodyLen < 4 {
				return false, fmt.Errorf("%w: sample of %d bytes has no raw size", ErrCorrupt, size)
			}
			r.copyOut(hdr[:4], body)
			raw := uint64(binary.NativeEndian.Uint32(hdr[:4]))
			if raw > bodyLen-4 {
				return false, fmt.Errorf("%w: raw sample of %d bytes in a %d-byte record", ErrCorrupt, raw, size)
			}
			if uint64(cap(rec.RawSample)) < raw {
				rec.RawSample = make([]byte, raw)
			}
			rec.RawSample = rec.RawSample[:raw]
			r.copyOut(rec.RawSample, body+4)
			rec.LostSamples = 0
			handled = true
		case sys.PerfRecordLost:
			if bodyLen < 16 {
				return false, fmt.Errorf("%w: lost record of %d bytes", ErrCorrupt, size)
			}
			r.copyOut(hdr[:16], body)
			rec.RawSample = rec.RawSample[:0]
			rec.LostSamples = binary.NativeEndian.Uint64(hdr[8:16])
			handled = true
		}
		r.tail += size
		r.storeTail(r.tail)
		if handled {
			return true, nil
		}
	}
}

// errNilReader is the error of a method called on a nil reader.
func errNilReader(typ string) error {
	return fmt.Errorf("perf: nil *%s: %w", typ, os.ErrInvalid)
}

func isPowerOfTwo(n int) bool { return n > 0 && n&(n-1) == 0 }

// mapInfo returns the type and size of the map behind m, via a duplicate
// descriptor that the caller owns.
func mapInfo(m FDer) (*sys.FD, sys.MapInfo, error) {
	var info sys.MapInfo
	raw, err := sys.ObjectFD(m, "map")
	if err != nil {
		return nil, info, err
	}
	fd, err := dupFD(raw)
	if err != nil {
		return nil, info, err
	}
	if err := sys.MapGetInfoByFD(fd, &info); err != nil {
		fd.Close()
		return nil, info, fmt.Errorf("map info: %w", err)
	}
	return fd, info, nil
}

// NewPerfReader opens per-CPU rings for the perf event array m.
func NewPerfReader(m FDer, opts PerfReaderOptions) (*PerfReader, error) {
	pages := opts.Pages
	if pages == 0 {
		pages = 8
	}
	if !isPowerOfTwo(pages) {
		return nil, fmt.Errorf("perf reader: Pages %d is not a power of two", opts.Pages)
	}
	if opts.WakeupEvents < 0 || opts.Watermark < 0 {
		return nil, fmt.Errorf("perf reader: negative WakeupEvents %d or Watermark %d", opts.WakeupEvents, opts.Watermark)
	}
	pageSize := unix.Getpagesize()
	if opts.Watermark >= pages*pageSize {
		return nil, fmt.Errorf("perf reader: Watermark %d must be below the ring size %d", opts.Watermark, pages*pageSize)
	}
	mapFD, info, err := mapInfo(m)
	if err != nil {
		return nil, fmt.Errorf("perf reader: %w", err)
	}
	if info.Type != sys.MapTypePerfEventArray {
		mapFD.Close()
		return nil, fmt.Errorf("perf reader: map %q is a %v, want %v: %w", info.Name, info.Type, sys.MapTypePerfEventArray, ErrMapType)
	}
	cpus, err := onlineCPUs()
	if err != nil {
		mapFD.Close()
		return nil, fmt.Errorf("perf reader: %w", err)
	}
	r := &PerfReader{mapFD: mapFD}
	fail := func(err error) (*PerfReader, error) {
		r.teardown()
		return nil, fmt.Errorf("perf reader: %w", err)
	}
	if last := cpus[len(cpus)-1]; uint32(last) >= info.MaxEntries {
		return fail(fmt.Errorf("map %q has max_entries %d but CPU %d is online", info.Name, info.MaxEntries, last))
	}
	if r.poll, err = newPoller(len(cpus)); err != nil {
		return fail(err)
	}
	for i, cpu := range cpus {
		pr, err := openPerfRing(cpu, pages, pageSize, opts)
		if err != nil {
			return fail(err)
		}
		r.rings = append(r.rings, pr)
		if err := r.poll.add(pr.fd.Int(), int32(i)); err != nil {
			return fail(err)
		}
		if err := r.setMapEntry(pr); err != nil {
			return fail(err)
		}
	}
	return r, nil
}

func openPerfRing(cpu, pages, pageSize int, opts PerfReaderOptions) (*perfRing, error) {
	attr := sys.PerfEventAttr{
		Type:               sys.PerfTypeSoftware,
		Config:             sys.PerfCountSWBPFOutput,
		SamplePeriodOrFreq: 1,
		SampleType:         sys.PerfSampleRaw,
	}
	switch {
	case opts.Watermark > 0:
		attr.Flags |= sys.PerfBitWatermark
		attr.WakeupEventsOrWatermark = uint32(opts.Watermark)
	case opts.WakeupEvents > 0:
		attr.WakeupEventsOrWatermark = uint32(opts.WakeupEvents)
	default:
		attr.WakeupEventsOrWatermark = 1
	}
	fd, err := sys.PerfEventOpen(&attr, -1, cpu, -1, 0)
	if err != nil {
		return nil, fmt.Errorf("CPU %d: %w", cpu, err)
	}
	mem, err := unix.Mmap(fd.Int(), 0, (1+pages)*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("CPU %d: mmap of %d pages: %w", cpu, 1+pages, err)
	}
	meta := unsafe.Pointer(&mem[0])
	dataOff := *(*uint64)(unsafe.Add(meta, sys.PerfMmapPageDataOffsetOffset))
	dataSize := *(*uint64)(unsafe.Add(meta, sys.PerfMmapPageDataSizeOffset))
	if dataOff == 0 || dataSize == 0 { // before Linux 4.1
		dataOff, dataSize = uint64(pageSize), uint64(pages*pageSize)
	}
	if dataOff+dataSize > uint64(len(mem)) || !isPowerOfTwo(int(dataSize)) {
		unix.Munmap(mem)
		fd.Close()
		return nil, fmt.Errorf("CPU %d: kernel reports data at %d+%d in a %d-byte mapping", cpu, dataOff, dataSize, len(mem))
	}
	pr := &perfRing{cpu: cpu, fd: fd, mmap: mem}
	pr.meta = meta
	pr.data = mem[dataOff : dataOff+dataSize]
	pr.mask = dataSize - 1
	pr.tail = atomic.LoadUint64((*uint64)(unsafe.Add(meta, sys.PerfMmapPageDataTailOffset)))
	pr.head = pr.tail
	if err := sys.PerfEventEnable(fd); err != nil {
		unix.Munmap(mem)
		fd.Close()
		return nil, fmt.Errorf("CPU %d: %w", cpu, err)
	}
	return pr, nil
}

func (r *PerfReader) setMapEntry(pr *perfRing) error {
	key, val := uint32(pr.cpu), pr.fd.Uint()
	err := sys.MapUpdateElem(&sys.MapElemAttr{
		MapFD: r.mapFD.Uint(),
		Key:   sys.NewPointer(unsafe.Pointer(&key)),
		Value: sys.NewPointer(unsafe.Pointer(&val)),
	})
	if err != nil {
		return fmt.Errorf("storing CPU %d's event in the map: %w", pr.cpu, err)
	}
	return nil
}

func (r *PerfReader) deleteMapEntry(pr *perfRing) error {
	key := uint32(pr.cpu)
	err := sys.MapDeleteElem(&sys.MapElemAttr{MapFD: r.mapFD.Uint(), Key: sys.NewPointer(unsafe.Pointer(&key))})
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing CPU %d's event from the map: %w", pr.cpu, err)
	}
	return nil
}

// Pause removes the reader's events from the map, so that
// bpf_perf_event_output fails with -ENOENT instead of writing. Records
// already in the rings can still be read.
func (r *PerfReader) Pause() error {
	if r == nil {
		return errNilReader("PerfReader")
	}
	r.pause.Lock()
	defer r.pause.Unlock()
	if r.closed {
		return ErrClosed
	}
	var errs []error
	for _, pr := range r.rings {
		errs = append(errs, r.deleteMapEntry(pr))
	}
	r.paused = true
	return errors.Join(errs...)
}

// Resume puts the events back into the map after Pause.
func (r *PerfReader) Resume() error {
	if r == nil {
		return errNilReader("PerfReader")
	}
	r.pause.Lock()
	defer r.pause.Unlock()
	if r.closed {
		return ErrClosed
	}
	for _, pr := range r.rings {
		if err := r.setMapEntry(pr); err != nil {
			return err
		}
	}
	r.paused = false
	return nil
}

// SetDeadline makes Read and ReadInto return an error wrapping
// os.ErrDeadlineExceeded once t has passed and no record is ready. A zero
// t means no deadline.
func (r *PerfReader) SetDeadline(t time.Time) {
	if r != nil && r.poll != nil {
		r.poll.setDeadline(t)
	}
}

// CPUs returns the CPUs the reader has a ring for, in read order.
func (r *PerfReader) CPUs() []int {
	if r == nil {
		return nil
	}
	r.pause.Lock()
	defer r.pause.Unlock()
	cpus := make([]int, 0, len(r.rings))
	for _, pr := range r.rings {
		cpus = append(cpus, pr.cpu)
	}
	return cpus
}

// Lost returns the total of LostSamples over all records read so far.
func (r *PerfReader) Lost() uint64 {
	if r == nil {
		return 0
	}
	return r.lost.Load()
}

// Read returns the next record, blocking until one arrives, the deadline
// passes or the reader is closed (ErrClosed).
func (r *PerfReader) Read() (Record, error) {
	var rec Record
	err := r.ReadInto(&rec)
	return rec, err
}

// ReadInto is Read storing into rec and reusing rec.RawSample's memory; it
// does not allocate once rec.RawSample has grown to the largest sample.
func (r *PerfReader) ReadInto(rec *Record) error {
	if r == nil {
		return errNilReader("PerfReader")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	return r.poll.read(rec, r.readPending)
}

// readPending returns the next record from any ring, round robin.
func (r *PerfReader) readPending(rec *Record) (bool, error) {
	for range r.rings {
		pr := r.rings[r.next]
		ok, err := pr.next(rec)
		if err != nil {
			return false, fmt.Errorf("CPU %d: %w", pr.cpu, err)
		}
		if ok {
			rec.CPU = pr.cpu
			if rec.LostSamples > 0 {
				r.lost.Add(rec.LostSamples)
			}
			return true, nil
		}
		r.next = (r.next + 1) % len(r.rings)
	}
	return false, nil
}

// Close removes the events from the map, unblocks a blocked Read and frees
// the rings. It is safe to call more than once, and on a nil reader.
func (r *PerfReader) Close() error {
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

func (r *PerfReader) teardown() error {
	r.pause.Lock()
	defer r.pause.Unlock()
	r.closed = true
	var errs []error
	for _, pr := range r.rings {
		if r.mapFD != nil {
			errs = append(errs, r.deleteMapEntry(pr))
		}
		errs = append(errs, unix.Munmap(pr.mmap), pr.fd.Close())
	}
	r.rings = nil
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
