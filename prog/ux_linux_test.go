//go:build linux

package prog

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
)

// Every method of a nil *Map and *Program returns an error naming the
// cause instead of panicking; Close is a no-op.
func TestNilHandles(t *testing.T) {
	var m *Map
	var u32 uint32
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, os.ErrInvalid) || !strings.Contains(err.Error(), "nil *prog.") {
			t.Errorf("%s: %v, want an error naming the nil handle and wrapping os.ErrInvalid", what, err)
		}
	}
	if err := m.Close(); err != nil {
		t.Errorf("nil Map.Close: %v", err)
	}
	check("Lookup", m.Lookup(u32, &u32))
	check("LookupAndDelete", m.LookupAndDelete(u32, &u32))
	check("Update", m.Update(u32, u32, UpdateAny))
	check("Delete", m.Delete(u32))
	check("NextKey", m.NextKey(nil, &u32))
	check("Freeze", m.Freeze())
	_, err := m.LookupBatch(&BatchCursor{}, make([]byte, 4), make([]byte, 4))
	check("LookupBatch", err)
	_, err = m.UpdateBatch(make([]byte, 4), make([]byte, 4), UpdateAny)
	check("UpdateBatch", err)
	_, err = m.DeleteBatch(make([]byte, 4))
	check("DeleteBatch", err)
	check("Pin", m.Pin("/sys/fs/bpf/x"))
	check("Unpin", m.Unpin())
	_, err = m.Info()
	check("Info", err)
	it := m.Iterate()
	if it.Next(&u32, &u32) || !errors.Is(it.Err(), os.ErrInvalid) {
		t.Errorf("nil Map.Iterate: %v", it.Err())
	}
	// A nil *Iterator or *BatchCursor (a zero-value variable never set).
	var nit *Iterator
	if nit.Next(&u32, &u32) || !errors.Is(nit.Err(), os.ErrInvalid) || !strings.Contains(nit.Err().Error(), "nil *prog.Iterator") {
		t.Errorf("nil Iterator: Err = %v", nit.Err())
	}
	var nc *BatchCursor
	if !nc.Done() {
		t.Error("nil BatchCursor is not Done, so a loop on !Done never ends")
	}
	if m.FD() != -1 || m.String() != "map <nil>" || m.MapSpec() != (MapSpec{}) {
		t.Errorf("nil Map: FD %d String %q", m.FD(), m.String())
	}

	var p *Program
	if err := p.Close(); err != nil {
		t.Errorf("nil Program.Close: %v", err)
	}
	_, err = p.Run(nil)
	check("Run", err)
	_, err = p.RunSocketFilter(make([]byte, 14))
	check("RunSocketFilter", err)
	_, err = p.Info()
	check("Info", err)
	check("Pin", p.Pin("/sys/fs/bpf/x"))
	check("Unpin", p.Unpin())
	if p.FD() != -1 || p.Map("x") != nil || p.Name() != "" || p.Type() != UnspecifiedProgram || p.VerifierLog() != "" || p.String() != "program <nil>" {
		t.Error("nil Program accessors")
	}
	_, err = NewMapFromFD(nil)
	if !errors.Is(err, os.ErrInvalid) {
		t.Errorf("NewMapFromFD(nil): %v", err)
	}
	_, err = NewProgramFromFD(nil)
	if !errors.Is(err, os.ErrInvalid) {
		t.Errorf("NewProgramFromFD(nil): %v", err)
	}

	// The map a program does not have: the p.Map("typo").Lookup.
	testenv.RequireRoot(t)
	prog := mustLoad(t, counterSpec(Array), nil)
	err = prog.Map("typo").Lookup(uint32(0), &u32)
	check("Map(typo).Lookup", err)
	// Handing that nil map on to another program.
	_, err = NewProgram(counterSpec(Array), &ProgramOptions{Maps: map[string]*Map{"counters": prog.Map("typo")}})
	if !errors.Is(err, os.ErrInvalid) || !strings.Contains(err.Error(), "nil *Map") {
		t.Errorf("nil map in ProgramOptions.Maps: %v", err)
	}
}

