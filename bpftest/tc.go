package bpftest

import (
	"fmt"

	"github.com/purebpf/purebpf/internal/tcctx"
	"github.com/purebpf/purebpf/interp"
)

// CtxOut is the part of m that the kernel's tc test run gives back in
// ctx_out (convert_skb_to___skb, net/bpf/test_run.c, Linux 6.1 to 6.18):
// mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len,
// gso_segs and hwtstamp. The other fields a tc program writes (tc_index,
// tc_classid, queue_mapping) and those helpers change (hash, protocol,
// the VLAN tag) are not in it, so a Harness compares them between interp
// and jit only.
func CtxOut(m interp.TCMeta) interp.TCMeta { return tcctx.OutFields(m) }

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
