//go:build linux

package maps

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

// TestDifferentialCreate creates each spec in the kernel and with New and
// requires the same errno (map_alloc_check and friends).
func TestDifferentialCreate(t *testing.T) {
	testenv.RequireRoot(t)
	cpus := possibleCPUs(t)
	for _, spec := range []prog.MapSpec{
		{Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		{Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: 0},
		{Type: prog.Array, KeySize: 8, ValueSize: 4, MaxEntries: 4},
		{Type: prog.Array, KeySize: 4, ValueSize: 0, MaxEntries: 4},
		{Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagPreserveElem},
		{Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagMmapable},
		{Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNoPrealloc},
		{Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnly | flagWrOnly},
		{Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnlyProg | flagWrOnlyProg},
		{Type: prog.Array, KeySize: 4, ValueSize: 4<<20 + 1, MaxEntries: 1},
		{Type: prog.Array, KeySize: 4, ValueSize: 1 << 31, MaxEntries: 1},
		{Type: prog.PerCPUArray, KeySize: 4, ValueSize: 32768, MaxEntries: 4},
		{Type: prog.PerCPUArray, KeySize: 4, ValueSize: 32767, MaxEntries: 4},
		{Type: prog.PerCPUArray, KeySize: 4, ValueSize: 32769, MaxEntries: 4},
		{Type: prog.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 4, Flags: flagMmapable},
		{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		{Type: prog.Hash, KeySize: 0, ValueSize: 4, MaxEntries: 4},
		{Type: prog.Hash, KeySize: 4, ValueSize: 0, MaxEntries: 4},
		{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 0},
		{Type: prog.Hash, KeySize: 513, ValueSize: 4, MaxEntries: 4},
		{Type: prog.Hash, KeySize: 1 << 23, ValueSize: 4, MaxEntries: 4},
		{Type: prog.Hash, KeySize: 4, ValueSize: 4194252, MaxEntries: 1},
		{Type: prog.Hash, KeySize: 4, ValueSize: 4194251, MaxEntries: 1},
		{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNoPrealloc | flagZeroSeed},
		{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNoCommonLRU},
		{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagMmapable},
		{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagPreserveElem},
		{Type: prog.PerCPUHash, KeySize: 4, ValueSize: 32768, MaxEntries: 1},
		{Type: prog.PerCPUHash, KeySize: 4, ValueSize: 32769, MaxEntries: 1},
		{Type: prog.LRUHash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNoCommonLRU},
		{Type: prog.LRUHash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNoPrealloc},
		{Type: prog.LRUPerCPUHash, KeySize: 4, ValueSize: 4, MaxEntries: 0},
		{Type: prog.Queue, ValueSize: 4, MaxEntries: 4},
		{Type: prog.Queue, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		{Type: prog.Stack, ValueSize: 0, MaxEntries: 4},
		{Type: prog.Stack, ValueSize: 4, MaxEntries: 0},
		{Type: prog.Queue, ValueSize: 4 << 20, MaxEntries: 1},
		{Type: prog.Queue, ValueSize: 4<<20 + 1, MaxEntries: 1},
		{Type: prog.Queue, ValueSize: 4, MaxEntries: 4, Flags: flagNoPrealloc},
		{Type: prog.RingBuf, MaxEntries: 4096},
		{Type: prog.RingBuf, MaxEntries: 4096 * 4},
		{Type: prog.RingBuf, MaxEntries: 4096 * 3},
		{Type: prog.RingBuf, MaxEntries: 2048},
		{Type: prog.RingBuf, MaxEntries: 0},
		{Type: prog.RingBuf, KeySize: 4, MaxEntries: 4096},
		{Type: prog.RingBuf, ValueSize: 4, MaxEntries: 4096},
		{Type: prog.RingBuf, MaxEntries: 4096, Flags: flagNoPrealloc},
		{Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		{Type: prog.ProgArray, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagPreserveElem},
		{Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnlyProg},
		{Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		{Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagPreserveElem},
		{Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagMmapable},
		{Type: prog.PerfEventArray, KeySize: 2, ValueSize: 4, MaxEntries: 4},
		{Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 0},
		// BPF_F_NUMA_NODE with numa_node 0.
		{Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNUMANode},
		{Type: prog.PerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNUMANode},
		{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNUMANode},
		{Type: prog.PerCPUHash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNUMANode},
		{Type: prog.LRUPerCPUHash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNUMANode},
		{Type: prog.LRUHash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNUMANode},
		{Type: prog.Queue, ValueSize: 4, MaxEntries: 4, Flags: flagNUMANode},
		{Type: prog.RingBuf, MaxEntries: 4096, Flags: flagNUMANode},
		{Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNUMANode},
		{Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagNUMANode},
		// Access flags.
		{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnly},
		{Type: prog.Queue, ValueSize: 4, MaxEntries: 4, Flags: flagWrOnlyProg},
		{Type: prog.RingBuf, MaxEntries: 4096, Flags: flagRdOnly},
		{Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnly},
	} {
		km, kerr := kcreate(spec)
		if km != nil {
			km.Close()
		}
		_, uerr := New(spec, &Options{CPUs: cpus})
		if errnoOf(kerr) != errnoOf(uerr) {
			t.Errorf("create %+v: kernel %v, userspace %v", spec, kerr, uerr)
		}
	}
}

// TestDifferentialFDArrays compares the user-space view of empty program
// and perf event arrays, and of ring buffers, with the kernel's.
func TestDifferentialFDArrays(t *testing.T) {
	testenv.RequireRoot(t)
	key := func(i uint32) []byte { return binary.NativeEndian.AppendUint32(nil, i) }
	for _, spec := range []prog.MapSpec{
		{Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		{Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		{Type: prog.RingBuf, MaxEntries: 4096},
	} {
		km, err := kcreate(spec)
		if err != nil {
			t.Fatalf("kernel create %s: %v", spec.Type, err)
		}
		um, err := New(spec, nil)
		if err != nil {
			t.Fatalf("New %s: %v", spec.Type, err)
		}
		vs := 4
		if spec.Type == prog.RingBuf {
			vs = 0
		}
		v := make([]byte, vs)
		badFD := binary.NativeEndian.AppendUint32(nil, 1<<30)
		if vs == 0 {
			badFD = nil
		}
		var ks, us []byte
		if spec.KeySize == 4 {
			ks, us = key(1), key(1)
		}
		type op struct {
			name string
			k, u error
		}
		ops := []op{}
		for _, i := range []uint32{1, 9} {
			k := key(i)
			if spec.KeySize == 0 {
				k = nil
			}
			ops = append(ops,
				op{fmt.Sprint("lookup ", i), km.lookup(k, v), um.Lookup(k, v)},
				op{fmt.Sprint("update bad fd ", i), km.update(k, badFD, 0), um.Update(k, badFD, 0)},
				op{fmt.Sprint("update flags 1 ", i), km.update(k, badFD, 1), um.Update(k, badFD, 1)},
				op{fmt.Sprint("update flags 8 ", i), km.update(k, badFD, 8), um.Update(k, badFD, 8)},
				op{fmt.Sprint("delete ", i), km.delete(k), um.Delete(k)},
				op{fmt.Sprint("lookup and delete ", i), km.lookupAndDelete(k, v), um.LookupAndDelete(k, v)},
			)
		}
		ops = append(ops, op{"next key", km.nextKey(ks, ks), um.NextKey(us, us)})
		for _, o := range ops {
			if errnoOf(o.k) != errnoOf(o.u) {
				t.Errorf("%s %s: kernel %v, userspace %v", spec.Type, o.name, o.k, o.u)
			}
		}
		if string(ks) != string(us) {
			t.Errorf("%s next key: kernel %x, userspace %x", spec.Type, ks, us)
		}
		km.Close()
	}
}

// TestDifferentialNoKey checks that maps without keys reject a key pointer
// as the kernel does (EINVAL from __bpf_copy_key).
func TestDifferentialNoKey(t *testing.T) {
	testenv.RequireRoot(t)
	for _, spec := range []prog.MapSpec{
		{Type: prog.Queue, ValueSize: 4, MaxEntries: 4},
		{Type: prog.Stack, ValueSize: 4, MaxEntries: 4},
		{Type: prog.RingBuf, MaxEntries: 4096},
	} {
		km, err := kcreate(spec)
		if err != nil {
			t.Fatalf("kernel create %s: %v", spec.Type, err)
		}
		um, err := New(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		k, v := []byte{1, 2, 3, 4}, make([]byte, 4)
		for _, o := range []struct {
			name string
			k, u error
		}{
			{"lookup", km.lookup(k, v), um.Lookup(k, v)},
			{"update", km.update(k, v, 0), um.Update(k, v, 0)},
			{"lookup and delete", km.lookupAndDelete(k, v), um.LookupAndDelete(k, v)},
		} {
			if errnoOf(o.k) != errnoOf(o.u) || o.k == nil {
				t.Errorf("%s %s with a key: kernel %v, userspace %v", spec.Type, o.name, o.k, o.u)
			}
		}
		km.Close()
	}
}

// TestDifferentialAccessFlags compares user-space operations on
// BPF_F_RDONLY and BPF_F_WRONLY maps with the kernel's.
func TestDifferentialAccessFlags(t *testing.T) {
	testenv.RequireRoot(t)
	for _, spec := range []prog.MapSpec{
		{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnly},
		{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagWrOnly},
		{Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnly},
		{Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagWrOnly},
		{Type: prog.Queue, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnly},
		{Type: prog.Queue, ValueSize: 4, MaxEntries: 4, Flags: flagWrOnly},
		{Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnly},
		{Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagWrOnly},
		{Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnly},
		{Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagWrOnly},
	} {
		km, err := kcreate(spec)
		if err != nil {
			t.Fatalf("kernel create %+v: %v", spec, err)
		}
		um, err := New(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		var k []byte
		if spec.KeySize == 4 {
			k = []byte{1, 0, 0, 0}
		}
		v := []byte{1, 2, 3, 4}
		kv, uv := make([]byte, 4), make([]byte, 4)
		for _, o := range []struct {
			name string
			k, u error
		}{
			{"update", km.update(k, v, 0), um.Update(k, v, 0)},
			{"lookup", km.lookup(k, kv), um.Lookup(k, uv)},
			{"delete", km.delete(k), um.Delete(k)},
			{"lookup and delete", km.lookupAndDelete(k, kv), um.LookupAndDelete(k, uv)},
		} {
			if errnoOf(o.k) != errnoOf(o.u) {
				t.Errorf("%s flags %#x %s: kernel %v, userspace %v", spec.Type, spec.Flags, o.name, o.k, o.u)
			}
		}
		if spec.KeySize == 4 {
			kn, un := make([]byte, 4), make([]byte, 4)
			if ke, ue := km.nextKey(nil, kn), um.NextKey(nil, un); errnoOf(ke) != errnoOf(ue) {
				t.Errorf("%s flags %#x next key: kernel %v, userspace %v", spec.Type, spec.Flags, ke, ue)
			}
		}
		km.Close()
	}
}
