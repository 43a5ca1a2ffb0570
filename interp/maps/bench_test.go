package maps

import (
	"testing"

	"github.com/purebpf/purebpf/prog"
)

func benchMap(b *testing.B, spec prog.MapSpec, fill bool) Map {
	m, err := New(spec, &Options{CPUs: 2})
	if err != nil {
		b.Fatal(err)
	}
	if fill {
		for i := uint32(0); i < spec.MaxEntries; i++ {
			if err := m.UpdateRaw(u32(i), make([]byte, spec.ValueSize), 0, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	return m
}

var sink []byte

func BenchmarkLookupRaw(b *testing.B) {
	for _, spec := range []prog.MapSpec{
		{Name: "array", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1024},
		{Name: "percpu_array", Type: prog.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1024},
		{Name: "hash", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1024},
		{Name: "lru_hash", Type: prog.LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 1024},
	} {
		b.Run(spec.Name, func(b *testing.B) {
			m := benchMap(b, spec, true)
			keys := make([][]byte, 1024)
			for i := range keys {
				keys[i] = u32(uint32(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sink = m.LookupRaw(keys[i&1023], 1)
			}
		})
	}
}

func BenchmarkUpdateRaw(b *testing.B) {
	for _, spec := range []prog.MapSpec{
		{Name: "array", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1024},
		{Name: "hash_replace", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1024},
		{Name: "percpu_hash_replace", Type: prog.PerCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 1024},
	} {
		b.Run(spec.Name, func(b *testing.B) {
			m := benchMap(b, spec, true)
			keys := make([][]byte, 1024)
			for i := range keys {
				keys[i] = u32(uint32(i))
			}
			v := make([]byte, 8)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := m.UpdateRaw(keys[i&1023], v, prog.UpdateAny, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
