//go:build linux

package link

import (
	"errors"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
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

func TestTracepointBTF(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p0 := load(t, &prog.Spec{Name: "counts_owner", Type: prog.SocketFilter,
		Instructions: insn.Instructions{insn.LoadMapPtr(insn.R1, "counts"), insn.Mov.Imm(insn.R0, 0), insn.Exit()},
		Maps:         []*prog.MapSpec{counterSpec("counts", 1)}}, nil)
	counts := p0.Map("counts")

	// A tp_btf program: type tracing, expected attach type
	// BPF_TRACE_RAW_TP and the tracepoint's btf_trace_ typedef as its
	// attach_btf_id, which NewProgram finds from the tracepoint's name.
	p := load(t, &prog.Spec{Name: "tpbtf_getpid", Type: prog.Tracing,
		Instructions: sysEnterCounter(unix.Gettid(), unix.SYS_GETPID), Maps: []*prog.MapSpec{counterSpec("counts", 1)}},
		&prog.ProgramOptions{
			Maps:               map[string]*prog.Map{"counts": counts},
			ExpectedAttachType: prog.AttachTraceRawTp,
			AttachTo:           "sys_enter",
		})

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

// fentry and fexit programs, loaded through prog.NewProgram with their
// target's name, count this thread's getpgid calls.
func TestTracingFentryFexit(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skipf("the target, __x64_sys_getpgid, is amd64's syscall entry; not %s", runtime.GOARCH)
	}
	for _, c := range []struct {
		name   string
		attach prog.AttachType
	}{{"fentry", prog.AttachTraceFentry}, {"fexit", prog.AttachTraceFexit}} {
		t.Run(c.name, func(t *testing.T) {
			testenv.RequireRoot(t)
			// The program counts this thread's calls: a subtest runs on a
			// goroutine of its own, so lock it here.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			code := insn.Instructions{
				insn.Call(int32(insn.FnGetCurrentPIDTGID)),
				insn.Mov.Reg32(insn.R0, insn.R0),
				insn.JNE.Imm(insn.R0, int32(unix.Gettid()), "out"),
			}
			code = append(code, countInsns(0)...)
			code = append(code, insn.Mov.Imm(insn.R0, 0).WithLabel("out"), insn.Exit())
			p, err := prog.NewProgram(&prog.Spec{Name: c.name + "_getpgid", Type: prog.Tracing, License: "GPL", Instructions: code,
				Maps: []*prog.MapSpec{counterSpec("counts", 1)}},
				&prog.ProgramOptions{ExpectedAttachType: c.attach, AttachTo: "__x64_sys_getpgid"})
			if errors.Is(err, unix.EPERM) {
				// The project's 6.18 host (CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY)
				// refuses every fentry and fexit load, libbpf's too; the
				// 6.1 and 6.12 VMs of make vmtest take them.
				t.Skipf("this kernel refuses %s programs as root (EPERM, lockdown?): %v", c.name, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			l, err := AttachTracing(p)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			for range 6 {
				unix.Getpgid(0)
			}
			if n := counter(t, p, 0); n != 6 {
				t.Fatalf("%s counted %d getpgid calls, want 6", c.name, n)
			}
			info, err := l.Info()
			if err != nil {
				t.Fatal(err)
			}
			if info.Type != TypeTracing || info.AttachType != c.attach {
				t.Fatalf("Info = %+v, want a tracing link with attach type %v", info, c.attach)
			}
			if err := l.Update(p); !errors.Is(err, ErrNotSupported) {
				t.Fatalf("Update: %v, want ErrNotSupported", err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			unix.Getpgid(0)
			if n := counter(t, p, 0); n != 6 {
				t.Fatalf("after Close counted %d, want still 6", n)
			}
		})
	}
	if _, err := AttachTracing(socketFilter(t)); !errors.Is(err, ErrProgramType) || !strings.Contains(err.Error(), "tracing") {
		t.Fatalf("socket filter as fentry: %v, want ErrProgramType naming tracing", err)
	}
}
