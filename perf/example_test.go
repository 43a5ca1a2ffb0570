//go:build linux

package perf_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/perf"
	"github.com/purebpf/purebpf/prog"
)

// getpidCounter counts the getpid calls of thread tid in counts[0]. It
// counts one thread, not the process: the Go runtime itself calls getpid
// from other threads, for example to send preemption signals.
func getpidCounter(tid int) *prog.Spec {
	spec := callCounter(prog.TracePoint)
	spec.Name = "getpids"
	// The low 32 bits are the thread id, the high 32 the process id.
	spec.Instructions = append(insn.Instructions{
		insn.FnGetCurrentPIDTGID.Call(),
		insn.JNE.Imm32(insn.R0, int32(tid), "out"),
	}, spec.Instructions...)
	return spec
}

// callCounter is a program of type typ that adds 1 to counts[0] on every
// run.
func callCounter(typ prog.Type) *prog.Spec {
	return &prog.Spec{
		Name: "calls", Type: typ, License: "GPL",
		Maps: []*prog.MapSpec{{Name: "counts", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}},
		Instructions: insn.Instructions{
			insn.StoreImm(insn.RFP, -4, 0, insn.W),
			insn.Mov.Reg(insn.R2, insn.RFP),
			insn.Add.Imm(insn.R2, -4),
			insn.LoadMapPtr(insn.R1, "counts"),
			insn.FnMapLookupElem.Call(),
			insn.JEq.Imm(insn.R0, 0, "out"),
			insn.Mov.Imm(insn.R1, 1),
			insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1),
			insn.Mov.Imm(insn.R0, 0).WithLabel("out"),
			insn.Exit(),
		},
	}
}

// Counting one thread's getpid calls with a tracepoint program. (Needs
// root.)
func ExampleTracepoint() {
	runtime.LockOSThread() // keep this goroutine on the thread we count
	defer runtime.UnlockOSThread()
	p, err := prog.NewProgram(getpidCounter(unix.Gettid()), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	link, err := perf.Tracepoint("syscalls", "sys_enter_getpid", p, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 10 {
		unix.Getpid()
	}
	link.Close() // detach before reading, so the count is final
	var n uint64
	if err := p.Map("counts").Lookup(uint32(0), &n); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("getpid calls:", n)
}

// Attaching the same counter with a kprobe, and falling back to the
// tracepoint on kernels without kprobes. (Needs root.)
func ExampleKprobe() {
	spec := getpidCounter(unix.Gettid())
	spec.Type = prog.Kprobe
	p, err := prog.NewProgram(spec, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	link, err := perf.Kprobe("sys_getpid", p, nil)
	if errors.Is(err, perf.ErrNotSupported) {
		fmt.Println("no kprobes on this kernel: use a tracepoint")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer link.Close()
	// Kprobe returns a link.Link; *perf.Link says how it was made.
	fmt.Println("kprobe attached via", link.(*perf.Link).Probe())
}

// Streaming events through a BPF ring buffer: the program sends the pid
// of every getpid caller of this process. (Needs root.)
func ExampleNewRingBufReader() {
	pid := os.Getpid()
	spec := &prog.Spec{
		Name: "events", Type: prog.TracePoint, License: "GPL",
		Maps: []*prog.MapSpec{{Name: "events", Type: prog.RingBuf, MaxEntries: 1 << 16}},
		Instructions: insn.Instructions{
			insn.FnGetCurrentPIDTGID.Call(),
			insn.RSh.Imm(insn.R0, 32),
			insn.JNE.Imm(insn.R0, int32(pid), "out"),
			insn.StoreMem(insn.RFP, -8, insn.R0, insn.DW),
			insn.LoadMapPtr(insn.R1, "events"),
			insn.Mov.Reg(insn.R2, insn.RFP),
			insn.Add.Imm(insn.R2, -8),
			insn.Mov.Imm(insn.R3, 8),
			insn.Mov.Imm(insn.R4, 0),
			insn.FnRingbufOutput.Call(),
			insn.Mov.Imm(insn.R0, 0).WithLabel("out"),
			insn.Exit(),
		},
	}
	p, err := prog.NewProgram(spec, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	rd, err := perf.NewRingBufReader(p.Map("events"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rd.Close()
	link, err := perf.Tracepoint("syscalls", "sys_enter_getpid", p, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer link.Close()

	unix.Getpid()
	rd.SetDeadline(time.Now().Add(5 * time.Second))
	rec, err := rd.Read()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("event from this process:", binary.NativeEndian.Uint64(rec.RawSample) == uint64(pid))
}

// Counting calls of two libc functions with uprobes: the library's
// symbols are read once and both probes use them. (Needs root.)
func ExampleOpenExecutable() {
	libs, _ := filepath.Glob("/usr/lib/*/libc.so.6")
	if len(libs) == 0 {
		fmt.Println("no libc.so.6")
		return
	}
	libc, err := perf.OpenExecutable(libs[0])
	if err != nil {
		fmt.Println(err)
		return
	}
	spec := callCounter(prog.Kprobe)
	p, err := prog.NewProgram(spec, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	for _, fn := range []string{"malloc", "free"} {
		link, err := libc.Uprobe(fn, p, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer link.Close()
	}
	// Any dynamically linked program calls both.
	if err := exec.Command("ls", "/").Run(); err != nil {
		fmt.Println(err)
		return
	}
	var n uint64
	if err := p.Map("counts").Lookup(uint32(0), &n); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("malloc and free called:", n > 0)
}

// TestExamples runs the examples as root and checks what they print. They
// carry no "Output:" comment, because go test would run them without root
// too; under CI=true a missing root fails.
func TestExamples(t *testing.T) {
	testenv.RequireRoot(t)
	_, kerr := os.Stat("/sys/bus/event_source/devices/kprobe")
	wantKprobe := "kprobe attached via pmu\n"
	if kerr != nil {
		wantKprobe = "no kprobes on this kernel: use a tracepoint\n"
	}
	type example struct {
		name string
		run  func()
		want string
	}
	examples := []example{
		{"Tracepoint", ExampleTracepoint, "getpid calls: 10\n"},
		{"Kprobe", ExampleKprobe, wantKprobe},
		{"NewRingBufReader", ExampleNewRingBufReader, "event from this process: true\n"},
	}
	// The uprobe example needs a dynamically linked system; make vmtest's
	// initramfs has no libc (TestUprobe covers uprobes there).
	if libs, _ := filepath.Glob("/usr/lib/*/libc.so.6"); len(libs) > 0 {
		examples = append(examples, example{"OpenExecutable", ExampleOpenExecutable, "malloc and free called: true\n"})
	}
	for _, c := range examples {
		if got := testenv.CaptureStdout(t, c.run); got != c.want {
			t.Errorf("Example%s printed %q, want %q", c.name, got, c.want)
		}
	}
}
