package maps

import (
	"testing"
	"unsafe"

	"github.com/purebpf/purebpf/prog"
)

// TestHashProbeIndex holds a hash map's machine-probe index (ProbeIndex)
// to the map through every way the map changes: inserts (before and after
// the index exists, through growth), replacements (a plain map's new
// value storage; a per-CPU map's values in place), deletes, lookups and
// deletes, and program updates: the index finds exactly the map's keys,
// at the values LookupRaw returns. LRU maps have none.
func TestHashProbeIndex(t *testing.T) {
	for _, typ := range []prog.MapType{prog.Hash, prog.PerCPUHash} {
		h := mustNew(t, prog.MapSpec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 200}, &Options{CPUs: 2}).(*Hash)
		full := func(v uint64) []byte {
			if typ == prog.PerCPUHash {
				return append(u64(v), u64(v+1)...)
			}
			return u64(v)
		}
		for k := range uint32(10) {
			if err := h.Update(u32(k), full(uint64(k)), prog.UpdateAny); err != nil {
				t.Fatal(err)
			}
		}
		x := h.ProbeIndex()
		if x == nil || h.ProbeIndex() != x {
			t.Fatalf("%v: ProbeIndex %p, then %p", typ, x, h.ProbeIndex())
		}
		check := func(step string) {
			t.Helper()
			for k := range uint32(200) {
				want := h.LookupRaw(u32(k), 0)
				got, ok := x.Probe(u32(k))
				if !ok {
					continue // gave up: the JIT asks Go
				}
				if (want == nil) != (got == nil) || (want != nil && got != unsafe.Pointer(unsafe.SliceData(want))) {
					t.Fatalf("%v, %s: key %d: index %p, map %p", typ, step, k, got, want)
				}
			}
			if x.Len() != h.Len() {
				t.Fatalf("%v, %s: index holds %d keys, map %d", typ, step, x.Len(), h.Len())
			}
		}
		check("built")
		for k := range uint32(150) {
			h.Update(u32(k), full(uint64(k)+100), prog.UpdateAny)
		}
		check("grown and replaced")
		for k := uint32(0); k < 150; k += 3 {
			h.Delete(u32(k))
		}
		check("deleted")
		out := make([]byte, 8*h.CPUs())
		for k := uint32(1); k < 150; k += 3 {
			if err := h.LookupAndDelete(u32(k), out); err != nil {
				t.Fatal(err)
			}
		}
		check("looked up and deleted")
		for k := uint32(0); k < 160; k += 2 {
			h.UpdateRaw(u32(k), u64(7), prog.UpdateAny, 1)
		}
		check("program updates")
	}
	lru := mustNew(t, prog.MapSpec{Type: prog.LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 4}, nil).(*Hash)
	if lru.ProbeIndex() != nil {
		t.Error("an LRU map has a probe index")
	}
}
