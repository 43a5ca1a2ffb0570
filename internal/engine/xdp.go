package engine

import (
	"fmt"
	"sync"
	"syscall"

	"github.com/purebpf/purebpf/prog"
)

// Layout of struct xdp_md (include/uapi/linux/bpf.h, Linux 5.18+): six
// __u32 fields. The kernel rewrites the 32-bit loads of data, data_end and
// data_meta into loads of the packet pointers (xdp_convert_ctx_access);
// here the packet lives in a page mapped below 4 GiB, so that the 32-bit
// value the program loads is the pointer itself.
const (
	xdpData           = 0
	xdpDataEnd        = 4
	xdpDataMeta       = 8
	xdpIngressIfindex = 12
	xdpRxQueueIndex   = 16
	xdpEgressIfindex  = 20
	xdpSize           = 24
)

// The XDP actions (enum xdp_action).
const (
	XDPAborted  = 0
	XDPDrop     = 1
	XDPPass     = 2
	XDPTX       = 3
	XDPRedirect = 4
)

// The frame layout of BPF_PROG_TEST_RUN for XDP (bpf_prog_test_run_xdp,
// net/bpf/test_run.c, Linux 6.x): one page, the packet XDPHeadroom bytes
// in, and the last xdpTailroom bytes (SKB_DATA_ALIGN(sizeof(struct
// skb_shared_info)) on x86-64) out of reach of bpf_xdp_adjust_tail.
const (
	// XDPHeadroom is XDP_PACKET_HEADROOM: the bytes before the packet
	// that bpf_xdp_adjust_head and bpf_xdp_adjust_meta may take.
	XDPHeadroom  = 256
	xdpFrameSize = 4096
	xdpTailroom  = 320
	// XDPMaxFrame is the longest frame RunXDP takes: the kernel's test
	// run refuses longer ones for programs without XDP frags (EINVAL).
	XDPMaxFrame = xdpFrameSize - XDPHeadroom - xdpTailroom
	// sizeof(struct xdp_frame), which bpf_xdp_adjust_head and
	// bpf_xdp_adjust_meta keep free at the start of the headroom.
	xdpFrameStruct = 40
	ethHLen        = 14
	// xdpMaxMeta is the largest metadata bpf_xdp_adjust_meta accepts
	// (xdp_metalen_invalid: the u8 skb_shared_info.meta_len on 6.18;
	// 32 on older kernels such as 6.1, see Options.XDPMaxMetadata).
	xdpMaxMeta = 255
)

// XDPMeta is the part of the xdp_md context besides the packet: the
// receive queue and interfaces, and metadata bytes placed before the
// packet (data_meta), as BPF_PROG_TEST_RUN's ctx_in gives them.
type XDPMeta struct {
	// IngressIfindex 0 means 1, the loopback device, which the kernel's
	// test run gives a frame without a context.
	IngressIfindex uint32
	RxQueueIndex   uint32
	EgressIfindex  uint32
	// Meta is the metadata in front of the packet: a multiple of 4 bytes,
	// at most 252 (nil: data_meta == data).
	Meta []byte
	// Frags are the fragments of a multi-buffer frame (XDP frags) after
	// the linear part, the frame RunXDP gets (at most XDPMaxFrame bytes):
	// at most XDPMaxFrags of 1 to XDPFragSize bytes each. A frame longer
	// than XDPMaxFrame is split into fragments as the kernel's test run
	// splits it; Frags lays out others.
	Frags [][]byte
	// Redirect, when not nil, receives the redirect target of the run:
	// what the program's last successful bpf_redirect or
	// bpf_redirect_map call chose, as the kernel keeps it in struct
	// bpf_redirect_info for xdp_do_redirect, which acts on it when the
	// program returns XDP_REDIRECT. A run zeroes it first.
	Redirect *XDPTarget
}

// XDPTarget is where an XDP program redirected its frame (see
// XDPMeta.Redirect). A userspace run has no devices: the frame goes
// nowhere, and the test checks the target.
type XDPTarget struct {
	// Ifindex is the interface: bpf_redirect's argument, or the ifindex
	// of the device map entry bpf_redirect_map found (0 for other maps
	// and for BPF_F_BROADCAST).
	Ifindex uint32
	// Map is the name of the map bpf_redirect_map named ("" for
	// bpf_redirect), and Key its key (the CPU of a CPU map).
	Map string
	Key uint32
	// Flags are the call's flags (BPF_F_BROADCAST,
	// BPF_F_EXCLUDE_INGRESS, the fallback action).
	Flags uint64
}

