package engine

// Keeping an XDP binding across the runs of a Runner (interp's and the
// JIT's): the end of a run that KeepXDP accepts gives its output packet
// but leaves the Env bound, and the next run rebinds only what changes
// (RebindXDP) instead of ending the Env, starting it and binding it again.

// RebindXDP binds frame and meta in e, whose last run was an XDP run that
// KeepXDP kept bound, as StartEnv (BindEnv) and BindXDP would bind them
// in an ended Env, and returns the context's address (r1) and ok = true.
// It resets the state a run leaves behind: the dynamic regions (map
// values, ring buffer records; the table is back to the fixed regions of
// the bind: stack, xdp_md, packet), the hot region, the inner maps
// reached, the tail-call count, the running program (back to e's VM's)
// and the stack region's bounds (the main frame). It does not zero the
// stack's contents: the caller does, as after AcquireStack
// (VM.ReachableStack). The frame is copied into the kept page, the
// headroom and tailroom an earlier run may have dirtied are cleared, and
// xdp_md, the packet region and meta.Redirect are set as BindXDP sets
// them; a frame with fragments is laid out as BindXDP lays it out. The
// output packet of the run goes to *out when the run ends (KeepXDP or
// EndEnv).
//
// What stays the same across rebinds, so that an engine may cache it: the
// context's address (XDPContext), the index of the xdp_md region (1) and
// of the packet region (2) in Regions, and the page the packet lies in
// (the packet region's bounds move with every rebind, as they do when a
// helper moves data, data_meta or data_end).
//
// When e is not so bound (never bound, ended by EndEnv, bound to another
// context, not keeping its packets: see KeepPackets, or holding ring
// buffer reservations), RebindXDP changes nothing and returns ok = false:
// the caller ends e (EndEnv) and binds it as usual. A frame and meta that
// BindXDP refuses give that error (and ok = false) and change nothing:
// the old binding is still there.
func RebindXDP(e *Env, frame []byte, meta *XDPMeta, out *[]byte) (r1 uint64, ok bool, err error) {
	return e.rebindXDP(frame, meta, out)
}

// KeepXDP ends the XDP run that just ended in e without an error, except
// that e stays bound for RebindXDP, and reports true, when that is
// possible: e keeps its packets (KeepPackets) and the run holds no ring
// buffer reservations (EndEnv would discard them). It then gives the
// output packet to the out of the bind, as EndEnv does for an Env that
// keeps its packets: a view of the page (or of e's output buffer, for a
// frame with fragments), valid until e's next bind, rebind or Close.
// Otherwise it changes nothing and reports false: the caller ends e with
// EndEnv, which gives the output. A kept e holds the dynamic regions of
// the run until the next rebind or EndEnv.
func KeepXDP(e *Env) bool { return e.keepXDP() }

// xdpKept reports whether e has an XDP binding that can stay bound after
// its run and be rebound (see KeepXDP).
func (e *Env) xdpKept() bool {
	p := e.xdp.page
	return e.ctxKind == ctxXDP && p != nil && p == e.keptXDP && len(e.reserved) == 0
}

func (e *Env) keepXDP() bool {
	if !e.xdpKept() {
		return false
	}
	x := &e.xdp
	if x.out != nil {
		*x.out = e.xdpView()
		x.out = nil // given: a later EndEnv gives nothing
	}
	return true
}

func (e *Env) rebindXDP(frame []byte, meta *XDPMeta, out *[]byte) (uint64, bool, error) {
	if !e.xdpKept() {
		return 0, false, nil
	}
	if err := checkXDPFrame(frame, meta); err != nil {
		return 0, false, err
	}
	e.resetRun()
	e.loadXDP(frame, meta, out)
	return e.ctxAddr, true, nil
}

// resetRun gives a bound Env the state StartEnv and a bind give it, apart
// from the stack's contents and the context: the fixed regions only, the
// main frame, no tail calls, no inner maps, e's own program running.
func (e *Env) resetRun() {
	if len(e.regions) > e.fixed {
		clear(e.regions[e.fixed:]) // drop the references to map values
		e.regions = e.regions[:e.fixed]
	}
	e.regions[0].Start = e.mainLo()
	e.dropHot()
	e.tailCalls, e.depth = 0, 0
	e.cur, e.curVM = e.vm.prog, e.vm
	if len(e.inner) > 0 {
		e.endInner()
	}
}

// XDPPacketRegion is the index in Regions of an XDP binding's packet
// region, which RebindXDP keeps (XDPContextRegion is xdp_md's).
const (
	XDPContextRegion = 1
	XDPPacketRegion  = 2
)

// ReloadXDP is RebindXDP for the common case an engine can check
// cheaply, when e's last run was one the Env never saw: e's XDP binding
// is kept (KeepXDP) from a run whose code never called into the Env (no
// helper, no access the engine checked, no error: the JIT's runs that stay
// in machine code), so that the Env is exactly as the bind or rebind
// before that run left it apart from the packet's bytes. It copies frame
// (no metadata, no fragments: at most XDPMaxFrame bytes) into the kept
// page at the same data offset, clears what the last frame left past the
// new one's end, sets data_end in xdp_md and the packet region's end, and
// returns the packet as a view into the page (valid until e's next bind,
// rebind or Close; the program's changes to the packet land in it, which
// makes it the run's output) and true; a run that does call into the Env
// ends as after RebindXDP (KeepXDP or EndEnv give *out). It returns
// false, changing
// nothing, when e is not so bound, was bound with metadata, fragments or
// a redirect target, or frame needs another bind (RebindXDP then gives
// the error or the binding).
func ReloadXDP(e *Env, frame []byte, out *[]byte) ([]byte, bool) {
	x := &e.xdp
	p := x.page
	if !e.xdpKept() || len(frame) < ethHLen || len(frame) > XDPMaxFrame || x.hasFrags() || x.redirect != nil ||
		x.meta != XDPHeadroom || x.data != XDPHeadroom || len(e.regions) != e.fixed || e.ctxKind != ctxXDP {
		return nil, false
	}
	end := x.data + uint32(len(frame))
	b := p.buf
	p.clearXDP(x.data, end)
	copy(b[x.data:], frame)
	x.end, x.out = end, out
	ne.PutUint32(e.skb[xdpDataEnd:], uint32(p.addr)+end)
	pkt := b[x.data:end:end]
	r := &e.regions[x.region]
	r.End, r.data = p.addr+uint64(end), pkt
	e.dropHot()
	return pkt, true
}
