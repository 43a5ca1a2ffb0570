package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/prog"
)

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

func mustNew(t testing.TB, spec prog.MapSpec, opts *Options) Map {
	t.Helper()
	m, err := New(spec, opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", spec, err)
	}
	return m
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("%s: %v, want success", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s: %v, want %v", what, err, want)
	}
}

func TestNewValidation(t *testing.T) {
	for _, tc := range []struct {
		spec  prog.MapSpec
		want  error
		field string
	}{
		{prog.MapSpec{Type: prog.Hash, KeySize: 0, ValueSize: 4, MaxEntries: 1}, syscall.EINVAL, "key_size"},
		{prog.MapSpec{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 0}, syscall.EINVAL, "max_entries"},
		{prog.MapSpec{Type: prog.Array, KeySize: 8, ValueSize: 4, MaxEntries: 1}, syscall.EINVAL, "key_size"},
		{prog.MapSpec{Type: prog.Array, KeySize: 4, ValueSize: 0, MaxEntries: 1}, syscall.EINVAL, "value_size"},
		{prog.MapSpec{Type: prog.RingBuf, MaxEntries: 4096 * 3}, syscall.EINVAL, "max_entries"},
		{prog.MapSpec{Type: prog.RingBuf, KeySize: 4, MaxEntries: 4096}, syscall.EINVAL, "key_size"},
		{prog.MapSpec{Type: prog.Queue, KeySize: 4, ValueSize: 4, MaxEntries: 1}, syscall.EINVAL, "key_size"},
		{prog.MapSpec{Type: prog.PerfEventArray, KeySize: 4, ValueSize: 8, MaxEntries: 1}, syscall.EINVAL, "value_size"},
		{prog.MapSpec{Type: prog.ProgArray, KeySize: 2, ValueSize: 4, MaxEntries: 1}, syscall.EINVAL, "key_size"},
		{prog.MapSpec{Type: prog.PerCPUArray, KeySize: 4, ValueSize: 32769, MaxEntries: 1}, syscall.E2BIG, "value_size"},
		{prog.MapSpec{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1, Flags: 1 << 20}, syscall.EINVAL, "flags"},
		{prog.MapSpec{Type: prog.LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 1}, ErrNotSupported, "lpm_trie"},
	} {
		_, err := New(tc.spec, nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("New(%+v) = %v, want %v", tc.spec, err, tc.want)
			continue
		}
		if !bytes.Contains([]byte(err.Error()), []byte(tc.field)) {
			t.Errorf("New(%+v) = %q, does not name %q", tc.spec, err, tc.field)
		}
	}
}

