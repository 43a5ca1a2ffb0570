package engine

import (
	"encoding/binary"
	"fmt"
	"syscall"

	"github.com/purebpf/purebpf/insn"
)

// registerTCHelpers adds the helpers of tc programs to r: skb_store_bytes,
// l3_csum_replace, l4_csum_replace, csum_diff, skb_change_tail,
// skb_change_head, skb_pull_data, skb_adjust_room, skb_change_proto,
// skb_change_type, skb_vlan_push, skb_vlan_pop, set_hash,
// set_hash_invalid, get_hash_recalc, csum_level, get_cgroup_classid and
// skb_load_bytes_relative (skb_load_bytes and redirect serve other
// contexts too).
func registerTCHelpers(r *Registry) {
	r.Register(insn.FnSKBStoreBytes, helperSKBStoreBytes)
	r.Register(insn.FnL3CsumReplace, helperL3CsumReplace)
	r.Register(insn.FnL4CsumReplace, helperL4CsumReplace)
	r.Register(insn.FnCsumDiff, helperCsumDiff)
	r.Register(insn.FnSKBChangeTail, helperSKBChangeTail)
	r.Register(insn.FnSKBChangeHead, helperSKBChangeHead)
	r.Register(insn.FnSKBPullData, helperSKBPullData)
	r.Register(insn.FnSKBAdjustRoom, helperSKBAdjustRoom)
	r.Register(insn.FnSKBChangeProto, helperSKBChangeProto)
	r.Register(insn.FnSKBChangeType, helperSKBChangeType)
	r.Register(insn.FnSKBVLANPush, helperSKBVLANPush)
	r.Register(insn.FnSKBVLANPop, helperSKBVLANPop)
	r.Register(insn.FnSetHash, helperSetHash)
	r.Register(insn.FnSetHashInvalid, helperSetHashInvalid)
	r.Register(insn.FnGetHashRecalc, helperGetHashRecalc)
	r.Register(insn.FnCsumLevel, helperCsumLevel)
	r.Register(insn.FnGetCgroupClassid, helperGetCgroupClassid)
	r.Register(insn.FnSKBLoadBytesRelative, helperSKBLoadBytesRelative)
}

// The tc actions a sched_cls or sched_act program returns
// (include/uapi/linux/pkt_cls.h).
const (
	TCActUnspec     = -1
	TCActOK         = 0
	TCActReclassify = 1
	TCActShot       = 2
	TCActPipe       = 3
	TCActStolen     = 4
	TCActQueued     = 5
	TCActRepeat     = 6
	TCActRedirect   = 7
	TCActTrap       = 8
)

// The frame limits of BPF_PROG_TEST_RUN for tc (bpf_prog_test_run_skb and
// bpf_test_init, net/bpf/test_run.c, Linux 6.1 to 6.18 on x86-64): the
// frame is copied NET_SKB_PAD (64) bytes into one page whose last
// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) (320) bytes are the
// shared info, and an skb is built around it.
const (
	// TCMaxFrame is the longest frame RunTC takes, as the kernel's test
	// run does (longer ones get EINVAL).
	TCMaxFrame = 4096 - 64 - 320
	// TCMaxLen is BPF_SKB_MAX_LEN, SKB_MAX_ALLOC on x86-64 (16 KiB less
	// the shared info): the longest packet bpf_skb_change_tail,
	// bpf_skb_change_head and bpf_skb_adjust_room make.
	TCMaxLen = 4*4096 - 320
	// tcBufSize is the buffer a tc run's packet lives in, below 4 GiB;
	// the packet starts tcHeadroom bytes in and moves (as the kernel's
	// pskb_expand_head moves it) when a helper needs more room at either
	// end. bpf_skb_vlan_push, which has no length limit in the kernel,
	// gets -ENOMEM when the packet would not fit.
	tcBufSize  = 64 << 10
	tcHeadroom = 16 << 10
	// tcCleanTail is how many bytes after the frame a bind zeroes.
	tcCleanTail = 512
	// netSKBPad is NET_SKB_PAD, the headroom of a test run's skb.
	netSKBPad = 64
	// gsoLegacyMaxSize is GSO_LEGACY_MAX_SIZE, the largest wire_len the
	// test run takes; gsoMaxSegs is GSO_MAX_SEGS.
	gsoLegacyMaxSize = 65536
	gsoMaxSegs       = 65535
)

// TCMeta is the part of a tc program's __sk_buff context besides the
// packet, as BPF_PROG_TEST_RUN takes it in ctx_in and gives it back in
// ctx_out (convert___skb_to_skb and convert_skb_to___skb,
// net/bpf/test_run.c, Linux 6.1 to 6.18), plus tc fields the kernel's
// test run cannot set. Values are in host byte order.
//
// RunTC reads the fields marked "in" and, like ctx_out, writes back the
// fields the program may change (marked "out") as the run left them: the
// fields it stores to and what helpers changed.
type TCMeta struct {
	Mark     uint32 // in, out
	Priority uint32 // in, out
	// IngressIfindex is skb->skb_iif (in).
	IngressIfindex uint32
	// Ifindex is the device's index (in; 0 means 1, the loopback device
	// the kernel's test run uses). The device is taken to have an
	// all-zero MAC address and broadcast address, as lo has: that
	// decides pkt_type.
	Ifindex uint32
	// TCIndex, TCClassid and QueueMapping are 16-bit fields of the skb
	// (in, out); the kernel's test run sets them to 0.
	TCIndex      uint16
	TCClassid    uint16
	QueueMapping uint16
	CB           [5]uint32 // in, out
	Tstamp       uint64    // in, out
	// WireLen is qdisc_skb_cb's pkt_len (in; 0 means the frame's
	// length; otherwise at least that and at most 65536). A run with a
	// nil *TCMeta has wire_len 0, as a test run without ctx_in.
	WireLen  uint32
	GSOSegs  uint32 // in: at most 65535
	HWTstamp uint64 // in

	// Hash is skb->hash (in, out: bpf_set_hash and the helpers that clear
	// the hash change it); the kernel's test run sets it to 0.
	Hash uint32
	// Protocol (an ETH_P_* value), PktType and the VLAN tag are out only:
	// the run derives them from the frame as the test run does
	// (eth_type_trans) and the helpers change them.
	Protocol    uint16
	PktType     uint32
	VLANPresent bool
	VLANTCI     uint16
	VLANProto   uint16
}

// The checksum states of skb->ip_summed that a test run reaches.
const (
	checksumNone        = 0
	checksumUnnecessary = 1
	skbMaxCsumLevel     = 3
)

// tcState is a tc binding of an Env: the packet and the skb fields
// helpers change. The fields a program may write (mark, priority,
// tc_index, tc_classid, queue_mapping, cb, tstamp) live in the context's
// bytes once they are filled (and in meta before); the read-only fields
// helpers change live here and are copied into the context.
type tcState struct {
	b         *lowBuf // the packet buffer, tcBufSize bytes
	data, end int     // offsets into b.buf: the packet is [data, end)
	// clean is where the bytes after the packet stop being what the
	// kernel's buffer holds there: zeros from the test run's kzalloc, and
	// bytes a trim left. A helper that reads past the packet (the
	// memmove of bpf_skb_adjust_room when the packet is shorter than its
	// headers) sees them; past clean the bytes are zeroed first.
	clean int
	// khead is the headroom the kernel's skb has in front of data:
	// NET_SKB_PAD (64) at first. A push of more than that reallocates the
	// kernel's buffer (pskb_expand_head, growing the headroom by a
	// multiple of 64), after which the bytes past the packet are no
	// longer the old ones (here: zeros, see clean).
	khead int
	// The mac, network and transport headers as offsets into b.buf
	// (skb->mac_header and so on); transport is -1 while unset.
	mac, network, transport int
	encap                   bool // skb->encapsulation
	ipSummed, csumLevel     int
	protocol                uint16 // host order
	pktType                 uint32
	vlanPresent             bool
	vlanTCI, vlanProto      uint16
	hash                    uint32
	swHash                  bool
	meta                    *TCMeta
	in                      TCMeta // the input (meta, or zero)
	out                     *[]byte
	region                  int
	// The last valid values of the 16-bit writable fields, for stores
	// the kernel's context rewrite drops (queue_mapping >= 0xffff).
	qm uint16
	// quirkOff is the offset of the field whose bytes a narrow read
	// changed (see tcQuirk), 0 when none, and quirkSaved its bytes.
	quirkOff   int
	quirkSaved [4]byte
}

