//go:build linux

// Command socketfilter is purebpf's socket filter demo. It builds an eBPF
// filter with package insn that passes IPv4 UDP packets to one port and
// counts every IP packet per protocol in an array map, attaches it to an
// AF_PACKET socket on lo, makes some loopback traffic and prints what the
// filter lets through, then the counters.
//
// Without the privilege to capture (CAP_NET_RAW and CAP_BPF), or with
// -simulate, it runs the same filter in package interp over the same kinds
// of packets built in memory and prints each verdict.
//
//	go run ./examples/socketfilter [-port 9999] [-duration 3s] [-count N] [-iface lo] [-simulate]
//
// The filter (filterSpec) is shared by both paths; main only parses flags.
//
// Command socketfilter may import insn, prog, interp, socket, the standard
// library and golang.org/x/sys/unix.
package main
