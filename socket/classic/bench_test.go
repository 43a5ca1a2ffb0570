//go:build linux

package classic

import (
	"testing"

	"golang.org/x/net/bpf"
)

// benchFilter is "tcpdump -dd 'ip and udp dst port 53'" and benchCorpus
// the hand-built frames with their truncations; each benchmark op filters
// one packet, cycling through the corpus.
func benchSetup(b *testing.B) ([]bpf.RawInstruction, [][]byte) {
	for _, f := range tcpdumpFilters {
		if f.expr == "ip and udp dst port 53" {
			return raw(f.insns), corpus()
		}
	}
	b.Fatal("filter missing")
	return nil, nil
}

// benchFilter runs filter over the corpus, one packet per op, and fails if
// it accepted nothing (a broken setup would otherwise benchmark drops).
func benchFilter(b *testing.B, pkts [][]byte, filter func(pkt []byte) (uint32, error)) {
	accepted := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := filter(pkts[i%len(pkts)])
		if err != nil {
			b.Fatal(err)
		}
		if n != 0 {
			accepted++
		}
	}
	if b.N >= len(pkts) && accepted == 0 {
		b.Fatal("the filter accepted nothing")
	}
}

func BenchmarkDNSFilterXNetVM(b *testing.B) {
	filter, pkts := benchSetup(b)
	ins, ok := bpf.Disassemble(filter)
	if !ok {
		b.Fatal("disassemble")
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		b.Fatal(err)
	}
	benchFilter(b, pkts, func(pkt []byte) (uint32, error) {
		n, err := vm.Run(pkt)
		return uint32(n), err
	})
}

func BenchmarkDNSFilterInterp(b *testing.B) {
	filter, pkts := benchSetup(b)
	is, err := TranslateRaw(filter)
	if err != nil {
		b.Fatal(err)
	}
	vm := loadInterp(b, is).vm
	meta := interpMeta
	benchFilter(b, pkts, func(pkt []byte) (uint32, error) { return vm.RunSocketFilter(pkt, &meta) })
}

func BenchmarkDNSFilterJIT(b *testing.B) {
	filter, pkts := benchSetup(b)
	is, err := TranslateRaw(filter)
	if err != nil {
		b.Fatal(err)
	}
	p := loadJIT(b, is)
	if p == nil {
		b.Skip("no JIT on this platform")
	}
	meta := interpMeta
	benchFilter(b, pkts, func(pkt []byte) (uint32, error) { return p.vm.RunSocketFilter(pkt, &meta) })
}

func BenchmarkTranslate(b *testing.B) {
	filter, _ := benchSetup(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := TranslateRaw(filter); err != nil {
			b.Fatal(err)
		}
	}
}
