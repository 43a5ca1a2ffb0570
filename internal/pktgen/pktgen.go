// Package pktgen generates Ethernet frames for differential tests of
// packet programs: deterministic for a seed, valid and malformed,
// covering Ethernet, 802.1Q and QinQ (802.1ad) VLAN tags, IPv4 with
// options and with bad IHL, total length and fragments, IPv6 with
// hop-by-hop, routing, fragment and destination-options extension
// headers, TCP with options, UDP, ICMP, ICMPv6 and ARP, and frames cut
// short at every layer boundary. Valid frames carry correct IPv4 header,
// TCP, UDP, ICMP and ICMPv6 checksums.
//
// Package pktgen imports only the standard library.
package pktgen

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Layer names a boundary between headers, where a frame may be cut.
type Layer string

// The boundaries a frame records (Frame.Boundaries), in order.
const (
	AfterEthernet Layer = "ethernet" // after the MAC addresses and ethertype (14 bytes)
	AfterVLAN     Layer = "vlan"     // after each VLAN tag
	AfterL3       Layer = "l3"       // after the IPv4 (with options), IPv6 or ARP header
	AfterExt      Layer = "ext"      // after each IPv6 extension header
	AfterL4       Layer = "l4"       // after the TCP (with options), UDP, ICMP or ICMPv6 header
	AfterPayload  Layer = "payload"  // the end of the frame
)

// Boundary is the offset at which a layer ends.
type Boundary struct {
	Layer  Layer
	Offset int
}

// Frame is one generated frame.
type Frame struct {
	// Data is the frame from its destination MAC address on.
	Data []byte
	// Desc describes it: its layers, then what is wrong with it,
	// e.g. "eth/vlan/ipv4+opts/tcp+opts" or "... bad-ihl, cut at l3-1".
	Desc string
	// Valid is true for a well-formed frame with correct lengths and
	// checksums; Malformed lists what is wrong otherwise.
	Valid     bool
	Malformed []string
	// Boundaries are the frame's layer boundaries before any cut.
	Boundaries []Boundary
	// Cut is the length the frame was cut to (len(Data)), or -1 when it
	// is whole.
	Cut int
}

// Generator makes frames from a seeded random source.
type Generator struct {
	rng *rand.Rand
	// MalformedPercent is the share of frames made malformed (a wrong
	// field or a cut); default 40.
	MalformedPercent int
	// MaxPayload bounds the payload after the last header; default 96.
	// One frame in 32 gets a payload of up to 1400 bytes regardless.
	MaxPayload int
}

// New returns a Generator seeded with seed: the same seed gives the same
// frames.
func New(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), MalformedPercent: 40, MaxPayload: 96}
}

// Frames returns n frames.
func (g *Generator) Frames(n int) []Frame {
	fs := make([]Frame, n)
	for i := range fs {
		fs[i] = g.Frame()
	}
	return fs
}

// builder accumulates a frame and its boundaries.
type builder struct {
	b      []byte
	bounds []Boundary
	layers []string
	bad    []string
}

func (b *builder) mark(l Layer) { b.bounds = append(b.bounds, Boundary{l, len(b.b)}) }

// Ethertypes and IP protocol numbers.
const (
	EtherIPv4  = 0x0800
	EtherARP   = 0x0806
	EtherVLAN  = 0x8100
	EtherQinQ  = 0x88a8
	EtherIPv6  = 0x86dd
	ProtoICMP  = 1
	ProtoTCP   = 6
	ProtoUDP   = 17
	ProtoICMP6 = 58
	protoHop   = 0
	protoRoute = 43
	protoFrag  = 44
	protoDst   = 60
	protoNone  = 59
)