// Map specs the kernel would refuse with a bare EINVAL are refused before
// the system call, with the field named; a perf event array with
// MaxEntries 0 gets one entry per possible CPU; maps of maps take their
// inner map's spec.
func TestNewMapChecksSpec(t *testing.T) {
	testenv.RequireRoot(t)
	for _, tc := range []struct {
		spec MapSpec
		want string
	}{
		{MapSpec{Name: "h", Type: Hash, KeySize: 0, ValueSize: 4, MaxEntries: 1}, "KeySize is 0"},
		{MapSpec{Name: "rb", Type: RingBuf, MaxEntries: 4097}, "power of two"},
		{MapSpec{Name: "rb", Type: RingBuf, MaxEntries: 1024}, "multiple of the page size"},
		{MapSpec{Name: "aom", Type: ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1}, "InnerMap is nil"},
		{MapSpec{Name: "hom", Type: HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1}, "InnerMap is nil"},
		{MapSpec{Name: "a", Type: Array, KeySize: 8, ValueSize: 4, MaxEntries: 1}, "KeySize is 8, must be 4"},
		{MapSpec{Name: "a", Type: Array, KeySize: 4, ValueSize: 4}, "MaxEntries is 0"},
		{MapSpec{Name: "q", Type: Queue, KeySize: 4, ValueSize: 4, MaxEntries: 1}, "have no keys"},
		{MapSpec{Name: "p", Type: PerfEventArray, KeySize: 4, ValueSize: 8}, "ValueSize is 8"},
		{MapSpec{Name: "t", Type: LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 1}, "MapNoPrealloc"},
		{MapSpec{Name: "t", Type: UnspecifiedMap, KeySize: 8, ValueSize: 4, MaxEntries: 1}, "no map Type"},
		{MapSpec{Name: "h", Type: Hash, KeySize: 513, ValueSize: 4, MaxEntries: 1}, "at most 512 bytes"},
		{MapSpec{Name: "a", Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 1, InnerMap: &MapSpec{Name: "i", Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}}, "only ArrayOfMaps and HashOfMaps"},
		{MapSpec{Name: "aom", Type: ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1, InnerMap: &MapSpec{Name: "i", Type: Hash, ValueSize: 4, MaxEntries: 1}}, "InnerMap"},
		{MapSpec{Name: "d", Type: DevMap, KeySize: 4, ValueSize: 6, MaxEntries: 1}, "4 or 8 bytes"},
		{MapSpec{Name: "s", Type: SockMap, KeySize: 4, ValueSize: 2, MaxEntries: 1}, "4 or 8 bytes"},
		{MapSpec{Name: "x", Type: XSKMap, KeySize: 4, ValueSize: 8, MaxEntries: 1}, "AF_XDP socket fds"},
		{MapSpec{Name: "st", Type: StackTrace, KeySize: 4, ValueSize: 12, MaxEntries: 1}, "multiple of 8"},
		{MapSpec{Name: "bad-name!", Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}, `'-' at byte 3`},
		{MapSpec{Name: "ünï", Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}, `'ü' at byte 0`},
	} {
		m, err := NewMap(&tc.spec)
		if err == nil {
			m.Close()
			t.Errorf("%+v: created", tc.spec)
			continue
		}
		if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) || errors.Is(err, unix.EINVAL) {
			t.Errorf("%+v: %v; want ErrInvalidSpec saying %q, before the system call", tc.spec, err, tc.want)
		}
	}

	m, err := NewMap(&MapSpec{Name: "events", Type: PerfEventArray, KeySize: 4, ValueSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cpus, err := PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	info, err := m.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.MaxEntries != uint32(cpus) || m.MapSpec().MaxEntries != uint32(cpus) {
		t.Errorf("perf event array with MaxEntries 0: kernel has %d, MapSpec %d; want %d possible CPUs", info.MaxEntries, m.MapSpec().MaxEntries, cpus)
	}

	inner := &MapSpec{Name: "inner", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 2}
	outer, err := NewMap(&MapSpec{Name: "outer", Type: ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2, InnerMap: inner})
	if err != nil {
		t.Fatal(err)
	}
	defer outer.Close()
	im, err := NewMap(inner)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if err := outer.Update(uint32(1), uint32(im.FD()), UpdateAny); err != nil {
		t.Fatalf("storing a map in the map of maps: %v", err)
	}
	iinfo, err := im.Info()
	if err != nil {
		t.Fatal(err)
	}
	var id uint32
	if err := outer.Lookup(uint32(1), &id); err != nil || id != iinfo.ID {
		t.Errorf("map of maps lookup = id %d, %v; want %d", id, err, iinfo.ID)
	}
	// A map of another shape does not fit the template.
	other, err := NewMap(&MapSpec{Name: "other", Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := outer.Update(uint32(0), uint32(other.FD()), UpdateAny); !errors.Is(err, unix.EINVAL) {
		t.Errorf("storing a map of another shape: %v, want EINVAL", err)
	}
}

// Names the kernel cannot take are refused, not rewritten; long names are
// truncated, and Info shows the name the kernel stored.
func TestObjectNames(t *testing.T) {
	spec := counterSpec(Array)
	spec.Name = "bad-name!"
	if err := spec.Validate(); !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), `"bad-name!"`) {
		t.Errorf("Validate of program name %q: %v", spec.Name, err)
	}
	spec.Name = "counter"
	spec.Maps[0].Name = "ünï"
	spec.Instructions[4] = insn.LoadMapPtr(insn.R1, "ünï")
	if err := spec.Validate(); !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), "ünï") {
		t.Errorf("Validate of map name %q: %v", spec.Maps[0].Name, err)
	}
	testenv.RequireRoot(t)
	if _, err := NewProgram(spec, nil); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("NewProgram with map name %q: %v", spec.Maps[0].Name, err)
	}
	spec = counterSpec(Array)
	spec.Name = "a_rather_long_program_name"
	p := mustLoad(t, spec, nil)
	info, err := p.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != spec.Name[:15] || p.Name() != spec.Name {
		t.Errorf("long name: kernel %q, Name() %q", info.Name, p.Name())
	}
}

