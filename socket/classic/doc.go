// Package classic translates classic BPF (cBPF) socket filters, such as the
// output of "tcpdump -dd" or a []bpf.Instruction from golang.org/x/net/bpf,
// into eBPF instructions that behave exactly as the Linux kernel runs the
// classic filter.
//
// The kernel itself never interprets classic filters any more: since Linux
// 3.15 net/core/filter.c converts them to eBPF when they are attached. This
// package performs an equivalent translation in Go, so that a classic
// filter can be loaded as an eBPF program of type prog.SocketFilter, run in
// package interp or compiled by package jit.
//
// # Register mapping
//
// As in the kernel's conversion: the accumulator A is R0, the index
// register X is R7, the context (struct __sk_buff) is kept in R6, and the
// sixteen scratch words M[0..15] live on the stack at R10-64 .. R10-4
// (M[k] at R10 - 4*(16-k)). R8 keeps A across "ldxb 4*([k]&0xf)" when A
// is needed afterwards.
//
// # Semantics
//
//   - Packet loads (LD/LDX ABS, IND, MSH) become the eBPF legacy loads
//     LD_ABS and LD_IND, which convert from network byte order and end the
//     program with return value 0 when the load is out of bounds. Negative
//     offsets SKF_NET_OFF and SKF_LL_OFF are passed through; the kernel
//     resolves them relative to the network or link-layer header (package
//     interp has no such headers and treats them as out of bounds).
//   - "ld len" and "ldx len" read __sk_buff.len.
//   - All ALU operations are 32-bit. Division and modulo by X when X is 0
//     end the program with return value 0; division or modulo by a
//     constant 0, and shifts by a constant of 32 or more, are rejected as
//     the kernel's classic checker does. Shifts by X use the low five bits
//     of X, as eBPF 32-bit shifts do (note that x/net/bpf's VM gives 0 for
//     shifts of 32 or more instead).
//   - Conditional jumps compare 32-bit unsigned values with JMP32 (so the
//     translation needs Linux 5.1 or later to load).
//   - Unreachable instructions are left out, since the eBPF verifier
//     rejects unreachable code; A and X are cleared on entry only when some
//     path reads them first.
//   - "ret #k" returns k, "ret a" returns A: for a socket filter, the number
//     of bytes of the packet to keep (0 drops it).
//
// # Validation
//
// A program is checked as the kernel's bpf_check_classic does before it
// is translated: 1 to 4096 instructions, known opcodes only, jumps inside
// the program, scratch indices below 16, the last instruction a return,
// and no read of a scratch word that is not written on every path to it.
// Errors are *Error values naming the classic instruction index; they
// wrap ErrInvalid or ErrUnsupported.
//
// # Ancillary data
//
// Loads from SKF_AD_OFF + n read the kernel's packet metadata. Supported,
// each from the __sk_buff field or helper that gives the same value:
//
//	SKF_AD_PROTOCOL         __sk_buff.protocol, converted to host order
//	SKF_AD_PKTTYPE          __sk_buff.pkt_type
//	SKF_AD_IFINDEX          __sk_buff.ifindex
//	SKF_AD_MARK             __sk_buff.mark
//	SKF_AD_QUEUE            __sk_buff.queue_mapping
//	SKF_AD_RXHASH           __sk_buff.hash
//	SKF_AD_CPU              bpf_get_smp_processor_id()
//	SKF_AD_ALU_XOR_X        A ^= X
//	SKF_AD_VLAN_TAG         __sk_buff.vlan_tci
//	SKF_AD_VLAN_TAG_PRESENT __sk_buff.vlan_present
//	SKF_AD_RANDOM           bpf_get_prandom_u32()
//	SKF_AD_VLAN_TPID        __sk_buff.vlan_proto, converted to host order
//
// Rejected with ErrUnsupported, because no __sk_buff field or socket
// filter helper gives their value: SKF_AD_NLATTR, SKF_AD_NLATTR_NEST,
// SKF_AD_HATYPE and SKF_AD_PAY_OFFSET. One corner differs from the
// kernel's own conversion: for a packet without a device, the kernel's
// SKF_AD_IFINDEX ends the program returning A, while __sk_buff.ifindex
// reads 0; socket filters on received and sent packets always have one.
//
// Package classic imports insn, prog (for the Spec it builds),
// golang.org/x/net/bpf and the standard library.
package classic
