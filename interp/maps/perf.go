package maps

import (
	"fmt"
	"slices"
	"sync"
	"syscall"

	"github.com/purebpf/purebpf/prog"
)

// Record is one record read from a PerfEventArray: a sample, or a count
// of samples lost because the buffer was full (PERF_RECORD_LOST).
type Record struct {
	// CPU is the array index (the CPU) the record was written to.
	CPU int
	// Sample is the data a program passed to bpf_perf_event_output; nil
	// for a lost record.
	Sample []byte
	// Lost is the number of samples dropped at this point; 0 for a sample.
	Lost uint64
}

// PerfEventArray is a perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY,
// Linux 4.3; bpf_perf_event_output 4.4) whose every index has a bounded sample buffer, as if a reader had opened
// one perf event per index (normally per CPU), so that
// bpf_perf_event_output works without file descriptors.
//
// Each index's buffer is accounted as the kernel's perf ring
// (kernel/events/ring_buffer.c, Linux 6.x): a sample takes an 8-byte
// perf_event_header, a 4-byte size and the data, padded to 8; a record fits
// when the free space, Options.PerfBufferBytes - 1 - unread bytes
// (CIRC_SPACE), is at least its size. A sample that does not fit is lost:
// Output fails with ENOSPC, as perf_output_begin does, and the loss is
// counted. The next sample that fits is preceded by a PERF_RECORD_LOST
// record (24 bytes, written in the same reservation, as the kernel does),
// which Read returns as a Record with Lost set.
//
// Through prog.Mapper it behaves as the kernel does for user space (checked
// against Linux 6.18): Lookup and LookupAndDelete are ENOTSUPP; Update
// validates (flags other than UpdateAny EINVAL, index E2BIG) and then fails
// with EBADF, there being no perf event fds; Delete of an index out of range
// is E2BIG, otherwise ErrKeyNotExist, since no fd was ever stored there (the
// buffers are not map entries and stay in place).
type PerfEventArray struct {
	spec     prog.MapSpec
	bufBytes int

	mu   sync.Mutex
	bufs map[uint32]*perfBuf
	next uint32 // index Read starts at, round robin
}

type perfBuf struct {
	recs    []Record
	used    int    // bytes the queued records take
	lost    uint64 // all samples lost on this index
	pending uint64 // samples lost since the last PERF_RECORD_LOST
}

func newPerfEventArray(spec prog.MapSpec, opts *Options) (*PerfEventArray, error) {
	if err := fdArrayCheck(spec); err != nil {
		return nil, err
	}
	return &PerfEventArray{
		spec:     spec,
		bufBytes: opts.perfBytes(),
		bufs:     make(map[uint32]*perfBuf),
	}, nil
}

// MapSpec returns the map's spec.
func (p *PerfEventArray) MapSpec() prog.MapSpec { return p.spec }

// perfLostBytes is the size of a PERF_RECORD_LOST record: header, id,
// count.
const perfLostBytes = 24

// perfSampleBytes is the size of a PERF_SAMPLE_RAW sample record in the
// perf ring: header, u32 size, data, padded to 8.
func perfSampleBytes(n int) int { return 8 + (4+n+7)&^7 }

// maxPerfSample is the largest data a sample can carry: the record size
// must fit perf_event_header.size, a u16.
const maxPerfSample = 0xffff - 8 - 4 - 7

// Output is bpf_perf_event_output to index cpu (the VM resolves
// BPF_F_CURRENT_CPU): it copies data into a sample record. An index out of
// range is E2BIG, data too big for a sample E2BIG, and a full buffer ENOSPC (the sample is counted as lost).
func (p *PerfEventArray) Output(cpu int, data []byte) error {
	if err := p.output(cpu, data); err != nil {
		return opError(p.spec.Name, "perf event output", err)
	}
	return nil
}

func (p *PerfEventArray) output(cpu int, data []byte) error {
	if cpu < 0 || uint64(cpu) >= uint64(p.spec.MaxEntries) {
		return fmt.Errorf("index %d >= max_entries %d: %w", cpu, p.spec.MaxEntries, syscall.E2BIG)
	}
	if len(data) > maxPerfSample {
		return fmt.Errorf("sample of %d bytes exceeds %d: %w", len(data), maxPerfSample, syscall.E2BIG)
	}
	i := uint32(cpu)
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.bufs[i]
	if b == nil {
		b = &perfBuf{}
		p.bufs[i] = b
	}
	n := perfSampleBytes(len(data))
	if b.pending > 0 {
		n += perfLostBytes
	}
	if p.bufBytes-1-b.used < n {
		b.lost++
		b.pending++
		return fmt.Errorf("index %d: buffer full, sample lost: %w", i, syscall.ENOSPC)
	}
	b.used += n
	if b.pending > 0 {
		b.recs = append(b.recs, Record{CPU: cpu, Lost: b.pending})
		b.pending = 0
	}
	b.recs = append(b.recs, Record{CPU: cpu, Sample: append([]byte(nil), data...)})
	return nil
}