// The errnos of map updates that say little get a hint: E2BIG from a
// full hash map or an index out of range, EPERM from a frozen map.
func TestMapErrorHints(t *testing.T) {
	testenv.RequireRoot(t)
	h, err := NewMap(&MapSpec{Name: "h", Type: Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Update(uint32(1), uint32(1), UpdateAny); err != nil {
		t.Fatal(err)
	}
	err = h.Update(uint32(2), uint32(2), UpdateAny)
	if !errors.Is(err, unix.E2BIG) || !strings.Contains(err.Error(), "the map is full: it holds at most 1 elements") {
		t.Errorf("update of a full hash: %v", err)
	}
	a, err := NewMap(&MapSpec{Name: "a", Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	err = a.Update(uint32(2), uint32(2), UpdateAny)
	if !errors.Is(err, unix.E2BIG) || !strings.Contains(err.Error(), "index is out of range: the array has 2 entries, indices 0 to 1") {
		t.Errorf("update of array index 2 of 2: %v", err)
	}
	// Array elements cannot be deleted: a bare EINVAL said nothing.
	err = a.Delete(uint32(0))
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "array maps cannot delete elements") {
		t.Errorf("delete from an array: %v", err)
	}
	// Flags the kernel refuses with a bare EINVAL are named first.
	err = h.Update(uint32(1), uint32(1), 3)
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "flags 0x3: want UpdateAny, UpdateNoExist or UpdateExist") {
		t.Errorf("update with flags 3: %v", err)
	}
	if err := h.Update(uint32(1), uint32(1), UpdateExist); err != nil {
		t.Errorf("update with UpdateExist: %v", err)
	}
	if err := a.Freeze(); err != nil {
		t.Fatal(err)
	}
	// A second Freeze: the kernel answers EPERM (a frozen map is no
	// longer writable from user space; EBUSY before that check moved
	// ahead, as in Linux 6.1), which reads like a privilege error.
	err = a.Freeze()
	if !(errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY)) || !strings.Contains(err.Error(), "already frozen") {
		t.Errorf("second Freeze: %v", err)
	}
	err = a.Update(uint32(0), uint32(2), UpdateAny)
	if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("update of a frozen map: %v", err)
	}
	// Size errors match the exported sentinels.
	if err := a.Lookup(uint64(0), new(uint32)); !errors.Is(err, ErrValueSize) {
		t.Errorf("8-byte key into a 4-byte map: %v, want ErrValueSize", err)
	}
	if err := a.Lookup(uint32(0), new(string)); !errors.Is(err, ErrValueType) {
		t.Errorf("*string value: %v, want ErrValueType", err)
	}
}