// Frame returns the next frame.
func (g *Generator) Frame() Frame {
	r := g.rng
	bad := r.IntN(100) < g.MalformedPercent
	b := &builder{}
	// Ethernet: destination host (zeros), another host, broadcast or
	// multicast; a locally administered source.
	dsts := [][]byte{{0, 0, 0, 0, 0, 0}, {0x02, 0, 0, 0, 0, 0x09}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x01, 0, 0x5e, 0, 0, 0x01}, {0x33, 0x33, 0, 0, 0, 1}}
	b.b = append(b.b, dsts[r.IntN(len(dsts))]...)
	b.b = append(b.b, 0x02, 0, 0, 0, 0, byte(r.IntN(256)))
	l3 := []uint16{EtherIPv4, EtherIPv4, EtherIPv4, EtherIPv6, EtherIPv6, EtherIPv6, EtherARP, 0x88cc, 0x0200 + uint16(r.IntN(0x400))}[r.IntN(9)]
	tags := 0
	switch r.IntN(8) {
	case 0, 1:
		tags = 1
	case 2:
		tags = 2
	}
	b.layers = append(b.layers, "eth")
	switch tags {
	case 0:
		b.b = binary.BigEndian.AppendUint16(b.b, l3)
		b.mark(AfterEthernet)
	case 1:
		b.b = binary.BigEndian.AppendUint16(b.b, EtherVLAN)
		b.mark(AfterEthernet)
		b.b = binary.BigEndian.AppendUint16(b.b, uint16(r.IntN(0x10000)))
		b.b = binary.BigEndian.AppendUint16(b.b, l3)
		b.mark(AfterVLAN)
		b.layers = append(b.layers, "vlan")
	case 2:
		b.b = binary.BigEndian.AppendUint16(b.b, EtherQinQ)
		b.mark(AfterEthernet)
		b.b = binary.BigEndian.AppendUint16(b.b, uint16(r.IntN(0x10000)))
		b.b = binary.BigEndian.AppendUint16(b.b, EtherVLAN)
		b.mark(AfterVLAN)
		b.b = binary.BigEndian.AppendUint16(b.b, uint16(r.IntN(0x10000)))
		b.b = binary.BigEndian.AppendUint16(b.b, l3)
		b.mark(AfterVLAN)
		b.layers = append(b.layers, "qinq")
	}
	// Which fault, if any: a wrong field (chosen by the layer that can
	// have it) or a cut.
	fault := ""
	if bad {
		fault = []string{"field", "field", "cut", "cut", "cut"}[r.IntN(5)]
	}
	switch l3 {
	case EtherIPv4:
		g.ipv4(b, fault == "field")
	case EtherIPv6:
		g.ipv6(b, fault == "field")
	case EtherARP:
		g.arp(b)
	default:
		b.layers = append(b.layers, fmt.Sprintf("ethertype-%#04x", l3))
		b.b = append(b.b, g.payload()...)
	}
	b.mark(AfterPayload)
	f := Frame{Data: b.b, Boundaries: b.bounds, Malformed: b.bad, Cut: -1}
	if fault == "cut" {
		// A cut at a boundary, one byte before or after it, or inside
		// the layer that follows it.
		bd := b.bounds[r.IntN(len(b.bounds))]
		at := bd.Offset
		how := string(bd.Layer)
		switch r.IntN(4) {
		case 1:
			at--
			how += "-1"
		case 2:
			at++
			how += "+1"
		case 3:
			at += r.IntN(12)
			how += "+n"
		}
		at = max(0, min(at, len(b.b)))
		if at < len(b.b) {
			f.Data, f.Cut = b.b[:at], at
			f.Malformed = append(f.Malformed, "cut at "+how)
		}
	}
	f.Valid = len(f.Malformed) == 0
	f.Desc = strings.Join(b.layers, "/")
	if !f.Valid {
		f.Desc += " " + strings.Join(f.Malformed, ", ")
	}
	return f
}

func (g *Generator) payload() []byte {
	n := g.rng.IntN(g.MaxPayload + 1)
	if g.rng.IntN(32) == 0 {
		n = g.rng.IntN(1400)
	}
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(g.rng.Uint32())
	}
	return p
}

func (g *Generator) addr4() []byte {
	r := g.rng
	return [][]byte{{10, 0, 0, byte(r.IntN(4))}, {192, 168, byte(r.IntN(2)), byte(r.IntN(256))}, {127, 0, 0, 1}, {224, 0, 0, 251}, {255, 255, 255, 255}}[r.IntN(5)]
}

func (g *Generator) addr6() []byte {
	a := make([]byte, 16)
	switch g.rng.IntN(3) {
	case 0:
		a[0], a[1], a[15] = 0xfe, 0x80, byte(g.rng.IntN(256))
	case 1:
		a[0], a[1], a[15] = 0xff, 0x02, 1
	default:
		a[0], a[1], a[2], a[3], a[15] = 0x20, 0x01, 0x0d, 0xb8, byte(g.rng.IntN(256))
	}
	return a
}

