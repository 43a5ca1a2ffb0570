package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/purebpf/purebpf/interp/maps"
)

// Layout of struct __sk_buff (include/uapi/linux/bpf.h, Linux 6.1).
const (
	skbLen            = 0
	skbPktType        = 4
	skbMark           = 8
	skbQueueMapping   = 12
	skbProtocol       = 16
	skbVLANPresent    = 20
	skbVLANTCI        = 24
	skbVLANProto      = 28
	skbPriority       = 32
	skbIngressIfindex = 36
	skbIfindex        = 40
	skbTCIndex        = 44
	skbCB             = 48 // cb[5]
	skbHash           = 68
	skbTCClassid      = 72
	skbData           = 76
	skbDataEnd        = 80
	skbNapiID         = 84
	skbFamily         = 88 // family .. local_port: sk_skb programs only
	skbLocalPortEnd   = 140
	skbDataMeta       = 140
	skbFlowKeys       = 144
	skbTstamp         = 152
	skbWireLen        = 160
	skbGSOSegs        = 164
	skbSK             = 168
	skbGSOSize        = 176
	skbTstampType     = 180
	skbHwtstamp       = 184
	skbSize           = 192
)

// SKBMeta is the packet metadata a socket filter sees in its __sk_buff
// context besides the packet itself: the fields the kernel lets socket
// filters read (tstamp, wire_len, tstamp_type and hwtstamp are not among
// them). Values are in host byte order; the
// VM stores Protocol and VLANProto in network byte order, as the kernel's
// skb->protocol and skb->vlan_proto are.
type SKBMeta struct {
	// Len overrides skb->len; 0 means len(pkt).
	Len            uint32
	PktType        uint32
	Mark           uint32
	QueueMapping   uint32
	Protocol       uint16 // an ETH_P_* value such as 0x0800
	VLANPresent    bool
	VLANTCI        uint16
	VLANProto      uint16
	Priority       uint32
	IngressIfindex uint32
	Ifindex        uint32
	TCIndex        uint32
	CB             [5]uint32
	Hash           uint32
	NapiID         uint32
	GSOSegs        uint32
	GSOSize        uint32
}

// bindSocketFilter installs the __sk_buff context of pkt and meta as a
// region and returns its address (r1). The context's bytes are written
// only when the program (or a helper) first reads them (fillContext), so
// a filter that reads only the packet, as translated classic filters do,
// does not pay for them. The packet itself is not a region: socket
// filters read it with LD_ABS, LD_IND and skb_load_bytes.
func (e *Env) bindSocketFilter(pkt []byte, meta *SKBMeta) uint64 {
	e.ctxKind = ctxSocketFilter
	e.packet = pkt
	e.fc.pkt = pkt // what LD_ABS and LD_IND read
	b := &e.skb
	e.ctxAddr = addrOf(b[:])
	e.ctxRegion = len(e.regions)
	r := e.fixedRegion()
	r.Start, r.End, r.Perm = e.ctxAddr, e.ctxAddr+skbSize, PermRead
	r.data, r.check, r.pending = b[:], checkSKBAccess, true
	if meta == nil {
		meta = &zeroSKBMeta
	}
	e.skbMeta = meta
	return e.ctxAddr
}

// rebindSocketFilter is bindSocketFilter for an Env that a socket-filter
// run left bound (see Runner): the context region stays, and is pending
// again, to be filled from meta on first access.
func (e *Env) rebindSocketFilter(pkt []byte, meta *SKBMeta) uint64 {
	e.packet, e.fc.pkt = pkt, pkt
	if meta == nil {
		meta = &zeroSKBMeta
	}
	e.skbMeta = meta
	e.repend()
	return e.ctxAddr
}

// rebindKprobe is bindKprobe for an Env that a kprobe run left bound.
func (e *Env) rebindKprobe(regs *PtRegs) uint64 {
	e.kregs = regs
	e.repend()
	return e.ctxAddr
}

// repend makes the context region of a kept binding (the last fixed
// region) pending again and forgets the hot region.
func (e *Env) repend() {
	k := e.fixed - 1
	e.ctxRegion = k
	e.regions[k].pending = true
	e.dropHot()
}

// fillContext writes the bytes of the context a Bind method recorded.
func (e *Env) fillContext() {
	k := e.ctxRegion
	if k < 0 {
		return
	}
	e.ctxRegion = -1
	e.regions[k].pending = false
	if e.ctxKind == ctxTC {
		e.fillTC()
		return
	}
	if e.ctxKind == ctxKprobe {
		var r PtRegs
		if e.kregs != nil {
			r = *e.kregs
		}
		e.kregs = nil
		vals := [21]uint64{r.R15, r.R14, r.R13, r.R12, r.BP, r.BX, r.R11, r.R10, r.R9, r.R8,
			r.AX, r.CX, r.DX, r.SI, r.DI, r.OrigAX, r.IP, r.CS, r.Flags, r.SP, r.SS}
		for k, v := range vals {
			ne.PutUint64(e.regs[8*k:], v)
		}
		return
	}
	meta, pkt, b := e.skbMeta, e.packet, &e.skb
	e.skbMeta = nil
	n := meta.Len
	if n == 0 {
		n = uint32(len(pkt))
	}
	clear(b[:]) // the fields not set below read as 0 (sk as NULL)
	ne.PutUint32(b[skbLen:], n)
	ne.PutUint32(b[skbPktType:], meta.PktType)
	ne.PutUint32(b[skbMark:], meta.Mark)
	ne.PutUint32(b[skbQueueMapping:], meta.QueueMapping)
	binary.BigEndian.PutUint16(b[skbProtocol:], meta.Protocol)
	if meta.VLANPresent {
		ne.PutUint32(b[skbVLANPresent:], 1)
	}
	ne.PutUint32(b[skbVLANTCI:], uint32(meta.VLANTCI))
	binary.BigEndian.PutUint16(b[skbVLANProto:], meta.VLANProto)
	ne.PutUint32(b[skbPriority:], meta.Priority)
	ne.PutUint32(b[skbIngressIfindex:], meta.IngressIfindex)
	ne.PutUint32(b[skbIfindex:], meta.Ifindex)
	ne.PutUint32(b[skbTCIndex:], meta.TCIndex)
	ne.PutUint32(b[skbCB:], meta.CB[0])
	ne.PutUint32(b[skbCB+4:], meta.CB[1])
	ne.PutUint32(b[skbCB+8:], meta.CB[2])
	ne.PutUint32(b[skbCB+12:], meta.CB[3])
	ne.PutUint32(b[skbCB+16:], meta.CB[4])
	ne.PutUint32(b[skbHash:], meta.Hash)
	ne.PutUint32(b[skbNapiID:], meta.NapiID)
	ne.PutUint32(b[skbGSOSegs:], meta.GSOSegs)
	ne.PutUint32(b[skbGSOSize:], meta.GSOSize)
}

