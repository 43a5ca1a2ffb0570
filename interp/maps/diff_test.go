//go:build linux

package maps

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

// TestDifferentialKernel runs the same random operations against a kernel
// map (raw bpf(2)) and a userspace map of the same spec and requires the
// same results and errnos.
func TestDifferentialKernel(t *testing.T) {
	testenv.RequireRoot(t)
	cpus := possibleCPUs(t)
	for _, spec := range []prog.MapSpec{
		{Name: "array", Type: prog.Array, KeySize: 4, ValueSize: 12, MaxEntries: 16},
		{Name: "percpu_array", Type: prog.PerCPUArray, KeySize: 4, ValueSize: 12, MaxEntries: 16},
		{Name: "hash", Type: prog.Hash, KeySize: 4, ValueSize: 12, MaxEntries: 16},
		{Name: "hash_noprealloc", Type: prog.Hash, KeySize: 4, ValueSize: 12, MaxEntries: 16, Flags: flagNoPrealloc},
		{Name: "hash_oddkey", Type: prog.Hash, KeySize: 3, ValueSize: 5, MaxEntries: 8},
		{Name: "percpu_hash", Type: prog.PerCPUHash, KeySize: 4, ValueSize: 12, MaxEntries: 16},
		// LRU maps larger than the key space never evict, so the kernel's
		// approximate LRU and ours must agree exactly, provided every
		// operation runs on one CPU (see the pinning below).
		{Name: "lru_hash", Type: prog.LRUHash, KeySize: 4, ValueSize: 12, MaxEntries: 32},
		{Name: "lru_percpu_hash", Type: prog.LRUPerCPUHash, KeySize: 4, ValueSize: 4, MaxEntries: 32},
		{Name: "queue", Type: prog.Queue, ValueSize: 12, MaxEntries: 8},
		{Name: "stack", Type: prog.Stack, ValueSize: 12, MaxEntries: 8},
	} {
		t.Run(spec.Name, func(t *testing.T) {
			if spec.Type == prog.LRUHash || spec.Type == prog.LRUPerCPUHash {
				// The kernel's LRU hands free nodes to per-CPU local lists
				// in batches of LOCAL_FREE_TARGET (128) before Linux 6.16
				// ("bpf: Adjust free target to avoid global starvation of
				// LRU map" scales it down for small maps). A 32-entry map
				// updated from two CPUs then has every free node on the
				// first CPU's list, and the second CPU evicts live entries
				// although the map is far from full. On one CPU the kernel
				// evicts only when the map is full, on every kernel.
				defer pinCPU0(t)()
			}
			km, err := kcreate(spec)
			if err != nil {
				t.Fatalf("kernel create: %v", err)
			}
			defer km.Close()
			um, err := New(spec, &Options{CPUs: cpus})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			seed := uint64(0)
			for _, c := range spec.Name {
				seed = seed*131 + uint64(c)
			}
			d := &differ{t: t, km: km, um: um, cpus: cpus, rng: rand.New(rand.NewPCG(seed, 1))}
			var want []string
			switch spec.Type {
			case prog.Queue, prog.Stack:
				d.runQueue(4000)
				want = []string{"push=0", "push=7", "push=22", "pop=0", "pop=2", "peek=0", "peek=2", "delete=22", "next key=22"}
			case prog.Array, prog.PerCPUArray:
				d.runKeyed(4000)
				want = []string{"lookup=0", "lookup=2", "update=0", "update=7", "update=17", "update=22", "delete=22", "lookup and delete=524", "next key=0", "next key=2"}
			default:
				d.runKeyed(4000)
				want = []string{"lookup=0", "lookup=2", "update=0", "update=2", "update=17", "update=22", "delete=0", "delete=2", "lookup and delete=0", "lookup and delete=2", "next key of missing=0"}
			}
			t.Logf("outcomes (op=errno: count): %v", d.seen)
			if spec.Type == prog.Hash || spec.Type == prog.PerCPUHash {
				want = append(want, "update=7") // full map
			}
			for _, w := range want {
				if d.seen[w] == 0 {
					t.Errorf("the random sequence never produced %q; the comparison is too weak", w)
				}
			}
		})
	}
}

type differ struct {
	t    *testing.T
	km   *kmap
	um   Map
	cpus int
	rng  *rand.Rand
	step int
	seen map[string]int // "op errno" -> count, to check the coverage
}

