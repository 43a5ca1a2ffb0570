package bpftest

import (
	"encoding/binary"
	"fmt"

	"github.com/purebpf/purebpf/interp"
)

// CtxOut is the part of m that the kernel's tc test run gives back in
// ctx_out (convert_skb_to___skb, net/bpf/test_run.c, Linux 6.1 to 6.18):
// mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len,
// gso_segs and hwtstamp. The other fields a tc program writes (tc_index,
// tc_classid, queue_mapping) and those helpers change (hash, protocol,
// the VLAN tag) are not in it, so a Harness compares them between interp
// and jit only.
func CtxOut(m interp.TCMeta) interp.TCMeta {
	return interp.TCMeta{Mark: m.Mark, Priority: m.Priority, IngressIfindex: m.IngressIfindex, Ifindex: m.Ifindex, CB: m.CB,
		Tstamp: m.Tstamp, WireLen: m.WireLen, GSOSegs: m.GSOSegs, HWTstamp: m.HWTstamp}
}

// The offsets in struct __sk_buff (include/uapi/linux/bpf.h) of the
// fields a tc test run's ctx_in and ctx_out carry.
const (
	skbMark           = 8
	skbPriority       = 32
	skbIngressIfindex = 36
	skbIfindex        = 40
	skbCB             = 48
	skbTstamp         = 152
	skbWireLen        = 160
	skbGSOSegs        = 164
	skbHWTstamp       = 184
	skbSize           = 192
)

// tcCtxIn is the __sk_buff ctx_in the kernel's tc test run takes for m
// (convert___skb_to_skb: the fields CtxOut lists, every other byte 0).
func tcCtxIn(m *interp.TCMeta) []byte {
	c := make([]byte, skbSize)
	ne := binary.NativeEndian
	ne.PutUint32(c[skbMark:], m.Mark)
	ne.PutUint32(c[skbPriority:], m.Priority)
	ne.PutUint32(c[skbIngressIfindex:], m.IngressIfindex)
	ne.PutUint32(c[skbIfindex:], m.Ifindex)
	for k, v := range m.CB {
		ne.PutUint32(c[skbCB+4*k:], v)
	}
	ne.PutUint64(c[skbTstamp:], m.Tstamp)
	ne.PutUint32(c[skbWireLen:], m.WireLen)
	ne.PutUint32(c[skbGSOSegs:], m.GSOSegs)
	ne.PutUint64(c[skbHWTstamp:], m.HWTstamp)
	return c
}

// tcCtxOut reads the fields of a ctx_out __sk_buff that CtxOut keeps.
func tcCtxOut(c []byte) *interp.TCMeta {
	m := &interp.TCMeta{}
	if len(c) < skbSize {
		return m
	}
	ne := binary.NativeEndian
	m.Mark, m.Priority = ne.Uint32(c[skbMark:]), ne.Uint32(c[skbPriority:])
	m.IngressIfindex, m.Ifindex = ne.Uint32(c[skbIngressIfindex:]), ne.Uint32(c[skbIfindex:])
	for k := range m.CB {
		m.CB[k] = ne.Uint32(c[skbCB+4*k:])
	}
	m.Tstamp, m.HWTstamp = ne.Uint64(c[skbTstamp:]), ne.Uint64(c[skbHWTstamp:])
	m.WireLen, m.GSOSegs = ne.Uint32(c[skbWireLen:]), ne.Uint32(c[skbGSOSegs:])
	return m
}

// TCContextRefused says why the kernel's tc test run cannot take m as
// ctx_in the way interp and jit take it, or "" when it can: ctx_in has
// no room for tc_index, tc_classid, queue_mapping or hash (the kernel
// refuses them with EINVAL), and an ifindex past 1 names a real device,
// whose MAC address changes pkt_type, where interp and jit model the
// loopback device. A Harness runs such inputs in interp and jit only
// (Outcome.KernelSkipped). Frames the test run refuses (shorter than 14
// bytes or than an Ethernet and IP header, longer than
// interp.TCMaxFrame, a bad WireLen or GSOSegs) are not refused here: they
// fail in all three engines alike.
func TCContextRefused(m *interp.TCMeta) string {
	switch {
	case m == nil:
		return ""
	case m.TCIndex != 0 || m.TCClassid != 0 || m.QueueMapping != 0 || m.Hash != 0:
		return fmt.Sprintf("the kernel's tc test run takes no tc_index, tc_classid, queue_mapping or hash in ctx_in (%d, %d, %d, %#x)", m.TCIndex, m.TCClassid, m.QueueMapping, m.Hash)
	case m.Ifindex > 1:
		return fmt.Sprintf("ifindex %d: interp and jit model only the kernel test run's loopback device (ifindex 0 or 1)", m.Ifindex)
	}
	return ""
}
