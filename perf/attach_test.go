//go:build linux

package perf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

const calls = 1000

func TestTracepointCountsGetpid(t *testing.T) {
	testenv.RequireRoot(t)
	for _, method := range []AttachMethod{AttachAuto, AttachBPFLink, AttachIoctl} {
		t.Run(method.String(), func(t *testing.T) {
			onThread(func(tid int) {
				counts := newMap(t, prog.Array, 4, 8, 1)
				p := loadProg(t, prog.TracePoint, countProg(tid), map[string]*testMap{"counts": counts})
				l, err := Tracepoint("syscalls", "sys_enter_getpid", p, &TracepointOptions{Attach: method})
				if err != nil {
					t.Fatal(err)
				}
				if got := l.(*Link).Attach(); method != AttachAuto && got != method {
					t.Errorf("attached with %v, want %v", got, method)
				}
				for range calls {
					unix.Getpid()
				}
				if err := l.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
				// Detached: these calls must not count.
				for range 10 {
					unix.Getpid()
				}
				if got := counts.lookupU64(t, 0); got != calls {
					t.Fatalf("program counted %d getpid calls, want %d", got, calls)
				}
				if err := l.Close(); err != nil {
					t.Fatalf("second close: %v", err)
				}
			})
		})
	}
}

func TestTracepointMissing(t *testing.T) {
	testenv.RequireRoot(t)
	counts := newMap(t, prog.Array, 4, 8, 1)
	p := loadProg(t, prog.TracePoint, countProg(1), map[string]*testMap{"counts": counts})
	_, err := Tracepoint("syscalls", "sys_enter_no_such_call", p, nil)
	mustErrorIs(t, err, ErrNotFound, "missing tracepoint")
	if !strings.Contains(err.Error(), "sys_enter_no_such_call") {
		t.Errorf("error %q does not name the tracepoint", err)
	}
	_, err = Tracepoint("../etc", "x", p, nil)
	if err == nil || !strings.Contains(err.Error(), "identifiers") {
		t.Errorf("path-like group: got %v", err)
	}
}

//go:noinline
func uprobeTarget(x int) int { return x*3 + 1 }

// uprobeTargetSymbol is uprobeTarget's ELF symbol name.
const uprobeTargetSymbol = "github.com/purebpf/purebpf/perf.uprobeTarget"