func (d *differ) valueSize() int {
	s := d.um.MapSpec()
	if s.Type.PerCPU() {
		return mapvalue.PerCPUSize(int(s.ValueSize), d.cpus)
	}
	return int(s.ValueSize)
}

func (d *differ) randBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(d.rng.UintN(256))
	}
	return b
}

// randValue returns a random value; per-CPU padding bytes are zero, as the
// kernel stores only ValueSize bytes per CPU.
func (d *differ) randValue() []byte {
	s := d.um.MapSpec()
	b := d.randBytes(d.valueSize())
	if s.Type.PerCPU() {
		st := mapvalue.PerCPUStride(int(s.ValueSize))
		for c := 0; c < d.cpus; c++ {
			clear(b[c*st+int(s.ValueSize) : (c+1)*st])
		}
	}
	return b
}

func (d *differ) randKey() []byte {
	s := d.um.MapSpec()
	k := make([]byte, s.KeySize)
	// A small key space (0..23) so keys repeat, and array indexes fall
	// both in and out of range.
	v := d.rng.UintN(24)
	if s.KeySize >= 4 {
		binary.NativeEndian.PutUint32(k, uint32(v))
	} else {
		k[0] = byte(v)
	}
	return k
}

func (d *differ) randFlags() prog.UpdateFlags {
	return []prog.UpdateFlags{0, 0, 0, 1, 1, 2, 2, 3, 4, 8, 16}[d.rng.IntN(11)]
}

func (d *differ) same(op string, kerr, uerr error) bool {
	d.t.Helper()
	ke, ue := errnoOf(kerr), errnoOf(uerr)
	if d.seen == nil {
		d.seen = map[string]int{}
	}
	d.seen[fmt.Sprintf("%s=%d", opName(op), ke)]++
	if ke != ue {
		d.t.Fatalf("step %d %s: kernel errno %d (%v), userspace errno %d (%v)", d.step, op, ke, kerr, ue, uerr)
	}
	return kerr == nil
}

func (d *differ) runKeyed(n int) {
	s := d.um.MapSpec()
	isHash := !(s.Type == prog.Array || s.Type == prog.PerCPUArray)
	for d.step = 0; d.step < n; d.step++ {
		k := d.randKey()
		switch op := d.rng.IntN(10); op {
		case 0, 1:
			kv, uv := make([]byte, d.valueSize()), make([]byte, d.valueSize())
			if d.same(fmt.Sprintf("lookup %x", k), d.km.lookup(k, kv), d.um.Lookup(k, uv)) && !bytes.Equal(kv, uv) {
				d.t.Fatalf("step %d lookup %x: kernel %x, userspace %x", d.step, k, kv, uv)
			}
		case 2, 3, 4, 5:
			v, f := d.randValue(), d.randFlags()
			d.same(fmt.Sprintf("update %x flags %d", k, f), d.km.update(k, v, uint64(f)), d.um.Update(k, v, f))
		case 6:
			d.same(fmt.Sprintf("delete %x", k), d.km.delete(k), d.um.Delete(k))
		case 7:
			kv, uv := make([]byte, d.valueSize()), make([]byte, d.valueSize())
			if d.same(fmt.Sprintf("lookup and delete %x", k), d.km.lookupAndDelete(k, kv), d.um.LookupAndDelete(k, uv)) && !bytes.Equal(kv, uv) {
				d.t.Fatalf("step %d lookup and delete %x: kernel %x, userspace %x", d.step, k, kv, uv)
			}
		case 8:
			if d.rng.IntN(4) == 0 {
				k = nil
			}
			kn, un := make([]byte, s.KeySize), make([]byte, s.KeySize)
			var uk any = k
			if k == nil {
				uk = nil
			}
			kerr, uerr := d.km.nextKey(k, kn), d.um.NextKey(uk, un)
			if !isHash {
				if d.same(fmt.Sprintf("next key %x", k), kerr, uerr) && !bytes.Equal(kn, un) {
					d.t.Fatalf("step %d next key %x: kernel %x, userspace %x", d.step, k, kn, un)
				}
				continue
			}
			// Hash orders differ; a nil or missing key must give some
			// existing key on both sides, or ENOENT on both when empty.
			probe := make([]byte, d.valueSize())
			if k == nil || d.km.lookup(k, probe) != nil {
				if d.same(fmt.Sprintf("next key of missing %x", k), kerr, uerr) {
					if err := d.um.Lookup(un, probe); err != nil {
						d.t.Fatalf("step %d next key %x gave %x, which does not exist: %v", d.step, k, un, err)
					}
				}
			}
		case 9:
			d.compareAll()
		}
	}
	d.compareAll()
}