// lowBuf is a buffer mapped below 4 GiB, so that the 32-bit packet
// pointers of xdp_md and __sk_buff hold addresses into it: the frame page
// of an XDP run, the packet buffer of a tc run.
type lowBuf struct {
	buf  []byte
	addr uint64
	// lo and hi bound the bytes of an XDP page that may not be zero:
	// every byte outside [lo, hi) is. A page is mapped zeroed, and a
	// run's bytes stay inside the lowest data_meta and the highest
	// data_end it had (xdpSync widens the range when they move), so that
	// the next bind clears only what an earlier run can have left
	// (clearXDP) instead of the whole page.
	lo, hi uint32
}

// lowPool keeps the idle lowBufs of one size. Buffers are never unmapped:
// there are at most as many as runs were ever bound at once.
type lowPool struct {
	sync.Mutex
	size int
	what string // for errors: what the buffer is for
	free []*lowBuf
}

var (
	xdpPages = lowPool{size: xdpFrameSize, what: "an XDP frame"}
	tcBufs   = lowPool{size: tcBufSize, what: "a tc packet buffer"}
)

// take returns a free buffer, mapping one if there is none.
func (p *lowPool) take() (*lowBuf, error) {
	p.Lock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		p.Unlock()
		return b, nil
	}
	p.Unlock()
	b, err := mmapLow(p.size)
	if err != nil {
		return nil, fmt.Errorf("%w: mapping %s below 4 GiB: %w", ErrContext, p.what, err)
	}
	return &lowBuf{buf: b, addr: addrOf(b)}, nil
}

// takeBuf returns the buffer an Env that keeps its buffers (keepPkt) kept
// in *kept, or one from pool, which such an Env then keeps.
func (e *Env) takeBuf(pool *lowPool, kept **lowBuf) (*lowBuf, error) {
	if b := *kept; b != nil {
		return b, nil
	}
	b, err := pool.take()
	if err == nil && e.keepPkt {
		*kept = b
	}
	return b, err
}

func (p *lowPool) put(b *lowBuf) {
	p.Lock()
	p.free = append(p.free, b)
	p.Unlock()
}

// xdpState is an XDP binding of an Env: the page, the pointers (as
// offsets into the page) and where the output goes when the run ends.
type xdpState struct {
	page            *lowBuf
	data, end, meta uint32 // offsets into page.buf
	out             *[]byte
	region          int        // index of the packet region
	redirect        *XDPTarget // XDPMeta.Redirect
	frags           xdpFrags   // the fragments of a multi-buffer frame (xdpfrags.go)
}

// checkXDPFrame reports why RunXDP cannot take frame and meta, or nil.
func checkXDPFrame(frame []byte, meta *XDPMeta) error {
	if len(frame) < ethHLen {
		return fmt.Errorf("%w: an XDP frame of %d bytes is shorter than an Ethernet header (the kernel's test run says EINVAL)", ErrContext, len(frame))
	}
	if len(frame) > XDPMaxFragsFrame {
		return fmt.Errorf("%w: an XDP frame of %d bytes is longer than %d, a page's linear part and %d fragments of a page (the kernel's test run says ENOMEM)", ErrContext, len(frame), XDPMaxFragsFrame, XDPMaxFrags)
	}
	if meta != nil {
		if err := checkXDPFrags(frame, meta.Frags); err != nil {
			return err
		}
	}
	if meta != nil && (len(meta.Meta)%4 != 0 || len(meta.Meta) > xdpMaxMeta) {
		return fmt.Errorf("%w: XDP metadata of %d bytes (want a multiple of 4, at most %d)", ErrContext, len(meta.Meta), xdpMaxMeta)
	}
	return nil
}