// UpdateBatch and DeleteBatch, against the kernel.
func TestUpdateDeleteBatch(t *testing.T) {
	testenv.RequireRoot(t)
	for _, typ := range []MapType{Hash, Array} {
		m, err := NewMap(&MapSpec{Name: "b", Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 8})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		keys := []uint32{1, 3, 5}
		vals := []uint64{10, 30, 50}
		n, err := m.UpdateBatch(keys, vals, UpdateAny)
		if err != nil || n != 3 {
			t.Fatalf("%s: UpdateBatch = %d, %v", typ, n, err)
		}
		for i, k := range keys {
			var v uint64
			if err := m.Lookup(k, &v); err != nil || v != vals[i] {
				t.Errorf("%s: key %d = %d, %v; want %d", typ, k, v, err, vals[i])
			}
		}
		if _, err := m.UpdateBatch(keys, vals[:2], UpdateAny); !errors.Is(err, ErrValueSize) {
			t.Errorf("%s: 3 keys, 2 values: %v", typ, err)
		}
		if typ == Array {
			if _, err := m.DeleteBatch(keys); !errors.Is(err, ErrNotSupported) {
				t.Errorf("array DeleteBatch: %v, want ErrNotSupported", err)
			}
			continue
		}
		if _, err := m.UpdateBatch([]uint32{1}, []uint64{1}, UpdateNoExist); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "UpdateAny or UpdateLock") {
			t.Errorf("UpdateBatch with UpdateNoExist: %v", err)
		}
		n, err = m.DeleteBatch(keys[:2])
		if err != nil || n != 2 {
			t.Fatalf("DeleteBatch = %d, %v", n, err)
		}
		var v uint64
		if err := m.Lookup(uint32(1), &v); !errors.Is(err, ErrKeyNotExist) {
			t.Errorf("deleted key 1: %v", err)
		}
		if err := m.Lookup(uint32(5), &v); err != nil || v != 50 {
			t.Errorf("kept key 5: %d, %v", v, err)
		}
		if n, err := m.DeleteBatch([]uint32{5, 7}); !errors.Is(err, ErrKeyNotExist) || n != 1 {
			t.Errorf("DeleteBatch of a missing key = %d, %v", n, err)
		}
	}
}

// Program.Run starts a socket filter's packet at the network header;
// RunSocketFilter gives the program the whole frame, as a socket and
// interp do.
func TestRunSocketFilterSeesEthernetHeader(t *testing.T) {
	testenv.RequireRoot(t)
	spec := &Spec{
		Name: "ethertype", Type: SocketFilter, License: "GPL",
		Instructions: insn.Instructions{
			insn.Mov.Reg(insn.R6, insn.R1),
			insn.LoadMem(insn.R7, insn.R1, 0, insn.W), // skb->len
			insn.LoadAbs(12, insn.H),                  // ethertype on a socket
			insn.LSh.Imm(insn.R0, 16),
			insn.Or.Reg(insn.R0, insn.R7),
			insn.Exit(),
		},
	}
	p := mustLoad(t, spec, nil)
	frame := packet(64)
	binary.BigEndian.PutUint16(frame[12:], 0x88b5) // IEEE local experimental ethertype
	got, err := p.RunSocketFilter(frame)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint32(0x88b5)<<16 | 64; got != want {
		t.Errorf("RunSocketFilter = %#x, want ethertype 0x88b5 and len 64 (%#x)", got, want)
	}
	res, err := p.Run(&RunOptions{Data: frame})
	if err != nil {
		t.Fatal(err)
	}
	if want := uint32(binary.BigEndian.Uint16(frame[14+12:]))<<16 | 50; res.Retval != want {
		t.Errorf("Run = %#x, want the bytes at offset 26 of the frame and len 50 (%#x)", res.Retval, want)
	}
	if _, err := mustLoad(t, counterSpec(Array), nil).RunSocketFilter(frame[:13]); !errors.Is(err, unix.EINVAL) {
		t.Errorf("13-byte frame: %v", err)
	}
	// IP frames need an IP header's worth of bytes; the kernel's limit
	// is exact.
	for _, tc := range []struct {
		ethertype uint16
		min       int
	}{{0x0800, 20}, {0x86dd, 40}} {
		f := packet(tc.min)
		binary.BigEndian.PutUint16(f[12:], tc.ethertype)
		if _, err := p.RunSocketFilter(f); err != nil {
			t.Errorf("%d-byte frame of ethertype %#x: %v", tc.min, tc.ethertype, err)
		}
		if _, err := p.RunSocketFilter(f[:tc.min-1]); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "an IP header's worth") {
			t.Errorf("%d-byte frame of ethertype %#x: %v", tc.min-1, tc.ethertype, err)
		}
		// Without the check, the kernel itself refuses it.
		data := append(append([]byte{}, f[:14]...), f[:tc.min-1]...)
		if _, err := p.Run(&RunOptions{Data: data}); !errors.Is(err, unix.EINVAL) {
			t.Errorf("kernel run of a %d-byte network header of ethertype %#x: %v, want EINVAL", tc.min-1, tc.ethertype, err)
		}
	}
}

