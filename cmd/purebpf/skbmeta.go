package main

import (
	"bytes"
	"encoding/binary"

	"github.com/purebpf/purebpf/interp"
)

// frameMeta returns the __sk_buff metadata a socket filter sees for frame
// in the kernel engine, so that interp and jit show it the same: the
// kernel's test run (prog.Program.RunSocketFilter) puts the frame on the
// loopback device (ifindex 1, address 00:00:00:00:00:00) and sets
// protocol and pkt_type as eth_type_trans does (net/ethernet/eth.c):
// a destination with the group bit is PACKET_MULTICAST (even
// ff:ff:ff:ff:ff:ff, since the loopback device's broadcast address is
// all zeros, checked on Linux 6.18), the device's address PACKET_HOST,
// anything else PACKET_OTHERHOST; an ethertype below 0x600 is an 802.3
// length, giving ETH_P_802_3 for raw IPX (payload 0xffff) and ETH_P_802_2
// otherwise. (For such frames prog.Program.RunSocketFilter's kernel run
// reads the two payload bytes from the frame's start instead, a quirk of
// the Ethernet header copy it prepends.)
func frameMeta(frame []byte) *interp.SKBMeta {
	const (
		packetHost, packetMulticast, packetOtherhost = 0, 2, 3
		ethP8023, ethP8022                           = 0x0001, 0x0004
		loopbackIfindex                              = 1
	)
	meta := &interp.SKBMeta{Ifindex: loopbackIfindex}
	if len(frame) < 14 {
		return meta
	}
	dst := frame[:6]
	switch {
	case dst[0]&1 != 0:
		meta.PktType = packetMulticast
	case bytes.Equal(dst, make([]byte, 6)):
		meta.PktType = packetHost
	default:
		meta.PktType = packetOtherhost
	}
	meta.Protocol = binary.BigEndian.Uint16(frame[12:14])
	if meta.Protocol < 0x600 {
		if len(frame) >= 16 && frame[14] == 0xff && frame[15] == 0xff {
			meta.Protocol = ethP8023
		} else {
			meta.Protocol = ethP8022
		}
	}
	return meta
}
