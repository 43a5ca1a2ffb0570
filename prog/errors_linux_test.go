//go:build linux

package prog

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/sys"
	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
)

func TestVerifierRejection(t *testing.T) {
	testenv.RequireRoot(t)
	spec := &Spec{
		Name: "bad", Type: SocketFilter, License: "GPL",
		Instructions: insn.Instructions{
			insn.Mov.Imm(insn.R0, 1),
			insn.Add.Reg(insn.R0, insn.R2), // r2 is uninitialised
			insn.Exit(),
		},
	}
	_, err := NewProgram(spec, nil)
	var ve *VerifierError
	if !errors.As(err, &ve) {
		t.Fatalf("NewProgram = %v, want a *VerifierError", err)
	}
	if !errors.Is(err, unix.EACCES) {
		t.Errorf("error %v does not match EACCES", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "R2 !read_ok") || !strings.Contains(msg, `"bad"`) || !strings.Contains(msg, "r0 += r2") {
		t.Errorf("Error() = %q: want the program, the failing instruction and R2 !read_ok", msg)
	}
	if !strings.Contains(ve.Log, "R2 !read_ok") || !strings.Contains(ve.Log, "processed") || ve.Truncated {
		t.Errorf("Log = %q (truncated %v)", ve.Log, ve.Truncated)
	}
	if lines := ve.Lines(); len(lines) < 2 {
		t.Errorf("Lines = %q", lines)
	}
	if errors.Is(err, ErrNotSupported) {
		t.Error("a verifier rejection matches ErrNotSupported")
	}
}

func TestVerifierLogGrows(t *testing.T) {
	testenv.RequireRoot(t)
	// Many instructions on the one verified path and a failure at the end:
	// the level-1 log prints every instruction, far more than 256 bytes.
	const n = 3000
	is := make(insn.Instructions, 0, n+3)
	is = append(is, insn.Mov.Imm(insn.R0, 0))
	for i := 0; i < n; i++ {
		is = append(is, insn.Add.Imm(insn.R0, 1))
	}
	is = append(is, insn.Add.Reg(insn.R0, insn.R3), insn.Exit())
	spec := &Spec{Name: "biglog", Type: SocketFilter, License: "GPL", Instructions: is}
	_, err := NewProgram(spec, &ProgramOptions{LogSize: 256})
	var ve *VerifierError
	if !errors.As(err, &ve) {
		t.Fatalf("NewProgram = %v, want a *VerifierError", err)
	}
	if len(ve.Log) <= 256 || ve.Truncated {
		t.Fatalf("log is %d bytes (truncated %v); it should have grown past 256", len(ve.Log), ve.Truncated)
	}
	first := "0: (b7) r0 = 0"
	last := fmt.Sprintf("%d: (0f) r0 += r3", n+1)
	if !strings.Contains(ve.Log, first) || !strings.Contains(ve.Log, last) || !strings.Contains(ve.Log, "R3 !read_ok") {
		t.Errorf("grown log lacks %q, %q or the error; it is %d bytes", first, last, len(ve.Log))
	}

	// With LogLevel set the log is kept on success too. LogSize 16 is
	// below the 128 bytes kernels before Linux 6.4 require (they fail
	// with EINVAL); the loader raises it, so this loads on every kernel.
	ok := &Spec{Name: "ok", Type: SocketFilter, License: "GPL", Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}}
	p := mustLoad(t, ok, &ProgramOptions{LogLevel: LogStats, LogSize: 16})
	if !strings.Contains(p.VerifierLog(), "processed 2 insns") {
		t.Errorf("VerifierLog = %q", p.VerifierLog())
	}
}

func TestUnknownHelper(t *testing.T) {
	testenv.RequireRoot(t)
	spec := &Spec{Name: "nohelper", Type: SocketFilter, License: "GPL", Instructions: insn.Instructions{
		insn.Call(100000), insn.Mov.Imm(insn.R0, 0), insn.Exit(),
	}}
	_, err := NewProgram(spec, nil)
	var ve *VerifierError
	if !errors.As(err, &ve) || !errors.Is(err, ErrNotSupported) {
		t.Fatalf("NewProgram = %v, want a *VerifierError matching ErrNotSupported", err)
	}
	if ve.MissingHelper != 100000 || !strings.Contains(err.Error(), "helper") || !strings.Contains(err.Error(), "100000") {
		t.Errorf("MissingHelper = %d, Error() = %q", ve.MissingHelper, err)
	}
	// A real helper the socket filter type does not offer:
	// bpf_override_return (58) exists only for kprobe programs.
	spec.Instructions[0] = insn.Call(58)
	if _, err := NewProgram(spec, nil); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "socket_filter") {
		t.Errorf("probe_read_kernel in a socket filter: %v", err)
	}
}