func (t *tcState) len() int { return t.end - t.data }

// push accounts for n bytes pushed in front of the packet in the
// kernel's headroom (skb_cow and skb_cow_head, then __skb_push).
func (t *tcState) push(n int) {
	if n > t.khead {
		t.khead += (n - t.khead + netSKBPad - 1) &^ (netSKBPad - 1)
		t.clean = t.end
	}
	t.khead -= n
}

// cleanTo zeroes the bytes from clean to off, if any.
func (t *tcState) cleanTo(off int) {
	if off > t.clean {
		clear(t.b.buf[t.clean:off])
		t.clean = off
	}
}

// checkTCFrame reports why RunTC cannot take frame and meta (the errors
// the kernel's test run gives as EINVAL), or nil.
func checkTCFrame(frame []byte, meta *TCMeta) error {
	if len(frame) < ethHLen {
		return fmt.Errorf("%w: a tc frame of %d bytes is shorter than an Ethernet header (the kernel's test run says EINVAL)", ErrContext, len(frame))
	}
	if len(frame) > TCMaxFrame {
		return fmt.Errorf("%w: a tc frame of %d bytes is longer than %d, the most the kernel's test run takes (EINVAL)", ErrContext, len(frame), TCMaxFrame)
	}
	switch p := binary.BigEndian.Uint16(frame[12:]); {
	case p == ethPIP && len(frame) < ethHLen+20, p == ethPIPv6 && len(frame) < ethHLen+40:
		return fmt.Errorf("%w: a %d-byte tc frame with ethertype %#04x is shorter than an Ethernet and an IP header (the kernel's test run says EINVAL)", ErrContext, len(frame), p)
	}
	if meta != nil {
		if meta.WireLen != 0 && (int(meta.WireLen) < len(frame) || meta.WireLen > gsoLegacyMaxSize) {
			return fmt.Errorf("%w: TCMeta.WireLen %d is shorter than the %d-byte frame or longer than %d (EINVAL)", ErrContext, meta.WireLen, len(frame), gsoLegacyMaxSize)
		}
		if meta.GSOSegs > gsoMaxSegs {
			return fmt.Errorf("%w: TCMeta.GSOSegs %d is more than %d (EINVAL)", ErrContext, meta.GSOSegs, gsoMaxSegs)
		}
	}
	return nil
}

// ethTypeTrans is the protocol eth_type_trans (net/ethernet/eth.c) gives
// frame: the ethertype when it is at least 0x0600, else 802.3 raw IPX
// (0x0001) when the two bytes after the header are 0xffff, else 802.2
// (0x0004).
func ethTypeTrans(frame []byte) uint16 {
	p := binary.BigEndian.Uint16(frame[12:])
	switch {
	case p >= 0x0600:
		return p
	case len(frame) >= ethHLen+2 && frame[14] == 0xff && frame[15] == 0xff:
		return 0x0001
	}
	return 0x0004
}

// pktTypeOf is eth_skb_pkt_type for the loopback device, whose address
// and broadcast address are all zero: PACKET_HOST (0) for that address,
// PACKET_MULTICAST (2) for a group address (ff:ff:ff:ff:ff:ff too),
// PACKET_OTHERHOST (3) for any other.
func pktTypeOf(dst []byte) uint32 {
	switch {
	case dst[0]|dst[1]|dst[2]|dst[3]|dst[4]|dst[5] == 0:
		return 0
	case dst[0]&1 == 0:
		return 3
	}
	return 2
}

// bindTC installs the __sk_buff context of a sched_cls or sched_act
// program on frame and meta, with the packet as a region, and returns the
// context's address (r1). The context's bytes are written on first access
// (fillContext). EndEnv copies the packet out to *out and the context's
// fields back to *meta (endTC).
func (e *Env) bindTC(frame []byte, meta *TCMeta, out *[]byte) (uint64, error) {
	if err := checkTCFrame(frame, meta); err != nil {
		return 0, err
	}
	b, err := e.takeBuf(&tcBufs, &e.keptTC)
	if err != nil {
		return 0, err
	}
	t := &e.tc
	*t = tcState{b: b, out: out, meta: meta, transport: -1}
	if meta != nil {
		t.in = *meta
	}
	if t.in.Ifindex == 0 {
		t.in.Ifindex = 1
	}
	if t.in.WireLen == 0 && meta != nil {
		// Without a ctx_in the test run leaves qdisc_skb_cb's pkt_len 0.
		t.in.WireLen = uint32(len(frame))
	}
	t.data = tcHeadroom
	t.end = t.data + len(frame)
	copy(b.buf[t.data:], frame)
	t.clean = t.end + tcCleanTail
	clear(b.buf[t.end:t.clean])
	t.khead = netSKBPad
	t.mac, t.network = t.data, t.data+ethHLen
	t.protocol = ethTypeTrans(frame)
	t.pktType = pktTypeOf(frame)
	t.hash = t.in.Hash
	t.qm = t.in.QueueMapping

	e.ctxKind = ctxTC
	c := &e.skb
	e.ctxAddr = addrOf(c[:])
	e.ctxRegion = len(e.regions)
	r := e.fixedRegion()
	r.Start, r.End, r.Perm = e.ctxAddr, e.ctxAddr+skbSize, PermRead|PermWrite
	if e.tcCheck == nil {
		e.tcCheck = e.checkTCAccess
	}
	r.data, r.check, r.pending = c[:], e.tcCheck, true
	t.region = len(e.regions)
	r = e.fixedRegion()
	r.Perm, r.data = PermRead|PermWrite, b.buf
	e.tcSync()
	return e.ctxAddr, nil
}

// tcFilled reports whether the context's bytes are written.
func (e *Env) tcFilled() bool { return e.ctxRegion < 0 }

// tcSync sets the packet region, what LD_ABS reads and the context's
// packet fields after a bind or a helper changed the packet.
func (e *Env) tcSync() {
	t := &e.tc
	r := &e.regions[t.region]
	r.Start, r.End = t.b.addr+uint64(t.data), t.b.addr+uint64(t.end)
	r.data = t.b.buf[t.data:t.end:t.end]
	e.fc.pkt = r.data
	e.packet = r.data
	e.dropHot()
	if e.tcFilled() {
		e.tcPutFields()
	}
}