// compareAll walks both maps with NextKey and compares keys and values.
func (d *differ) compareAll() {
	s := d.um.MapSpec()
	walk := func(next func(k, out []byte) error, lookup func(k, v []byte) error) map[string][]byte {
		m := map[string][]byte{}
		var k []byte
		for i := 0; ; i++ {
			out := make([]byte, s.KeySize)
			if err := next(k, out); err != nil {
				if errnoOf(err) != 2 {
					d.t.Fatalf("step %d walk: %v", d.step, err)
				}
				break
			}
			if i > int(s.MaxEntries)+1 {
				d.t.Fatalf("step %d walk does not end", d.step)
			}
			v := make([]byte, d.valueSize())
			if err := lookup(out, v); err != nil {
				d.t.Fatalf("step %d walk lookup %x: %v", d.step, out, err)
			}
			m[string(out)] = v
			k = out
		}
		return m
	}
	km := walk(d.km.nextKey, d.km.lookup)
	um := walk(func(k, out []byte) error {
		if k == nil {
			return d.um.NextKey(nil, out)
		}
		return d.um.NextKey(k, out)
	}, func(k, v []byte) error { return d.um.Lookup(k, v) })
	if len(km) != len(um) {
		d.t.Fatalf("step %d: kernel has %d keys, userspace %d", d.step, len(km), len(um))
	}
	for k, kv := range km {
		if uv, ok := um[k]; !ok || !bytes.Equal(kv, uv) {
			d.t.Fatalf("step %d key %x: kernel %x, userspace %x (present %v)", d.step, k, kv, uv, ok)
		}
	}
}

func (d *differ) runQueue(n int) {
	for d.step = 0; d.step < n; d.step++ {
		switch op := d.rng.IntN(8); op {
		case 0, 1, 2:
			v := d.randValue()
			f := []prog.UpdateFlags{0, 0, 2, 2, 1, 3, 4}[d.rng.IntN(7)]
			d.same(fmt.Sprintf("push flags %d", f), d.km.update(nil, v, uint64(f)), d.um.Update(nil, v, f))
		case 3, 4:
			kv, uv := make([]byte, d.valueSize()), make([]byte, d.valueSize())
			if d.same("pop", d.km.lookupAndDelete(nil, kv), d.um.LookupAndDelete(nil, uv)) && !bytes.Equal(kv, uv) {
				d.t.Fatalf("step %d pop: kernel %x, userspace %x", d.step, kv, uv)
			}
		case 5:
			kv, uv := make([]byte, d.valueSize()), make([]byte, d.valueSize())
			if d.same("peek", d.km.lookup(nil, kv), d.um.Lookup(nil, uv)) && !bytes.Equal(kv, uv) {
				d.t.Fatalf("step %d peek: kernel %x, userspace %x", d.step, kv, uv)
			}
		case 6:
			d.same("delete", d.km.delete(nil), d.um.Delete(nil))
		case 7:
			d.same("next key", d.km.nextKey(nil, nil), d.um.NextKey(nil, nil))
		}
	}
	// Drain both and compare the order.
	var korder, uorder [][]byte
	for {
		kv, uv := make([]byte, d.valueSize()), make([]byte, d.valueSize())
		if !d.same("drain pop", d.km.lookupAndDelete(nil, kv), d.um.LookupAndDelete(nil, uv)) {
			break
		}
		korder, uorder = append(korder, kv), append(uorder, uv)
	}
	if !slices.EqualFunc(korder, uorder, bytes.Equal) {
		d.t.Fatalf("drain order: kernel %x, userspace %x", korder, uorder)
	}
}

// opName drops the key and flags from an operation's description.
func opName(op string) string {
	op, _, _ = strings.Cut(op, " flags")
	var words []string
	for _, w := range strings.Fields(op) {
		if strings.ContainsAny(w, "0123456789") && strings.Trim(w, "0123456789abcdef") == "" {
			continue
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}