func TestGPLOnlyHelper(t *testing.T) {
	testenv.RequireRoot(t)
	// bpf_probe_read_kernel is GPL-only (gpl_only = true in
	// kernel/trace/bpf_trace.c).
	spec := &Spec{Name: "nongpl", Type: Kprobe, License: "Proprietary", Instructions: insn.Instructions{
		insn.Mov.Reg(insn.R1, insn.RFP),
		insn.Add.Imm(insn.R1, -8),
		insn.Mov.Imm(insn.R2, 8),
		insn.Mov.Imm(insn.R3, 0),
		insn.FnProbeReadKernel.Call(),
		insn.Mov.Imm(insn.R0, 0),
		insn.Exit(),
	}}
	_, err := NewProgram(spec, nil)
	var ve *VerifierError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), `license "Proprietary" is not GPL-compatible`) {
		t.Fatalf("NewProgram(non-GPL calling a GPL helper) = %v", err)
	}
	spec.License = "GPL"
	mustLoad(t, spec, nil)
}

func TestUnknownProgramType(t *testing.T) {
	testenv.RequireRoot(t)
	spec := &Spec{Name: "weird", Type: Type(250), License: "GPL", Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}}
	_, err := NewProgram(spec, nil)
	if !errors.Is(err, ErrNotSupported) || !errors.Is(err, sys.ErrNotSupported) || !strings.Contains(err.Error(), "program type bpf_prog_type(250)") {
		t.Fatalf("NewProgram(type 250) = %v", err)
	}
	if _, err := NewMap(&MapSpec{Name: "weird", Type: MapType(250), KeySize: 4, ValueSize: 4, MaxEntries: 1}); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "bpf_map_type(250)") {
		t.Fatalf("NewMap(type 250) = %v", err)
	}
}

func TestProgramTooBig(t *testing.T) {
	testenv.RequireRoot(t)
	// One instruction over the kernel's limit for privileged loaders
	// (BPF_COMPLEXITY_LIMIT_INSNS).
	const n = 1_000_001
	is := make(insn.Instructions, n)
	for i := range is {
		is[i] = insn.Mov.Imm(insn.R0, 0)
	}
	is[n-1] = insn.Exit()
	_, err := NewProgram(&Spec{Name: "huge", Type: SocketFilter, License: "GPL", Instructions: is}, nil)
	if !errors.Is(err, unix.E2BIG) || !strings.Contains(err.Error(), "1000001 instructions") {
		t.Fatalf("NewProgram(1,000,001 instructions) = %v, want E2BIG naming the count", err)
	}
}

// TestEPERMExplained re-runs this test binary as user nobody, where
// bpf(2) refuses to load, and checks the explanation.
func TestEPERMExplained(t *testing.T) {
	if testenv.Unprivileged() {
		_, err := NewProgram(counterSpec(Array), nil)
		t.Log(err)
		if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "CAP_BPF") {
			t.Fatalf("unprivileged NewProgram = %v, want EPERM explaining CAP_BPF", err)
		}
		_, err = NewProgram(&Spec{Name: "plain", Type: SocketFilter, License: "GPL", Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}}, nil)
		t.Log(err)
		if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "BPF_PROG_LOAD") || !strings.Contains(err.Error(), "CAP_BPF") {
			t.Fatalf("unprivileged NewProgram without maps = %v, want EPERM from BPF_PROG_LOAD explaining CAP_BPF", err)
		}
		_, err = NewMap(&MapSpec{Name: "m", Type: Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
		if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "CAP_BPF") {
			t.Fatalf("unprivileged NewMap = %v, want EPERM explaining CAP_BPF", err)
		}
		return
	}
	testenv.RunUnprivileged(t)
}

func TestMemlock(t *testing.T) {
	ma, mi, pa, err := parseKernelRelease("5.10.0-21-amd64")
	if err != nil || ma != 5 || mi != 10 || pa != 0 {
		t.Fatalf("parse 5.10.0-21-amd64 = %d.%d.%d, %v", ma, mi, pa, err)
	}
	if ma, mi, pa, err := parseKernelRelease("6.18.44-fc-v657"); err != nil || ma != 6 || mi != 18 || pa != 44 {
		t.Fatalf("parse 6.18.44-fc-v657 = %d.%d.%d, %v", ma, mi, pa, err)
	}
	if _, _, _, err := parseKernelRelease("garbage"); err == nil {
		t.Fatal("parsed garbage")
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	ma, mi, _, err = parseKernelRelease(unix.ByteSliceToString(u.Release[:]))
	if err != nil {
		t.Fatal(err)
	}
	old := ma < 5 || (ma == 5 && mi < 11)
	if memlockCharged() != old {
		t.Errorf("memlockCharged() = %v on %d.%d", memlockCharged(), ma, mi)
	}
	if old && os.Geteuid() == 0 {
		var lim unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim); err != nil || lim.Cur != unix.RLIM_INFINITY {
			t.Errorf("RLIMIT_MEMLOCK not raised on a pre-5.11 kernel: %+v %v", lim, err)
		}
	}
}