// tcPutFields writes the fields of the context that the state holds.
func (e *Env) tcPutFields() {
	e.tcUnquirk()
	t, c := &e.tc, e.skb[:]
	data := uint32(t.b.addr) + uint32(t.data)
	ne.PutUint32(c[skbLen:], uint32(t.len()))
	ne.PutUint32(c[skbPktType:], t.pktType)
	ne.PutUint32(c[skbProtocol:], uint32(bswap16(t.protocol)))
	ne.PutUint32(c[skbVLANPresent:], b2u(t.vlanPresent))
	ne.PutUint32(c[skbVLANTCI:], uint32(t.vlanTCI))
	ne.PutUint32(c[skbVLANProto:], uint32(bswap16(t.vlanProto)))
	ne.PutUint32(c[skbHash:], t.hash)
	ne.PutUint32(c[skbData:], data)
	ne.PutUint32(c[skbDataEnd:], data+uint32(t.len()))
	ne.PutUint32(c[skbDataMeta:], data) // no metadata in front of an skb's data here
}

func bswap16(v uint16) uint16 { return v>>8 | v<<8 }

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// fillTC writes the __sk_buff bytes of a tc binding (fillContext).
func (e *Env) fillTC() {
	t, c := &e.tc, e.skb[:]
	m := &t.in
	clear(c)
	e.tcPutFields()
	ne.PutUint32(c[skbMark:], m.Mark)
	ne.PutUint32(c[skbQueueMapping:], uint32(m.QueueMapping))
	ne.PutUint32(c[skbPriority:], m.Priority)
	ne.PutUint32(c[skbIngressIfindex:], m.IngressIfindex)
	ne.PutUint32(c[skbIfindex:], m.Ifindex)
	ne.PutUint32(c[skbTCIndex:], uint32(m.TCIndex))
	for k, v := range m.CB {
		ne.PutUint32(c[skbCB+4*k:], v)
	}
	ne.PutUint32(c[skbTCClassid:], uint32(m.TCClassid))
	ne.PutUint64(c[skbTstamp:], m.Tstamp)
	ne.PutUint32(c[skbWireLen:], m.WireLen)
	ne.PutUint32(c[skbGSOSegs:], m.GSOSegs)
	ne.PutUint64(c[skbHwtstamp:], m.HWTstamp)
}

// tcNormalize applies what the kernel's rewrite of stores to the 16-bit
// fields does (bpf_convert_ctx_access, net/core/filter.c): tc_index and
// tc_classid keep the low 16 bits of a stored value; a store of 0xffff
// (NO_QUEUE_MAPPING) or more to queue_mapping is dropped. Called before
// every access to the context and when the run ends, so that a program
// never reads back what the kernel would not have kept.
func (e *Env) tcNormalize() {
	e.tcUnquirk()
	c := e.skb[:]
	ne.PutUint32(c[skbTCIndex:], ne.Uint32(c[skbTCIndex:])&0xffff)
	ne.PutUint32(c[skbTCClassid:], ne.Uint32(c[skbTCClassid:])&0xffff)
	if q := ne.Uint32(c[skbQueueMapping:]); q >= 0xffff {
		ne.PutUint32(c[skbQueueMapping:], uint32(e.tc.qm))
	} else {
		e.tc.qm = uint16(q)
	}
}

// skbAccessErr is the error of a refused access of n bytes at offset off
// of __sk_buff, naming the field.
func skbAccessErr(off uint64, n int, write bool, why string) error {
	kind := "load"
	if write {
		kind = "store"
	}
	return fmt.Errorf("%w: %s of %d bytes at __sk_buff offset %d (%s): %s", ErrContext, kind, n, off, skbField(off), why)
}

// tcNarrowQuirk reports the kernel's size of the field at __sk_buff offset
// field (a multiple of 4) when it is smaller than the __u32: 2 for the
// 16-bit skb fields, 1 for pkt_type (and, before Linux 6.2, for the
// vlan_present bit; since then it is vlan_all != 0); 0 for the others.
func (e *Env) tcNarrowQuirk(field int) int {
	switch field {
	case skbQueueMapping, skbProtocol, skbVLANTCI, skbVLANProto, skbTCIndex, skbTCClassid, skbGSOSegs, skbGSOSize:
		return 2
	case skbPktType:
		return 1
	case skbVLANPresent:
		if e.vm.opts.kernelBefore(6, 2) {
			return 1
		}
	}
	return 0
}

// tcQuirk mirrors the kernel's narrow context reads (convert_ctx_accesses,
// kernel/bpf/verifier.c, Linux 6.1 to 6.18): a read of n bytes at off is
// rewritten into a load of the whole skb field, shifted and masked only
// when n is smaller than the field's kernel size. So a read as wide as a
// 16-bit field (or a 1-byte read of pkt_type) at a higher offset of the
// __u32 gives the whole value rather than its upper bytes. The context's
// bytes at off are set to that value for this one read (the next access
// restores them, tcUnquirk).
func (e *Env) tcQuirk(off uint64, n int) {
	field := int(off) &^ 3
	k := e.tcNarrowQuirk(field)
	if k == 0 || n < k || int(off) == field || n > 2 {
		return
	}
	t, c := &e.tc, e.skb[:]
	t.quirkOff = field
	copy(t.quirkSaved[:], c[field:field+4])
	v := ne.Uint32(c[field:])
	if n == 1 {
		c[off] = byte(v)
	} else {
		ne.PutUint16(c[off:], uint16(v))
	}
}

// tcUnquirk restores the field bytes tcQuirk changed.
func (e *Env) tcUnquirk() {
	t := &e.tc
	if t.quirkOff != 0 {
		copy(e.skb[t.quirkOff:], t.quirkSaved[:])
		t.quirkOff = 0
	}
}

// checkTCAccess applies tc_cls_act_is_valid_access and
// bpf_skb_is_valid_access (net/core/filter.c, Linux 6.1 to 6.18) to an
// access of n bytes at offset off of the __sk_buff of a sched_cls or
// sched_act program: mark, priority, tc_index, tc_classid and
// queue_mapping are written as whole 4-byte fields, cb[0..4] with any
// size, tstamp as 8 bytes; family..local_port and flow_keys are not
// accessible; data, data_meta and data_end are read as whole 4-byte
// fields; tstamp, hwtstamp and sk are read as 8 bytes; tstamp_type as 1
// byte; the other fields allow narrow reads (1, 2 or 4 bytes) within one
// field; accesses are aligned to their size. The kernel's verifier
// refuses the others; here they end the run with an error naming the
// field.
func (e *Env) checkTCAccess(off uint64, n int, write bool) error {
	if e.ctxKind == ctxTC && e.tc.b != nil {
		e.tcNormalize()
	}
	narrow, err := tcAccessRule(off, n, write)
	if err != nil {
		return err
	}
	if narrow && e.ctxKind == ctxTC {
		e.tcQuirk(off, n)
	}
	return nil
}