// bindXDP installs the xdp_md context of frame and meta and the packet
// region, and returns the context's address (r1). The packet as the
// program leaves it is copied to *out when the Env's run ends (EndEnv).
func (e *Env) bindXDP(frame []byte, meta *XDPMeta, out *[]byte) (uint64, error) {
	if err := checkXDPFrame(frame, meta); err != nil {
		return 0, err
	}
	p, err := e.takeBuf(&xdpPages, &e.keptXDP)
	if err != nil {
		return 0, err
	}
	e.xdp.page = p
	e.ctxKind = ctxXDP
	c := &e.skb // the xdp_md bytes live in the __sk_buff buffer
	e.ctxAddr = addrOf(c[:])
	r := e.fixedRegion()
	r.Start, r.End, r.Perm = e.ctxAddr, e.ctxAddr+xdpSize, PermRead
	r.data, r.check = c[:xdpSize], checkXDPAccess
	e.fc.ctx, e.fc.ctxLo = c[:xdpSize], e.ctxAddr // what checkXDPAccess allows, fast loads
	e.xdp.region = len(e.regions)
	r = e.fixedRegion()
	r.Perm, r.data = PermRead|PermWrite, p.buf
	e.loadXDP(frame, meta, out)
	return e.ctxAddr, nil
}

// loadXDP copies frame (its linear part; the fragments to the binding's
// fragment store) and meta's metadata into the page of e's XDP binding,
// writes xdp_md and points the packet region at them: the part of a bind
// that bindXDP and rebindXDP share. frame and meta have passed
// checkXDPFrame.
func (e *Env) loadXDP(frame []byte, meta *XDPMeta, out *[]byte) {
	var m []byte
	if meta != nil {
		m = meta.Meta
	}
	x := &e.xdp
	p := x.page
	b := p.buf
	x.out, x.redirect = out, nil
	frame = x.bindFrags(frame, meta) // the linear part (xdpfrags.go)
	x.data = XDPHeadroom
	x.end = x.data + uint32(len(frame))
	x.meta = x.data - uint32(len(m))
	p.clearXDP(x.meta, x.end) // no byte of an earlier run is left in the headroom or tail
	copy(b[x.data:], frame)
	copy(b[x.meta:], m)

	c := &e.skb
	clear(c[:xdpSize])
	ne.PutUint32(c[xdpIngressIfindex:], 1)
	if meta != nil {
		if x.redirect = meta.Redirect; x.redirect != nil {
			*x.redirect = XDPTarget{}
		}
		if meta.IngressIfindex != 0 {
			ne.PutUint32(c[xdpIngressIfindex:], meta.IngressIfindex)
		}
		ne.PutUint32(c[xdpRxQueueIndex:], meta.RxQueueIndex)
		ne.PutUint32(c[xdpEgressIfindex:], meta.EgressIfindex)
	}
	e.xdpSync()
}

// clearXDP zeroes the bytes of an XDP page outside [lo, hi) that an
// earlier run may have left (see lowBuf.lo), before a bind copies its
// metadata and frame to [lo, hi), which becomes the page's range.
func (p *lowBuf) clearXDP(lo, hi uint32) {
	if p.lo < p.hi {
		if p.lo < lo {
			clear(p.buf[p.lo:min(lo, p.hi)])
		}
		if hi < p.hi {
			clear(p.buf[max(hi, p.lo):p.hi])
		}
	}
	p.lo, p.hi = lo, hi
}

// xdpSync writes the packet pointers into xdp_md and sets the packet
// region to [data_meta, data_end) after a bind or a helper moved them.
func (e *Env) xdpSync() {
	x := &e.xdp
	c := e.skb[:]
	ne.PutUint32(c[xdpData:], uint32(x.page.addr)+x.data)
	ne.PutUint32(c[xdpDataEnd:], uint32(x.page.addr)+x.end)
	ne.PutUint32(c[xdpDataMeta:], uint32(x.page.addr)+x.meta)
	r := &e.regions[x.region]
	r.Start, r.End = x.page.addr+uint64(x.meta), x.page.addr+uint64(x.end)
	r.data = x.page.buf[x.meta:x.end]
	e.dropHot()
	p := x.page // what the program can reach now may be dirty after the run
	p.lo, p.hi = min(p.lo, x.meta), max(p.hi, x.end)
}

// xdpPacket returns the packet, data to data_end, of an XDP binding.
func (e *Env) xdpPacket() []byte {
	x := &e.xdp
	return x.page.buf[x.data:x.end:x.end]
}

