package engine

import (
	"fmt"
	"syscall"
)

// XDP multi-buffer frames (frags, Linux 5.18+). A frame longer than one
// page holds is, as BPF_PROG_TEST_RUN builds it (bpf_prog_test_run_xdp,
// net/bpf/test_run.c, checked against Linux 6.18 and 6.1): a linear part of at
// most XDPMaxFrame bytes in the page, which the program reaches through
// data and data_end, and the rest in fragments of at most one page
// each (struct skb_shared_info frags), which it reaches only through
// bpf_xdp_load_bytes and bpf_xdp_store_bytes, and which
// bpf_xdp_get_buff_len counts and bpf_xdp_adjust_tail grows and
// shrinks. The test run does this for every XDP program, with
// BPF_F_XDP_HAS_FRAGS or without (the flag matters only when attaching).
const (
	// XDPFragSize is the size of one fragment's page: its data starts
	// at offset 0, and bpf_xdp_adjust_tail grows the last one up to it
	// (rxq frag_size, PAGE_SIZE in the test run).
	XDPFragSize = 4096
	// XDPMaxFrags is the most fragments a frame has (MAX_SKB_FRAGS,
	// 17 with the default CONFIG_MAX_SKB_FRAGS; the test run fails
	// longer frames with ENOMEM).
	XDPMaxFrags = 17
	// XDPMaxFragsFrame is the longest frame RunXDP takes: the linear
	// part and XDPMaxFrags full fragments.
	XDPMaxFragsFrame = XDPMaxFrame + XDPMaxFrags*XDPFragSize
)

// xdpFrags is the fragment part of an XDP binding: the storage of
// XDPMaxFrags pages, kept by the Env across runs, and the fragments'
// sizes (each starts at offset 0 of its page).
type xdpFrags struct {
	store []byte // XDPMaxFrags * XDPFragSize bytes, allocated on first use
	sizes []int  // the fragments' sizes; nil without frags
	total int    // sinfo->xdp_frags_size
}

// checkXDPFrags reports why meta.Frags cannot go with frame, or nil.
func checkXDPFrags(frame []byte, frags [][]byte) error {
	if len(frags) == 0 {
		return nil
	}
	if len(frame) > XDPMaxFrame {
		return fmt.Errorf("%w: an XDP frame of %d bytes with XDPMeta.Frags: the linear part holds at most %d bytes", ErrContext, len(frame), XDPMaxFrame)
	}
	if len(frags) > XDPMaxFrags {
		return fmt.Errorf("%w: %d XDP fragments, the most is %d (MAX_SKB_FRAGS; the kernel's test run says ENOMEM)", ErrContext, len(frags), XDPMaxFrags)
	}
	for k, f := range frags {
		if len(f) == 0 || len(f) > XDPFragSize {
			return fmt.Errorf("%w: XDP fragment %d has %d bytes (want 1 to %d, one page)", ErrContext, k, len(f), XDPFragSize)
		}
	}
	return nil
}

// bindFrags fills the fragments of an XDP binding: meta's Frags, or the
// bytes of frame past XDPMaxFrame in pages, as the kernel's test run
// splits a long frame. It returns the linear part of frame.
func (x *xdpState) bindFrags(frame []byte, meta *XDPMeta) []byte {
	x.frags.sizes, x.frags.total = x.frags.sizes[:0], 0
	var frags [][]byte
	if meta != nil {
		frags = meta.Frags
	}
	rest := []byte(nil)
	if len(frame) > XDPMaxFrame {
		frame, rest = frame[:XDPMaxFrame], frame[XDPMaxFrame:]
	}
	if len(frags) == 0 && len(rest) == 0 {
		x.frags.sizes = nil
		return frame
	}
	if x.frags.store == nil {
		x.frags.store = make([]byte, XDPMaxFrags*XDPFragSize)
	}
	add := func(b []byte) {
		page := x.frags.page(len(x.frags.sizes))
		copy(page, b)
		clear(page[len(b):]) // no byte of an earlier run stays in reach of adjust_tail
		x.frags.sizes = append(x.frags.sizes, len(b))
		x.frags.total += len(b)
	}
	for _, f := range frags {
		add(f)
	}
	for len(rest) > 0 {
		n := min(len(rest), XDPFragSize)
		add(rest[:n])
		rest = rest[n:]
	}
	return frame
}

// page returns fragment k's page.
func (f *xdpFrags) page(k int) []byte {
	return f.store[k*XDPFragSize : (k+1)*XDPFragSize : (k+1)*XDPFragSize]
}

// hasFrags is xdp_buff_has_frags: the frame has fragments (until
// bpf_xdp_adjust_tail releases the last one).
func (x *xdpState) hasFrags() bool { return len(x.frags.sizes) > 0 }

// buffLen is xdp_get_buff_len: the linear packet and the fragments.
func (x *xdpState) buffLen() int { return int(x.end-x.data) + x.frags.total }