// tcAccessRule is checkTCAccess's verdict on an access, without its
// effects on the context's bytes; narrow says that it is a narrow read
// of a field that may have the kernel's quirk (tcQuirk).
func tcAccessRule(off uint64, n int, write bool) (narrow bool, err error) {
	end := off + uint64(n)
	bad := func(why string) error { return skbAccessErr(off, n, write, why) }
	switch {
	case off%uint64(n) != 0:
		return false, bad("misaligned context access")
	case end > skbSize:
		return false, bad("past the end of __sk_buff")
	case off >= skbCB && end <= skbCB+20:
		return false, nil // cb[0..4]: read and write, any size
	case off >= skbFamily && off < skbLocalPortEnd, off >= skbFlowKeys && off < skbTstamp:
		return false, bad("not accessible from tc programs (the verifier rejects it)")
	case off == skbTstamp:
		if n != 8 {
			return false, bad("tstamp is accessed as a whole 8-byte value")
		}
		return false, nil
	case off > skbTstamp && off < skbWireLen:
		return false, bad("tstamp is accessed as a whole 8-byte value")
	case write:
		switch off {
		case skbMark, skbTCIndex, skbPriority, skbTCClassid, skbQueueMapping:
			if n != 4 {
				return false, bad("the field is written as a whole 4-byte value")
			}
			return false, nil
		}
		return false, bad("tc programs may write only mark, priority, tc_index, tc_classid, queue_mapping, cb[0..4] and tstamp")
	case off == skbData || off == skbDataEnd || off == skbDataMeta:
		if n != 4 {
			return false, bad("packet pointers are read as whole 4-byte values")
		}
		return false, nil
	case off > skbData && off < skbNapiID, off > skbDataMeta && off < skbFlowKeys:
		return false, bad("packet pointers are read as whole 4-byte values")
	case off == skbSK || off == skbHwtstamp:
		if n != 8 {
			return false, bad("the field is read as a whole 8-byte value")
		}
		return false, nil
	case off > skbSK && off < skbGSOSize, off > skbHwtstamp:
		return false, bad("the field is read as a whole 8-byte value")
	case off == skbTstampType:
		if n != 1 {
			return false, bad("tstamp_type is read as 1 byte")
		}
		return false, nil
	case off > skbTstampType && off < skbHwtstamp:
		return false, bad("padding of __sk_buff (the verifier rejects it)")
	case n > 4:
		return false, bad("the field is 4 bytes; only narrow reads of up to 4 bytes are allowed")
	}
	return n < 4, nil
}

// endTC copies the packet out, writes the context's fields back to the
// caller's TCMeta and gives the buffer back (EndEnv). A run that failed
// has its output dropped by the caller.
func (e *Env) endTC() {
	t := &e.tc
	if t.b == nil {
		return
	}
	if t.out != nil {
		if e.keepPkt { // a view, valid until the next bind (see KeepPackets)
			*t.out = t.packet()
		} else {
			*t.out = append([]byte(nil), t.b.buf[t.data:t.end]...)
		}
	}
	if m := t.meta; m != nil {
		if e.tcFilled() {
			e.tcNormalize()
			c := e.skb[:]
			m.Mark = ne.Uint32(c[skbMark:])
			m.Priority = ne.Uint32(c[skbPriority:])
			m.TCIndex = uint16(ne.Uint32(c[skbTCIndex:]))
			m.TCClassid = uint16(ne.Uint32(c[skbTCClassid:]))
			m.QueueMapping = uint16(ne.Uint32(c[skbQueueMapping:]))
			for k := range m.CB {
				m.CB[k] = ne.Uint32(c[skbCB+4*k:])
			}
			m.Tstamp = ne.Uint64(c[skbTstamp:])
		}
		m.Hash = t.hash
		m.Protocol, m.PktType = t.protocol, t.pktType
		m.VLANPresent, m.VLANTCI, m.VLANProto = t.vlanPresent, t.vlanTCI, t.vlanProto
		m.Ifindex, m.WireLen = t.in.Ifindex, t.in.WireLen
	}
	if t.b != e.keptTC {
		tcBufs.put(t.b)
	}
	*t = tcState{}
}

// tcEnv returns e's tc binding, or an error naming the helper when the
// program does not run on a tc context or r1 is not the context.
func (e *Env) tcEnv(helper string, ctx uint64) (*tcState, error) {
	if e.ctxKind != ctxTC || e.tc.b == nil {
		return nil, fmt.Errorf("%w: %s needs a tc (sched_cls or sched_act) context in userspace", ErrContext, helper)
	}
	if ctx != e.ctxAddr {
		return nil, fmt.Errorf("%w: %s: r1 0x%x is not the __sk_buff context", ErrContext, helper, ctx)
	}
	return &e.tc, nil
}

// tcRoom makes at least head bytes of room in the buffer in front of the
// packet and tail bytes after it, moving the packet (and the headers'
// offsets with it) back to tcHeadroom as pskb_expand_head would move it;
// false when the buffer cannot hold that much.
func (e *Env) tcRoom(head, tail int) bool {
	t := &e.tc
	if t.data >= head && len(t.b.buf)-t.end >= tail {
		return true
	}
	n := t.len()
	if tcHeadroom+n+tail > len(t.b.buf) || head > tcHeadroom {
		return false
	}
	delta := tcHeadroom - t.data
	lo := min(t.data, t.mac, t.network)
	if t.transport >= 0 {
		lo = min(lo, t.transport)
	}
	if lo+delta < 0 {
		return false
	}
	hi := min(t.clean, len(t.b.buf)-max(delta, 0))
	copy(t.b.buf[t.data+delta:], t.b.buf[t.data:hi])
	t.data += delta
	t.end += delta
	t.clean = hi + delta
	t.mac += delta
	t.network += delta
	if t.transport >= 0 {
		t.transport += delta
	}
	return true
}

// packet returns the packet of a tc binding.
func (t *tcState) packet() []byte { return t.b.buf[t.data:t.end:t.end] }

// helperSKBStoreBytes is bpf_skb_store_bytes (net/core/filter.c, Linux
// 6.x): len bytes from `from` to offset of the packet; flags other than
// BPF_F_RECOMPUTE_CSUM (1) and BPF_F_INVALIDATE_HASH (2) give -EINVAL, an
// offset past INT_MAX or a range past the packet -EFAULT. The checksum
// flag changes only skb->csum of a CHECKSUM_COMPLETE skb, which the
// test run does not make; the hash flag clears skb->hash.
func helperSKBStoreBytes(e *Env, r1, r2, r3, r4, r5 uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_skb_store_bytes", r1)
	if err != nil {
		return 0, err
	}
	from, err := e.Bytes(r3, int(uint32(r4)), false)
	if err != nil {
		return 0, err
	}
	if r5&^3 != 0 {
		return Errno(syscall.EINVAL), nil
	}
	off := uint64(uint32(r2))
	if off > 0x7fffffff || off+uint64(len(from)) > uint64(t.len()) {
		return Errno(syscall.EFAULT), nil
	}
	copy(t.packet()[off:], from)
	if r5&2 != 0 {
		e.tcClearHash()
	}
	return 0, nil
}

func (e *Env) tcClearHash() {
	t := &e.tc
	t.hash, t.swHash = 0, false
	if e.tcFilled() {
		ne.PutUint32(e.skb[skbHash:], 0)
	}
}

// csumField returns the 2-byte checksum field at offset of the packet for
// bpf_l3_csum_replace and bpf_l4_csum_replace, or the errno they give:
// -EFAULT for an offset past 0xffff, odd, or past the packet.
func (t *tcState) csumField(off uint64) ([]byte, uint64) {
	off = uint64(uint32(off))
	if off > 0xffff || off&1 != 0 || off+2 > uint64(t.len()) {
		return nil, Errno(syscall.EFAULT)
	}
	return t.packet()[off : off+2], 0
}

// helperL3CsumReplace is bpf_l3_csum_replace: flags (BPF_F_HDR_FIELD_MASK,
// the low 4 bits) say the size of from and to, 2 or 4 bytes, or 0 for a
// precomputed diff in to (from must be 0); anything else is -EINVAL.
func helperL3CsumReplace(e *Env, r1, r2, r3, r4, r5 uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_l3_csum_replace", r1)
	if err != nil {
		return 0, err
	}
	if r5&^0xf != 0 {
		return Errno(syscall.EINVAL), nil
	}
	p, errno := t.csumField(r2)
	if p == nil {
		return errno, nil
	}
	sum := ne.Uint16(p)
	switch r5 & 0xf {
	case 0:
		if r3 != 0 {
			return Errno(syscall.EINVAL), nil
		}
		sum = csumReplaceByDiff(sum, uint32(r4))
	case 2:
		sum = csumReplace2(sum, uint16(r3), uint16(r4))
	case 4:
		sum = csumReplace4(sum, uint32(r3), uint32(r4))
	default:
		return Errno(syscall.EINVAL), nil
	}
	ne.PutUint16(p, sum)
	return 0, nil
}