func TestArray(t *testing.T) {
	m := mustNew(t, prog.MapSpec{Name: "a", Type: prog.Array, KeySize: 4, ValueSize: 12, MaxEntries: 4}, nil)
	a := m.(*Array)
	var v [3]uint32
	wantErr(t, "lookup zero", a.Lookup(uint32(2), &v), nil)
	if v != [3]uint32{} {
		t.Errorf("new array element = %v, want zero", v)
	}
	wantErr(t, "update", a.Update(uint32(2), [3]uint32{1, 2, 3}, prog.UpdateAny), nil)
	wantErr(t, "update exist", a.Update(uint32(2), [3]uint32{4, 5, 6}, prog.UpdateExist), nil)
	wantErr(t, "update noexist", a.Update(uint32(2), [3]uint32{7, 8, 9}, prog.UpdateNoExist), prog.ErrKeyExist)
	wantErr(t, "update out of range", a.Update(uint32(4), [3]uint32{}, prog.UpdateAny), syscall.E2BIG)
	wantErr(t, "update flags 3", a.Update(uint32(1), [3]uint32{}, 3), syscall.EINVAL)
	wantErr(t, "update lock", a.Update(uint32(1), [3]uint32{}, prog.UpdateLock), syscall.EINVAL)
	wantErr(t, "lookup", a.Lookup(uint32(2), &v), nil)
	if v != [3]uint32{4, 5, 6} {
		t.Errorf("lookup = %v, want [4 5 6]", v)
	}
	wantErr(t, "lookup out of range", a.Lookup(uint32(4), &v), prog.ErrKeyNotExist)
	wantErr(t, "lookup out of range errno", a.Lookup(uint32(4), &v), syscall.ENOENT)
	wantErr(t, "delete", a.Delete(uint32(1)), syscall.EINVAL)
	wantErr(t, "lookup and delete", a.LookupAndDelete(uint32(1), &v), ENOTSUPP)
	wantErr(t, "short key", a.Lookup(uint16(1), &v), mapvalue.ErrSize)
	wantErr(t, "short value", a.Lookup(uint32(1), new(uint64)), mapvalue.ErrSize)
	wantErr(t, "long value", a.Update(uint32(1), make([]byte, 13), 0), mapvalue.ErrSize)

	// NextKey walks 0..3 in order; a missing key restarts at 0.
	var got []uint32
	var k any
	for {
		var next uint32
		err := a.NextKey(k, &next)
		if errors.Is(err, prog.ErrKeyNotExist) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, next)
		k = next
	}
	if !slices.Equal(got, []uint32{0, 1, 2, 3}) {
		t.Errorf("NextKey walk = %v", got)
	}
	var next uint32
	wantErr(t, "next of missing", a.NextKey(uint32(99), &next), nil)
	if next != 0 {
		t.Errorf("NextKey(99) = %d, want 0", next)
	}

	// Raw access aliases Storage, which never moves.
	st := a.Storage(0)
	if len(st) != 4*16 || a.ElemSize() != 16 {
		t.Fatalf("storage %d bytes, elem %d; want 64, 16", len(st), a.ElemSize())
	}
	p := a.LookupRaw(u32(2), 0)
	if len(p) != 12 || &p[0] != &st[32] {
		t.Fatalf("LookupRaw does not alias element 2 of Storage")
	}
	wantErr(t, "raw update", a.UpdateRaw(u32(3), bytes.Repeat([]byte{9}, 12), 0, 0), nil)
	if !bytes.Equal(st[48:60], bytes.Repeat([]byte{9}, 12)) {
		t.Errorf("UpdateRaw did not write Storage: %x", st[48:64])
	}
	if a.LookupRaw(u32(4), 0) != nil || a.LookupRaw([]byte{1}, 0) != nil {
		t.Error("LookupRaw out of range or with a short key is not nil")
	}
	if &a.Storage(0)[0] != &st[0] {
		t.Error("Storage moved")
	}
	wantErr(t, "raw delete", a.DeleteRaw(u32(0)), syscall.EINVAL)
}

