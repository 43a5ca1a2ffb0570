// Package tcctx is the kernel side of a tc (sched_cls, sched_act) test
// run, shared by package bpftest and jit's kernel tests: the __sk_buff
// that BPF_PROG_TEST_RUN takes as ctx_in and gives back as ctx_out for an
// interp.TCMeta, and (on Linux) which tc helper semantics the running
// kernel has, as interp.Options.KernelVersion names them.
//
// Package tcctx may import interp, prog, insn and the standard library.
package tcctx

import (
	"encoding/binary"

	"github.com/purebpf/purebpf/interp"
)

// The offsets in struct __sk_buff (include/uapi/linux/bpf.h) of the
// fields a tc test run's ctx_in and ctx_out carry, and its size.
const (
	offMark           = 8
	offPriority       = 32
	offIngressIfindex = 36
	offIfindex        = 40
	offCB             = 48
	offTstamp         = 152
	offWireLen        = 160
	offGSOSegs        = 164
	offHWTstamp       = 184
	// Size is the size of struct __sk_buff (Linux 6.1 to 6.18).
	Size = 192
)

// OutFields is the part of m the kernel's tc test run gives back in
// ctx_out (convert_skb_to___skb, net/bpf/test_run.c, Linux 6.1 to 6.18):
// mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len,
// gso_segs and hwtstamp.
func OutFields(m interp.TCMeta) interp.TCMeta {
	return interp.TCMeta{Mark: m.Mark, Priority: m.Priority, IngressIfindex: m.IngressIfindex, Ifindex: m.Ifindex, CB: m.CB,
		Tstamp: m.Tstamp, WireLen: m.WireLen, GSOSegs: m.GSOSegs, HWTstamp: m.HWTstamp}
}

// In is the __sk_buff ctx_in the kernel's tc test run takes for m
// (convert___skb_to_skb): the fields OutFields lists, every other byte 0.
func In(m *interp.TCMeta) []byte {
	c := make([]byte, Size)
	ne := binary.NativeEndian
	ne.PutUint32(c[offMark:], m.Mark)
	ne.PutUint32(c[offPriority:], m.Priority)
	ne.PutUint32(c[offIngressIfindex:], m.IngressIfindex)
	ne.PutUint32(c[offIfindex:], m.Ifindex)
	for k, v := range m.CB {
		ne.PutUint32(c[offCB+4*k:], v)
	}
	ne.PutUint64(c[offTstamp:], m.Tstamp)
	ne.PutUint32(c[offWireLen:], m.WireLen)
	ne.PutUint32(c[offGSOSegs:], m.GSOSegs)
	ne.PutUint64(c[offHWTstamp:], m.HWTstamp)
	return c
}

// Out reads the fields OutFields keeps from a ctx_out __sk_buff; a
// shorter c gives zeros.
func Out(c []byte) interp.TCMeta {
	var m interp.TCMeta
	if len(c) < Size {
		return m
	}
	ne := binary.NativeEndian
	m.Mark, m.Priority = ne.Uint32(c[offMark:]), ne.Uint32(c[offPriority:])
	m.IngressIfindex, m.Ifindex = ne.Uint32(c[offIngressIfindex:]), ne.Uint32(c[offIfindex:])
	for k := range m.CB {
		m.CB[k] = ne.Uint32(c[offCB+4*k:])
	}
	m.Tstamp, m.HWTstamp = ne.Uint64(c[offTstamp:]), ne.Uint64(c[offHWTstamp:])
	m.WireLen, m.GSOSegs = ne.Uint32(c[offWireLen:]), ne.Uint32(c[offGSOSegs:])
	return m
}
