//go:build linux

package maps

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

// TestDevMapKernel runs the same random operations on kernel and
// userspace device and CPU maps and wants the same results and errnos.
// Device map entries name the loopback device (ifindex 1) or none (0),
// which exist in both (the kernel refuses other ifindexes it has no
// device for with ENODEV; userspace has no devices and accepts any).
// CPU map keys go past the possible CPUs.
func TestDevMapKernel(t *testing.T) {
	testenv.RequireRoot(t)
	for _, spec := range []prog.MapSpec{
		{Name: "devmap", Type: prog.DevMap, KeySize: 4, ValueSize: 8, MaxEntries: 6},
		{Name: "devmap4", Type: prog.DevMap, KeySize: 4, ValueSize: 4, MaxEntries: 6},
		{Name: "devmap_hash", Type: prog.DevMapHash, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Name: "devmap_hash4", Type: prog.DevMapHash, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		{Name: "cpumap", Type: prog.CPUMap, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Name: "cpumap4", Type: prog.CPUMap, KeySize: 4, ValueSize: 4, MaxEntries: 4},
	} {
		t.Run(spec.Name, func(t *testing.T) {
			km, err := kcreate(spec)
			if err != nil {
				t.Fatalf("kernel create: %v", err)
			}
			defer km.Close()
			um, err := New(spec, &Options{CPUs: possibleCPUs(t)})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(len(spec.Name)), uint64(spec.ValueSize)))
			seen := map[string]int{}
			vs := int(spec.ValueSize)
			ops := 3000
			if spec.Type == prog.CPUMap {
				ops = 400 // each kernel entry starts a kthread: slow
			}
			for i := range ops {
				key := make([]byte, 4)
				binary.NativeEndian.PutUint32(key, uint32(rng.IntN(int(spec.MaxEntries)+3)))
				var op string
				var ke, ue error
				switch rng.IntN(4) {
				case 0, 1:
					op = "update"
					v := make([]byte, vs)
					binary.NativeEndian.PutUint32(v, uint32(rng.IntN(3)&1)) // mostly 0 or 1
					if spec.Type == prog.CPUMap {                           // a queue size
						binary.NativeEndian.PutUint32(v, []uint32{0, 1, 256, 16384, 16385}[rng.IntN(5)])
					}
					if vs == 8 {
						binary.NativeEndian.PutUint32(v[4:], uint32(int32(-rng.IntN(2)))) // no program: fd 0 or -1
					}
					flags := uint64(rng.IntN(4)) // BPF_ANY, NOEXIST, EXIST, and an invalid one
					ke, ue = km.update(key, v, flags), um.Update(key, v, prog.UpdateFlags(flags))
				case 2:
					op = "delete"
					ke, ue = km.delete(key), um.Delete(key)
				case 3:
					op = "lookup"
					kv, uv := make([]byte, vs), make([]byte, vs)
					ke, ue = km.lookup(key, kv), um.Lookup(key, uv)
					if ke == nil && ue == nil && !bytes.Equal(kv, uv) {
						t.Fatalf("op %d: lookup %x: kernel % x, userspace % x", i, key, kv, uv)
					}
				}
				if errnoOf(ke) != errnoOf(ue) {
					t.Fatalf("op %d: %s key %x: kernel %v, userspace %v", i, op, key, ke, ue)
				}
				seen[fmt.Sprintf("%s=%d", op, errnoOf(ke))]++
				if i%100 == 99 {
					if k, u := kernelKeys(t, km), userKeys(t, um); !slices.Equal(k, u) {
						t.Fatalf("op %d: keys: kernel %v, userspace %v", i, k, u)
					}
				}
			}
			t.Logf("outcomes (op=errno: count): %v", seen)
		})
	}
}

// kernelKeys and userKeys walk a map's keys with NextKey, sorted (a
// hash's order is its own), keeping the slots that hold an entry.
func kernelKeys(t *testing.T, m *kmap) []uint32 {
	var out []uint32
	var key []byte
	for range 64 {
		next := make([]byte, 4)
		if err := m.nextKey(key, next); err != nil {
			break
		}
		key = next
		if m.lookup(key, make([]byte, m.spec.ValueSize)) == nil {
			out = append(out, binary.NativeEndian.Uint32(key))
		}
	}
	slices.Sort(out)
	return out
}

func userKeys(t *testing.T, m Map) []uint32 {
	var out []uint32
	var key any
	for range 64 {
		var next uint32
		if err := m.NextKey(key, &next); err != nil {
			break
		}
		key = next
		if m.Lookup(next, make([]byte, m.MapSpec().ValueSize)) == nil {
			out = append(out, next)
		}
	}
	slices.Sort(out)
	return out
}

// TestXSKMapKernel compares what an AF_XDP socket map does without
// sockets in the kernel and in userspace: creation checks, updates whose
// fd is not a socket, lookups, deletes and the key walk.
func TestXSKMapKernel(t *testing.T) {
	testenv.RequireRoot(t)
	for _, spec := range []prog.MapSpec{
		{Type: prog.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		{Type: prog.XSKMap, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Type: prog.XSKMap, KeySize: 8, ValueSize: 4, MaxEntries: 4},
		{Type: prog.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: 0},
		{Type: prog.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnlyProg},
		{Type: prog.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: flagRdOnly},
	} {
		km, kerr := kcreate(spec)
		_, uerr := New(spec, nil)
		if errnoOf(kerr) != errnoOf(uerr) {
			t.Errorf("create %+v: kernel %v, userspace %v", spec, kerr, uerr)
		}
		if kerr == nil {
			km.Close()
		}
	}
	spec := prog.MapSpec{Name: "xsks", Type: prog.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: 4}
	km, err := kcreate(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer km.Close()
	um, err := New(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := func(i uint32) []byte { return binary.NativeEndian.AppendUint32(nil, i) }
	fd := func(v int32) []byte { return binary.NativeEndian.AppendUint32(nil, uint32(v)) }
	for _, c := range []struct {
		what string
		k, u error
	}{
		{"update fd -1", km.update(key(0), fd(-1), 0), um.Update(key(0), fd(-1), 0)},
		{"update fd 9999", km.update(key(1), fd(9999), 0), um.Update(key(1), fd(9999), 0)},
		{"update bad flags", km.update(key(0), fd(-1), 4), um.Update(key(0), fd(-1), 4)},
		{"update out of range", km.update(key(4), fd(-1), 0), um.Update(key(4), fd(-1), 0)},
		{"lookup", km.lookup(key(0), make([]byte, 4)), um.Lookup(key(0), make([]byte, 4))},
		{"delete", km.delete(key(1)), um.Delete(key(1))},
		{"delete out of range", km.delete(key(4)), um.Delete(key(4))},
		{"next key", km.nextKey(key(1), make([]byte, 4)), um.NextKey(key(1), make([]byte, 4))},
		{"next key of last", km.nextKey(key(3), make([]byte, 4)), um.NextKey(key(3), make([]byte, 4))},
		{"lookup and delete", km.lookupAndDelete(key(0), make([]byte, 4)), um.LookupAndDelete(key(0), make([]byte, 4))},
	} {
		if errnoOf(c.k) != errnoOf(c.u) {
			t.Errorf("%s: kernel %v, userspace %v", c.what, c.k, c.u)
		}
		t.Logf("%s: %d", c.what, errnoOf(c.k))
	}
}