// ProgramOptions and MapSpec take typed flags: no uint32(sys.X).
func TestTypedOptions(t *testing.T) {
	testenv.RequireRoot(t)
	spec := counterSpec(Hash)
	spec.Maps[0].Flags = MapNoPrealloc
	p := mustLoad(t, spec, &ProgramOptions{LogLevel: LogStats, Flags: ProgramStrictAlignment, ExpectedAttachType: AttachNone})
	if !strings.Contains(p.VerifierLog(), "processed") {
		t.Errorf("LogStats log: %q", p.VerifierLog())
	}
	info, err := p.Map("counters").Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Flags != MapNoPrealloc {
		t.Errorf("map flags %#x, want MapNoPrealloc", info.Flags)
	}
	// Socket filter test runs take BPF_F_TEST_RUN_ON_CPU only for some
	// program types; the kernel refuses it here, which shows the flag is
	// passed through.
	if _, err := p.Run(&RunOptions{Data: packet(64), Flags: RunOnCPU, CPU: 0}); !errors.Is(err, unix.EINVAL) {
		t.Errorf("socket filter run with RunOnCPU: %v, want EINVAL", err)
	}
}

// MapSpec.Validate refuses nothing the kernel accepts: a minimal valid spec
// of every map type that needs no BTF is created.
func TestNewMapAcceptsValidSpecs(t *testing.T) {
	testenv.RequireRoot(t)
	page := uint32(os.Getpagesize())
	inner := &MapSpec{Name: "inner", Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}
	for _, spec := range []MapSpec{
		{Type: Hash, KeySize: 512, ValueSize: 4, MaxEntries: 1},
		{Type: Array, KeySize: 4, ValueSize: 1, MaxEntries: 1},
		{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Type: PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Type: PerCPUHash, KeySize: 1, ValueSize: 1, MaxEntries: 1},
		{Type: PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1},
		{Type: StackTrace, KeySize: 4, ValueSize: 8, MaxEntries: 1},
		{Type: CgroupArray, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Type: LRUHash, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Type: LRUPerCPUHash, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Type: LPMTrie, KeySize: 5, ValueSize: 4, MaxEntries: 1, Flags: MapNoPrealloc},
		{Type: ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1, InnerMap: inner},
		{Type: HashOfMaps, KeySize: 8, ValueSize: 4, MaxEntries: 1, InnerMap: inner},
		{Type: DevMap, KeySize: 4, ValueSize: 8, MaxEntries: 1},
		{Type: SockMap, KeySize: 4, ValueSize: 8, MaxEntries: 1},
		{Type: CPUMap, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Type: XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Type: SockHash, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Type: ReuseportSockArray, KeySize: 4, ValueSize: 8, MaxEntries: 1},
		{Type: Queue, ValueSize: 4, MaxEntries: 1},
		{Type: Stack, ValueSize: 4, MaxEntries: 1},
		{Type: DevMapHash, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		{Type: RingBuf, MaxEntries: page},
		{Type: BloomFilter, ValueSize: 4, MaxEntries: 1},
		{Type: UserRingBuf, MaxEntries: page},
	} {
		spec.Name = "ok"
		m, err := NewMap(&spec)
		if err != nil {
			t.Errorf("%s: %v", spec.Type, err)
			continue
		}
		m.Close()
	}
}

// A pinned program opened as a map (or the other way round) is refused,
// naming what the pin holds: BPF_OBJ_GET_INFO_BY_FD would fill in the
// other object's info and the wrong handle would pass for the right one.
func TestLoadPinnedWrongKind(t *testing.T) {
	testenv.RequireRoot(t)
	dir := pinDir(t)
	p := mustLoad(t, counterSpec(Array), nil)
	progPin, mapPin := dir+"/prog", dir+"/map"
	if err := p.Pin(progPin); err != nil {
		t.Fatal(err)
	}
	if err := p.Map("counters").Pin(mapPin); err != nil {
		t.Fatal(err)
	}
	if m, err := LoadPinnedMap(progPin); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "is a BPF program, not a BPF map") {
		t.Errorf("LoadPinnedMap(pinned program) = %v, %v; want an error saying it is a program", m, err)
		m.Close()
	}
	if q, err := LoadPinnedProgram(mapPin); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "is a BPF map, not a BPF program") {
		t.Errorf("LoadPinnedProgram(pinned map) = %v, %v; want an error saying it is a map", q, err)
		q.Close()
	}
	// The right kinds still open.
	m, err := LoadPinnedMap(mapPin)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	q, err := LoadPinnedProgram(progPin)
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
}

