//go:build linux

package sys

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
)

// retZeroExit is "r0 = 0; exit": BPF_ALU64|BPF_MOV|BPF_K with imm 0, then
// BPF_JMP|BPF_EXIT.
var retZeroExit = []byte{
	0xb7, 0, 0, 0, 0, 0, 0, 0,
	0x95, 0, 0, 0, 0, 0, 0, 0,
}

func loadRetZero(t *testing.T, typ ProgType, name string) *FD {
	t.Helper()
	license, err := NewStringPointer("GPL")
	if err != nil {
		t.Fatal(err)
	}
	logBuf := make([]byte, 4096)
	attr := ProgLoadAttr{
		ProgType: typ,
		InsnCnt:  uint32(len(retZeroExit) / InsnSize),
		Insns:    NewSlicePointer(retZeroExit),
		License:  license,
		LogLevel: LogLevelBranch,
		LogSize:  uint32(len(logBuf)),
		LogBuf:   NewSlicePointer(logBuf),
		ProgName: NewObjName(name),
	}
	fd, err := ProgLoad(&attr)
	if err != nil {
		t.Fatalf("ProgLoad: %v\nverifier log:\n%s", err, strings.TrimRight(string(logBuf), "\x00"))
	}
	if attr.LogTrueSize == 0 && kernelAtLeast(t, 6, 4) {
		t.Errorf("LogTrueSize not written back by the kernel")
	}
	t.Cleanup(func() { fd.Close() })
	return fd
}

// kernelAtLeast reports whether the running kernel is at least major.minor.
func kernelAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	var maj, min int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &maj, &min); err != nil {
		t.Fatalf("parse kernel release: %v", err)
	}
	return maj > major || maj == major && min >= minor
}

func createMap(t *testing.T, typ MapType, keySize, valueSize, maxEntries uint32, name string) *FD {
	t.Helper()
	fd, err := MapCreate(&MapCreateAttr{
		MapType:    typ,
		KeySize:    keySize,
		ValueSize:  valueSize,
		MaxEntries: maxEntries,
		MapName:    NewObjName(name),
	})
	if err != nil {
		t.Fatalf("MapCreate(%v): %v", typ, err)
	}
	t.Cleanup(func() { fd.Close() })
	return fd
}

func TestCmdString(t *testing.T) {
	for cmd, want := range map[Cmd]string{
		CmdMapCreate:      "BPF_MAP_CREATE",
		CmdProgLoad:       "BPF_PROG_LOAD",
		CmdLinkDetach:     "BPF_LINK_DETACH",
		CmdTokenCreate:    "BPF_TOKEN_CREATE",
		CmdObjGetInfoByFD: "BPF_OBJ_GET_INFO_BY_FD",
		Cmd(99):           "BPF_CMD(99)",
		Cmd(-1):           "BPF_CMD(-1)",
	} {
		if got := cmd.String(); got != want {
			t.Errorf("Cmd(%d).String() = %q, want %q", int(cmd), got, want)
		}
	}
	if got := MapTypeArena.String(); got != "BPF_MAP_TYPE_ARENA" {
		t.Errorf("MapTypeArena = %q", got)
	}
	if got := ProgTypeNetfilter.String(); got != "BPF_PROG_TYPE_NETFILTER" {
		t.Errorf("ProgTypeNetfilter = %q", got)
	}
	if got := MapType(1000).String(); got != "BPF_MAP_TYPE(1000)" {
		t.Errorf("MapType(1000) = %q", got)
	}
}

func TestObjName(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "",
		"simple":                    "simple",
		"with-dash and space!":      "withdashandspac",
		"exactly_15_chrs":           "exactly_15_chrs",
		"sixteen_chars_xx":          "sixteen_chars_x",
		"dots.and_under.sc0res1234": "dots.and_under.",
		"ünïcode":                   "ncode",
	} {
		n := NewObjName(in)
		if got := n.String(); got != want {
			t.Errorf("NewObjName(%q) = %q, want %q", in, got, want)
		}
		if n[ObjNameLen-1] != 0 {
			t.Errorf("NewObjName(%q) not NUL-terminated", in)
		}
	}
}