func TestMapBadInput(t *testing.T) {
	testenv.RequireRoot(t)
	m, err := NewMap(&MapSpec{Name: "bad", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Update(uint64(1), uint64(2), UpdateAny); !errors.Is(err, mapvalue.ErrSize) || !strings.Contains(err.Error(), "key is 8 bytes, map wants 4") {
		t.Errorf("8-byte key: %v", err)
	}
	if err := m.Update(uint32(1), uint32(2), UpdateAny); !errors.Is(err, mapvalue.ErrSize) || !strings.Contains(err.Error(), "value is 4 bytes") {
		t.Errorf("4-byte value: %v", err)
	}
	var small uint32
	if err := m.Lookup(uint32(1), &small); !errors.Is(err, mapvalue.ErrSize) {
		t.Errorf("4-byte lookup buffer: %v", err)
	}
	if err := m.Lookup(uint32(1), []byte{1, 2, 3}); !errors.Is(err, mapvalue.ErrSize) {
		t.Errorf("3-byte lookup buffer: %v", err)
	}
	if err := m.Lookup(uint32(1), "string"); !errors.Is(err, mapvalue.ErrType) {
		t.Errorf("string value: %v", err)
	}
	var v uint64
	if err := m.Lookup(uint32(9), &v); !errors.Is(err, ErrKeyNotExist) || !errors.Is(err, unix.ENOENT) {
		t.Errorf("missing key: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Lookup(uint32(1), &v); !errors.Is(err, os.ErrClosed) {
		t.Errorf("lookup on closed map: %v", err)
	}
	if err := m.Update(uint32(1), uint64(1), UpdateAny); !errors.Is(err, os.ErrClosed) {
		t.Errorf("update on closed map: %v", err)
	}
	if err := m.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
	if _, err := NewMap(&MapSpec{Name: "zero", Type: Hash, KeySize: 0, ValueSize: 8, MaxEntries: 4}); !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), "KeySize is 0") {
		t.Errorf("hash with key size 0: %v", err)
	}
	// A closed map given to NewProgram.
	_, err = NewProgram(counterSpec(Array), &ProgramOptions{Maps: map[string]*Map{"counters": m}})
	if !errors.Is(err, os.ErrClosed) {
		t.Errorf("NewProgram with a closed map: %v", err)
	}
}

// TestAttrSize sends bpf(2) attributes of wrong sizes: a larger attribute
// whose extra bytes are not zero is E2BIG (bpf_check_uarg_tail_zero), one
// larger than a page is E2BIG, a truncated one reads as zeros.
func TestAttrSize(t *testing.T) {
	testenv.RequireRoot(t)
	buf := make([]byte, 4096)
	attr := (*sys.MapCreateAttr)(unsafe.Pointer(&buf[0]))
	attr.MapType, attr.KeySize, attr.ValueSize, attr.MaxEntries = sys.MapTypeArray, 4, 4, 1
	buf[4000] = 1
	if _, err := sys.BPF(sys.CmdMapCreate, unsafe.Pointer(&buf[0]), uintptr(len(buf))); !errors.Is(err, unix.E2BIG) {
		t.Errorf("4096-byte attr with a non-zero tail: %v, want E2BIG", err)
	}
	big := make([]byte, 8192)
	copy(big, buf[:64])
	if _, err := sys.BPF(sys.CmdMapCreate, unsafe.Pointer(&big[0]), uintptr(len(big))); !errors.Is(err, unix.E2BIG) {
		t.Errorf("8192-byte attr: %v, want E2BIG", err)
	}
	// The first 16 bytes (type, key, value, max entries) are enough.
	fd, err := sys.BPF(sys.CmdMapCreate, unsafe.Pointer(&buf[0]), 16)
	if err != nil {
		t.Fatalf("16-byte attr: %v", err)
	}
	unix.Close(fd)
	// Too short to hold max_entries: it reads as 0, which the kernel
	// rejects.
	if _, err := sys.BPF(sys.CmdMapCreate, unsafe.Pointer(&buf[0]), 12); !errors.Is(err, unix.EINVAL) {
		t.Errorf("12-byte attr: %v, want EINVAL", err)
	}
}