var zeroSKBMeta SKBMeta

// checkSKBAccess applies the rules of sk_filter_is_valid_access and
// bpf_skb_is_valid_access (net/core/filter.c, Linux 6.1) for socket
// filters: tc_classid, data, data_end, data_meta, the sk_skb fields
// family..local_port, flow_keys, tstamp, wire_len, tstamp_type, the padding
// and hwtstamp are not accessible; accesses must be aligned to their size;
// the __u32 fields allow only narrow reads (1, 2 or 4 bytes) within one
// field; cb[] may be read and written with any size; sk reads as NULL and
// must be read as a whole 8-byte pointer; nothing else is writable.
func checkSKBAccess(off uint64, n int, write bool) error {
	end := off + uint64(n)
	bad := func(why string) error { return skbAccessErr(off, n, write, why) }
	switch {
	case off%uint64(n) != 0:
		return bad("misaligned context access")
	case end > skbSize:
		return bad("past the end of __sk_buff")
	case off >= skbCB && end <= skbCB+20:
		return nil // cb[0..4]: read and write, any size
	case write:
		return bad("socket filters may write only cb[0..4]")
	case off >= skbTCClassid && off < skbNapiID,
		off >= skbFamily && off < skbGSOSegs,
		off >= skbTstampType:
		return bad("not accessible from socket filters (the verifier rejects it)")
	case off == skbSK:
		if n != 8 {
			return bad("sk must be read as a whole 8-byte pointer")
		}
		return nil
	case off > skbSK && off < skbGSOSize:
		return bad("sk must be read as a whole 8-byte pointer")
	case n > 4:
		return bad("the field is 4 bytes; only narrow reads of up to 4 bytes are allowed")
	}
	return nil
}

var skbFieldNames = []struct {
	off  uint64
	name string
}{
	{0, "len"}, {4, "pkt_type"}, {8, "mark"}, {12, "queue_mapping"}, {16, "protocol"},
	{20, "vlan_present"}, {24, "vlan_tci"}, {28, "vlan_proto"}, {32, "priority"},
	{36, "ingress_ifindex"}, {40, "ifindex"}, {44, "tc_index"}, {48, "cb"}, {68, "hash"},
	{72, "tc_classid"}, {76, "data"}, {80, "data_end"}, {84, "napi_id"}, {88, "family"},
	{92, "remote_ip4"}, {96, "local_ip4"}, {100, "remote_ip6"}, {116, "local_ip6"},
	{132, "remote_port"}, {136, "local_port"}, {140, "data_meta"}, {144, "flow_keys"},
	{152, "tstamp"}, {160, "wire_len"}, {164, "gso_segs"}, {168, "sk"}, {176, "gso_size"},
	{180, "tstamp_type"}, {181, "padding"}, {184, "hwtstamp"},
}

func skbField(off uint64) string {
	name := "?"
	for _, f := range skbFieldNames {
		if off >= f.off {
			name = f.name
		}
	}
	return name
}

// PtRegs is x86-64 struct pt_regs (arch/x86/include/asm/ptrace.h), the
// kprobe context: 21 registers of 8 bytes in the kernel's order.
type PtRegs struct {
	R15, R14, R13, R12, BP, BX, R11, R10, R9, R8 uint64
	AX, CX, DX, SI, DI, OrigAX, IP, CS, Flags    uint64
	SP, SS                                       uint64
}

const ptRegsSize = 21 * 8

// bindKprobe installs a read-only pt_regs context for regs as a region
// and returns its address (r1); its bytes are written on first access
// (fillContext).
func (e *Env) bindKprobe(regs *PtRegs) uint64 {
	e.ctxKind = ctxKprobe
	e.kregs = regs
	e.ctxAddr = addrOf(e.regs[:])
	e.ctxRegion = len(e.regions)
	e.regions = append(e.regions, Region{Start: e.ctxAddr, End: e.ctxAddr + ptRegsSize, Perm: PermRead, data: e.regs[:], pending: true})
	e.fixed = len(e.regions)
	return e.ctxAddr
}

// mapValueAddr returns the address of byte off of the single value of
// array map idx (LD_IMM64 BPF_PSEUDO_MAP_VALUE) and grants the program the
// array's storage.
func (e *Env) mapValueAddr(vm *VM, idx int, off uint64) (uint64, error) {
	arr, ok := vm.maps[idx].(*maps.Array)
	if !ok {
		return 0, fmt.Errorf("%w: direct value access needs an array map", ErrMemoryAccess)
	}
	st := arr.Storage(0)
	addr, err := e.AddRegion(st, PermRead|PermWrite)
	return addr + off, err
}