// endXDP copies the output out and gives the page back (EndEnv). The
// output is data_meta to data_end, the metadata and the packet, then
// the fragments, as BPF_PROG_TEST_RUN returns it (bpf_prog_test_run_xdp,
// Linux 6.x). An Env that keeps its page (a Runner's, see KeepPackets)
// gives a view instead of a copy: the page itself, or for a frame with
// fragments the Env's output buffer, valid until the Env's next bind.
func (e *Env) endXDP() {
	x := &e.xdp
	if x.page == nil {
		return
	}
	if x.out != nil {
		if e.keepPkt {
			*x.out = e.xdpView()
		} else {
			*x.out = x.appendFrags(append(make([]byte, 0, x.end-x.meta+uint32(x.frags.total)), x.page.buf[x.meta:x.end]...))
		}
	}
	if x.page != e.keptXDP {
		xdpPages.put(x.page)
	}
	store := x.frags.store // kept for the Env's next frame with frags
	*x = xdpState{}
	x.frags.store = store
}

// xdpView is the output of an XDP run of an Env that keeps its page
// (see endXDP): a view of the page, or for a frame with fragments of the
// Env's output buffer.
func (e *Env) xdpView() []byte {
	x := &e.xdp
	if x.hasFrags() {
		e.pktOut = x.appendFrags(append(e.pktOut[:0], x.page.buf[x.meta:x.end]...))
		return e.pktOut[:len(e.pktOut):len(e.pktOut)]
	}
	return x.page.buf[x.meta:x.end:x.end]
}

// checkXDPAccess applies xdp_is_valid_access (net/core/filter.c, Linux
// 6.x): xdp_md is read-only here (egress_ifindex is writable only for
// devmap programs, which do not run in userspace), and every field is
// read as a whole aligned __u32.
func checkXDPAccess(off uint64, n int, write bool) error {
	bad := func(why string) error {
		kind := "load"
		if write {
			kind = "store"
		}
		name := "?"
		if off < xdpSize {
			name = [...]string{"data", "data_end", "data_meta", "ingress_ifindex", "rx_queue_index", "egress_ifindex"}[off/4]
		}
		return fmt.Errorf("%w: %s of %d bytes at xdp_md offset %d (%s): %s", ErrContext, kind, n, off, name, why)
	}
	switch {
	case write:
		return bad("xdp_md is read-only")
	case n != 4 || off%4 != 0:
		return bad("xdp_md fields are read as whole aligned 4-byte values")
	case off+4 > xdpSize:
		return bad("past the end of xdp_md")
	}
	return nil
}

// xdpEnv returns e's XDP binding, or an error naming the helper when the
// program does not run on an XDP context.
func (e *Env) xdpEnv(helper string, ctx uint64) (*xdpState, error) {
	if e.ctxKind != ctxXDP || e.xdp.page == nil {
		return nil, fmt.Errorf("%w: %s needs an XDP context", ErrContext, helper)
	}
	if ctx != e.ctxAddr {
		return nil, fmt.Errorf("%w: %s: r1 0x%x is not the xdp_md context", ErrContext, helper, ctx)
	}
	return &e.xdp, nil
}

func (x *xdpState) metalen() uint32 { return x.data - x.meta }

// helperXDPAdjustHead is bpf_xdp_adjust_head (net/core/filter.c): it
// moves data by delta, keeping sizeof(struct xdp_frame) and the metadata
// in the headroom and at least an Ethernet header in the packet; the
// metadata moves with it.
func helperXDPAdjustHead(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	x, err := e.xdpEnv("bpf_xdp_adjust_head", r1)
	if err != nil {
		return 0, err
	}
	delta := int64(int32(r2))
	ml := x.metalen()
	data := int64(x.data) + delta
	if data < int64(xdpFrameStruct+ml) || data > int64(x.end)-ethHLen {
		return Errno(syscall.EINVAL), nil
	}
	if ml > 0 {
		b := x.page.buf
		copy(b[int64(x.meta)+delta:], b[x.meta:x.data])
	}
	x.meta = uint32(int64(x.meta) + delta)
	x.data = uint32(data)
	e.xdpSync()
	return 0, nil
}