func TestPerCPUArray(t *testing.T) {
	const cpus = 3
	a := mustNew(t, prog.MapSpec{Type: prog.PerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, &Options{CPUs: cpus}).(*Array)
	wantErr(t, "update", a.Update(uint32(1), []uint32{10, 20, 30}, 0), nil)
	for c := 0; c < cpus; c++ {
		p := a.LookupRaw(u32(1), c)
		if got := binary.NativeEndian.Uint32(p); got != uint32(10*(c+1)) {
			t.Errorf("cpu %d raw = %d, want %d", c, got, 10*(c+1))
		}
	}
	wantErr(t, "raw update cpu 1", a.UpdateRaw(u32(1), u32(99), 0, 1), nil)
	out := make([]uint32, cpus)
	wantErr(t, "lookup", a.Lookup(uint32(1), out), nil)
	if !slices.Equal(out, []uint32{10, 99, 30}) {
		t.Errorf("lookup = %v, want [10 99 30]", out)
	}
	raw := make([]byte, cpus*8)
	wantErr(t, "lookup raw layout", a.Lookup(uint32(1), raw), nil)
	if binary.NativeEndian.Uint32(raw[8:]) != 99 || binary.NativeEndian.Uint32(raw[12:]) != 0 {
		t.Errorf("per-CPU layout = %x", raw)
	}
	wantErr(t, "wrong cpu count", a.Lookup(uint32(1), make([]uint32, 2)), mapvalue.ErrSize)
	wantErr(t, "raw update bad cpu", a.UpdateRaw(u32(1), u32(1), 0, cpus), syscall.EINVAL)
	if a.LookupRaw(u32(0), cpus) != nil || a.Storage(cpus) != nil {
		t.Error("cpu out of range gives storage")
	}
}

func TestHash(t *testing.T) {
	h := mustNew(t, prog.MapSpec{Name: "h", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 3}, nil).(*Hash)
	for _, tc := range []struct {
		key   uint32
		flags prog.UpdateFlags
		want  error
	}{
		{1, prog.UpdateExist, prog.ErrKeyNotExist},
		{1, prog.UpdateNoExist, nil},
		{1, prog.UpdateNoExist, prog.ErrKeyExist},
		{1, prog.UpdateExist, nil},
		{2, prog.UpdateAny, nil},
		{3, prog.UpdateAny, nil},
		{4, prog.UpdateAny, syscall.E2BIG}, // full
		{3, prog.UpdateAny, nil},           // replacing works when full
		{4, 3, syscall.EINVAL},
		{4, prog.UpdateLock, syscall.EINVAL},
	} {
		wantErr(t, "update", h.Update(tc.key, uint64(tc.key)*100+uint64(tc.flags), tc.flags), tc.want)
	}
	var v uint64
	wantErr(t, "lookup", h.Lookup(uint32(1), &v), nil)
	if v != 102 {
		t.Errorf("lookup 1 = %d, want 102", v)
	}
	wantErr(t, "lookup missing", h.Lookup(uint32(9), &v), prog.ErrKeyNotExist)
	wantErr(t, "delete missing", h.Delete(uint32(9)), syscall.ENOENT)
	wantErr(t, "key size", h.Lookup(uint64(1), &v), mapvalue.ErrSize)

	// A replaced or deleted value stays readable through an old raw slice.
	old := h.LookupRaw(u32(2), 0)
	wantErr(t, "raw update", h.UpdateRaw(u32(2), u64(7), prog.UpdateExist, 0), nil)
	if binary.NativeEndian.Uint64(old) != 200 {
		t.Errorf("old value slice changed to %d", binary.NativeEndian.Uint64(old))
	}
	if got := binary.NativeEndian.Uint64(h.LookupRaw(u32(2), 0)); got != 7 {
		t.Errorf("new value = %d, want 7", got)
	}
	cur := h.LookupRaw(u32(2), 0)
	wantErr(t, "lookup and delete", h.LookupAndDelete(uint32(2), &v), nil)
	if v != 7 || binary.NativeEndian.Uint64(cur) != 7 {
		t.Errorf("lookup and delete = %d, detached slice %d; want 7, 7", v, binary.NativeEndian.Uint64(cur))
	}
	wantErr(t, "lookup deleted", h.Lookup(uint32(2), &v), prog.ErrKeyNotExist)
	wantErr(t, "raw delete missing", h.DeleteRaw(u32(2)), prog.ErrKeyNotExist)

	// NextKey visits every key once; a missing key restarts at the first.
	wantErr(t, "update", h.Update(uint32(5), uint64(5), 0), nil)
	seen := map[uint32]bool{}
	var k any
	for {
		var next uint32
		err := h.NextKey(k, &next)
		if errors.Is(err, prog.ErrKeyNotExist) {
			break
		}
		if err != nil || seen[next] {
			t.Fatalf("NextKey(%v) = %d, %v (seen %v)", k, next, err, seen)
		}
		seen[next] = true
		k = next
	}
	if len(seen) != 3 || !seen[1] || !seen[3] || !seen[5] {
		t.Errorf("NextKey walk = %v, want 1 3 5", seen)
	}
	var first, fromMissing uint32
	wantErr(t, "first", h.NextKey(nil, &first), nil)
	wantErr(t, "next of missing", h.NextKey(uint32(77), &fromMissing), nil)
	if first != fromMissing {
		t.Errorf("NextKey(missing) = %d, first key %d", fromMissing, first)
	}
}

func TestPerCPUHashRaw(t *testing.T) {
	const cpus = 2
	h := mustNew(t, prog.MapSpec{Type: prog.PerCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 4}, &Options{CPUs: cpus}).(*Hash)
	// A program's update of a new key sets its CPU and zeroes the others.
	wantErr(t, "raw update", h.UpdateRaw(u32(1), u64(5), 0, 1), nil)
	out := make([]uint64, cpus)
	wantErr(t, "lookup", h.Lookup(uint32(1), out), nil)
	if !slices.Equal(out, []uint64{0, 5}) {
		t.Errorf("lookup = %v, want [0 5]", out)
	}
	wantErr(t, "update", h.Update(uint32(1), []uint64{3, 4}, 0), nil)
	wantErr(t, "raw update cpu 0", h.UpdateRaw(u32(1), u64(8), prog.UpdateExist, 0), nil)
	wantErr(t, "lookup and delete", h.LookupAndDelete(uint32(1), out), nil)
	if !slices.Equal(out, []uint64{8, 4}) {
		t.Errorf("lookup and delete = %v, want [8 4]", out)
	}
	wantErr(t, "raw update bad cpu", h.UpdateRaw(u32(1), u64(8), 0, cpus), syscall.EINVAL)
}

func TestLRUEviction(t *testing.T) {
	h := mustNew(t, prog.MapSpec{Type: prog.LRUHash, KeySize: 4, ValueSize: 4, MaxEntries: 3}, nil).(*Hash)
	for k := uint32(1); k <= 3; k++ {
		wantErr(t, "insert", h.UpdateRaw(u32(k), u32(k), 0, 0), nil)
	}
	// Use 1 from a program: 2 becomes the least recently used.
	if h.LookupRaw(u32(1), 0) == nil {
		t.Fatal("key 1 missing")
	}
	// A user-space lookup of 2 does not count as a use (as in the kernel).
	var v uint32
	wantErr(t, "user lookup", h.Lookup(uint32(2), &v), nil)
	wantErr(t, "insert 4", h.Update(uint32(4), uint32(4), 0), nil)
	present := func(k uint32) bool { return h.LookupRaw(u32(k), 0) != nil }
	if present(2) {
		t.Error("key 2 (least recently used) was not evicted")
	}
	// Order of use now: 3 (oldest), 1, 4, then the lookups above touched
	// 2 (missing) only. Updating 3 refreshes it, so 1 goes next.
	wantErr(t, "update 3", h.Update(uint32(3), uint32(33), prog.UpdateExist), nil)
	wantErr(t, "insert 5", h.Update(uint32(5), uint32(5), prog.UpdateNoExist), nil)
	for k, want := range map[uint32]bool{1: false, 3: true, 4: true, 5: true} {
		if present(k) != want {
			t.Errorf("key %d present = %v, want %v", k, !want, want)
		}
	}
	if h.Len() != 3 {
		t.Errorf("Len = %d, want 3", h.Len())
	}
	// UpdateExist of an evicted key still fails.
	wantErr(t, "update evicted", h.Update(uint32(1), uint32(1), prog.UpdateExist), prog.ErrKeyNotExist)
}

func TestLRUPerCPU(t *testing.T) {
	h := mustNew(t, prog.MapSpec{Type: prog.LRUPerCPUHash, KeySize: 4, ValueSize: 4, MaxEntries: 2}, &Options{CPUs: 2}).(*Hash)
	for k := uint32(1); k <= 3; k++ {
		wantErr(t, "insert", h.Update(k, []uint32{k, k * 10}, 0), nil)
	}
	out := make([]uint32, 2)
	wantErr(t, "evicted", h.Lookup(uint32(1), out), prog.ErrKeyNotExist)
	wantErr(t, "kept", h.Lookup(uint32(3), out), nil)
	if !slices.Equal(out, []uint32{3, 30}) {
		t.Errorf("lookup = %v", out)
	}
}

func TestQueueStack(t *testing.T) {
	for _, typ := range []prog.MapType{prog.Queue, prog.Stack} {
		q := mustNew(t, prog.MapSpec{Type: typ, ValueSize: 4, MaxEntries: 3}, nil).(*Queue)
		out := make([]byte, 4)
		wantErr(t, typ.String()+" pop empty", q.PopRaw(out), prog.ErrKeyNotExist)
		wantErr(t, typ.String()+" peek empty", q.Lookup(nil, out), syscall.ENOENT)
		for v := uint32(1); v <= 3; v++ {
			wantErr(t, typ.String()+" push", q.PushRaw(u32(v), 0), nil)
		}
		wantErr(t, typ.String()+" push full", q.PushRaw(u32(4), prog.UpdateAny), syscall.E2BIG)
		wantErr(t, typ.String()+" push noexist", q.PushRaw(u32(4), prog.UpdateNoExist), syscall.EINVAL)
		// BPF_EXIST drops the oldest element (1) to make room.
		wantErr(t, typ.String()+" push exist", q.Update(nil, uint32(4), prog.UpdateExist), nil)
		want := []uint32{2, 3, 4}
		if typ == prog.Stack {
			want = []uint32{4, 3, 2}
		}
		wantErr(t, typ.String()+" peek", q.PeekRaw(out), nil)
		if binary.NativeEndian.Uint32(out) != want[0] || q.Len() != 3 {
			t.Errorf("%s peek = %d (len %d), want %d", typ, binary.NativeEndian.Uint32(out), q.Len(), want[0])
		}
		var got []uint32
		for {
			var v uint32
			if err := q.LookupAndDelete(nil, &v); err != nil {
				wantErr(t, typ.String()+" drained", err, prog.ErrKeyNotExist)
				break
			}
			got = append(got, v)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s order = %v, want %v", typ, got, want)
		}
		wantErr(t, typ.String()+" delete", q.Delete(nil), syscall.EINVAL)
		wantErr(t, typ.String()+" next key", q.NextKey(nil, out), syscall.EINVAL)
		wantErr(t, typ.String()+" key", q.Update(uint32(1), uint32(1), 0), syscall.EINVAL)
		wantErr(t, typ.String()+" value size", q.PushRaw(make([]byte, 3), 0), mapvalue.ErrSize)
		if q.LookupRaw(nil, 0) != nil {
			t.Errorf("%s LookupRaw not nil", typ)
		}
	}
}

func TestRingBuf(t *testing.T) {
	r := mustNew(t, prog.MapSpec{Type: prog.RingBuf, MaxEntries: 4096}, nil).(*RingBuf)
	a, err := r.Reserve(5)
	if err != nil || len(a) != 5 {
		t.Fatalf("Reserve(5) = %d bytes, %v", len(a), err)
	}
	b, err := r.Reserve(16)
	if err != nil {
		t.Fatal(err)
	}
	copy(a, "hello")
	copy(b, "0123456789abcdef")
	// Records are 8-byte header + data rounded to 8: 16 and 24 bytes.
	if got := r.Query(RingbufAvailData); got != 16+24 {
		t.Errorf("avail = %d, want 40", got)
	}
	wantErr(t, "submit b", r.Submit(b), nil)
	// a is still reserved, so the reader sees nothing yet.
	if _, err := r.Read(); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("read before a is submitted: %v", err)
	}
	wantErr(t, "discard a", r.Discard(a), nil)
	wantErr(t, "submit a twice", r.Submit(a), syscall.EINVAL)
	wantErr(t, "submit foreign", r.Submit(make([]byte, 5)), syscall.EINVAL)
	got, err := r.Read()
	if err != nil || string(got) != "0123456789abcdef" {
		t.Fatalf("read = %q, %v", got, err)
	}
	wantErr(t, "output", r.Output([]byte("xyz"), RingbufNoWakeup), nil)
	wantErr(t, "output flags", r.Output([]byte("xyz"), 4), syscall.EINVAL)
	if got, err := r.Read(); err != nil || string(got) != "xyz" {
		t.Fatalf("read = %q, %v", got, err)
	}
	if _, err := r.Read(); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("read of empty ring: %v", err)
	}
	if r.Query(RingbufAvailData) != 0 || r.Query(RingbufConsPos) != r.Query(RingbufProdPos) || r.Query(RingbufRingSize) != 4096 {
		t.Errorf("query after draining: avail %d cons %d prod %d", r.Query(RingbufAvailData), r.Query(RingbufConsPos), r.Query(RingbufProdPos))
	}
	_, err = r.Reserve(4096)
	wantErr(t, "reserve larger than ring", err, syscall.E2BIG)
	wantErr(t, "lookup", r.Lookup(nil, nil), ENOTSUPP)
}

