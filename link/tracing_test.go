//go:build linux

package link

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// sysEnterCounter counts sys_enter events of syscall nr on thread tid.
// The raw tracepoint's context and tp_btf's are both the u64 argument
// array of btf_trace_sys_enter(void *, struct pt_regs *regs, long id):
// the syscall number is at offset 8.
func sysEnterCounter(tid int, nr int32) insn.Instructions {
	code := insn.Instructions{
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.Call(int32(insn.FnGetCurrentPIDTGID)),
		insn.Mov.Reg32(insn.R0, insn.R0), // the thread ID, low 32 bits
		insn.JNE.Imm(insn.R0, int32(tid), "out"),
		insn.LoadMem(insn.R1, insn.R6, 8, insn.DW),
		insn.JNE.Imm(insn.R1, nr, "out"),
	}
	code = append(code, countInsns(0)...)
	return append(code, insn.Mov.Imm(insn.R0, 0).WithLabel("out"), insn.Exit())
}

// getpids makes n getpid system calls on the calling thread.
func getpids(n int) {
	for k := 0; k < n; k++ {
		syscall.RawSyscall(unix.SYS_GETPID, 0, 0, 0)
	}
}

func TestRawTracepoint(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := load(t, &prog.Spec{Name: "rawtp_getpid", Type: prog.RawTracePoint,
		Instructions: sysEnterCounter(unix.Gettid(), unix.SYS_GETPID), Maps: []*prog.MapSpec{counterSpec("counts", 1)}}, nil)
	l, err := AttachRawTracepoint(p, "sys_enter")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	getpids(5)
	if n := counter(t, p, 0); n != 5 {
		t.Fatalf("counted %d getpid calls, want 5", n)
	}
	info, err := l.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != TypeRawTracepoint || info.Tracepoint != "sys_enter" {
		t.Fatalf("Info = %+v, want raw_tracepoint sys_enter", info)
	}
	if err := l.Update(p); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("Update: %v, want ErrNotSupported", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	getpids(3)
	if n := counter(t, p, 0); n != 5 {
		t.Fatalf("after Close counted %d, want still 5", n)
	}

	if _, err := AttachRawTracepoint(p, "no_such_tracepoint_purebpf"); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("unknown tracepoint: %v, want ENOENT", err)
	}
	_, err = AttachRawTracepoint(socketFilter(t), "sys_enter")
	if !errors.Is(err, ErrProgramType) || !strings.Contains(err.Error(), "raw_tracepoint") {
		t.Fatalf("socket filter on a raw tracepoint: %v, want ErrProgramType", err)
	}
}

// vmlinuxTypeID finds the ID of the named type of the given BTF kind in
// /sys/kernel/btf/vmlinux, walking the type section (the encoding of
// Documentation/bpf/btf.rst).
func vmlinuxTypeID(t *testing.T, kind uint32, name string) uint32 {
	t.Helper()
	b, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Fatalf("kernel BTF: %v", err)
	}
	le := binary.LittleEndian
	if len(b) < 24 || le.Uint16(b) != 0xeb9f {
		t.Fatal("kernel BTF: bad magic")
	}
	hdrLen := le.Uint32(b[4:])
	typeOff, typeLen := le.Uint32(b[8:]), le.Uint32(b[12:])
	strOff := le.Uint32(b[16:])
	types := b[hdrLen+typeOff : hdrLen+typeOff+typeLen]
	strs := b[hdrLen+strOff:]
	id := uint32(1)
	for off := 0; off+12 <= len(types); id++ {
		nameOff, info := le.Uint32(types[off:]), le.Uint32(types[off+4:])
		k, vlen := info>>24&0x1f, int(info&0xffff)
		if k == kind {
			n := strs[nameOff:]
			if end := strings.IndexByte(string(n[:min(len(n), 256)]), 0); end >= 0 && string(n[:end]) == name {
				return id
			}
		}
		off += 12
		switch k {
		case 1, 14, 17: // INT, VAR, DECL_TAG
			off += 4
		case 3: // ARRAY
			off += 12
		case 4, 5, 15, 19: // STRUCT, UNION, DATASEC, ENUM64
			off += 12 * vlen
		case 6, 13: // ENUM, FUNC_PROTO
			off += 8 * vlen
		}
	}
	t.Fatalf("kernel BTF has no type %q of kind %d", name, kind)
	return 0
}

func TestTracepointBTF(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p0 := load(t, &prog.Spec{Name: "counts_owner", Type: prog.SocketFilter,
		Instructions: insn.Instructions{insn.LoadMapPtr(insn.R1, "counts"), insn.Mov.Imm(insn.R0, 0), insn.Exit()},
		Maps:         []*prog.MapSpec{counterSpec("counts", 1)}}, nil)
	counts := p0.Map("counts")

	p := load(t, &prog.Spec{Name: "tpbtf_getpid", Type: prog.Tracing, Instructions: sysEnterCounter(unix.Gettid(), unix.SYS_GETPID),
		Maps: []*prog.MapSpec{counterSpec("counts", 1)}},
		&prog.ProgramOptions{Maps: map[string]*prog.Map{"counts": counts}, ExpectedAttachType: prog.AttachTraceRawTp, AttachTo: "sys_enter"})
	// The target NewProgram found is the one an independent walk of
	// /sys/kernel/btf/vmlinux finds.
	var pinfo sys.ProgInfo
	if err := sys.ProgGetInfoByFD(sysFD(t, p), &pinfo); err != nil {
		t.Fatal(err)
	}
	if want := vmlinuxTypeID(t, 8 /* TYPEDEF */, "btf_trace_sys_enter"); pinfo.AttachBTFID != want {
		t.Fatalf("attach_btf_id %d, want %d (btf_trace_sys_enter)", pinfo.AttachBTFID, want)
	}

	l, err := AttachTracepointBTF(p)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	getpids(4)
	var n uint64
	if err := counts.Lookup(uint32(0), &n); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("tp_btf counted %d getpid calls, want 4", n)
	}
	info, err := l.Info()
	if err != nil {
		t.Fatal(err)
	}
	// BPF_RAW_TRACEPOINT_OPEN makes a raw tracepoint link for tp_btf
	// programs too, named after the BTF target.
	if info.Type != TypeRawTracepoint || info.Tracepoint != "sys_enter" {
		t.Fatalf("Info = %+v, want a raw_tracepoint link on sys_enter", info)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	getpids(2)
	if err := counts.Lookup(uint32(0), &n); err != nil || n != 4 {
		t.Fatalf("after Close: %d, %v; want still 4", n, err)
	}

	if _, err := AttachTracepointBTF(p0); !errors.Is(err, ErrProgramType) || !strings.Contains(err.Error(), "tracing") {
		t.Fatalf("socket filter as tp_btf: %v, want ErrProgramType naming tracing", err)
	}
}

// sysFD duplicates p's descriptor into a *sys.FD closed at the end of the
// test.
func sysFD(t *testing.T, p *prog.Program) *sys.FD {
	t.Helper()
	raw, err := unix.FcntlInt(uintptr(p.FD()), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := sys.NewFD(raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	return fd
}