// helperXDPAdjustTail is bpf_xdp_adjust_tail: for a single-buffer frame,
// data_end moves by delta, up to the frame's tailroom and down to an
// Ethernet header; grown bytes are zeroed. A frame with fragments grows
// and shrinks at its last fragment (adjustFragsTail).
func helperXDPAdjustTail(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	x, err := e.xdpEnv("bpf_xdp_adjust_tail", r1)
	if err != nil {
		return 0, err
	}
	delta := int64(int32(r2))
	if x.hasFrags() {
		return e.adjustFragsTail(x, delta), nil
	}
	end := int64(x.end) + delta
	if end > xdpFrameSize-xdpTailroom || end < int64(x.data)+ethHLen {
		return Errno(syscall.EINVAL), nil
	}
	if delta > 0 {
		clear(x.page.buf[x.end:end])
	}
	x.end = uint32(end)
	e.xdpSync()
	return 0, nil
}

// helperXDPAdjustMeta is bpf_xdp_adjust_meta: data_meta moves by delta,
// staying after sizeof(struct xdp_frame) and at or before data, and the
// metadata stays a multiple of 4 bytes of at most 255
// (Options.XDPMaxMetadata).
func helperXDPAdjustMeta(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	x, err := e.xdpEnv("bpf_xdp_adjust_meta", r1)
	if err != nil {
		return 0, err
	}
	meta := int64(x.meta) + int64(int32(r2))
	if meta < xdpFrameStruct || meta > int64(x.data) {
		return Errno(syscall.EINVAL), nil
	}
	limit := int64(xdpMaxMeta)
	if m := e.vm.opts.XDPMaxMetadata; m > 0 && m < xdpMaxMeta {
		limit = int64(m)
	}
	if ml := int64(x.data) - meta; ml%4 != 0 || ml > limit {
		return Errno(syscall.EACCES), nil
	}
	x.meta = uint32(meta)
	e.xdpSync()
	return 0, nil
}

// The flags of bpf_redirect_map (include/uapi/linux/bpf.h).
const (
	redirActionMask = XDPAborted | XDPDrop | XDPPass | XDPTX
	redirFlagsMask  = 1<<3 | 1<<4 // BPF_F_BROADCAST, BPF_F_EXCLUDE_INGRESS
)

// helperRedirect is bpf_redirect as XDP programs have it (bpf_xdp_redirect):
// XDP_REDIRECT, or XDP_ABORTED when flags are set. The target is not
// recorded: a userspace run has no devices.
func helperRedirect(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	if e.ctxKind == ctxTC {
		return helperRedirectTC(e, r1, r2)
	}
	if e.ctxKind != ctxXDP {
		return 0, fmt.Errorf("%w: bpf_redirect is only available to XDP and tc programs in userspace", ErrContext)
	}
	if r2 != 0 {
		return XDPAborted, nil
	}
	if x := &e.xdp; x.redirect != nil {
		*x.redirect = XDPTarget{Ifindex: uint32(r1)}
	}
	return XDPRedirect, nil
}

// helperRedirectMap is bpf_redirect_map for XDP (__bpf_xdp_redirect_map):
// unknown flags give XDP_ABORTED; a key with no entry in the map gives
// the action in the flags' low two bits; an entry gives XDP_REDIRECT.
// With BPF_F_BROADCAST the key is not looked up.
func helperRedirectMap(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	if e.ctxKind != ctxXDP {
		return 0, fmt.Errorf("%w: bpf_redirect_map is only available to XDP programs in userspace", ErrContext)
	}
	m, err := e.Map(r1)
	if err != nil {
		return 0, err
	}
	if r3&^(redirActionMask|redirFlagsMask) != 0 {
		return XDPAborted, nil
	}
	ms := m.MapSpec()
	target := XDPTarget{Map: ms.Name, Flags: r3}
	if r3&(1<<3) == 0 {
		var key [4]byte
		ne.PutUint32(key[:], uint32(r2))
		v := []byte(nil)
		if ms.KeySize == 4 {
			v = m.LookupRaw(key[:], e.cpu())
		}
		if v == nil {
			if x := &e.xdp; x.redirect != nil {
				*x.redirect = XDPTarget{} // the kernel forgets the map (map_type UNSPEC)
			}
			return r3 & redirActionMask, nil
		}
		target.Key = uint32(r2)
		if (ms.Type == prog.DevMap || ms.Type == prog.DevMapHash) && len(v) >= 4 {
			target.Ifindex = ne.Uint32(v)
		}
	}
	if x := &e.xdp; x.redirect != nil {
		*x.redirect = target
	}
	return XDPRedirect, nil
}