// The flags of bpf_l4_csum_replace (include/uapi/linux/bpf.h).
const (
	csumFieldMask   = 0xf
	csumPseudoHdr   = 1 << 4
	csumMarkMangled = 1 << 5
	csumMarkEnforce = 1 << 6
	csumIPv6        = 1 << 7 // BPF_F_IPV6, Linux 6.16+
)

// helperL4CsumReplace is bpf_l4_csum_replace: as l3_csum_replace, with
// BPF_F_PSEUDO_HDR (which changes only skb->csum of CHECKSUM_COMPLETE
// and CHECKSUM_PARTIAL skbs; the test run's is CHECKSUM_NONE),
// BPF_F_MARK_MANGLED_0 (a zero checksum stays zero, and a result of zero
// becomes CSUM_MANGLED_0, 0xffff, as UDP needs) and BPF_F_MARK_ENFORCE
// (update a zero checksum too). BPF_F_IPV6, which changes only skb->csum,
// is accepted as Linux 6.16 and the stable kernels it was backported to
// (6.1.14x, 6.12.3x) do; older kernels refuse it (-EINVAL).
func helperL4CsumReplace(e *Env, r1, r2, r3, r4, r5 uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_l4_csum_replace", r1)
	if err != nil {
		return 0, err
	}
	if r5&^uint64(csumFieldMask|csumPseudoHdr|csumMarkMangled|csumMarkEnforce|csumIPv6) != 0 {
		return Errno(syscall.EINVAL), nil
	}
	p, errno := t.csumField(r2)
	if p == nil {
		return errno, nil
	}
	sum := ne.Uint16(p)
	mmzero := r5&csumMarkMangled != 0
	if mmzero && r5&csumMarkEnforce == 0 && sum == 0 {
		return 0, nil
	}
	switch r5 & csumFieldMask {
	case 0:
		if r3 != 0 {
			return Errno(syscall.EINVAL), nil
		}
		sum = csumReplaceByDiff(sum, uint32(r4))
	case 2:
		// inet_proto_csum_replace2 is inet_proto_csum_replace4 of the
		// zero-extended values.
		sum = csumReplace4(sum, uint32(uint16(r3)), uint32(uint16(r4)))
	case 4:
		sum = csumReplace4(sum, uint32(r3), uint32(r4))
	default:
		return Errno(syscall.EINVAL), nil
	}
	if mmzero && sum == 0 {
		sum = 0xffff
	}
	ne.PutUint16(p, sum)
	return 0, nil
}

// One's complement arithmetic as include/net/checksum.h has it, on values
// as they are in memory (read in host byte order).
func csumAdd(a, b uint32) uint32 {
	s := a + b
	if s < b {
		s++
	}
	return s
}

func csumSub(a, b uint32) uint32 { return csumAdd(a, ^b) }

func csumFold(c uint32) uint16 {
	c += c>>16 | c<<16
	return ^uint16(c >> 16)
}

func csum16Add(c, a uint16) uint16 {
	r := c + a
	if r < a {
		r++
	}
	return r
}

func csumReplace2(sum, old, new uint16) uint16 {
	return ^csum16Add(csum16Add(^sum, ^old), new)
}

func csumReplace4(sum uint16, from, to uint32) uint16 {
	tmp := csumSub(^uint32(sum), from)
	return csumFold(csumAdd(tmp, to))
}

func csumReplaceByDiff(sum uint16, diff uint32) uint16 {
	return csumFold(csumAdd(diff, ^uint32(sum)))
}

// csumPartial is x86-64's csum_partial (arch/x86/lib/csum-partial_64.c,
// Linux 5.17+): the one's complement sum of b as little-endian 64-bit
// words (the last one zero-padded), started from sum, folded to 32 bits.
func csumPartial(b []byte, sum uint32) uint32 {
	acc := uint64(sum)
	add := func(w uint64) {
		s := acc + w
		if s < w {
			s++
		}
		acc = s
	}
	for len(b) >= 8 {
		add(ne.Uint64(b))
		b = b[8:]
	}
	if len(b) > 0 {
		var tail [8]byte
		copy(tail[:], b)
		add(ne.Uint64(tail[:]))
	}
	return uint32((acc + (acc>>32 | acc<<32)) >> 32)
}

// csumFrom32to16 folds a 32-bit sum to 16 bits without complementing it
// (include/net/checksum.h).
func csumFrom32to16(s uint32) uint32 {
	s += s>>16 | s<<16
	return s >> 16
}

// helperCsumDiff is bpf_csum_diff (net/core/filter.c): the checksum
// difference of replacing from (from_size bytes) with to, added to seed.
// Linux 6.13+ computes it with csum_sub and folds it to 16 bits; older
// kernels refuse sizes that are not multiples of 4 or
// more than 512 bytes in all (-EINVAL) and return csum_partial's 32-bit
// sum of ~from and to (see Options.KernelVersion).
func helperCsumDiff(e *Env, r1, r2, r3, r4, r5 uint64) (uint64, error) {
	fromSize, toSize := uint32(r2), uint32(r4)
	legacy := e.vm.opts.kernelBefore(6, 13)
	if legacy && ((fromSize|toSize)&3 != 0 || uint64(fromSize)+uint64(toSize) > StackSize) {
		return Errno(syscall.EINVAL), nil
	}
	from, err := e.Bytes(r1, int(fromSize), false)
	if err != nil {
		return 0, err
	}
	to, err := e.Bytes(r3, int(toSize), false)
	if err != nil {
		return 0, err
	}
	seed := uint32(r5)
	if legacy {
		buf := make([]byte, 0, len(from)+len(to))
		for _, c := range from {
			buf = append(buf, ^c)
		}
		buf = append(buf, to...)
		return uint64(csumPartial(buf, seed)), nil
	}
	ret := seed
	switch {
	case len(from) > 0 && len(to) > 0:
		ret = csumSub(csumPartial(to, ret), csumPartial(from, 0))
	case len(to) > 0:
		ret = csumPartial(to, ret)
	case len(from) > 0:
		ret = ^csumPartial(from, ^ret)
	}
	return uint64(csumFrom32to16(ret)), nil
}

// tcMinLen is __bpf_skb_min_len: the offset of the network header (and of
// the transport header once set), which bpf_skb_change_tail may not cut.
func (t *tcState) minLen() int {
	m := 0
	if o := t.network - t.data; o > 0 {
		m = o
	}
	if t.transport >= 0 {
		if o := t.transport - t.data; o > 0 {
			m = o
		}
	}
	return m
}

// helperSKBChangeTail is bpf_skb_change_tail: the packet becomes new_len
// bytes, grown bytes zeroed; flags, a length past TCMaxLen or shorter
// than the headers give -EINVAL, an encapsulated skb -ENOTSUPP.
func helperSKBChangeTail(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_skb_change_tail", r1)
	if err != nil {
		return 0, err
	}
	n := int(uint32(r2))
	if r3 != 0 || n > TCMaxLen || n < t.minLen() {
		return Errno(syscall.EINVAL), nil
	}
	if t.encap {
		return Errno(maxENOTSUPP), nil
	}
	if grow := n - t.len(); grow > 0 {
		if !e.tcRoom(0, grow) {
			return Errno(syscall.ENOMEM), nil
		}
		clear(t.b.buf[t.end : t.end+grow])
		t.cleanTo(t.end + grow)
	}
	t.end = t.data + n
	e.tcSync()
	return 0, nil
}

