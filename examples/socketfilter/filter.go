//go:build linux

package main

import (
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// countsMap is the name of the per-protocol counter map.
const countsMap = "proto_counts"

// Frame layout on an Ethernet-style link such as lo.
const (
	offEtherType = 12 // Ethernet type, 2 bytes
	offIPv4      = 14 // IPv4 header
	offIPv4Proto = offIPv4 + 9
	offIPv4Frag  = offIPv4 + 6 // flags and fragment offset
	offIPv6Next  = 14 + 6      // IPv6 next header
)

// filterSpec builds the demo's socket filter with insn. For every IPv4
// packet it counts the IP protocol, and for every IPv6 packet the next
// header, in an array map of 256 u64 counters (key = protocol number).
// It passes IPv4 UDP packets to port (the whole packet) and drops
// everything else, fragments after the first included. Both the kernel
// path and the interp path use it.
func filterSpec(port uint16) *prog.Spec {
	is := insn.Instructions{
		// LD_ABS and LD_IND want the context in r6.
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.LoadAbs(offEtherType, insn.H),
		insn.JEq.Imm(insn.R0, 0x0800, "ipv4"),
		insn.JEq.Imm(insn.R0, 0x86dd, "ipv6"),
		insn.Ja("drop"),

		insn.LoadAbs(offIPv6Next, insn.B).WithLabel("ipv6"),
		insn.Mov.Reg(insn.R7, insn.R0),
	}
	is = append(is, count("v6")...)
	is = append(is,
		insn.Ja("drop"),

		insn.LoadAbs(offIPv4Proto, insn.B).WithLabel("ipv4"),
		insn.Mov.Reg(insn.R7, insn.R0),
	)
	is = append(is, count("v4")...)
	is = append(is,
		insn.JNE.Imm(insn.R7, 17, "drop"),
		// A later fragment has no UDP header.
		insn.LoadAbs(offIPv4Frag, insn.H),
		insn.JSet.Imm(insn.R0, 0x1fff, "drop"),
		// r8 = IP header length; the destination port is 2 bytes into UDP.
		insn.LoadAbs(offIPv4, insn.B),
		insn.And.Imm(insn.R0, 0x0f),
		insn.LSh.Imm(insn.R0, 2),
		insn.Mov.Reg(insn.R8, insn.R0),
		insn.LoadInd(insn.R8, offIPv4+2, insn.H),
		insn.JNE.Imm(insn.R0, int32(port), "drop"),
		// Keep the whole packet.
		insn.Mov.Imm32(insn.R0, -1),
		insn.Exit(),

		insn.Mov.Imm(insn.R0, 0).WithLabel("drop"),
		insn.Exit(),
	)
	return &prog.Spec{
		Name:         "udp_port_filter",
		Type:         prog.SocketFilter,
		License:      "GPL",
		Instructions: is,
		Maps: []*prog.MapSpec{{
			Name: countsMap, Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 256,
		}},
	}
}

// count adds one to the counter of protocol r7; it keeps r6 and r7.
func count(tag string) insn.Instructions {
	skip := "counted_" + tag
	return insn.Instructions{
		insn.StoreMem(insn.R10, -4, insn.R7, insn.W),
		insn.LoadMapPtr(insn.R1, countsMap),
		insn.Mov.Reg(insn.R2, insn.R10),
		insn.Add.Imm(insn.R2, -4),
		insn.FnMapLookupElem.Call(),
		insn.JEq.Imm(insn.R0, 0, skip),
		insn.Mov.Imm(insn.R1, 1),
		insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1),
		insn.Mov.Imm(insn.R0, 0).WithLabel(skip),
	}
}