// Read returns the next record without blocking, taking indexes in turn;
// an error wrapping ErrNoRecord when every buffer is empty. Reading a
// sample frees its room in the buffer.
func (p *PerfEventArray) Read() (Record, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// The non-empty index nearest at or after p.next in cyclic order.
	best, bestD, found := uint32(0), uint32(0), false
	for i, b := range p.bufs {
		if len(b.recs) == 0 {
			continue
		}
		if d := i - p.next; !found || d < bestD {
			best, bestD, found = i, d, true
		}
	}
	if found {
		b := p.bufs[best]
		r := b.recs[0]
		b.recs[0] = Record{}
		b.recs = b.recs[1:]
		if r.Lost != 0 {
			b.used -= perfLostBytes
		} else {
			b.used -= perfSampleBytes(len(r.Sample))
		}
		p.next = best + 1
		return r, nil
	}
	return Record{}, fmt.Errorf("map %q: read: %w", p.spec.Name, ErrNoRecord)
}

// Records drains and returns every pending record, index by index in
// increasing order, each index's records in the order written.
func (p *PerfEventArray) Records() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	idx := make([]uint32, 0, len(p.bufs))
	for i := range p.bufs {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	var out []Record
	for _, i := range idx {
		b := p.bufs[i]
		out = append(out, b.recs...)
		b.recs, b.used = nil, 0
	}
	return out
}

// Lost returns the number of samples lost on index cpu so far.
func (p *PerfEventArray) Lost(cpu int) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.bufs[uint32(cpu)]; b != nil && cpu >= 0 {
		return b.lost
	}
	return 0
}

// LookupRaw returns nil: programs cannot look up perf event arrays.
func (p *PerfEventArray) LookupRaw(key []byte, cpu int) []byte { return nil }

// UpdateRaw fails with ENOTSUPP: programs cannot update perf event arrays.
func (p *PerfEventArray) UpdateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error {
	return opError(p.spec.Name, "update", fmt.Errorf("programs cannot update a %s: %w", p.spec.Type, ENOTSUPP))
}

// DeleteRaw fails with ENOTSUPP: programs cannot delete from perf event
// arrays.
func (p *PerfEventArray) DeleteRaw(key []byte) error {
	return opError(p.spec.Name, "delete", fmt.Errorf("programs cannot delete from a %s: %w", p.spec.Type, ENOTSUPP))
}

// Lookup fails with ENOTSUPP, as in the kernel.
func (p *PerfEventArray) Lookup(key, valueOut any) error {
	if err := userRead(&p.spec); err != nil {
		return opError(p.spec.Name, "lookup", err)
	}
	return opError(p.spec.Name, "lookup", fmt.Errorf("%s maps: %w", p.spec.Type, ENOTSUPP))
}

// Update validates like the kernel and then fails with EBADF.
func (p *PerfEventArray) Update(key, value any, flags prog.UpdateFlags) error {
	return opError(p.spec.Name, "update", fdArrayUpdate(&p.spec, key, value, flags, "every index already has a buffer"))
}

// Delete fails like the kernel's for a slot without a perf event fd: E2BIG
// for an index out of range, else ErrKeyNotExist.
func (p *PerfEventArray) Delete(key any) error {
	if err := p.delete(key); err != nil {
		return opError(p.spec.Name, "delete", err)
	}
	return nil
}

func (p *PerfEventArray) delete(key any) error {
	if err := userWrite(&p.spec); err != nil {
		return err
	}
	i, err := fdArrayIndex(&p.spec, key)
	if err != nil {
		return err
	}
	if i >= p.spec.MaxEntries {
		return fmt.Errorf("index %d >= max_entries %d: %w", i, p.spec.MaxEntries, syscall.E2BIG)
	}
	return fmt.Errorf("index %d holds no perf event fd: %w", i, errno(syscall.ENOENT))
}

// LookupAndDelete fails with ENOTSUPP, as in the kernel.
func (p *PerfEventArray) LookupAndDelete(key, valueOut any) error {
	return noLookupAndDelete(&p.spec)
}

// NextKey walks indexes as for an array.
func (p *PerfEventArray) NextKey(key, nextKeyOut any) error {
	if err := arrayNextKey(&p.spec, key, nextKeyOut); err != nil {
		return opError(p.spec.Name, "next key", err)
	}
	return nil
}