func TestUprobeCountsCalls(t *testing.T) {
	testenv.RequireRoot(t)
	defer noLeftoverEvents(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, probe := range []ProbeMethod{ProbePMU, ProbeTraceFS} {
		t.Run(probe.String(), func(t *testing.T) {
			onThread(func(tid int) {
				counts := newMap(t, prog.Array, 4, 8, 1)
				p := loadProg(t, prog.Kprobe, countProg(tid), map[string]*testMap{"counts": counts})
				opts := &UprobeOptions{PID: os.Getpid(), Probe: probe}
				sym := uprobeTargetSymbol
				if !hasSymtab(t, exe) {
					// "go test" links with -s; go test -c and make vmtest
					// keep .symtab. Probe by file offset instead.
					off, err := pcFileOffset(exe, uprobeTarget)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("test binary has no .symtab: probing file offset %#x", off)
					sym, opts.Offset = "", off
				}
				l, err := Uprobe(exe, sym, p, opts)
				if err != nil {
					t.Fatal(err)
				}
				if got := l.(*Link).Probe(); got != probe {
					t.Errorf("probe method %v, want %v", got, probe)
				}
				ev := l.(*Link).TraceFSEvent()
				if probe == ProbeTraceFS && !probeEventsContain(t, "uprobe_events", ev) {
					t.Errorf("uprobe_events lacks %s while attached", ev)
				}
				sum := 0
				for i := range calls {
					sum += uprobeTarget(i)
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				sum += uprobeTarget(0) // after Close: must not fire
				if got := counts.lookupU64(t, 0); got != calls {
					t.Fatalf("uprobe fired %d times, want %d (sum %d)", got, calls, sum)
				}
				if probe == ProbeTraceFS && probeEventsContain(t, "uprobe_events", ev) {
					t.Errorf("uprobe_events still lists %s after Close", ev)
				}
			})
		})
	}
}

func TestUprobeBadInput(t *testing.T) {
	testenv.RequireRoot(t)
	counts := newMap(t, prog.Array, 4, 8, 1)
	p := loadProg(t, prog.Kprobe, countProg(1), map[string]*testMap{"counts": counts})
	notELF := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Uprobe(notELF, "main", p, nil)
	if err == nil || !strings.Contains(err.Error(), "not a readable ELF") {
		t.Errorf("non-ELF file: got %v", err)
	}
	_, err = Uprobe(notELF, "", p, &UprobeOptions{Offset: 0x1000})
	if err == nil || !strings.Contains(err.Error(), "not a readable ELF") {
		t.Errorf("non-ELF file by offset: got %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Uprobe(exe, "no.such.symbol", p, nil)
	mustErrorIs(t, err, ErrNotFound, "unknown ELF symbol")
	_, err = Uprobe(filepath.Join(t.TempDir(), "missing"), "main", p, nil)
	mustErrorIs(t, err, os.ErrNotExist, "missing file")
}

func TestSymbolOffset(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !hasSymtab(t, exe) {
		t.Skip("test binary linked without .symtab (go test -s); go test -c and make vmtest keep it")
	}
	off, err := SymbolOffset(exe, uprobeTargetSymbol)
	if err != nil {
		t.Fatal(err)
	}
	// Independent check: the function's machine code is at that file
	// offset. Compare the bytes there with the bytes at the function's
	// address in this running process.
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fromFile := make([]byte, 16)
	if _, err := f.ReadAt(fromFile, int64(off)); err != nil {
		t.Fatal(err)
	}
	inMemory, err := funcBytes(uprobeTarget, 16)
	if err != nil {
		t.Fatal(err)
	}
	if string(fromFile) != string(inMemory) {
		t.Fatalf("file offset %#x holds % x, function code is % x", off, fromFile, inMemory)
	}
}

func TestKprobe(t *testing.T) {
	testenv.RequireRoot(t)
	if !kprobesAvailable() {
		// The host kernel of this project's machine: CONFIG_KPROBES off.
		counts := newMap(t, prog.Array, 4, 8, 1)
		p := loadProg(t, prog.Kprobe, countProg(1), map[string]*testMap{"counts": counts})
		_, err := Kprobe("sys_getpid", p, nil)
		mustErrorIs(t, err, ErrNotSupported, "kprobe without kernel support")
		if !strings.Contains(err.Error(), "CONFIG_KPROBES") || !strings.Contains(err.Error(), "tracepoint") {
			t.Fatalf("error %q should name CONFIG_KPROBES and suggest a tracepoint", err)
		}
		return
	}
	defer noLeftoverEvents(t)
	for _, probe := range []ProbeMethod{ProbePMU, ProbeTraceFS} {
		for _, ret := range []bool{false, true} {
			name := probe.String() + "/kprobe"
			if ret {
				name = probe.String() + "/kretprobe"
			}
			t.Run(name, func(t *testing.T) {
				onThread(func(tid int) {
					counts := newMap(t, prog.Array, 4, 8, 1)
					p := loadProg(t, prog.Kprobe, countProg(tid), map[string]*testMap{"counts": counts})
					// "sys_getpid" exercises the __x64_ prefix retry.
					l, err := Kprobe("sys_getpid", p, &KprobeOptions{Return: ret, Probe: probe})
					if err != nil {
						t.Fatal(err)
					}
					ev := l.(*Link).TraceFSEvent()
					if probe == ProbeTraceFS {
						if ev == "" || !probeEventsContain(t, "kprobe_events", ev) {
							t.Fatalf("kprobe_events lacks %q while attached", ev)
						}
					}
					for range calls {
						unix.Getpid()
					}
					if err := l.Close(); err != nil {
						t.Fatal(err)
					}
					unix.Getpid()
					if got := counts.lookupU64(t, 0); got != calls {
						t.Fatalf("%s fired %d times, want %d", name, got, calls)
					}
					if probe == ProbeTraceFS && probeEventsContain(t, "kprobe_events", ev) {
						t.Fatalf("kprobe_events still lists %s after Close", ev)
					}
				})
			})
		}
	}
}

func TestKprobeUnknownSymbol(t *testing.T) {
	testenv.RequireRoot(t)
	counts := newMap(t, prog.Array, 4, 8, 1)
	p := loadProg(t, prog.Kprobe, countProg(1), map[string]*testMap{"counts": counts})
	for _, probe := range []ProbeMethod{ProbeAuto, ProbeTraceFS} {
		_, err := Kprobe("purebpf_no_such_function", p, &KprobeOptions{Probe: probe})
		if !kprobesAvailable() {
			mustErrorIs(t, err, ErrNotSupported, "kprobe without kernel support")
			continue
		}
		mustErrorIs(t, err, ErrNotFound, "unknown kernel symbol via "+probe.String())
		if !strings.Contains(err.Error(), "purebpf_no_such_function") {
			t.Errorf("error %q does not name the symbol", err)
		}
	}
	noLeftoverEvents(t) // failed attempts remove their tracefs events
	if _, err := Kprobe("bad symbol", p, nil); err == nil {
		t.Error("symbol with a space accepted")
	}
	if _, err := Kprobe("sys_getpid", p, &KprobeOptions{Return: true, Offset: 4}); err == nil {
		t.Error("kretprobe with offset accepted")
	}
}

// uprobeTargetOffset returns the test binary and the file offset of
// uprobeTarget in it.
func uprobeTargetOffset(t *testing.T) (string, uint64) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	off, err := pcFileOffset(exe, uprobeTarget)
	if err != nil {
		t.Fatal(err)
	}
	return exe, off
}

// TestAttachErrorRemovesEvent makes attaching fail after the tracefs event
// exists (the kernel refuses a tracepoint program on a uprobe event) and
// checks that the event is gone afterwards. In AttachAuto mode the error
// keeps both the ioctl's and BPF_LINK_CREATE's complaint.
func TestAttachErrorRemovesEvent(t *testing.T) {
	testenv.RequireRoot(t)
	counts := newMap(t, prog.Array, 4, 8, 1)
	wrong := loadProg(t, prog.TracePoint, countProg(1), map[string]*testMap{"counts": counts})
	exe, off := uprobeTargetOffset(t)
	for _, attach := range []AttachMethod{AttachAuto, AttachBPFLink, AttachIoctl} {
		ev, err := createProbeEvent("uprobe", "purebpf_test", fmt.Sprintf("%s:%#x", exe, off), false)
		if err != nil {
			t.Fatal(err)
		}
		pfd, err := openTracepointID(ev.id, 0)
		if err != nil {
			ev.remove()
			t.Fatal(err)
		}
		_, err = attachToEvent(progFD{fd: wrong.FD()}, pfd, ev, ProbeTraceFS, "test uprobe", attachOptions{attach: attach})
		if err == nil {
			t.Fatalf("tracepoint program attached to a uprobe with %v", attach)
		}
		if attach == AttachAuto && (!strings.Contains(err.Error(), "PERF_EVENT_IOC_SET_BPF") || !strings.Contains(err.Error(), "BPF_LINK_CREATE")) {
			t.Errorf("AttachAuto error hides one of the two attempts: %v", err)
		}
		if pfd.Int() >= 0 {
			t.Errorf("%v: perf event fd still open after the failed attach", attach)
		}
	}
	noLeftoverEvents(t)
}

// A program of the wrong type is refused before any perf event exists,
// with an error naming both types.
func TestWrongProgramType(t *testing.T) {
	testenv.RequireRoot(t)
	defer noLeftoverEvents(t)
	counts := newMap(t, prog.Array, 4, 8, 1)
	tp := loadProg(t, prog.TracePoint, countProg(1), map[string]*testMap{"counts": counts})
	kp := loadProg(t, prog.Kprobe, countProg(1), map[string]*testMap{"counts": counts})
	exe, off := uprobeTargetOffset(t)
	check := func(what string, err error, have, want string) {
		t.Helper()
		// sys.ErrProgramType is the sentinel link's refusals wrap too.
		if !errors.Is(err, sys.ErrProgramType) || !strings.Contains(err.Error(), "of type "+have+", want "+want) {
			t.Errorf("%s: %v; want ErrProgramType naming %s and %s", what, err, have, want)
		}
	}
	_, err := Tracepoint("syscalls", "sys_enter_getpid", kp, nil)
	check("kprobe program on a tracepoint", err, "kprobe", "tracepoint")
	_, err = Kprobe("sys_getpid", tp, nil)
	check("tracepoint program on a kprobe", err, "tracepoint", "kprobe")
	for _, probe := range []ProbeMethod{ProbePMU, ProbeTraceFS} {
		_, err = Uprobe(exe, "", tp, &UprobeOptions{Offset: off, Probe: probe})
		check("tracepoint program on a uprobe via "+probe.String(), err, "tracepoint", "kprobe")
	}
}

// Nil and closed programs and maps give errors that say so, never a
// panic or "dup of fd -1".
func TestNilAndClosedHandles(t *testing.T) {
	testenv.RequireRoot(t)
	var nilProg *prog.Program
	var nilMap *prog.Map
	_, err := Tracepoint("syscalls", "sys_enter_getpid", nilProg, nil)
	mustErrorIs(t, err, os.ErrInvalid, "nil *prog.Program on a tracepoint")
	_, err = Tracepoint("syscalls", "sys_enter_getpid", nil, nil)
	mustErrorIs(t, err, os.ErrInvalid, "nil program on a tracepoint")
	_, err = Kprobe("sys_getpid", nilProg, nil)
	mustErrorIs(t, err, os.ErrInvalid, "nil program on a kprobe")
	_, err = NewRingBufReader(nilMap)
	mustErrorIs(t, err, os.ErrInvalid, "nil *prog.Map to NewRingBufReader")
	if err != nil && !strings.Contains(err.Error(), "Program.Map returns nil") {
		t.Errorf("nil map error lacks the hint: %v", err)
	}
	_, err = NewPerfReader(nilMap, PerfReaderOptions{})
	mustErrorIs(t, err, os.ErrInvalid, "nil *prog.Map to NewPerfReader")
	_, err = NewPerfReader(nil, PerfReaderOptions{})
	mustErrorIs(t, err, os.ErrInvalid, "nil map to NewPerfReader")

	rb, err := prog.NewMap(&prog.MapSpec{Name: "rb", Type: prog.RingBuf, MaxEntries: uint32(os.Getpagesize())})
	if err != nil {
		t.Fatal(err)
	}
	rb.Close()
	_, err = NewRingBufReader(rb)
	mustErrorIs(t, err, os.ErrClosed, "closed map to NewRingBufReader")
	if err != nil && strings.Contains(err.Error(), "dup of fd -1") {
		t.Errorf("closed map: %v", err)
	}

	var r *RingBufReader
	if err := r.Close(); err != nil {
		t.Errorf("nil RingBufReader.Close: %v", err)
	}
	_, err = r.Read()
	mustErrorIs(t, err, os.ErrInvalid, "nil RingBufReader.Read")
	var pr *PerfReader
	if err := pr.Close(); err != nil {
		t.Errorf("nil PerfReader.Close: %v", err)
	}
	_, err = pr.Read()
	mustErrorIs(t, err, os.ErrInvalid, "nil PerfReader.Read")
	var l *Link
	if err := l.Close(); err != nil {
		t.Errorf("nil Link.Close: %v", err)
	}
	var ex *Executable
	_, err = ex.Uprobe("main", nilProg, nil)
	mustErrorIs(t, err, os.ErrInvalid, "nil Executable.Uprobe")
	_, err = ex.Offset("main")
	mustErrorIs(t, err, os.ErrInvalid, "nil Executable.Offset")
	if got := ex.Path(); got != "" {
		t.Errorf("nil Executable.Path = %q, want \"\"", got)
	}
}

// OpenExecutable parses the file once: its offsets stay valid after the
// file changes, and they agree with SymbolOffset.
func TestOpenExecutableParsesOnce(t *testing.T) {
	// The test binary when it has a .symtab (go test -c, make vmtest),
	// else libc and a symbol of its .dynsym (go test links with -s).
	file, symbol := "", uprobeTargetSymbol
	if exe, err := os.Executable(); err == nil && hasSymtab(t, exe) {
		file = exe
	} else if libs, _ := filepath.Glob("/usr/lib/*/libc.so.6"); len(libs) > 0 {
		file, symbol = libs[0], "malloc"
	} else {
		testenv.SkipOrFail(t, "the test binary has no .symtab and there is no libc.so.6")
	}
	uprobeTargetSymbol := symbol
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy")
	if err := os.WriteFile(cp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	want, err := SymbolOffset(cp, uprobeTargetSymbol)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := OpenExecutable(cp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, []byte("not an ELF file any more"), 0o755); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got, err := ex.Offset(uprobeTargetSymbol); err != nil || got != want {
			t.Fatalf("Offset = %#x, %v; want %#x", got, err, want)
		}
	}
	if _, err := ex.Offset("no.such.symbol"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing symbol: %v", err)
	}
	if ex.Path() != cp {
		t.Errorf("Path() = %q, want %q", ex.Path(), cp)
	}
}

// An unknown attach method, and a cookie with AttachIoctl (which cannot
// pass one, so bpf_get_attach_cookie would read 0), are refused, and
// the perf event is not left behind.
func TestAttachOptionsChecked(t *testing.T) {
	testenv.RequireRoot(t)
	defer noLeftoverEvents(t)
	counts := newMap(t, prog.Array, 4, 8, 1)
	tp := loadProg(t, prog.TracePoint, countProg(1), map[string]*testMap{"counts": counts})
	n0 := testenv.OpenFDs(t)
	l, err := Tracepoint("syscalls", "sys_enter_getpid", tp, &TracepointOptions{Cookie: 5, Attach: AttachIoctl})
	if err == nil {
		l.Close()
	}
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "Cookie needs a BPF link") {
		t.Errorf("cookie with AttachIoctl: %v", err)
	}
	l, err = Tracepoint("syscalls", "sys_enter_getpid", tp, &TracepointOptions{Attach: 99})
	if err == nil {
		l.Close()
	}
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "unknown attach method AttachMethod(99)") {
		t.Errorf("attach method 99: %v", err)
	}
	if n := testenv.OpenFDs(t); n != n0 {
		t.Errorf("%d descriptors left open", n-n0)
	}
}

// Every method of every perf handle on a nil receiver: no panic, Close
// is a no-op, errors name the nil handle.
func TestNilHandleMethods(t *testing.T) {
	testenv.NilMethods(t, (*RingBufReader)(nil), "nil")
	testenv.NilMethods(t, (*PerfReader)(nil), "nil")
	testenv.NilMethods(t, (*Link)(nil), "nil")
	testenv.NilMethods(t, (*Executable)(nil), "nil")
}