// ipv4 appends an IPv4 header (with options one time in three), a
// transport header and payload; badField picks one header field to get
// wrong.
func (g *Generator) ipv4(b *builder, badField bool) {
	r := g.rng
	start := len(b.b)
	var opts []byte
	if r.IntN(3) == 0 {
		// NOPs, a router alert (4 bytes), a timestamp option, end of list.
		for len(opts) < 4*(1+r.IntN(10)) {
			switch r.IntN(3) {
			case 0:
				opts = append(opts, 1)
			case 1:
				opts = append(opts, 0x94, 4, 0, 0)
			default:
				opts = append(opts, 0x44, 8, 5, 0, 0, 0, 0, 0)
			}
		}
		if n := len(opts) % 4; n != 0 {
			opts = append(opts, make([]byte, 4-n)...) // EOL padding
		}
		opts = opts[:min(len(opts), 40)]
	}
	ihl := 5 + len(opts)/4
	proto := []byte{ProtoTCP, ProtoTCP, ProtoUDP, ProtoUDP, ProtoICMP, 47, byte(143 + r.IntN(110))}[r.IntN(7)]
	name := "ipv4"
	if len(opts) > 0 {
		name += "+opts"
	}
	b.layers = append(b.layers, name)
	h := make([]byte, 20, 20+len(opts))
	h[0] = 0x40 | byte(ihl)
	h[1] = byte(r.IntN(256)) &^ 3 // DSCP, ECN 0
	binary.BigEndian.PutUint16(h[4:], uint16(r.IntN(0x10000)))
	h[8] = byte(1 + r.IntN(255))
	h[9] = proto
	copy(h[12:], g.addr4())
	copy(h[16:], g.addr4())
	if r.IntN(8) == 0 {
		h[6] = 0x40 // DF
	}
	h = append(h, opts...)
	b.b = append(b.b, h...)
	b.mark(AfterL3)
	g.transport(b, proto, h[12:16], h[16:20], 4)
	total := len(b.b) - start
	binary.BigEndian.PutUint16(b.b[start+2:], uint16(total))
	hdr := b.b[start : start+4*ihl]
	fixed := false
	if badField {
		switch r.IntN(7) {
		case 0:
			hdr[0] = 0x40 | byte(r.IntN(5)) // IHL below 5
			b.bad = append(b.bad, "ihl<5")
		case 1:
			hdr[0] = 0x40 | byte(min(15, ihl+1+r.IntN(6))) // IHL past the header
			b.bad = append(b.bad, "ihl too large")
		case 2:
			binary.BigEndian.PutUint16(hdr[2:], uint16(total+1+r.IntN(200)))
			b.bad = append(b.bad, "total length > frame")
		case 3:
			binary.BigEndian.PutUint16(hdr[2:], uint16(r.IntN(4*ihl)))
			b.bad = append(b.bad, "total length < header")
		case 4:
			// A fragment: more fragments, or a non-zero offset (a later
			// fragment, whose "transport header" is payload).
			if r.IntN(2) == 0 {
				hdr[6] |= 0x20
				b.bad = append(b.bad, "fragment (MF)")
			} else {
				binary.BigEndian.PutUint16(hdr[6:], uint16(1+r.IntN(0x1fff)))
				b.bad = append(b.bad, "fragment (offset)")
			}
			ipChecksum(hdr)
			fixed = true
		case 5:
			hdr[0] = byte(r.IntN(16))<<4 | byte(ihl) // version not 4
			if hdr[0]>>4 == 4 {
				hdr[0] = 0x60 | byte(ihl)
			}
			b.bad = append(b.bad, "version")
		default:
			b.bad = append(b.bad, "bad checksum")
			ipChecksum(hdr)
			hdr[10] ^= byte(1 + r.IntN(255))
			fixed = true
		}
	}
	if !fixed {
		ipChecksum(hdr)
	}
}

// ipChecksum stores the IPv4 header checksum of hdr.
func ipChecksum(hdr []byte) {
	hdr[10], hdr[11] = 0, 0
	binary.BigEndian.PutUint16(hdr[10:], ^fold(sum(0, hdr)))
}