// maxENOTSUPP is ENOTSUPP (524), the kernel-internal errno some helpers
// return.
const maxENOTSUPP = syscall.Errno(524)

// helperSKBChangeHead is bpf_skb_change_head: head_room zeroed bytes in
// front of the packet, which become its mac header; flags, a head_room
// with the sign bit set or a length past TCMaxLen give -EINVAL.
func helperSKBChangeHead(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_skb_change_head", r1)
	if err != nil {
		return 0, err
	}
	room := uint32(r2)
	if r3 != 0 || int32(room) < 0 || uint64(t.len())+uint64(room) > TCMaxLen {
		return Errno(syscall.EINVAL), nil
	}
	if !e.tcRoom(int(room), 0) {
		return Errno(syscall.ENOMEM), nil
	}
	t.push(int(room))
	t.data -= int(room)
	clear(t.b.buf[t.data : t.data+int(room)])
	t.mac = t.data
	e.tcSync()
	return 0, nil
}

// helperSKBPullData is bpf_skb_pull_data: the packet is linear here, so
// it only checks that len bytes (0: the whole head) are there: -ENOMEM
// past the packet, as skb_ensure_writable's pskb_may_pull says.
func helperSKBPullData(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_skb_pull_data", r1)
	if err != nil {
		return 0, err
	}
	if n := uint32(r2); n > 0x7fffffff || int(n) > t.len() {
		return Errno(syscall.ENOMEM), nil
	}
	return 0, nil
}

// The modes and flags of bpf_skb_adjust_room (include/uapi/linux/bpf.h).
const (
	adjRoomNet             = 0
	adjRoomMac             = 1
	adjFixedGSO            = 1 << 0
	adjEncapL3IPv4         = 1 << 1
	adjEncapL3IPv6         = 1 << 2
	adjEncapL4GRE          = 1 << 3
	adjEncapL4UDP          = 1 << 4
	adjNoCsumReset         = 1 << 5
	adjEncapL2Eth          = 1 << 6
	adjDecapL3IPv4         = 1 << 7
	adjDecapL3IPv6         = 1 << 8
	adjEncapL2Shift        = 56
	adjEncapL3Mask         = adjEncapL3IPv4 | adjEncapL3IPv6
	adjDecapL3Mask         = adjDecapL3IPv4 | adjDecapL3IPv6
	adjRoomMask            = adjFixedGSO | adjEncapL3Mask | adjEncapL4GRE | adjEncapL4UDP | adjEncapL2Eth | 0xff<<adjEncapL2Shift | adjDecapL3Mask
	ethPIP          uint16 = 0x0800
	ethPIPv6        uint16 = 0x86dd
)

// netBaseLen is bpf_skb_net_base_len: the size of the skb's IP header.
func (t *tcState) netBaseLen() uint32 {
	switch t.protocol {
	case ethPIP:
		return 20
	case ethPIPv6:
		return 40
	}
	return ^uint32(0)
}

// helperSKBAdjustRoom is bpf_skb_adjust_room (net/core/filter.c, Linux
// 6.x) for the linear, non-GSO skbs of a test run: len_diff zeroed bytes
// are inserted (or removed) after the mac header (BPF_ADJ_ROOM_MAC) or
// after the IP header (BPF_ADJ_ROOM_NET). Only IPv4 and IPv6 skbs can be
// adjusted (-ENOTSUPP); the encap flags check their combinations and
// mark the skb encapsulated (a second encap is -EALREADY), change
// skb->protocol for an IPv4-in-IPv6 or IPv6-in-IPv4 encap or decap and
// set the transport header for GRE and UDP encaps.
func helperSKBAdjustRoom(e *Env, r1, r2, r3, r4, _ uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_skb_adjust_room", r1)
	if err != nil {
		return 0, err
	}
	diff := int32(r2)
	mode, flags := uint32(r3), r4
	abs := uint32(diff)
	if diff < 0 {
		abs = uint32(-int64(diff))
	}
	shrink := diff < 0
	lenMin := t.netBaseLen()
	known := uint64(adjRoomMask | adjNoCsumReset)
	if e.vm.opts.kernelBefore(6, 3) {
		known &^= adjDecapL3Mask // the decap flags came in Linux 6.3
	}
	if flags&^known != 0 {
		return Errno(syscall.EINVAL), nil
	}
	if abs > 0xfff {
		return Errno(syscall.EFAULT), nil
	}
	if t.protocol != ethPIP && t.protocol != ethPIPv6 {
		return Errno(maxENOTSUPP), nil
	}
	off := t.network - t.mac // skb_mac_header_len
	switch mode {
	case adjRoomNet:
		off += int(t.netBaseLen())
	case adjRoomMac:
	default:
		return Errno(maxENOTSUPP), nil
	}
	if flags&adjDecapL3Mask != 0 {
		if !shrink {
			return Errno(syscall.EINVAL), nil
		}
		switch flags & adjDecapL3Mask {
		case adjDecapL3IPv4:
			lenMin = 20
		case adjDecapL3IPv6:
			lenMin = 40
		default:
			return Errno(syscall.EINVAL), nil
		}
	}
	lenCur := uint32(t.end - t.network)
	if shrink && (abs >= lenCur || lenCur-abs < lenMin) || !shrink && uint64(t.len())+uint64(abs) > TCMaxLen {
		return Errno(maxENOTSUPP), nil
	}
	var ret uint64
	if shrink {
		ret = e.tcNetShrink(off, int(abs), flags)
	} else {
		ret = e.tcNetGrow(off, int(abs), flags)
	}
	if ret == 0 && flags&adjNoCsumReset == 0 {
		t.resetCsumUnnecessary()
	}
	e.tcSync()
	return ret, nil
}

func (t *tcState) resetCsumUnnecessary() {
	if t.ipSummed == checksumUnnecessary {
		t.ipSummed, t.csumLevel = checksumNone, 0
	}
}

// tcNetGrow is bpf_skb_net_grow of a non-GSO skb.
func (e *Env) tcNetGrow(off, n int, flags uint64) uint64 {
	t := &e.tc
	innerMacLen := int(flags >> adjEncapL2Shift)
	encap := flags&adjEncapL3Mask != 0
	var macLen int
	if !e.tcRoom(n, 0) {
		return Errno(syscall.ENOMEM)
	}
	if encap {
		switch {
		case flags&adjEncapL3IPv4 != 0 && flags&adjEncapL3IPv6 != 0,
			flags&adjEncapL4GRE != 0 && flags&adjEncapL4UDP != 0,
			flags&adjEncapL2Eth != 0 && innerMacLen < ethHLen:
			return Errno(syscall.EINVAL)
		case t.encap:
			return Errno(syscall.EALREADY)
		}
		macLen = t.network - t.mac
		if innerMacLen > n {
			return Errno(syscall.EINVAL)
		}
	}
	// bpf_skb_net_hdr_push: the first off bytes move to the front, even
	// past the packet's end (see tcState.clean).
	sameTrans := t.transport == t.network
	b := t.b.buf
	if off < 0 || t.data+off > len(b) {
		return Errno(syscall.ENOMEM) // the headers are never so far apart; see tcState.mac
	}
	t.push(n)
	t.cleanTo(t.data + off)
	copy(b[t.data-n:], b[t.data:t.data+off])
	t.data -= n
	clear(b[t.data+off : t.data+off+n])
	t.mac -= n
	t.network -= n
	if sameTrans {
		t.transport = t.network
	}
	if encap {
		t.encap = true
		t.network = t.data + macLen
		if flags&(adjEncapL4GRE|adjEncapL4UDP) != 0 {
			nh := 20
			if flags&adjEncapL3IPv6 != 0 {
				nh = 40
			}
			t.transport = t.data + macLen + nh
		}
		switch {
		case t.protocol == ethPIP && flags&adjEncapL3IPv6 != 0:
			t.protocol = ethPIPv6
		case t.protocol == ethPIPv6 && flags&adjEncapL3IPv4 != 0:
			t.protocol = ethPIP
		}
	}
	return 0
}

