//go:build linux

package classic

import (
	"encoding/binary"
	"math/rand"
)

// Hand-built Ethernet frames for the differential tests. Checksums are
// left zero: no filter here looks at them.

func ether(dst [6]byte, ethertype uint16, payload []byte) []byte {
	b := make([]byte, 0, 14+len(payload))
	b = append(b, dst[:]...)
	b = append(b, 0x02, 0, 0, 0, 0, 1)
	b = binary.BigEndian.AppendUint16(b, ethertype)
	return append(b, payload...)
}

func vlanTag(vid uint16, ethertype uint16, payload []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, vid)
	b = binary.BigEndian.AppendUint16(b, ethertype)
	return append(b, payload...)
}

func ipv4(proto byte, src, dst [4]byte, fragOff uint16, ihlWords int, payload []byte) []byte {
	hl := ihlWords * 4
	b := make([]byte, hl, hl+len(payload))
	b[0] = 0x40 | byte(ihlWords)
	binary.BigEndian.PutUint16(b[2:], uint16(hl+len(payload)))
	binary.BigEndian.PutUint16(b[6:], fragOff)
	b[8] = 64
	b[9] = proto
	copy(b[12:], src[:])
	copy(b[16:], dst[:])
	return append(b, payload...)
}

func ipv6(next byte, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6] = next
	b[7] = 64
	b[8], b[23] = 0xfe, 1
	b[24], b[39] = 0xfe, 2
	return append(b, payload...)
}

func ports(sport, dport uint16, rest []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	return append(b, rest...)
}

func udp(sport, dport uint16, data []byte) []byte {
	return ports(sport, dport, append([]byte{0, byte(8 + len(data)), 0, 0}, data...))
}

func tcp(sport, dport uint16, flags byte) []byte {
	rest := make([]byte, 16)
	rest[8] = 5 << 4 // data offset
	rest[9] = flags
	return ports(sport, dport, rest)
}

var (
	macHost  = [6]byte{0, 0, 0, 0, 0, 0}
	macBcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ipA      = [4]byte{10, 0, 0, 1}
	ipB      = [4]byte{192, 168, 3, 4}
	ipC      = [4]byte{172, 16, 0, 9}
)

// corpus returns realistic frames plus truncations of each, so that
// out-of-bounds packet loads are exercised too.
func corpus() [][]byte {
	frames := [][]byte{
		ether(macHost, 0x0800, ipv4(17, ipA, ipB, 0, 5, udp(40000, 53, []byte("query")))),
		ether(macHost, 0x0800, ipv4(17, ipB, ipA, 0, 5, udp(53, 40000, []byte("answer")))),
		ether(macHost, 0x0800, ipv4(17, ipA, ipB, 0, 7, udp(1234, 53, []byte("opts")))),
		ether(macHost, 0x0800, ipv4(17, ipA, ipB, 0x2000|12, 5, udp(1234, 53, nil))),
		ether(macHost, 0x0800, ipv4(17, ipC, ipB, 0, 5, udp(1500, 2500, []byte{1, 2, 3}))),
		ether(macHost, 0x0800, ipv4(17, ipC, ipB, 0, 5, udp(999, 1000, []byte{0, 1, 2}))),
		ether(macHost, 0x0800, ipv4(6, ipA, ipB, 0, 5, tcp(50000, 80, 0x02))),
		ether(macHost, 0x0800, ipv4(6, ipB, ipA, 0, 5, tcp(80, 50000, 0x12))),
		ether(macHost, 0x0800, ipv4(6, ipB, ipA, 0, 6, tcp(22, 50000, 0x10))),
		ether(macHost, 0x0800, ipv4(1, ipA, ipB, 0, 5, []byte{8, 0, 0, 0, 0, 1, 0, 1})),
		ether(macHost, 0x0800, ipv4(1, ipA, ipB, 0x1fff, 5, []byte{8, 0, 0, 0})),
		ether(macBcast, 0x0806, []byte{0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2}),
		ether(macHost, 0x86dd, ipv6(6, tcp(40000, 80, 0x02))),
		ether(macHost, 0x86dd, ipv6(17, udp(40000, 1200, []byte("six")))),
		ether(macHost, 0x86dd, ipv6(58, []byte{128, 0, 0, 0, 0, 1, 0, 1})),
		ether(macHost, 0x86dd, ipv6(44, []byte{58, 0, 0, 1, 0, 0, 0, 1, 128, 0, 0, 0})),
		ether(macHost, 0x8100, vlanTag(42, 0x0800, ipv4(17, ipA, ipB, 0, 5, udp(1, 53, nil)))),
		ether(macHost, 0x88a8, vlanTag(7, 0x86dd, ipv6(6, tcp(1, 2, 0)))),
		ether(macHost, 0x9100, vlanTag(7, 0x0806, nil)),
		ether(macBcast, 0x8035, make([]byte, 28)),
	}
	big := ether(macHost, 0x0800, ipv4(17, ipA, ipB, 0, 5, udp(5, 53, make([]byte, 120))))
	frames = append(frames, big)
	var out [][]byte
	for _, f := range frames {
		out = append(out, f)
		for _, cut := range []int{0, 1, 13, 14, 20, 23, 24, 33, 34, 35, 37, 38, 54, 55} {
			if cut < len(f) {
				out = append(out, f[:cut])
			}
		}
	}
	return out
}

// randomPackets returns n random byte strings of up to max bytes, some of
// them with a real IPv4 or IPv6 Ethernet type so that filters get past
// their first test.
func randomPackets(rng *rand.Rand, n, max int) [][]byte {
	out := make([][]byte, n)
	for k := range out {
		p := make([]byte, rng.Intn(max+1))
		rng.Read(p)
		if len(p) >= 24 && rng.Intn(2) == 0 {
			binary.BigEndian.PutUint16(p[12:], []uint16{0x0800, 0x86dd, 0x0806, 0x8100}[rng.Intn(4)])
			p[23] = []byte{1, 6, 17}[rng.Intn(3)]
		}
		out[k] = p
	}
	return out
}