// ipv6 appends an IPv6 header, up to four extension headers (hop-by-hop,
// routing, fragment, destination options), a transport header and payload.
func (g *Generator) ipv6(b *builder, badField bool) {
	r := g.rng
	start := len(b.b)
	proto := []byte{ProtoTCP, ProtoTCP, ProtoUDP, ProtoUDP, ProtoICMP6, protoNone, byte(143 + r.IntN(110))}[r.IntN(7)]
	var exts []byte
	if r.IntN(3) == 0 {
		all := []byte{protoHop, protoDst, protoRoute, protoFrag, protoDst}
		for _, e := range all {
			if r.IntN(2) == 0 {
				exts = append(exts, e)
			}
		}
		if len(exts) > 0 && exts[0] != protoHop && r.IntN(4) == 0 {
			// Hop-by-hop only may come first; put it elsewhere (malformed
			// by RFC 8200, still parseable).
			exts = append(exts, protoHop)
			b.bad = append(b.bad, "hop-by-hop not first")
		}
	}
	name := "ipv6"
	if len(exts) > 0 {
		name += fmt.Sprintf("+%dext", len(exts))
	}
	b.layers = append(b.layers, name)
	h := make([]byte, 40)
	h[0] = 0x60
	h[1], h[2], h[3] = 0, byte(r.IntN(256)), byte(r.IntN(256))
	next := proto
	if len(exts) > 0 {
		next = exts[0]
	}
	h[6] = next
	h[7] = byte(1 + r.IntN(255))
	copy(h[8:], g.addr6())
	copy(h[24:], g.addr6())
	b.b = append(b.b, h...)
	b.mark(AfterL3)
	fragmented := false
	for k, e := range exts {
		nh := proto
		if k+1 < len(exts) {
			nh = exts[k+1]
		}
		switch e {
		case protoFrag:
			off := uint16(0)
			if r.IntN(3) == 0 {
				off = uint16(1+r.IntN(0x1fff)) << 3
				fragmented = true
			}
			if r.IntN(2) == 0 {
				off |= 1 // M flag
			}
			b.b = append(b.b, nh, 0)
			b.b = binary.BigEndian.AppendUint16(b.b, off)
			b.b = binary.BigEndian.AppendUint32(b.b, r.Uint32())
		case protoRoute:
			// Type 0 routing header with n addresses, segments left 0.
			n := r.IntN(3)
			b.b = append(b.b, nh, byte(2*n), 0, 0, 0, 0, 0, 0)
			for range n {
				b.b = append(b.b, g.addr6()...)
			}
		default: // hop-by-hop, destination options: PadN options
			n := r.IntN(3)
			b.b = append(b.b, nh, byte(n), 1, byte(4+8*n))
			b.b = append(b.b, make([]byte, 4+8*n)...)
		}
		b.mark(AfterExt)
	}
	if fragmented {
		b.bad = append(b.bad, "later fragment")
		b.b = append(b.b, g.payload()...)
	} else {
		g.transport(b, proto, h[8:24], h[24:40], 6)
	}
	plen := len(b.b) - start - 40
	binary.BigEndian.PutUint16(b.b[start+4:], uint16(plen))
	if badField {
		switch r.IntN(3) {
		case 0:
			binary.BigEndian.PutUint16(b.b[start+4:], uint16(plen+1+r.IntN(300)))
			b.bad = append(b.bad, "payload length > frame")
		case 1:
			binary.BigEndian.PutUint16(b.b[start+4:], uint16(r.IntN(plen+1)))
			if plen == 0 {
				binary.BigEndian.PutUint16(b.b[start+4:], 1)
			}
			b.bad = append(b.bad, "payload length wrong")
		default:
			b.b[start] = 0x40 | b.b[start]&0xf
			b.bad = append(b.bad, "version")
		}
	}
}

// arp appends an Ethernet/IPv4 ARP request or reply.
func (g *Generator) arp(b *builder) {
	b.layers = append(b.layers, "arp")
	b.b = append(b.b, 0, 1, 8, 0, 6, 4, 0, byte(1+g.rng.IntN(2)))
	b.b = append(b.b, 0x02, 0, 0, 0, 0, 1)
	b.b = append(b.b, g.addr4()...)
	b.b = append(b.b, 0, 0, 0, 0, 0, 0)
	b.b = append(b.b, g.addr4()...)
	b.mark(AfterL3)
}

