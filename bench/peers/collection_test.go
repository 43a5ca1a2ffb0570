//go:build linux

package peers

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/purebpf/purebpf/prog"
)

// The objects of purebpf's C test corpus: bootstrap has CO-RE reads, a
// hash map, a ring buffer and a perf event array; sections has 27
// programs of 27 section kinds; subprogs links .text subprograms and
// callbacks into four programs. large (testdata/large.bpf.c, 104 KB) is a
// tracing agent's shape: 32 programs, 35 maps, 224 CO-RE relocations,
// global data and a shared static subprogram.
var collectionObjects = []string{"bootstrap", "sections", "subprogs", "large"}

func objectPath(name string) string {
	if name == "large" {
		return filepath.Join("testdata", name+".bpf.o")
	}
	return filepath.Join("..", "..", "prog", "testdata", "bpf", name+".bpf.o")
}

// BenchmarkLoadCollectionSpec reads, relocates and links an object
// without a kernel.
func BenchmarkLoadCollectionSpec(b *testing.B) {
	for _, name := range collectionObjects {
		b.Run(name+"/purebpf", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := prog.LoadCollectionSpec(objectPath(name)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/cilium", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ebpf.LoadCollectionSpec(objectPath(name)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNewCollection loads a parsed object into the kernel (BTF,
// maps, CO-RE against the kernel's BTF, programs) and closes it.
func BenchmarkNewCollection(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("loading into the kernel needs root")
	}
	for _, name := range []string{"bootstrap", "subprogs", "large"} {
		b.Run(name+"/purebpf", func(b *testing.B) {
			spec, err := prog.LoadCollectionSpec(objectPath(name))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				c, err := prog.NewCollection(spec, nil)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
		b.Run(name+"/cilium", func(b *testing.B) {
			spec, err := ebpf.LoadCollectionSpec(objectPath(name))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				c, err := ebpf.NewCollection(spec)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
