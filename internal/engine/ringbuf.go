package engine

import (
	"fmt"
	"syscall"
	"unsafe"

	"github.com/purebpf/purebpf/interp/maps"
)

// reservation is a ring buffer sample the program holds between
// ringbuf_reserve and ringbuf_submit or ringbuf_discard.
type reservation struct {
	addr uint64
	rb   *maps.RingBuf
	buf  []byte
}

func (e *Env) ringBuffer(handle uint64) (*maps.RingBuf, error) {
	m, err := e.Map(handle)
	if err != nil {
		return nil, err
	}
	rb, _ := m.(*maps.RingBuf)
	return rb, nil
}

// helperRingbufOutput is bpf_ringbuf_output(rb, data, size, flags).
func helperRingbufOutput(e *Env, r1, r2, r3, r4, _ uint64) (uint64, error) {
	rb, err := e.ringBuffer(r1)
	if err != nil {
		return 0, err
	}
	if rb == nil {
		return Errno(syscall.EINVAL), nil
	}
	data, err := e.Bytes(r2, int(uint32(r3)), false)
	if err != nil {
		return 0, err
	}
	if err := rb.Output(data, r4); err != nil {
		return errnoOf(err), nil
	}
	return 0, nil
}

// helperRingbufReserve is bpf_ringbuf_reserve(rb, size, flags): it returns
// a pointer to size writable bytes, or NULL when the buffer is full or
// flags is not 0 (kernel/bpf/ringbuf.c, Linux 6.x). A reservation of 0
// bytes is a real record, as in __bpf_ringbuf_reserve (the verifier's
// ARG_CONST_ALLOC_SIZE_OR_ZERO allows it): its pointer is not NULL, it
// grants no bytes, and it is pending until submit or discard, or until
// the run ends (EndEnv discards it), like any other reservation.
func helperRingbufReserve(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	rb, err := e.ringBuffer(r1)
	if err != nil {
		return 0, err
	}
	if rb == nil || r3 != 0 {
		return 0, nil
	}
	buf, err := rb.Reserve(r2)
	if err != nil {
		return 0, nil // nothing is pending: the ring is unchanged
	}
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
	if len(buf) > 0 {
		if _, err := e.addRegion(buf, PermRead|PermWrite); err != nil {
			_ = rb.Discard(buf)
			return 0, err
		}
	}
	e.reserved = append(e.reserved, reservation{addr: addr, rb: rb, buf: buf})
	return addr, nil
}

func (e *Env) release(addr uint64, submit bool) (uint64, error) {
	for k, r := range e.reserved {
		if r.addr != addr {
			continue
		}
		e.removeRegion(addr)
		e.reserved = append(e.reserved[:k], e.reserved[k+1:]...)
		var err error
		if submit {
			err = r.rb.Submit(r.buf)
		} else {
			err = r.rb.Discard(r.buf)
		}
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrHelper, err)
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%w: 0x%x is not a ring buffer reservation of this run", ErrMemoryAccess, addr)
}

// releaseAll discards reservations a run left open. The kernel's verifier
// rejects programs that can leak a reservation; in userspace the run ends
// and the samples are discarded.
func (e *Env) releaseAll() {
	for _, r := range e.reserved {
		_ = r.rb.Discard(r.buf)
	}
	clear(e.reserved)
	e.reserved = e.reserved[:0]
}

func helperRingbufSubmit(e *Env, r1, _, _, _, _ uint64) (uint64, error) {
	return e.release(r1, true)
}

func helperRingbufDiscard(e *Env, r1, _, _, _, _ uint64) (uint64, error) {
	return e.release(r1, false)
}

// helperRingbufQuery is bpf_ringbuf_query(rb, flags).
func helperRingbufQuery(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	rb, err := e.ringBuffer(r1)
	if err != nil || rb == nil {
		return 0, err
	}
	return rb.Query(r2), nil
}
