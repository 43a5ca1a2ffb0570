package pktgen

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// check parses a whole valid frame independently of the generator and
// verifies its lengths and checksums; it returns the layers it saw.
func check(t *testing.T, f Frame) string {
	t.Helper()
	d := f.Data
	off := 12
	et := binary.BigEndian.Uint16(d[off:])
	var layers []string
	for et == EtherVLAN || et == EtherQinQ {
		layers = append(layers, "vlan")
		off += 4
		et = binary.BigEndian.Uint16(d[off:])
	}
	off += 2
	switch et {
	case EtherIPv4:
		ihl := int(d[off]&0xf) * 4
		if d[off]>>4 != 4 || ihl < 20 {
			t.Fatalf("%s: bad IPv4 header % x", f.Desc, d[off:off+20])
		}
		if fold(sum(0, d[off:off+ihl])) != 0xffff {
			t.Fatalf("%s: IPv4 header checksum wrong", f.Desc)
		}
		if tl := int(binary.BigEndian.Uint16(d[off+2:])); tl != len(d)-off {
			t.Fatalf("%s: total length %d, %d bytes", f.Desc, tl, len(d)-off)
		}
		if binary.BigEndian.Uint16(d[off+6:])&0x3fff != 0 {
			t.Fatalf("%s: a fragment is not valid", f.Desc)
		}
		layers = append(layers, "ipv4")
		if ihl > 20 {
			layers = append(layers, "ipv4opts")
		}
		seg := d[off+ihl:]
		proto := d[off+9]
		layers = append(layers, l4check(t, f, proto, seg, pseudo(d[off+12:off+16], d[off+16:off+20], proto, len(seg), 4)))
	case EtherIPv6:
		if d[off]>>4 != 6 || int(binary.BigEndian.Uint16(d[off+4:])) != len(d)-off-40 {
			t.Fatalf("%s: bad IPv6 header", f.Desc)
		}
		layers = append(layers, "ipv6")
		nh, p := d[off+6], off+40
		for nh == protoHop || nh == protoRoute || nh == protoDst || nh == protoFrag {
			layers = append(layers, map[byte]string{protoHop: "hop", protoRoute: "route", protoDst: "dstopts", protoFrag: "frag"}[nh])
			n := 8
			if nh != protoFrag {
				n = 8 * (int(d[p+1]) + 1)
			} else if binary.BigEndian.Uint16(d[p+2:])&^7 != 0 {
				t.Fatalf("%s: a later fragment is not valid", f.Desc)
			}
			nh = d[p]
			p += n
		}
		seg := d[p:]
		proto := nh
		layers = append(layers, l4check(t, f, proto, seg, pseudo(d[off+8:off+24], d[off+24:off+40], proto, len(seg), 6)))
	case EtherARP:
		if len(d)-off != 28 {
			t.Fatalf("%s: ARP of %d bytes", f.Desc, len(d)-off)
		}
		layers = append(layers, "arp")
	}
	return strings.Join(layers, " ")
}

func l4check(t *testing.T, f Frame, proto byte, seg []byte, ps uint32) string {
	t.Helper()
	switch proto {
	case ProtoTCP:
		if int(seg[12]>>4)*4 < 20 || int(seg[12]>>4)*4 > len(seg) {
			t.Fatalf("%s: TCP data offset %d", f.Desc, seg[12]>>4)
		}
		if fold(sum(ps, seg)) != 0xffff {
			t.Fatalf("%s: TCP checksum wrong", f.Desc)
		}
		if seg[12]>>4 > 5 {
			return "tcpopts"
		}
		return "tcp"
	case ProtoUDP:
		if int(binary.BigEndian.Uint16(seg[4:])) != len(seg) || fold(sum(ps, seg)) != 0xffff {
			t.Fatalf("%s: UDP length or checksum wrong", f.Desc)
		}
		return "udp"
	case ProtoICMP:
		if fold(sum(0, seg)) != 0xffff {
			t.Fatalf("%s: ICMP checksum wrong", f.Desc)
		}
		return "icmp"
	case ProtoICMP6:
		if fold(sum(ps, seg)) != 0xffff {
			t.Fatalf("%s: ICMPv6 checksum wrong", f.Desc)
		}
		return "icmpv6"
	}
	return "other"
}

// Valid frames parse, with correct lengths and checksums; every layer
// and every kind of extension header and option occurs.
func TestValidFrames(t *testing.T) {
	g := New(1)
	seen := map[string]int{}
	valid := 0
	for range 5000 {
		f := g.Frame()
		if !f.Valid {
			continue
		}
		valid++
		for _, l := range strings.Fields(check(t, f)) {
			seen[l]++
		}
	}
	for _, l := range []string{"vlan", "ipv4", "ipv4opts", "ipv6", "hop", "route", "frag", "dstopts", "tcp", "tcpopts", "udp", "icmp", "icmpv6", "arp", "other"} {
		if seen[l] < 5 {
			t.Errorf("layer %s seen %d times in %d valid frames", l, seen[l], valid)
		}
	}
	if valid < 2500 || valid > 3500 {
		t.Errorf("%d valid frames of 5000", valid)
	}
	t.Logf("%d valid: %v", valid, seen)
}

// Malformed frames cover every fault, and cuts every layer boundary,
// exactly at it, one byte either side and inside the next layer; a cut
// frame is its whole frame's prefix.
func TestMalformedFrames(t *testing.T) {
	g := New(2)
	faults := map[string]int{}
	for range 8000 {
		f := g.Frame()
		if f.Valid != (len(f.Malformed) == 0) || (f.Cut >= 0) != strings.Contains(f.Desc, "cut at") {
			t.Fatalf("%+v", f)
		}
		if f.Cut >= 0 && len(f.Data) != f.Cut {
			t.Fatalf("%s: cut %d, %d bytes", f.Desc, f.Cut, len(f.Data))
		}
		last := f.Boundaries[len(f.Boundaries)-1]
		if last.Layer != AfterPayload || (f.Cut < 0 && last.Offset != len(f.Data)) {
			t.Fatalf("%s: boundaries %v, %d bytes", f.Desc, f.Boundaries, len(f.Data))
		}
		for _, m := range f.Malformed {
			faults[m]++
		}
	}
	want := []string{"ihl<5", "ihl too large", "total length > frame", "total length < header", "fragment (MF)", "fragment (offset)", "version", "bad checksum",
		"payload length > frame", "payload length wrong", "later fragment", "hop-by-hop not first", "tcp data offset", "udp length", "l4 checksum"}
	for _, l := range []Layer{AfterEthernet, AfterVLAN, AfterL3, AfterExt, AfterL4, AfterPayload} {
		for _, how := range []string{"", "-1", "+1", "+n"} {
			if l == AfterPayload && how != "-1" {
				continue // a cut at or past the end is no cut
			}
			want = append(want, "cut at "+string(l)+how)
		}
	}
	for _, w := range want {
		if faults[w] == 0 {
			t.Errorf("no frame with %q", w)
		}
	}
	t.Logf("%v", faults)
}

// The same seed gives the same frames; another seed others.
func TestDeterministic(t *testing.T) {
	a, b, c := New(7).Frames(300), New(7).Frames(300), New(8).Frames(300)
	same := 0
	for i := range a {
		if !bytes.Equal(a[i].Data, b[i].Data) || a[i].Desc != b[i].Desc {
			t.Fatalf("frame %d differs between two generators of seed 7", i)
		}
		if bytes.Equal(a[i].Data, c[i].Data) {
			same++
		}
	}
	if same > 3 {
		t.Errorf("%d of 300 frames equal between seeds 7 and 8", same)
	}
}