func TestRingBufFullAndWrap(t *testing.T) {
	r := mustNew(t, prog.MapSpec{Type: prog.RingBuf, MaxEntries: 4096}, nil).(*RingBuf)
	// 8 data bytes make a 16-byte record; the producer may be at most
	// 4095 bytes ahead, so 255 records fit and the 256th does not.
	n := 0
	for {
		err := r.Output(u64(uint64(n)), 0)
		if err != nil {
			wantErr(t, "output when full", err, syscall.EAGAIN)
			break
		}
		n++
	}
	if n != (4096-1)/16 {
		t.Fatalf("%d records fit, want %d", n, (4096-1)/16)
	}
	_, err := r.Reserve(8)
	wantErr(t, "reserve when full", err, syscall.EAGAIN)
	for i := 0; i < n; i++ {
		got, err := r.Read()
		if err != nil || binary.NativeEndian.Uint64(got) != uint64(i) {
			t.Fatalf("record %d = %x, %v", i, got, err)
		}
	}
	// Now the positions are at 4080: a 100-byte record wraps past the end
	// and must still be one contiguous slice.
	p, err := r.Reserve(100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p {
		p[i] = byte(i)
	}
	q, err := r.Reserve(10)
	if err != nil {
		t.Fatal(err)
	}
	copy(q, "after wrap")
	wantErr(t, "submit q", r.Submit(q), nil)
	wantErr(t, "submit p", r.Submit(p), nil)
	got, err := r.Read()
	if err != nil || len(got) != 100 || got[99] != 99 {
		t.Fatalf("wrapped record = %x, %v", got, err)
	}
	if got, err := r.Read(); err != nil || string(got) != "after wrap" {
		t.Fatalf("record after wrap = %q, %v", got, err)
	}
}

func TestPerfEventArray(t *testing.T) {
	// A 20-byte sample takes 8 + round8(4+20) = 32 bytes; a 72-byte
	// buffer has 71 bytes of space (CIRC_SPACE), so two fit.
	p := mustNew(t, prog.MapSpec{Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, &Options{PerfBufferBytes: 72}).(*PerfEventArray)
	s := bytes.Repeat([]byte{7}, 20)
	wantErr(t, "out 1", p.Output(0, s), nil)
	wantErr(t, "out 2", p.Output(0, s), nil)
	wantErr(t, "out 3 lost", p.Output(0, s), syscall.ENOSPC)
	wantErr(t, "out 4 lost", p.Output(0, s), syscall.ENOSPC)
	wantErr(t, "cpu 1", p.Output(1, []byte("x")), nil)
	wantErr(t, "cpu 2", p.Output(2, []byte("x")), syscall.E2BIG)
	if p.Lost(0) != 2 {
		t.Errorf("Lost(0) = %d, want 2", p.Lost(0))
	}
	// Reading one sample frees 32 bytes (39 free), but the next 4-byte
	// sample (16 bytes) needs room for the lost record too (24): lost.
	r, err := p.Read()
	if err != nil || r.CPU != 0 || !bytes.Equal(r.Sample, s) {
		t.Fatalf("read = %+v, %v", r, err)
	}
	wantErr(t, "out 5 lost", p.Output(0, []byte("late")), syscall.ENOSPC)
	if r, err := p.Read(); err != nil || r.CPU != 1 {
		t.Fatalf("read = %+v, %v; want the sample on index 1 (round robin)", r, err)
	}
	if r, err := p.Read(); err != nil || !bytes.Equal(r.Sample, s) {
		t.Fatalf("read = %+v, %v", r, err)
	}
	wantErr(t, "out 6", p.Output(0, []byte("late")), nil)
	wantErr(t, "cpu 1 again", p.Output(1, []byte("y")), nil)
	recs := p.Records()
	want := []Record{{CPU: 0, Lost: 3}, {CPU: 0, Sample: []byte("late")}, {CPU: 1, Sample: []byte("y")}}
	if len(recs) != len(want) {
		t.Fatalf("records = %+v, want %+v", recs, want)
	}
	for i := range want {
		if recs[i].CPU != want[i].CPU || recs[i].Lost != want[i].Lost || !bytes.Equal(recs[i].Sample, want[i].Sample) {
			t.Errorf("record %d = %+v, want %+v", i, recs[i], want[i])
		}
	}
	if _, err := p.Read(); !errors.Is(err, ErrNoRecord) {
		t.Errorf("read of empty array: %v", err)
	}
	wantErr(t, "lookup", p.Lookup(uint32(0), new(uint32)), ENOTSUPP)
	wantErr(t, "update", p.Update(uint32(0), uint32(3), 0), syscall.EBADF)
	wantErr(t, "delete", p.Delete(uint32(0)), prog.ErrKeyNotExist)
}

type testProg struct{ id uint32 }

func (p *testProg) ID() uint32 { return p.id }

func TestProgArray(t *testing.T) {
	a := mustNew(t, prog.MapSpec{Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, nil).(*ProgArray)
	var id uint32
	wantErr(t, "lookup empty", a.Lookup(uint32(0), &id), prog.ErrKeyNotExist)
	wantErr(t, "set", a.SetProgram(1, &testProg{42}), nil)
	wantErr(t, "set out of range", a.SetProgram(2, &testProg{1}), syscall.E2BIG)
	if p, ok := a.Program(1).(*testProg); !ok || p.id != 42 || a.Program(0) != nil || a.Program(7) != nil {
		t.Errorf("Program(1) = %v", a.Program(1))
	}
	wantErr(t, "lookup", a.Lookup(uint32(1), &id), nil)
	if id != 42 {
		t.Errorf("lookup id = %d, want 42", id)
	}
	wantErr(t, "update", a.Update(uint32(0), uint32(5), 0), syscall.EBADF)
	wantErr(t, "update flags", a.Update(uint32(0), uint32(5), prog.UpdateExist), syscall.EINVAL)
	wantErr(t, "delete out of range", a.Delete(uint32(5)), syscall.E2BIG)
	wantErr(t, "delete", a.Delete(uint32(1)), nil)
	wantErr(t, "delete again", a.Delete(uint32(1)), prog.ErrKeyNotExist)
	if a.Program(1) != nil {
		t.Error("deleted program still there")
	}
}

func TestAccessFlags(t *testing.T) {
	m := mustNew(t, prog.MapSpec{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 2, Flags: flagRdOnly}, nil)
	wantErr(t, "update read-only", m.Update(uint32(1), uint32(1), 0), syscall.EPERM)
	wantErr(t, "program update of read-only", m.UpdateRaw(u32(1), u32(1), 0, 0), nil)
	var v uint32
	wantErr(t, "lookup read-only", m.Lookup(uint32(1), &v), nil)
	w := mustNew(t, prog.MapSpec{Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: 2, Flags: flagWrOnly}, nil)
	wantErr(t, "lookup write-only", w.Lookup(uint32(1), &v), syscall.EPERM)
}

func TestErrorsNameMap(t *testing.T) {
	m := mustNew(t, prog.MapSpec{Name: "counters", Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 2}, nil)
	err := m.Delete(uint32(1))
	if err == nil || err.Error() != `map "counters": delete: key does not exist` {
		t.Errorf("error = %q", err)
	}
}

func TestLookupRawAllocs(t *testing.T) {
	a := mustNew(t, prog.MapSpec{Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}, nil)
	h := mustNew(t, prog.MapSpec{Type: prog.LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 4}, nil)
	if err := h.UpdateRaw(u32(1), u64(1), 0, 0); err != nil {
		t.Fatal(err)
	}
	k := u32(1)
	for _, m := range []Map{a, h} {
		if n := testing.AllocsPerRun(100, func() { _ = m.LookupRaw(k, 0) }); n != 0 {
			t.Errorf("%s LookupRaw allocates %v times", m.MapSpec().Type, n)
		}
		if n := testing.AllocsPerRun(100, func() { _ = m.UpdateRaw(k, u64buf[:], prog.UpdateAny, 0) }); m.MapSpec().Type == prog.Array && n != 0 {
			t.Errorf("array UpdateRaw allocates %v times", n)
		}
	}
}

var u64buf [8]byte

func TestConcurrent(t *testing.T) {
	h := mustNew(t, prog.MapSpec{Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 64}, nil)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				k := u32(uint32(i % 32))
				_ = h.UpdateRaw(k, u64(uint64(i)), 0, 0)
				_ = h.LookupRaw(k, 0)
				if i%3 == 0 {
					_ = h.DeleteRaw(k)
				}
				var next uint32
				_ = h.NextKey(nil, &next)
			}
		}()
	}
	wg.Wait()
	n := 0
	var k any
	for {
		var next uint32
		if err := h.NextKey(k, &next); err != nil {
			break
		}
		n++
		k = next
	}
	if n != h.(*Hash).Len() {
		t.Errorf("walk found %d keys, Len %d", n, h.(*Hash).Len())
	}
}