// BPF_PROG_TEST_RUN's bare EINVAL gets the rule it broke for xdp and raw
// tracepoint programs, as it does for socket filters and tc.
func TestRunErrorHints(t *testing.T) {
	testenv.RequireRoot(t)
	ret := insn.Instructions{insn.Mov.Imm(insn.R0, 2), insn.Exit()}
	xdp := mustLoad(t, &Spec{Name: "xdp_hint", Type: XDP, License: "GPL", Instructions: ret}, nil)
	_, err := xdp.Run(&RunOptions{Data: []byte{1}})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "xdp test runs need at least 14 bytes") {
		t.Errorf("xdp run on 1 byte: %v", err)
	}
	if res, err := xdp.Run(&RunOptions{Data: make([]byte, 64)}); err != nil || res.Retval != 2 {
		t.Errorf("xdp run on 64 bytes: %v, %v", res, err)
	}
	rtp := mustLoad(t, &Spec{Name: "rtp_hint", Type: RawTracePoint, License: "GPL", Instructions: ret}, nil)
	_, err = rtp.Run(&RunOptions{Data: make([]byte, 64)})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "take only a Context") {
		t.Errorf("raw tracepoint run with data: %v", err)
	}
	if res, err := rtp.Run(&RunOptions{Context: make([]byte, 8)}); err != nil || res.Retval != 2 {
		t.Errorf("raw tracepoint run with a context: %v, %v", res, err)
	}
}

// Program types the kernel refuses before its verifier runs, without a
// log, when the expected attach type or attach target is missing get an
// error that says what to set.
func TestLoadAttachHints(t *testing.T) {
	testenv.RequireRoot(t)
	ret1 := insn.Instructions{insn.Mov.Imm(insn.R0, 1), insn.Exit()}
	_, err := NewProgram(&Spec{Name: "sockaddr", Type: CgroupSockAddr, License: "GPL", Instructions: ret1}, nil)
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "ExpectedAttachType") || !strings.Contains(err.Error(), "AttachCgroupInet4Connect") {
		t.Errorf("cgroup_sock_addr without an expected attach type: %v", err)
	}
	p, err := NewProgram(&Spec{Name: "sockaddr", Type: CgroupSockAddr, License: "GPL", Instructions: ret1}, &ProgramOptions{ExpectedAttachType: AttachCgroupInet4Connect})
	if err != nil {
		t.Fatalf("cgroup_sock_addr with AttachCgroupInet4Connect: %v", err)
	}
	p.Close()
	_, err = NewProgram(&Spec{Name: "sockopt", Type: CgroupSockopt, License: "GPL", Instructions: ret1}, &ProgramOptions{ExpectedAttachType: AttachXDP})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "AttachCgroupGetsockopt or AttachCgroupSetsockopt") {
		t.Errorf("cgroup_sockopt with AttachXDP: %v", err)
	}
	_, err = NewProgram(&Spec{Name: "fentry", Type: Tracing, License: "GPL", Instructions: ret1}, &ProgramOptions{ExpectedAttachType: AttachTraceFentry})
	if err == nil || !strings.Contains(err.Error(), "set ProgramOptions.AttachTo") || strings.Contains(err.Error(), "security module") {
		t.Errorf("tracing program without an attach target: %v", err)
	}
}

// A verifier log level the kernel does not know is named before the load.
func TestLogLevelChecked(t *testing.T) {
	testenv.RequireRoot(t)
	spec := &Spec{Name: "loglevel", Type: SocketFilter, License: "GPL", Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}}
	_, err := NewProgram(spec, &ProgramOptions{LogLevel: 99})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "ProgramOptions.LogLevel 0x63") {
		t.Errorf("LogLevel 99: %v", err)
	}
	p, err := NewProgram(spec, &ProgramOptions{LogLevel: LogBranch | LogStats})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !strings.Contains(p.VerifierLog(), "processed") {
		t.Errorf("LogBranch|LogStats log lacks statistics: %q", p.VerifierLog())
	}
}