func TestPointerConstructors(t *testing.T) {
	if !NewSlicePointer([]byte(nil)).IsNil() || !NewSlicePointer(make([]uint64, 0, 4)).IsNil() {
		t.Error("empty slice should give a NULL Pointer")
	}
	b := []byte{1, 2}
	if NewSlicePointer(b).Unsafe() != unsafe.Pointer(&b[0]) {
		t.Error("slice pointer mismatch")
	}
	if NewBytePointer(&b[1]).Unsafe() != unsafe.Pointer(&b[1]) {
		t.Error("byte pointer mismatch")
	}
	p, err := NewStringPointer("GPL")
	if err != nil {
		t.Fatal(err)
	}
	if got := unsafe.Slice((*byte)(p.Unsafe()), 4); string(got) != "GPL\x00" {
		t.Errorf("string pointer bytes %q", got)
	}
	if _, err := NewStringPointer("a\x00b"); err == nil {
		t.Error("NewStringPointer accepted an embedded NUL")
	}
}

func TestErrnoConversion(t *testing.T) {
	err := newError(cmdOp(CmdProgLoad), ENOTSUPP)
	if !errors.Is(err, ErrNotSupported) {
		t.Errorf("%v is not ErrNotSupported", err)
	}
	if !errors.Is(err, ENOTSUPP) {
		t.Errorf("%v does not keep the errno", err)
	}
	var errno unix.Errno
	if !errors.As(err, &errno) || errno != 524 {
		t.Errorf("errors.As errno = %d", errno)
	}
	if want := "bpf(BPF_PROG_LOAD): not supported (ENOTSUPP)"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}

	err = newError(cmdOp(CmdMapCreate), unix.EPERM)
	if want := "bpf(BPF_MAP_CREATE): operation not permitted"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	if !errors.Is(err, unix.EPERM) || !errors.Is(err, os.ErrPermission) {
		t.Errorf("%v does not match EPERM / os.ErrPermission", err)
	}
	if errors.Is(err, ErrNotSupported) {
		t.Errorf("%v must not match ErrNotSupported", err)
	}
	wrapped := fmt.Errorf("outer: %w", err)
	var se *Error
	if !errors.As(wrapped, &se) || se.Errno != unix.EPERM || se.Op != "bpf(BPF_MAP_CREATE)" {
		t.Errorf("errors.As *Error = %+v", se)
	}
	if newError("x", 0) != nil {
		t.Error("errno 0 must give nil")
	}
}

func TestNilAttributes(t *testing.T) {
	if _, err := MapCreate(nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("MapCreate(nil) = %v", err)
	}
	if _, err := ProgLoad(nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("ProgLoad(nil) = %v", err)
	}
	if err := MapLookupElem(nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("MapLookupElem(nil) = %v", err)
	}
	if _, err := LinkCreate(nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("LinkCreate(nil) = %v", err)
	}
	if _, err := LinkCreate((*LinkCreatePerfEventAttr)(nil)); !errors.Is(err, unix.EINVAL) {
		t.Errorf("LinkCreate(typed nil) = %v", err)
	}
	if _, err := PerfEventOpen(nil, 0, -1, -1, 0); !errors.Is(err, unix.EINVAL) {
		t.Errorf("PerfEventOpen(nil) = %v", err)
	}
	if _, err := BPF(CmdMapCreate, nil, 80); !errors.Is(err, unix.EINVAL) {
		t.Errorf("BPF(nil attr) = %v", err)
	}
	if err := ObjPin("/sys/fs/bpf/a\x00b", nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("ObjPin(NUL path) = %v", err)
	}
}