// The storage of a ring buffer reservation is in the ring.
func TestRingBufReservationAliases(t *testing.T) {
	r := mustNew(t, prog.MapSpec{Type: prog.RingBuf, MaxEntries: 4096}, nil).(*RingBuf)
	p, err := r.Reserve(0)
	if err != nil {
		t.Fatal(err)
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(p))) != uintptr(unsafe.Pointer(&r.data[8])) {
		t.Error("zero-size reservation does not point into the ring")
	}
	wantErr(t, "submit empty", r.Submit(p), nil)
	if got, err := r.Read(); err != nil || len(got) != 0 {
		t.Errorf("read empty record = %x, %v", got, err)
	}
}

// Maps that programs cannot use through lookup/update/delete helpers
// refuse the Raw calls with a clear error and report their spec.
func TestRawOnSpecialMaps(t *testing.T) {
	for _, tc := range []struct {
		spec prog.MapSpec
		want error
	}{
		{prog.MapSpec{Name: "q", Type: prog.Queue, ValueSize: 4, MaxEntries: 2}, syscall.EINVAL},
		{prog.MapSpec{Name: "rb", Type: prog.RingBuf, MaxEntries: 4096}, ENOTSUPP},
		{prog.MapSpec{Name: "pa", Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, ENOTSUPP},
		{prog.MapSpec{Name: "pe", Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, ENOTSUPP},
	} {
		m := mustNew(t, tc.spec, nil)
		if m.MapSpec() != tc.spec {
			t.Errorf("MapSpec() = %+v, want %+v", m.MapSpec(), tc.spec)
		}
		if m.LookupRaw(u32(0), 0) != nil {
			t.Errorf("%s LookupRaw is not nil", tc.spec.Type)
		}
		wantErr(t, tc.spec.Type.String()+" UpdateRaw", m.UpdateRaw(u32(0), u32(0), 0, 0), tc.want)
		err := m.DeleteRaw(u32(0))
		wantErr(t, tc.spec.Type.String()+" DeleteRaw", err, tc.want)
		if err != nil && !bytes.Contains([]byte(err.Error()), []byte(`map "`+tc.spec.Name+`"`)) {
			t.Errorf("error %q does not name the map", err)
		}
	}
	pe := mustNew(t, prog.MapSpec{Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, nil)
	wantErr(t, "perf delete out of range", pe.Delete(uint32(2)), syscall.E2BIG)
	a := mustNew(t, prog.MapSpec{Type: prog.PerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, &Options{CPUs: 3}).(*Array)
	h := mustNew(t, prog.MapSpec{Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 2}, &Options{CPUs: 3}).(*Hash)
	if a.CPUs() != 3 || h.CPUs() != 1 {
		t.Errorf("CPUs() = %d, %d; want 3 (per-CPU array), 1 (plain hash)", a.CPUs(), h.CPUs())
	}
}
