//go:build linux

package prog

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/mapvalue"
	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
)

func newTestMap(t *testing.T, spec MapSpec) *Map {
	t.Helper()
	m, err := NewMap(&spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestMapOperations(t *testing.T) {
	testenv.RequireRoot(t)
	type val struct {
		A uint32
		B [4]byte
	}
	m := newTestMap(t, MapSpec{Name: "ops", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 8})
	if err := m.Update(uint32(1), val{A: 7, B: [4]byte{1, 2, 3, 4}}, UpdateNoExist); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(uint32(1), val{}, UpdateNoExist); !errors.Is(err, ErrKeyExist) || !errors.Is(err, unix.EEXIST) {
		t.Errorf("NOEXIST on an existing key: %v", err)
	}
	if err := m.Update(uint32(2), val{}, UpdateExist); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("EXIST on a missing key: %v", err)
	}
	var got val
	if err := m.Lookup(uint32(1), &got); err != nil || got.A != 7 || got.B != [4]byte{1, 2, 3, 4} {
		t.Errorf("lookup = %+v, %v", got, err)
	}
	k := uint32(1)
	if err := m.Update(&k, &val{A: 8}, UpdateExist); err != nil {
		t.Fatal(err)
	}
	if err := m.LookupAndDelete(uint32(1), &got); err != nil || got.A != 8 {
		t.Errorf("lookup and delete = %+v, %v", got, err)
	}
	if err := m.Lookup(uint32(1), &got); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("lookup after LookupAndDelete: %v", err)
	}
	for i := uint32(10); i < 15; i++ {
		if err := m.Update(i, val{A: i * 2}, UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Delete(uint32(12)); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(uint32(12)); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("second delete: %v", err)
	}
	// NextKey walk by hand.
	var keys []uint32
	var cur, next uint32
	for err := m.NextKey(nil, &next); err == nil; err = m.NextKey(cur, &next) {
		keys = append(keys, next)
		cur = next
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	if len(keys) != 4 || keys[0] != 10 || keys[1] != 11 || keys[2] != 13 || keys[3] != 14 {
		t.Errorf("keys = %v, want [10 11 13 14]", keys)
	}
	// The iterator agrees and gives the values.
	it := NewIterator(m)
	n := 0
	var ik uint32
	var iv val
	for it.Next(&ik, &iv) {
		if iv.A != ik*2 {
			t.Errorf("iterated %d -> %+v", ik, iv)
		}
		n++
	}
	if it.Err() != nil || n != 4 {
		t.Errorf("iterated %d entries, err %v", n, it.Err())
	}
	info, err := m.Info()
	if err != nil || info.Type != Hash || info.KeySize != 4 || info.ValueSize != 8 || info.MaxEntries != 8 || info.Name != "ops" || info.ID == 0 {
		t.Errorf("info = %+v, %v", info, err)
	}
	if s := m.MapSpec(); s.Name != "ops" || s.Type != Hash {
		t.Errorf("MapSpec = %+v", s)
	}
}

func TestMapBatchLookup(t *testing.T) {
	testenv.RequireRoot(t)
	for _, mt := range []MapType{Hash, Array} {
		m := newTestMap(t, MapSpec{Name: "batch", Type: mt, KeySize: 4, ValueSize: 8, MaxEntries: 10})
		want := map[uint32]uint64{}
		for i := uint32(0); i < 10; i++ {
			want[i] = uint64(i)*1000 + 1
			if err := m.Update(i, want[i], UpdateAny); err != nil {
				t.Fatal(err)
			}
		}
		got := map[uint32]uint64{}
		var cur BatchCursor
		keys := make([]uint32, 4)
		vals := make([]uint64, 4)
		for calls := 0; !cur.Done(); calls++ {
			if calls > 10 {
				t.Fatal("batch lookup does not finish")
			}
			n, err := m.LookupBatch(&cur, keys, vals)
			if err != nil {
				t.Fatalf("%s: %v", mt, err)
			}
			for i := 0; i < n; i++ {
				got[keys[i]] = vals[i]
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: batch read %d entries, want %d", mt, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: batch [%d] = %d, want %d", mt, k, got[k], v)
			}
		}
		var cur2 BatchCursor
		if _, err := m.LookupBatch(&cur2, keys, make([]uint64, 3)); err == nil {
			t.Errorf("%s: mismatched batch buffers accepted", mt)
		}
	}
}

func TestQueueAndFreeze(t *testing.T) {
	testenv.RequireRoot(t)
	q := newTestMap(t, MapSpec{Name: "q", Type: Queue, ValueSize: 4, MaxEntries: 4})
	for i := uint32(1); i <= 3; i++ {
		if err := q.Update(nil, i*11, UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	for i := uint32(1); i <= 3; i++ {
		var v uint32
		if err := q.LookupAndDelete(nil, &v); err != nil || v != i*11 {
			t.Fatalf("pop %d = %d, %v", i, v, err)
		}
	}
	var v uint32
	if err := q.LookupAndDelete(nil, &v); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("pop from empty queue: %v", err)
	}
	if err := q.Update(uint32(1), uint32(1), UpdateAny); err == nil {
		t.Error("a key was accepted for a queue")
	}

	a := newTestMap(t, MapSpec{Name: "frozen", Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 2})
	if err := a.Update(uint32(0), uint32(5), UpdateAny); err != nil {
		t.Fatal(err)
	}
	if err := a.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := a.Update(uint32(0), uint32(6), UpdateAny); !errors.Is(err, unix.EPERM) {
		t.Errorf("update after freeze: %v, want EPERM", err)
	}
	if err := a.Lookup(uint32(0), &v); err != nil || v != 5 {
		t.Errorf("lookup after freeze = %d, %v", v, err)
	}
}

func TestPin(t *testing.T) {
	testenv.RequireRoot(t)
	dir := pinDir(t)
	p := mustLoad(t, counterSpec(Array), nil)
	path := filepath.Join(dir, "prog")
	if err := p.Pin(path); err != nil {
		t.Fatal(err)
	}
	info, err := p.Info()
	if err != nil {
		t.Fatal(err)
	}
	var bt struct {
		ID   uint32 `json:"id"`
		Name string `json:"name"`
	}
	bpftoolJSON(t, &bt, "prog", "show", "pinned", path)
	if bt.ID != info.ID || bt.Name != "counter" {
		t.Errorf("bpftool sees %+v at %s, want id %d", bt, path, info.ID)
	}
	p2, err := LoadPinnedProgram(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	info2, err := p2.Info()
	if err != nil || info2.ID != info.ID || p2.Type() != SocketFilter || p2.Name() != "counter" {
		t.Errorf("pinned program info %+v, %v", info2, err)
	}
	// The reopened program runs.
	if res, err := p2.Run(&RunOptions{Data: packet(50)}); err != nil || res.Retval != skbLen(50) {
		t.Errorf("run pinned program: %+v, %v", res, err)
	}
	// A pin path that exists.
	if err := p.Pin(path); !errors.Is(err, os.ErrExist) || !strings.Contains(err.Error(), "exists") {
		t.Errorf("pin over an existing path: %v", err)
	}
	// Outside a bpffs.
	if err := p.Pin(filepath.Join(t.TempDir(), "x")); !errors.Is(err, ErrNotBPFFS) {
		t.Errorf("pin outside bpffs: %v", err)
	}

	// Maps: pin, reopen, contents survive.
	m := p.Map("counters")
	if err := m.Update(uint32(2), uint64(42), UpdateAny); err != nil {
		t.Fatal(err)
	}
	mpath := filepath.Join(dir, "sub", "counters")
	if err := m.Pin(mpath); err != nil {
		t.Fatal(err)
	}
	var mbt struct {
		ID   uint32 `json:"id"`
		Type string `json:"type"`
	}
	bpftoolJSON(t, &mbt, "map", "show", "pinned", mpath)
	minfo, _ := m.Info()
	if mbt.ID != minfo.ID || mbt.Type != "array" {
		t.Errorf("bpftool sees map %+v, want id %d", mbt, minfo.ID)
	}
	m2, err := LoadPinnedMap(mpath)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	var v uint64
	if err := m2.Lookup(uint32(2), &v); err != nil || v != 42 {
		t.Errorf("pinned map [2] = %d, %v", v, err)
	}
	if s := m2.MapSpec(); s.Type != Array || s.KeySize != 4 || s.ValueSize != 8 || s.MaxEntries != 4 || s.Name != "counters" {
		t.Errorf("pinned map spec %+v", s)
	}
	// A program may use the reopened map.
	p3 := mustLoad(t, counterSpec(Array), &ProgramOptions{Maps: map[string]*Map{"counters": m2}})
	if _, err := p3.Run(&RunOptions{Data: packet(30)}); err != nil {
		t.Fatal(err)
	}
	if err := m.Lookup(uint32(0), &v); err != nil || v != 2 { // one run of p2, one of p3
		t.Errorf("shared counter = %d, %v; want 2", v, err)
	}
	if err := m2.Unpin(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mpath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("map still pinned: %v", err)
	}
	if err := p.Unpin(); err != nil {
		t.Fatal(err)
	}
	_ = exec.Command // bpftool is run through bpftoolJSON
}

func TestListing(t *testing.T) {
	testenv.RequireRoot(t)
	p := mustLoad(t, counterSpec(Hash), nil)
	info, err := p.Info()
	if err != nil {
		t.Fatal(err)
	}
	progs, err := Programs()
	if err != nil {
		t.Fatal(err)
	}
	var bt []struct {
		ID   uint32 `json:"id"`
		Name string `json:"name"`
		Tag  string `json:"tag"`
		Type string `json:"type"`
	}
	bpftoolJSON(t, &bt, "prog", "list")
	ours := map[uint32]ProgramInfo{}
	for _, pi := range progs {
		ours[pi.ID] = pi
	}
	found := false
	for _, b := range bt {
		// Only the test's own program is compared: other loaders'
		// programs may come and go between the two walks, and bpftool
		// names programs with BTF by their full function name.
		if b.ID != info.ID {
			continue
		}
		pi, ok := ours[b.ID]
		if !ok {
			t.Fatalf("program %d is in bpftool's listing but not in ours", b.ID)
		}
		if pi.Name != b.Name || pi.Tag != b.Tag || pi.Type.String() != b.Type {
			t.Errorf("program %d: we list %s/%s/%s, bpftool %s/%s/%s", b.ID, pi.Name, pi.Tag, pi.Type, b.Name, b.Tag, b.Type)
		}
		if b.ID == info.ID {
			found = true
			if len(pi.MapIDs) != 1 {
				t.Errorf("our program lists map IDs %v", pi.MapIDs)
			}
		}
	}
	if !found {
		t.Errorf("program %d missing from the listing", info.ID)
	}
	maps, err := Maps()
	if err != nil {
		t.Fatal(err)
	}
	mid := ours[info.ID].MapIDs
	ok := false
	for _, mi := range maps {
		if len(mid) == 1 && mi.ID == mid[0] {
			ok = mi.Name == "counters" && mi.Type == Hash && mi.KeySize == 4 && mi.ValueSize == 8
		}
	}
	if !ok {
		t.Errorf("map %v of our program missing or wrong in Maps()", mid)
	}
	if len(mid) == 1 {
		m, err := NewMapFromID(mid[0])
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if m.MapSpec().Name != "counters" {
			t.Errorf("NewMapFromID: %+v", m.MapSpec())
		}
	}
	p2, err := NewProgramFromID(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	p2.Close()
}

func TestProbes(t *testing.T) {
	testenv.RequireRoot(t)
	for _, pt := range []Type{SocketFilter, Kprobe, TracePoint, XDP, SchedCLS, CgroupSockAddr, Syscall} {
		if err := HaveProgramType(pt); err != nil {
			t.Errorf("HaveProgramType(%s) = %v", pt, err)
		}
	}
	if err := HaveProgramType(Type(250)); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "bpf_prog_type(250)") {
		t.Errorf("HaveProgramType(250) = %v", err)
	}
	for _, mt := range []MapType{Hash, Array, PerCPUHash, PerCPUArray, LRUHash, LRUPerCPUHash, LPMTrie, ArrayOfMaps, HashOfMaps, Queue, Stack, RingBuf, BloomFilter, StackTrace} {
		if err := HaveMapType(mt); err != nil {
			t.Errorf("HaveMapType(%s) = %v", mt, err)
		}
	}
	if err := HaveMapType(MapType(250)); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "bpf_map_type(250)") {
		t.Errorf("HaveMapType(250) = %v", err)
	}
	for _, mt := range []MapType{SKStorage, InodeStorage, TaskStorage} {
		if err := HaveMapType(mt); err != nil {
			t.Errorf("HaveMapType(%s) = %v", mt, err)
		}
	}
	// BPF_MAP_TYPE_CGRP_STORAGE (32) arrived in Linux 6.2 ("bpf:
	// Implement cgroup storage available to non-cgroup-attached bpf
	// progs"). The probe itself is what is under test, so the expectation
	// follows the running kernel's version.
	major, minor, _, err := kernelVersion()
	if err != nil {
		t.Fatal(err)
	}
	cgrp := HaveMapType(CgroupStorageLocal)
	if major > 6 || major == 6 && minor >= 2 {
		if cgrp != nil {
			t.Errorf("HaveMapType(%s) on %d.%d = %v", CgroupStorageLocal, major, minor, cgrp)
		}
	} else if !errors.Is(cgrp, ErrNotSupported) {
		t.Errorf("HaveMapType(%s) on %d.%d = %v, want ErrNotSupported", CgroupStorageLocal, major, minor, cgrp)
	}
	// The cpu v4 instructions arrived together in Linux 6.6 (the "bpf:
	// Support new sign-extension load insns" ... "bpf: Support new 32bit
	// offset jmp instruction" series).
	v4 := HaveV4ISA()
	if major > 6 || major == 6 && minor >= 6 {
		if v4 != nil {
			t.Errorf("HaveV4ISA on %d.%d = %v", major, minor, v4)
		}
	} else if !errors.Is(v4, ErrNotSupported) || !strings.Contains(v4.Error(), "v4") {
		t.Errorf("HaveV4ISA on %d.%d = %v, want ErrNotSupported", major, minor, v4)
	}
	if err := HaveMapType(StructOpsMap); !errors.Is(err, ErrProbeUndecided) {
		t.Errorf("HaveMapType(struct_ops) = %v", err)
	}
	// Helper availability as the kernel's func_proto tables define it
	// (bpftool 7.1's own helper probe cannot serve as the reference: on
	// this kernel it lists every helper for every program type).
	for _, c := range []struct {
		t    Type
		h    insn.HelperFunc
		want bool
	}{
		{SocketFilter, insn.FnMapLookupElem, true},      // bpf_base_func_proto
		{SocketFilter, insn.FnSKBLoadBytes, true},       // sk_filter_func_proto
		{SocketFilter, insn.FnGetPrandomU32, true},      // bpf_base_func_proto
		{SocketFilter, 58, false},                       // bpf_override_return: kprobe only
		{SocketFilter, 44, false},                       // bpf_xdp_adjust_head: XDP only
		{Kprobe, insn.FnGetCurrentPIDTGID, true},        // bpf_tracing_func_proto
		{Kprobe, insn.FnProbeReadKernel, true},          // bpf_tracing_func_proto
		{Kprobe, insn.FnSKBLoadBytes, false},            // networking only
		{XDP, 44, true},                                 // xdp_func_proto
		{SocketFilter, insn.HelperFunc(1 << 20), false}, // no such helper
	} {
		err := HaveHelper(c.t, c.h)
		if (err == nil) != c.want || (err != nil && !errors.Is(err, ErrNotSupported)) {
			t.Errorf("HaveHelper(%s, %s) = %v, want available=%v", c.t, c.h, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), c.t.String()) {
			t.Errorf("HaveHelper error %q does not name the program type", err)
		}
	}
	if err := HaveHelper(Type(250), insn.FnMapLookupElem); !errors.Is(err, ErrNotSupported) {
		t.Errorf("HaveHelper on a missing type = %v", err)
	}
	if err := haveBatch(); err != nil {
		t.Errorf("batch probe: %v", err)
	}
}

func TestPerCPUBatchAndDelete(t *testing.T) {
	testenv.RequireRoot(t)
	cpus, err := PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	// 4-byte values: each CPU's value is padded to 8 bytes in the batch
	// buffer, as in a single lookup.
	m := newTestMap(t, MapSpec{Name: "pcb", Type: PerCPUHash, KeySize: 4, ValueSize: 4, MaxEntries: 16})
	for k := uint32(0); k < 5; k++ {
		vals := make([]uint32, cpus)
		for c := range vals {
			vals[c] = k*100 + uint32(c)
		}
		if err := m.Update(k, vals, UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	keys := make([]uint32, 16)
	stride := 8 * cpus
	vals := make([]byte, 16*stride)
	var cur BatchCursor
	n, err := m.LookupBatch(&cur, keys, vals)
	if err != nil || n != 5 || !cur.Done() {
		t.Fatalf("LookupBatch = %d, %v (done %v); want all 5 entries", n, err, cur.Done())
	}
	for i := 0; i < n; i++ {
		for c := 0; c < cpus; c++ {
			got := binary.NativeEndian.Uint32(vals[i*stride+c*8:])
			if want := keys[i]*100 + uint32(c); got != want {
				t.Errorf("key %d CPU %d: %d, want %d", keys[i], c, got, want)
			}
		}
	}
	out := make([]uint32, cpus)
	if err := m.LookupAndDelete(uint32(3), out); err != nil || out[0] != 300 {
		t.Errorf("LookupAndDelete(3) = %v, %v", out, err)
	}
	if err := m.Delete(uint32(4)); err != nil {
		t.Fatal(err)
	}
	if err := m.Lookup(uint32(4), out); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("lookup after delete: %v", err)
	}
	if _, err := m.LookupBatch(&BatchCursor{}, keys, make([]byte, 16*4)); !errors.Is(err, mapvalue.ErrSize) {
		t.Errorf("batch values without per-CPU room: %v", err)
	}
}