func TestMapCreateInvalidType(t *testing.T) {
	testenv.RequireRoot(t)
	fd, err := MapCreate(&MapCreateAttr{MapType: MapType(0xffff), KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err == nil {
		fd.Close()
		t.Fatal("MapCreate with an invalid map type succeeded")
	}
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("error %v does not wrap EINVAL", err)
	}
	if !strings.HasPrefix(err.Error(), "bpf(BPF_MAP_CREATE): ") {
		t.Errorf("error %q does not name the command", err)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestMapCreateCloseNoLeak(t *testing.T) {
	testenv.RequireRoot(t)
	before := countFDs(t)
	for i := range 1000 {
		fd, err := MapCreate(&MapCreateAttr{MapType: MapTypeArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
		if err != nil {
			t.Fatalf("iteration %d: %v", i, err)
		}
		if err := fd.Close(); err != nil {
			t.Fatalf("iteration %d: close: %v", i, err)
		}
	}
	if after := countFDs(t); after != before {
		t.Fatalf("open fds: %d before, %d after 1000 create/close loops", before, after)
	}
}

func TestProgLoadTestRunAndInfo(t *testing.T) {
	testenv.RequireRoot(t)
	prog := loadRetZero(t, ProgTypeSocketFilter, "purebpf_test")

	data := make([]byte, 64) // at least an Ethernet header for skb programs
	run := ProgTestRunAttr{
		ProgFD:     prog.Uint(),
		DataSizeIn: uint32(len(data)),
		DataIn:     NewSlicePointer(data),
		Repeat:     10,
		Retval:     0xdeadbeef,
		Duration:   0xffffffff,
	}
	if err := ProgTestRun(&run); err != nil {
		t.Fatalf("ProgTestRun: %v", err)
	}
	if run.Retval != 0 {
		t.Errorf("retval = %d, want 0", run.Retval)
	}
	if run.Duration == 0xffffffff {
		t.Errorf("duration was not written back")
	}

	var info ProgInfo
	if err := ProgGetInfoByFD(prog, &info); err != nil {
		t.Fatalf("ProgGetInfoByFD: %v", err)
	}
	if info.Type != ProgTypeSocketFilter {
		t.Errorf("type = %v, want %v", info.Type, ProgTypeSocketFilter)
	}
	if got := info.Name.String(); got != "purebpf_test" {
		t.Errorf("name = %q, want purebpf_test", got)
	}
	if !info.GPLCompatible() {
		t.Errorf("GPL program not reported gpl_compatible")
	}
	if info.ID == 0 || info.XlatedProgLen != 16 {
		t.Errorf("id %d, xlated_prog_len %d", info.ID, info.XlatedProgLen)
	}

	// Iterate program IDs until ours turns up, and open it by ID.
	found := false
	for id := uint32(0); ; {
		next, err := ProgGetNextID(id)
		if errors.Is(err, unix.ENOENT) {
			break
		}
		if err != nil {
			t.Fatalf("ProgGetNextID(%d): %v", id, err)
		}
		if next == info.ID {
			found = true
			break
		}
		id = next
	}
	if !found {
		t.Fatalf("program ID %d not found by ProgGetNextID", info.ID)
	}
	byID, err := ProgGetFDByID(info.ID)
	if err != nil {
		t.Fatalf("ProgGetFDByID: %v", err)
	}
	defer byID.Close()
	var info2 ProgInfo
	if err := ObjGetInfoByFD(byID, unsafe.Pointer(&info2), uint32(unsafe.Sizeof(info2))); err != nil {
		t.Fatal(err)
	}
	if info2.ID != info.ID {
		t.Errorf("reopened program has ID %d, want %d", info2.ID, info.ID)
	}
}

func TestProgLoadVerifierError(t *testing.T) {
	testenv.RequireRoot(t)
	license, _ := NewStringPointer("GPL")
	exitOnly := []byte{0x95, 0, 0, 0, 0, 0, 0, 0} // r0 is never set
	logBuf := make([]byte, 4096)
	fd, err := ProgLoad(&ProgLoadAttr{
		ProgType: ProgTypeSocketFilter,
		InsnCnt:  1,
		Insns:    NewSlicePointer(exitOnly),
		License:  license,
		LogLevel: LogLevelBranch,
		LogSize:  uint32(len(logBuf)),
		LogBuf:   NewSlicePointer(logBuf),
	})
	if err == nil {
		fd.Close()
		t.Fatal("program reading an uninitialized r0 was accepted")
	}
	if !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EINVAL) {
		t.Errorf("error %v, want EACCES or EINVAL", err)
	}
	if !strings.Contains(string(logBuf), "R0") {
		t.Errorf("verifier log does not mention R0: %q", strings.TrimRight(string(logBuf), "\x00"))
	}
}

func TestMapElemRoundTrip(t *testing.T) {
	testenv.RequireRoot(t)
	m := createMap(t, MapTypeHash, 4, 8, 16, "purebpf_hash")

	key := make([]byte, 4)
	value := make([]byte, 8)
	elem := func(k, v []byte, flags uint64) *MapElemAttr {
		return &MapElemAttr{MapFD: m.Uint(), Key: NewSlicePointer(k), Value: NewSlicePointer(v), Flags: flags}
	}

	for i := uint32(1); i <= 3; i++ {
		binary.NativeEndian.PutUint32(key, i)
		binary.NativeEndian.PutUint64(value, uint64(i)*100)
		if err := MapUpdateElem(elem(key, value, UpdateNoExist)); err != nil {
			t.Fatalf("MapUpdateElem(%d): %v", i, err)
		}
	}
	binary.NativeEndian.PutUint32(key, 1)
	if err := MapUpdateElem(elem(key, value, UpdateNoExist)); !errors.Is(err, unix.EEXIST) {
		t.Errorf("NOEXIST update of an existing key = %v, want EEXIST", err)
	}

	got := make([]byte, 8)
	binary.NativeEndian.PutUint32(key, 2)
	if err := MapLookupElem(elem(key, got, 0)); err != nil {
		t.Fatalf("MapLookupElem: %v", err)
	}
	if v := binary.NativeEndian.Uint64(got); v != 200 {
		t.Errorf("lookup(2) = %d, want 200", v)
	}

	// Walk all keys with GET_NEXT_KEY, starting from a NULL key.
	seen := map[uint32]bool{}
	next := make([]byte, 4)
	var cur []byte
	for {
		err := MapGetNextKey(elem(cur, next, 0))
		if errors.Is(err, unix.ENOENT) {
			break
		}
		if err != nil {
			t.Fatalf("MapGetNextKey: %v", err)
		}
		k := binary.NativeEndian.Uint32(next)
		if seen[k] {
			t.Fatalf("key %d returned twice", k)
		}
		seen[k] = true
		cur = append(cur[:0], next...)
	}
	if len(seen) != 3 || !seen[1] || !seen[2] || !seen[3] {
		t.Errorf("GET_NEXT_KEY saw %v, want keys 1..3", seen)
	}

	// Batch lookup of everything.
	keys := make([]byte, 4*16)
	values := make([]byte, 8*16)
	outBatch := make([]byte, 4)
	batch := MapBatchAttr{
		OutBatch: NewSlicePointer(outBatch),
		Keys:     NewSlicePointer(keys),
		Values:   NewSlicePointer(values),
		Count:    16,
		MapFD:    m.Uint(),
	}
	if err := MapLookupBatch(&batch); err != nil && !errors.Is(err, unix.ENOENT) {
		t.Fatalf("MapLookupBatch: %v", err)
	}
	if batch.Count != 3 {
		t.Errorf("batch count = %d, want 3", batch.Count)
	}
	for i := range batch.Count {
		k := binary.NativeEndian.Uint32(keys[4*i:])
		v := binary.NativeEndian.Uint64(values[8*i:])
		if v != uint64(k)*100 {
			t.Errorf("batch element %d: key %d value %d", i, k, v)
		}
	}

	// Lookup-and-delete, then delete, then both keys are gone.
	binary.NativeEndian.PutUint32(key, 3)
	if err := MapLookupAndDeleteElem(elem(key, got, 0)); err != nil {
		t.Fatalf("MapLookupAndDeleteElem: %v", err)
	}
	if v := binary.NativeEndian.Uint64(got); v != 300 {
		t.Errorf("lookup-and-delete(3) = %d, want 300", v)
	}
	binary.NativeEndian.PutUint32(key, 2)
	if err := MapDeleteElem(elem(key, nil, 0)); err != nil {
		t.Fatalf("MapDeleteElem: %v", err)
	}
	for _, k := range []uint32{2, 3} {
		binary.NativeEndian.PutUint32(key, k)
		err := MapLookupElem(elem(key, got, 0))
		if !errors.Is(err, unix.ENOENT) {
			t.Errorf("lookup of deleted key %d = %v, want ENOENT", k, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "bpf(BPF_MAP_LOOKUP_ELEM): ") {
			t.Errorf("error %q does not name the command", err)
		}
	}

	var info MapInfo
	if err := MapGetInfoByFD(m, &info); err != nil {
		t.Fatal(err)
	}
	if info.Type != MapTypeHash || info.KeySize != 4 || info.ValueSize != 8 ||
		info.MaxEntries != 16 || info.Name.String() != "purebpf_hash" {
		t.Errorf("map info %+v", info)
	}
	byID, err := MapGetFDByID(info.ID, 0)
	if err != nil {
		t.Fatalf("MapGetFDByID: %v", err)
	}
	byID.Close()
	if _, err := MapGetNextID(0); err != nil {
		t.Errorf("MapGetNextID(0): %v", err)
	}
}

func TestMapFreeze(t *testing.T) {
	testenv.RequireRoot(t)
	m := createMap(t, MapTypeArray, 4, 8, 1, "")
	if err := MapFreeze(&MapFreezeAttr{MapFD: m.Uint()}); err != nil {
		t.Fatalf("MapFreeze: %v", err)
	}
	key := make([]byte, 4)
	value := make([]byte, 8)
	err := MapUpdateElem(&MapElemAttr{MapFD: m.Uint(), Key: NewSlicePointer(key), Value: NewSlicePointer(value)})
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("update of a frozen map = %v, want EPERM", err)
	}
}

func TestObjPinGet(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, ""); err != nil {
		t.Fatalf("mount bpffs on %s: %v", dir, err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)

	m := createMap(t, MapTypeArray, 4, 8, 1, "pinned")
	path := filepath.Join(dir, "map")
	if err := ObjPin(path, m); err != nil {
		t.Fatalf("ObjPin: %v", err)
	}
	if err := ObjPin(path, m); !errors.Is(err, unix.EEXIST) {
		t.Errorf("second ObjPin = %v, want EEXIST", err)
	}
	got, err := ObjGet(path, MapFlagRdonly)
	if err != nil {
		t.Fatalf("ObjGet: %v", err)
	}
	defer got.Close()
	var a, b MapInfo
	if err := MapGetInfoByFD(m, &a); err != nil {
		t.Fatal(err)
	}
	if err := MapGetInfoByFD(got, &b); err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID {
		t.Errorf("pinned map ID %d, reopened ID %d", a.ID, b.ID)
	}
	if _, err := ObjGet(filepath.Join(dir, "missing"), 0); !errors.Is(err, unix.ENOENT) {
		t.Errorf("ObjGet(missing) = %v, want ENOENT", err)
	}
}

func TestLinkErrors(t *testing.T) {
	testenv.RequireRoot(t)
	_, err := LinkCreate(&LinkCreatePerfEventAttr{
		ProgFD:     0x7fffffff,
		TargetFD:   0x7fffffff,
		AttachType: AttachPerfEvent,
	})
	if !errors.Is(err, unix.EBADF) {
		t.Errorf("LinkCreate with a bad fd = %v, want EBADF", err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "bpf(BPF_LINK_CREATE): ") {
		t.Errorf("error %q does not name the command", err)
	}
	if err := LinkDetach(nil); !errors.Is(err, unix.EBADF) {
		t.Errorf("LinkDetach(nil) = %v, want EBADF", err)
	}
	r, w := pipeFD(t)
	w.Close()
	r.Close()
	if err := LinkDetach(r); !errors.Is(err, unix.EBADF) {
		t.Errorf("LinkDetach(closed fd) = %v, want EBADF", err)
	}
}

func TestPerfEventLink(t *testing.T) {
	testenv.RequireRoot(t)
	attr := PerfEventAttr{
		Type:               PerfTypeSoftware,
		Config:             PerfCountSWCPUClock,
		SamplePeriodOrFreq: 1000000,
		Flags:              PerfBitDisabled,
	}
	pe, err := PerfEventOpen(&attr, 0, -1, -1, 0)
	if err != nil {
		t.Fatalf("PerfEventOpen: %v", err)
	}
	defer pe.Close()
	if attr.Size != PerfEventAttrSize {
		t.Errorf("attr.Size = %d, want %d", attr.Size, PerfEventAttrSize)
	}
	flags, err := unix.FcntlInt(uintptr(pe.Int()), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("perf fd flags %#x, %v: want FD_CLOEXEC", flags, err)
	}

	prog := loadRetZero(t, ProgTypePerfEvent, "perf_prog")
	link, err := LinkCreate(&LinkCreatePerfEventAttr{
		ProgFD:     prog.Uint(),
		TargetFD:   pe.Uint(),
		AttachType: AttachPerfEvent,
		BPFCookie:  0x1234,
	})
	if err != nil {
		t.Fatalf("LinkCreate(perf_event): %v", err)
	}
	defer link.Close()
	if err := PerfEventEnable(pe); err != nil {
		t.Fatalf("PerfEventEnable: %v", err)
	}
	if err := PerfEventDisable(pe); err != nil {
		t.Fatalf("PerfEventDisable: %v", err)
	}
	// perf_event links cannot be detached, only closed.
	if err := LinkDetach(link); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("LinkDetach(perf_event link) = %v", err)
	}
	if err := PerfEventSetBPF(pe, prog); !errors.Is(err, unix.EEXIST) {
		t.Errorf("PerfEventSetBPF on an event with a program = %v, want EEXIST", err)
	}
	if err := link.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing the link released the event for another program.
	if err := PerfEventSetBPF(pe, prog); err != nil {
		t.Errorf("PerfEventSetBPF after closing the link: %v", err)
	}
}

func sigprofBlocked(t *testing.T) bool {
	t.Helper()
	var cur unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &cur); err != nil {
		t.Fatal(err)
	}
	var prof unix.Sigset_t
	sigaddset(&prof, unix.SIGPROF)
	for i := range cur.Val {
		if cur.Val[i]&prof.Val[i] != 0 {
			return true
		}
	}
	return false
}

func TestProgLoadRestoresSignalMask(t *testing.T) {
	testenv.RequireRoot(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if sigprofBlocked(t) {
		t.Skip("skipping: SIGPROF already blocked on this thread")
	}
	loadRetZero(t, ProgTypeSocketFilter, "mask_test")
	if sigprofBlocked(t) {
		t.Fatal("ProgLoad left SIGPROF blocked")
	}
}

func TestProgLoadUnderCPUProfile(t *testing.T) {
	testenv.RequireRoot(t)
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Skip("skipping: CPU profiler busy:", err)
	}
	defer pprof.StopCPUProfile()
	for range 200 {
		fd := loadRetZero(t, ProgTypeSocketFilter, "")
		fd.Close()
	}
}

// BPF_OBJ_GET on a file outside a bpffs answers EACCES, which reads like
// a permission problem; ObjGet says the file is no pin.
func TestObjGetNotBPFFS(t *testing.T) {
	testenv.RequireRoot(t)
	path := filepath.Join(t.TempDir(), "not-a-pin")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := ObjGet(path, 0)
	if err == nil {
		fd.Close()
		t.Fatal("ObjGet of a regular file succeeded")
	}
	if !errors.Is(err, unix.EACCES) || !strings.Contains(err.Error(), "not on a BPF filesystem (bpffs)") {
		t.Errorf("ObjGet(%s) = %v, want EACCES saying the file is not on a bpffs", path, err)
	}
}