// tcNetShrink is bpf_skb_net_shrink of a non-GSO skb.
func (e *Env) tcNetShrink(off, n int, flags uint64) uint64 {
	t := &e.tc
	if flags&^uint64(adjFixedGSO|adjDecapL3Mask|adjNoCsumReset) != 0 {
		return Errno(syscall.EINVAL)
	}
	// bpf_skb_generic_pop: pskb_may_pull(off + len).
	if off < 0 || off+n > t.len() {
		return Errno(syscall.ENOMEM)
	}
	sameTrans := t.transport == t.network
	b := t.b.buf
	copy(b[t.data+n:], b[t.data:t.data+off])
	t.data += n
	t.khead += n
	t.mac += n
	t.network += n
	if sameTrans {
		t.transport = t.network
	}
	switch {
	case t.protocol == ethPIP && flags&adjDecapL3IPv6 != 0:
		t.protocol = ethPIPv6
	case t.protocol == ethPIPv6 && flags&adjDecapL3IPv4 != 0:
		t.protocol = ethPIP
	}
	return 0
}

// helperSKBChangeProto is bpf_skb_change_proto: IPv4 to IPv6 inserts 20
// zeroed bytes after the mac header, IPv6 to IPv4 removes 20; other
// changes are -ENOTSUPP, flags -EINVAL. The hash is cleared.
func helperSKBChangeProto(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_skb_change_proto", r1)
	if err != nil {
		return 0, err
	}
	if r3 != 0 {
		return Errno(syscall.EINVAL), nil
	}
	to := bswap16(uint16(r2))
	off := t.network - t.mac
	switch {
	case t.protocol == ethPIP && to == ethPIPv6:
		if ret := e.tcNetGrow(off, 20, 0); ret != 0 {
			e.tcSync()
			return ret, nil
		}
	case t.protocol == ethPIPv6 && to == ethPIP:
		if ret := e.tcNetShrink(off, 20, 0); ret != 0 {
			e.tcSync()
			return ret, nil
		}
	default:
		return Errno(maxENOTSUPP), nil
	}
	t.protocol = to
	e.tcClearHash()
	e.tcSync()
	return 0, nil
}

// helperSKBChangeType is bpf_skb_change_type: pkt_type becomes a value up
// to PACKET_OTHERHOST (3); others give -EINVAL.
func helperSKBChangeType(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_skb_change_type", r1)
	if err != nil {
		return 0, err
	}
	if t.pktType > 3 || uint32(r2) > 3 {
		return Errno(syscall.EINVAL), nil
	}
	t.pktType = uint32(r2)
	e.tcSync()
	return 0, nil
}

func isVLANProto(p uint16) bool { return p == 0x8100 || p == 0x88a8 }

// helperSKBVLANPush is bpf_skb_vlan_push (skb_vlan_push,
// net/core/skbuff.c): the tag becomes the skb's offloaded tag
// (vlan_present, vlan_tci, vlan_proto; a vlan_proto other than 802.1Q or
// 802.1ad means 802.1Q); a tag already offloaded is first written into
// the packet after the MAC addresses, and skb->protocol becomes its
// vlan_proto.
func helperSKBVLANPush(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_skb_vlan_push", r1)
	if err != nil {
		return 0, err
	}
	proto := bswap16(uint16(r2))
	if !isVLANProto(proto) {
		proto = 0x8100
	}
	if t.vlanPresent {
		if t.data != t.mac {
			return Errno(syscall.EINVAL), nil
		}
		if !e.tcRoom(4, 0) {
			return Errno(syscall.ENOMEM), nil
		}
		b := t.b.buf
		t.push(4)
		copy(b[t.data-4:], b[t.data:t.data+12])
		t.data -= 4
		binary.BigEndian.PutUint16(b[t.data+12:], t.vlanProto)
		binary.BigEndian.PutUint16(b[t.data+14:], t.vlanTCI)
		t.mac -= 4
		t.protocol = t.vlanProto
		if !e.vm.opts.kernelBefore(6, 12) {
			// skb_vlan_push moves the network header with the tag on
			// 6.12 and 6.18 (it stays 14 bytes in); 6.1 leaves it
			// where it was, after the inserted tag.
			t.network -= 4
		}
	}
	t.vlanPresent, t.vlanProto, t.vlanTCI = true, proto, uint16(r3)
	e.tcSync()
	return 0, nil
}

// helperSKBVLANPop is bpf_skb_vlan_pop (skb_vlan_pop): an offloaded tag
// is dropped; otherwise a tag in the packet (skb->protocol 802.1Q or
// 802.1ad) is removed. Then a further tag in the packet becomes the
// offloaded tag. A packet too short for a VLAN header gives -ENOMEM.
func helperSKBVLANPop(e *Env, r1, _, _, _, _ uint64) (uint64, error) {
	if _, err := e.tcEnv("bpf_skb_vlan_pop", r1); err != nil {
		return 0, err
	}
	ret := e.tcVLANPop()
	e.tcSync()
	return ret, nil
}

func (e *Env) tcVLANPop() uint64 {
	t := &e.tc
	if t.vlanPresent {
		// __vlan_hwaccel_clear_tag: skb->vlan_all = 0 since Linux 6.2;
		// before, only the vlan_present bit was cleared.
		t.vlanPresent = false
		if !e.vm.opts.kernelBefore(6, 2) {
			t.vlanTCI, t.vlanProto = 0, 0
		}
	} else {
		if !isVLANProto(t.protocol) {
			return 0
		}
		if _, ret := e.tcVLANPopHdr(); ret != 0 {
			return ret
		}
	}
	if !isVLANProto(t.protocol) {
		return 0
	}
	proto := t.protocol
	tci, ret := e.tcVLANPopHdr()
	if ret != 0 {
		return ret
	}
	t.vlanPresent, t.vlanProto, t.vlanTCI = true, proto, tci
	return 0
}

// tcVLANPopHdr is __skb_vlan_pop: removes the 4-byte tag after the MAC
// addresses and sets skb->protocol from the encapsulated protocol
// (vlan_set_encap_proto).
func (e *Env) tcVLANPopHdr() (uint16, uint64) {
	t := &e.tc
	if t.data != t.mac {
		return 0, Errno(syscall.EINVAL)
	}
	if t.len() < ethHLen+4 {
		return 0, Errno(syscall.ENOMEM)
	}
	b := t.b.buf
	tci := binary.BigEndian.Uint16(b[t.data+14:])
	encap := binary.BigEndian.Uint16(b[t.data+16:])
	// vlan_set_encap_proto reads the two bytes after the tag even when
	// the packet ends there; the kernel's test-run buffer is zeroed past
	// the packet.
	var raw uint16
	if t.len() >= ethHLen+6 {
		raw = binary.BigEndian.Uint16(b[t.data+18:])
	}
	copy(b[t.data+4:], b[t.data:t.data+12])
	t.data += 4
	t.khead += 4
	switch {
	case encap >= 0x0600:
		t.protocol = encap
	case raw == 0xffff:
		t.protocol = 0x0001
	default:
		t.protocol = 0x0004
	}
	t.mac += 4
	if t.network-t.data < ethHLen {
		t.network = t.data + ethHLen
	}
	return tci, 0
}