// transport appends the transport header of proto and a payload, with
// its checksum over the pseudo-header of src and dst (IP version ver).
func (g *Generator) transport(b *builder, proto byte, src, dst []byte, ver int) {
	r := g.rng
	start := len(b.b)
	src, dst = append([]byte(nil), src...), append([]byte(nil), dst...)
	csumOff := -1
	switch proto {
	case ProtoTCP:
		var opts []byte
		if r.IntN(2) == 0 {
			opts = append(opts, 2, 4, 0x05, 0xb4) // MSS 1460
			if r.IntN(2) == 0 {
				opts = append(opts, 1, 3, 3, 7) // NOP, window scale 7
			}
			if r.IntN(2) == 0 {
				opts = append(opts, 4, 2, 1, 1) // SACK permitted, NOP NOP
			}
			if r.IntN(2) == 0 {
				opts = append(opts, 1, 1, 8, 10) // NOP NOP timestamps
				opts = binary.BigEndian.AppendUint32(opts, r.Uint32())
				opts = binary.BigEndian.AppendUint32(opts, r.Uint32())
			}
		}
		b.layers = append(b.layers, map[bool]string{true: "tcp+opts", false: "tcp"}[len(opts) > 0])
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], []uint16{80, 443, 22, uint16(r.IntN(0x10000))}[r.IntN(4)])
		binary.BigEndian.PutUint16(h[2:], uint16(1024+r.IntN(60000)))
		binary.BigEndian.PutUint32(h[4:], r.Uint32())
		binary.BigEndian.PutUint32(h[8:], r.Uint32())
		h[12] = byte(5+len(opts)/4) << 4
		h[13] = []byte{0x02, 0x12, 0x10, 0x18, 0x11, 0x04, byte(r.IntN(256))}[r.IntN(7)]
		binary.BigEndian.PutUint16(h[14:], uint16(r.IntN(0x10000)))
		b.b = append(b.b, h...)
		b.b = append(b.b, opts...)
		csumOff = start + 16
		if r.IntN(16) == 0 {
			b.b[start+12] = byte(r.IntN(5)) << 4 // data offset below 5
			b.bad = append(b.bad, "tcp data offset")
		}
	case ProtoUDP:
		b.layers = append(b.layers, "udp")
		b.b = binary.BigEndian.AppendUint16(b.b, uint16(1024+r.IntN(60000)))
		b.b = binary.BigEndian.AppendUint16(b.b, []uint16{7, 9, 53, 67, 123, 4789, uint16(r.IntN(0x10000))}[r.IntN(7)])
		b.b = append(b.b, 0, 0, 0, 0)
		csumOff = start + 6
	case ProtoICMP, ProtoICMP6:
		b.layers = append(b.layers, map[byte]string{ProtoICMP: "icmp", ProtoICMP6: "icmpv6"}[proto])
		typ := []byte{8, 0, 3, 11}[r.IntN(4)]
		if proto == ProtoICMP6 {
			typ = []byte{128, 129, 135, 136, 1}[r.IntN(5)]
		}
		b.b = append(b.b, typ, 0, 0, 0)
		b.b = binary.BigEndian.AppendUint32(b.b, r.Uint32())
		csumOff = start + 2
	default:
		b.layers = append(b.layers, fmt.Sprintf("proto-%d", proto))
		b.b = append(b.b, g.payload()...)
		return
	}
	b.mark(AfterL4)
	b.b = append(b.b, g.payload()...)
	seg := b.b[start:]
	if proto == ProtoUDP {
		binary.BigEndian.PutUint16(seg[4:], uint16(len(seg)))
		if r.IntN(16) == 0 {
			binary.BigEndian.PutUint16(seg[4:], uint16(len(seg)+1+r.IntN(100)))
			b.bad = append(b.bad, "udp length")
		}
	}
	var s uint32
	if proto != ProtoICMP {
		s = pseudo(src, dst, proto, len(seg), ver)
	}
	c := ^fold(sum(s, seg))
	if proto == ProtoUDP && c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b.b[csumOff:], c)
	if r.IntN(16) == 0 {
		b.b[csumOff] ^= byte(1 + r.IntN(255))
		b.bad = append(b.bad, "l4 checksum")
	}
}

// pseudo is the one's-complement sum of the IPv4 or IPv6 pseudo-header.
func pseudo(src, dst []byte, proto byte, n, ver int) uint32 {
	s := sum(0, src)
	s = sum(s, dst)
	if ver == 6 {
		return s + uint32(n>>16) + uint32(n&0xffff) + uint32(proto)
	}
	return s + uint32(proto) + uint32(n)
}

// sum adds b to s as big-endian 16-bit words.
func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// fold folds a 32-bit one's-complement sum to 16 bits.
func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
