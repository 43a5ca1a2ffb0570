//go:build amd64 && linux

package jit

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/socket/classic"
)

// dnsFilter is "tcpdump -dd 'ip and udp dst port 53'".
var dnsFilter = []bpf.RawInstruction{
	{Op: 0x28, K: 0x0c},
	{Op: 0x15, Jf: 8, K: 0x800},
	{Op: 0x30, K: 0x17},
	{Op: 0x15, Jf: 6, K: 0x11},
	{Op: 0x28, K: 0x14},
	{Op: 0x45, Jt: 4, K: 0x1fff},
	{Op: 0xb1, K: 0x0e},
	{Op: 0x48, K: 0x10},
	{Op: 0x15, Jf: 1, K: 0x35},
	{Op: 0x6, K: 0x40000},
	{Op: 0x6, K: 0},
}

// filterCorpus is a small mix of frames for dnsFilter: IPv4 UDP to and
// from port 53, another UDP port, TCP, a fragment, ARP and IPv6, each
// whole and cut short at the header boundaries the filter reads.
func filterCorpus() [][]byte {
	frame := func(etype uint16, ipProto byte, frag uint16, sport, dport uint16) []byte {
		f := make([]byte, 14+20+8+16)
		binary.BigEndian.PutUint16(f[12:], etype)
		ip := f[14:]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[6:], frag)
		ip[9] = ipProto
		binary.BigEndian.PutUint16(ip[20:], sport)
		binary.BigEndian.PutUint16(ip[22:], dport)
		return f
	}
	frames := [][]byte{
		frame(0x0800, 17, 0, 40000, 53),
		frame(0x0800, 17, 0, 53, 40000),
		frame(0x0800, 17, 0, 1234, 53),
		frame(0x0800, 17, 0x2000|12, 1234, 53),
		frame(0x0800, 17, 0, 1500, 2500),
		frame(0x0800, 6, 0, 50000, 80),
		frame(0x0800, 1, 0, 0, 0),
		frame(0x0806, 0, 0, 0, 0),
		frame(0x86dd, 17, 0, 40000, 53),
	}
	var out [][]byte
	for _, f := range frames {
		out = append(out, f)
		for _, cut := range []int{13, 24, 37} {
			out = append(out, f[:cut])
		}
	}
	return out
}

// BenchmarkDNSFilter is the translated classic filter "ip and udp dst
// port 53" over filterCorpus, one packet per op, in golang.org/x/net/bpf's
// VM and in both engines through their VMs and their Runners (the issue's
// targets: jit Runner at most 0.5× and interp Runner at most 1.0× the
// x/net/bpf figure).
func BenchmarkDNSFilter(b *testing.B) {
	pkts := filterCorpus()
	is, err := classic.TranslateRaw(dnsFilter)
	if err != nil {
		b.Fatal(err)
	}
	spec := &prog.Spec{Name: "dns", Type: prog.SocketFilter, License: "GPL", Instructions: is}
	meta := &interp.SKBMeta{Protocol: 0x0800}
	// Each engine runs in a loop of its own, calling it directly rather
	// than through a func value, so that the figures are the engines'
	// and not the loop's. step advances the packet index and counts
	// accepted packets; check fails a benchmark whose filter accepted
	// nothing or returned an error.
	var accepted int
	var failed error
	step := func(k *int, n uint32, err error) {
		if err != nil && failed == nil {
			failed = err
		}
		if n != 0 {
			accepted++
		}
		if *k++; *k == len(pkts) {
			*k = 0
		}
	}
	check := func(b *testing.B) {
		if failed != nil {
			b.Fatal(failed)
		}
		if accepted == 0 {
			b.Fatal("the filter accepted nothing")
		}
		accepted, failed = 0, nil
	}
	b.Run("xnet", func(b *testing.B) {
		ins, ok := bpf.Disassemble(dnsFilter)
		if !ok {
			b.Fatal("disassemble")
		}
		vm, err := bpf.NewVM(ins)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			n, err := vm.Run(pkts[k])
			step(&k, uint32(n), err)
		}
		check(b)
	})
	ivm, err := interp.New(spec, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("interp", func(b *testing.B) {
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			n, err := ivm.RunSocketFilter(pkts[k], meta)
			step(&k, n, err)
		}
		check(b)
	})
	b.Run("interp_runner", func(b *testing.B) {
		rn, _ := ivm.NewRunner()
		defer rn.Close()
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			n, err := rn.RunSocketFilter(pkts[k], meta)
			step(&k, n, err)
		}
		check(b)
	})
	vm, err := New(spec, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer vm.Close()
	b.Run("jit", func(b *testing.B) {
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			n, err := vm.RunSocketFilter(pkts[k], meta)
			step(&k, n, err)
		}
		check(b)
	})
	b.Run("jit_runner", func(b *testing.B) {
		rn, err := vm.NewRunner()
		if err != nil {
			b.Fatal(err)
		}
		defer rn.Close()
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			n, err := rn.RunSocketFilter(pkts[k], meta)
			step(&k, n, err)
		}
		check(b)
	})
}
