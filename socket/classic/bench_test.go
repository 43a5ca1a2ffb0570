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
	accepted := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := vm.Run(pkts[i%len(pkts)])
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

func BenchmarkDNSFilterInterp(b *testing.B) {
	filter, pkts := benchSetup(b)
	is, err := TranslateRaw(filter)
	if err != nil {
		b.Fatal(err)
	}
	p := loadInterp(b, is)
	meta := interpMeta
	accepted := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := p.vm.RunSocketFilter(pkts[i%len(pkts)], &meta)
		if err != nil {
			b.Fatal(err)
		}
		if r != 0 {
			accepted++
		}
	}
	if b.N >= len(pkts) && accepted == 0 {
		b.Fatal("the filter accepted nothing")
	}
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
	accepted := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := p.vm.RunSocketFilter(pkts[i%len(pkts)], &meta)
		if err != nil {
			b.Fatal(err)
		}
		if r != 0 {
			accepted++
		}
	}
	if b.N >= len(pkts) && accepted == 0 {
		b.Fatal("the filter accepted nothing")
	}
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