// appendFrags appends the fragments' bytes to out (the test run's
// output after the linear part).
func (x *xdpState) appendFrags(out []byte) []byte {
	for k, n := range x.frags.sizes {
		out = append(out, x.frags.page(k)[:n]...)
	}
	return out
}

// copyBuf is bpf_xdp_copy_buf: it copies n bytes at offset off of the
// frame (from data, across the linear part and the fragments) to buf,
// or from buf when toFrame is set. The range must be inside buffLen.
func (x *xdpState) copyBuf(off int, buf []byte, toFrame bool) {
	move := func(b []byte) int {
		if toFrame {
			return copy(b, buf)
		}
		return copy(buf, b)
	}
	if lin := x.page.buf[x.data:x.end]; off < len(lin) {
		n := move(lin[off:])
		buf, off = buf[n:], 0
	} else {
		off -= len(lin)
	}
	for k, size := range x.frags.sizes {
		if len(buf) == 0 {
			return
		}
		if off >= size {
			off -= size
			continue
		}
		n := move(x.frags.page(k)[off:size])
		buf, off = buf[n:], 0
	}
}

// helperXDPGetBuffLen is bpf_xdp_get_buff_len (Linux 5.18): the length
// of the linear packet and the fragments.
func helperXDPGetBuffLen(e *Env, r1, _, _, _, _ uint64) (uint64, error) {
	x, err := e.xdpEnv("bpf_xdp_get_buff_len", r1)
	if err != nil {
		return 0, err
	}
	return uint64(x.buffLen()), nil
}

// helperXDPLoadBytes is bpf_xdp_load_bytes(ctx, offset, buf, len)
// (Linux 5.18): len bytes of the frame from data + offset, across the
// linear part and the fragments, into buf.
func helperXDPLoadBytes(e *Env, r1, r2, r3, r4, _ uint64) (uint64, error) {
	return e.xdpBytes("bpf_xdp_load_bytes", r1, r2, r3, r4, false)
}

// helperXDPStoreBytes is bpf_xdp_store_bytes(ctx, offset, buf, len)
// (Linux 5.18): buf's len bytes into the frame at data + offset.
func helperXDPStoreBytes(e *Env, r1, r2, r3, r4, _ uint64) (uint64, error) {
	return e.xdpBytes("bpf_xdp_store_bytes", r1, r2, r3, r4, true)
}

// xdpBytes copies between the frame at data + off and the program's
// buffer at r3 (into the frame when toFrame is set), checking the offset
// and length as bpf_xdp_pointer does: above 0xffff is EFAULT, past the
// frame EINVAL.
func (e *Env) xdpBytes(helper string, r1, off, r3, n uint64, toFrame bool) (uint64, error) {
	x, err := e.xdpEnv(helper, r1)
	if err != nil {
		return 0, err
	}
	buf, err := e.Bytes(r3, int(uint32(n)), !toFrame)
	if err != nil {
		return 0, err
	}
	o, l := uint32(off), uint32(n)
	if o > 0xffff || l > 0xffff {
		return Errno(syscall.EFAULT), nil
	}
	if int(o)+int(l) > x.buffLen() {
		return Errno(syscall.EINVAL), nil
	}
	x.copyBuf(int(o), buf, toFrame)
	return 0, nil
}

// adjustFragsTail is bpf_xdp_adjust_tail on a frame with fragments
// (bpf_xdp_frags_increase_tail, bpf_xdp_frags_shrink_tail): growing
// extends the last fragment within its page, zeroed; shrinking takes
// from the last fragments, releasing those it empties, and once none is
// left the rest comes off the linear part (the frame then is a
// single-buffer one again). The frame keeps at least an Ethernet
// header.
func (e *Env) adjustFragsTail(x *xdpState, delta int64) uint64 {
	f := &x.frags
	if delta >= 0 {
		last := len(f.sizes) - 1
		if delta > int64(XDPFragSize-f.sizes[last]) {
			return Errno(syscall.EINVAL)
		}
		clear(f.page(last)[f.sizes[last] : f.sizes[last]+int(delta)])
		f.sizes[last] += int(delta)
		f.total += int(delta)
		return 0
	}
	// The kernel negates the int offset: -INT_MIN stays negative, passes
	// the check and shrinks nothing.
	off := int64(-int32(delta))
	if off > int64(x.buffLen())-ethHLen {
		return Errno(syscall.EINVAL)
	}
	for len(f.sizes) > 0 && off > 0 {
		last := len(f.sizes) - 1
		shrink := min(off, int64(f.sizes[last]))
		off -= shrink
		f.total -= int(shrink)
		if int64(f.sizes[last]) > shrink {
			f.sizes[last] -= int(shrink)
			break
		}
		f.sizes = f.sizes[:last] // the kernel frees the emptied page
	}
	if len(f.sizes) == 0 {
		x.end -= uint32(off)
		e.xdpSync()
	}
	return 0
}
