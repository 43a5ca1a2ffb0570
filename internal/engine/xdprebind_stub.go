package engine

// PROVISIONAL (lead's branch): stand-ins for the interp-speed branch's
// RebindXDP API, so that the JIT side can be written against it.

// RebindXDP rebinds e, still bound from an XDP run of the same program,
// to frame and meta.
func RebindXDP(e *Env, frame []byte, meta *XDPMeta, out *[]byte) (uint64, bool, error) {
	if e.xdp.page == nil || !e.keepPkt || e.xdp.hasFrags() || (meta != nil && len(meta.Frags) > 0) {
		return 0, false, nil
	}
	if err := checkXDPFrame(frame, meta); err != nil {
		return 0, false, err
	}
	vm := e.vm
	vm.EndEnv(e)
	vm.StartEnv(e)
	r1, err := e.bindXDP(frame, meta, out)
	return r1, err == nil, err
}

// KeepXDP ends an XDP run in e keeping the binding when RebindXDP can
// rebind it: it sets the output view and reports true.
func KeepXDP(e *Env) bool {
	x := &e.xdp
	if x.page == nil || !e.keepPkt || x.hasFrags() || len(e.reserved) > 0 || e.curVM != e.vm || len(e.inner) > 0 {
		return false
	}
	if x.out != nil {
		*x.out = x.page.buf[x.meta:x.end:x.end]
	}
	return true
}
