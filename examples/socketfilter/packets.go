//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// protoNames names the IP protocols the demo's traffic uses.
var protoNames = map[int]string{1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp"}

func protoName(p int) string {
	if n, ok := protoNames[p]; ok {
		return n
	}
	return fmt.Sprintf("proto-%d", p)
}

// describe returns "length protocol source > destination" for a frame
// with an Ethernet-style header, as seen on lo.
func describe(frame []byte, length int) string {
	if len(frame) < 14 {
		return fmt.Sprintf("len=%-5d (runt)", length)
	}
	var proto int
	var src, dst netip.Addr
	var l4 []byte
	switch et := binary.BigEndian.Uint16(frame[12:]); et {
	case 0x0800:
		ip := frame[14:]
		if len(ip) < 20 {
			return fmt.Sprintf("len=%-5d ipv4 (truncated)", length)
		}
		proto = int(ip[9])
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		if ihl := int(ip[0]&0xf) * 4; len(ip) >= ihl {
			l4 = ip[ihl:]
		}
	case 0x86dd:
		ip := frame[14:]
		if len(ip) < 40 {
			return fmt.Sprintf("len=%-5d ipv6 (truncated)", length)
		}
		proto = int(ip[6])
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		l4 = ip[40:]
	default:
		return fmt.Sprintf("len=%-5d ethertype 0x%04x", length, et)
	}
	if (proto == 6 || proto == 17) && len(l4) >= 4 {
		sp, dp := binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
		return fmt.Sprintf("len=%-5d %-4s %s > %s", length, protoName(proto),
			netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp))
	}
	return fmt.Sprintf("len=%-5d %-4s %s > %s", length, protoName(proto), src, dst)
}

// Frames as the demo's traffic appears on lo, built in memory for the
// interp path: an all-zero Ethernet header, IPv4 from 127.0.0.1 to
// 127.0.0.1. Checksums are left zero; the filter does not read them.

func loFrame(proto byte, l4 []byte) []byte {
	f := make([]byte, 14+20, 14+20+len(l4))
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	ip[6] = 0x40 // don't fragment
	ip[8] = 64
	ip[9] = proto
	copy(ip[12:], []byte{127, 0, 0, 1})
	copy(ip[16:], []byte{127, 0, 0, 1})
	return append(f, l4...)
}

func udpFrame(sport, dport uint16, payload string) []byte {
	u := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(u, sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	return loFrame(17, append(u, payload...))
}

func tcpFrame(sport, dport uint16, flags byte, payload string) []byte {
	t := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(t, sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	t[12] = 5 << 4
	t[13] = flags
	return loFrame(6, append(t, payload...))
}

// simulatedTraffic returns the frames one round of the demo's traffic
// puts on lo, each once; on lo each is seen twice, sent and received.
func simulatedTraffic(port uint16) [][]byte {
	const (
		client = 40000
		server = 40001
		syn    = 0x02
		ack    = 0x10
		psh    = 0x08
		fin    = 0x01
	)
	other := otherPort(port)
	return [][]byte{
		udpFrame(client, port, "hello 1"),
		udpFrame(client, other, "not for the filter 1"),
		tcpFrame(client, server, syn, ""),
		tcpFrame(server, client, syn|ack, ""),
		tcpFrame(client, server, ack, ""),
		tcpFrame(client, server, psh|ack, "hello over tcp"),
		tcpFrame(server, client, ack, ""),
		tcpFrame(client, server, fin|ack, ""),
		tcpFrame(server, client, fin|ack, ""),
		tcpFrame(client, server, ack, ""),
		udpFrame(client, port, "hello 2"),
	}
}

// otherPort is the UDP port the demo also sends to, which the filter
// drops.
func otherPort(port uint16) uint16 {
	if port == 65535 {
		return port - 1
	}
	return port + 1
}