// Map flags the kernel refuses for a map type are named as the cause: the
// same map without them is created.
func TestNewMapFlagsHint(t *testing.T) {
	testenv.RequireRoot(t)
	_, err := NewMap(&MapSpec{Name: "lru_flag", Type: Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1, Flags: MapNoCommonLRU})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "refuses flags 0x2 for hash maps") {
		t.Errorf("hash map with MapNoCommonLRU: %v", err)
	}
	m, err := NewMap(&MapSpec{Name: "lru_flag", Type: LRUHash, KeySize: 4, ValueSize: 4, MaxEntries: 1, Flags: MapNoCommonLRU})
	if err != nil {
		t.Fatalf("LRU hash with MapNoCommonLRU: %v", err)
	}
	m.Close()
}

// Program flags the kernel refuses are named as the cause: the program
// loads without them.
func TestProgramFlagsHint(t *testing.T) {
	testenv.RequireRoot(t)
	spec := &Spec{Name: "flags", Type: SocketFilter, License: "GPL", Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}}
	_, err := NewProgram(spec, &ProgramOptions{Flags: 1 << 20})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "refuses ProgramOptions.Flags 0x100000 for socket_filter programs") {
		t.Errorf("flags 1<<20: %v", err)
	}
}

// Every method of every handle, present and future, on a nil receiver:
// no panic, Close is a no-op, errors name the nil handle.
func TestNilHandleMethods(t *testing.T) {
	// Pin("")/Unpin on nil fail; accessors (FD, Name, String, ...) return
	// no error. Iterate returns an iterator whose Err says nil.
	testenv.NilMethods(t, (*Map)(nil), "nil")
	testenv.NilMethods(t, (*Program)(nil), "nil")
	testenv.NilMethods(t, (*Iterator)(nil), "nil")
	testenv.NilMethods(t, (*BatchCursor)(nil), "nil")
}

// ProgramOptions.AttachTo loads tracing programs without an ELF object,
// and names a bad target or a program type that takes none.
func TestAttachTo(t *testing.T) {
	testenv.RequireRoot(t)
	ret := insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}
	for _, c := range []struct {
		at     AttachType
		target string
	}{{AttachTraceRawTp, "sys_enter"}, {AttachTraceRawTp, "sched_switch"}} {
		p, err := NewProgram(&Spec{Name: "attach_to", Type: Tracing, License: "GPL", Instructions: ret}, &ProgramOptions{ExpectedAttachType: c.at, AttachTo: c.target})
		if err != nil {
			t.Errorf("tracing program, attach type %d, target %s: %v", c.at, c.target, err)
			continue
		}
		p.Close()
	}
	_, err := NewProgram(&Spec{Name: "attach_to", Type: Tracing, License: "GPL", Instructions: ret}, &ProgramOptions{ExpectedAttachType: AttachTraceFentry, AttachTo: "no_such_function_purebpf"})
	if !strings.Contains(err.Error(), `no FUNC "no_such_function_purebpf" in the kernel's BTF`) {
		t.Errorf("unknown target: %v", err)
	}
	_, err = NewProgram(&Spec{Name: "attach_to", Type: SocketFilter, License: "GPL", Instructions: ret}, &ProgramOptions{AttachTo: "sys_enter"})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "only tracing and lsm programs take an attach target") {
		t.Errorf("AttachTo on a socket filter: %v", err)
	}
	_, err = NewProgram(&Spec{Name: "attach_to", Type: Tracing, License: "GPL", Instructions: ret}, &ProgramOptions{AttachTo: "sys_enter"})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "ExpectedAttachType 0 is none of") {
		t.Errorf("AttachTo without an attach type: %v", err)
	}
}

// A nil *Collection's accessors return nil, as a missing name does, and
// Close is a no-op.
func TestNilCollectionMethods(t *testing.T) {
	testenv.NilMethods(t, (*Collection)(nil), "nil")
	var c *Collection
	if c.Program("x") != nil || c.Map("x") != nil || c.Variable("x") != nil {
		t.Fatal("a nil *Collection returned a handle")
	}
}