// helperRedirectTC is bpf_redirect for tc programs: TC_ACT_REDIRECT, or
// TC_ACT_SHOT for flags other than BPF_F_INGRESS (1). The target is not
// recorded: a userspace run has no devices.
func helperRedirectTC(e *Env, r1, r2 uint64) (uint64, error) {
	if r2&^1 != 0 {
		return TCActShot, nil
	}
	return TCActRedirect, nil
}

// helperSetHash is bpf_set_hash: skb->hash becomes hash (a software L4
// hash).
func helperSetHash(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_set_hash", r1)
	if err != nil {
		return 0, err
	}
	t.hash, t.swHash = uint32(r2), true
	e.tcSync()
	return 0, nil
}

// helperSetHashInvalid is bpf_set_hash_invalid: skb->hash becomes 0.
func helperSetHashInvalid(e *Env, r1, _, _, _, _ uint64) (uint64, error) {
	if _, err := e.tcEnv("bpf_set_hash_invalid", r1); err != nil {
		return 0, err
	}
	e.tcClearHash()
	return 0, nil
}

// helperGetHashRecalc is bpf_get_hash_recalc for a hash the program set
// (bpf_set_hash): the kernel computes any other with the flow dissector
// and a per-boot random seed, which a userspace run cannot reproduce, so
// that case is an error.
func helperGetHashRecalc(e *Env, r1, _, _, _, _ uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_get_hash_recalc", r1)
	if err != nil {
		return 0, err
	}
	if !t.swHash {
		return 0, fmt.Errorf("%w: bpf_get_hash_recalc: the kernel computes the flow hash with a per-boot random seed, which userspace cannot reproduce (set one with bpf_set_hash first)", ErrHelper)
	}
	return uint64(t.hash), nil
}

// helperCsumLevel is bpf_csum_level on the CHECKSUM_NONE skb of a test
// run: BPF_CSUM_LEVEL_INC (1) makes it CHECKSUM_UNNECESSARY at level 0
// or raises the level (up to 3), BPF_CSUM_LEVEL_DEC (2) lowers it back,
// BPF_CSUM_LEVEL_RESET (3) makes it CHECKSUM_NONE, BPF_CSUM_LEVEL_QUERY
// (0) returns the level, or -EACCES unless CHECKSUM_UNNECESSARY.
func helperCsumLevel(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_csum_level", r1)
	if err != nil {
		return 0, err
	}
	switch r2 {
	case 1:
		if t.ipSummed == checksumUnnecessary {
			if t.csumLevel < skbMaxCsumLevel {
				t.csumLevel++
			}
		} else {
			t.ipSummed, t.csumLevel = checksumUnnecessary, 0
		}
	case 2:
		if t.ipSummed == checksumUnnecessary {
			if t.csumLevel == 0 {
				t.ipSummed = checksumNone
			} else {
				t.csumLevel--
			}
		}
	case 3:
		t.resetCsumUnnecessary()
	case 0:
		if t.ipSummed == checksumUnnecessary {
			return uint64(t.csumLevel), nil
		}
		return Errno(syscall.EACCES), nil
	default:
		return Errno(syscall.EINVAL), nil
	}
	return 0, nil
}

// helperGetCgroupClassid is bpf_get_cgroup_classid: the net_cls classid
// of the skb's socket or task; a test run's dummy socket and a userspace
// run have none (0).
func helperGetCgroupClassid(e *Env, r1, _, _, _, _ uint64) (uint64, error) {
	if _, err := e.tcEnv("bpf_get_cgroup_classid", r1); err != nil {
		return 0, err
	}
	return 0, nil
}

// kernelBefore reports whether Options.KernelVersion names a kernel older
// than major.minor (0 means the newest this package follows, 6.18).
func (o *Options) kernelBefore(major, minor uint32) bool {
	return o.KernelVersion != 0 && o.KernelVersion < major<<16|minor<<8
}

// RunTC runs a sched_cls or sched_act program on frame, as
// BPF_PROG_TEST_RUN does (bpf_prog_test_run_skb, net/bpf/test_run.c,
// Linux 6.1 to 6.18): r1 points at an __sk_buff context whose data and
// data_end hold 32-bit pointers to a copy of frame, below 4 GiB; every
// access through them is checked against the packet [data, data_end).
// skb->protocol and pkt_type come from the Ethernet header as
// eth_type_trans gives them; the other fields from meta (nil: zero, as a
// test run without ctx_in). It returns the verdict (the u32 of r0, a
// TC_ACT_* value), the packet as the program left it and, in *meta, the
// context fields as ctx_out gives them (see TCMeta). frame must hold
// 14 to TCMaxFrame bytes. A run that fails has no output (nil) and leaves
// *meta as it was.
func (vm *VM) RunTC(frame []byte, meta *TCMeta) (uint32, []byte, error) {
	if err := vm.wantCtx(ctxTC); err != nil {
		return 0, nil, err
	}
	e := vm.AcquireEnv()
	ret, out, err := vm.runTC(e, frame, meta)
	vm.ReleaseEnv(e)
	return ret, out, err
}

// runTC is one tc run in e, which StartEnv prepared; it leaves e bound
// for the caller to end, and restores *meta when the run fails.
func (vm *VM) runTC(e *Env, frame []byte, meta *TCMeta) (uint32, []byte, error) {
	var saved TCMeta
	if meta != nil {
		saved = *meta
	}
	r1, err := e.bindTC(frame, meta, &e.out)
	if err != nil {
		return 0, nil, err
	}
	ret, err := vm.exec(e, r1, 0)
	e.endTC()
	out := e.out
	e.out = nil
	if err != nil {
		if meta != nil {
			*meta = saved
		}
		return uint32(ret), nil, err
	}
	return uint32(ret), out, nil
}

// helperSKBLoadBytesRelative is bpf_skb_load_bytes_relative
// (net/core/filter.c, Linux 4.18+): len bytes from offset past the mac
// header (BPF_HDR_START_MAC, 0) or the network header
// (BPF_HDR_START_NET, 1); an offset past 0xffff, another start or a range
// past the packet's end zeroes the destination and gives -EFAULT.
func helperSKBLoadBytesRelative(e *Env, r1, r2, r3, r4, r5 uint64) (uint64, error) {
	t, err := e.tcEnv("bpf_skb_load_bytes_relative", r1)
	if err != nil {
		return 0, err
	}
	to, err := e.Bytes(r3, int(uint32(r4)), true)
	if err != nil {
		return 0, err
	}
	off := uint64(uint32(r2))
	var start int
	switch uint32(r5) {
	case 0:
		start = t.mac
	case 1:
		start = t.network
	default:
		off = 1 << 16
	}
	// The kernel checks only the end; the headers never lie before data.
	p := uint64(start-t.data) + off
	if off > 0xffff || start < t.data || p+uint64(len(to)) > uint64(t.len()) {
		clear(to)
		return Errno(syscall.EFAULT), nil
	}
	copy(to, t.packet()[p:])
	return 0, nil
}
