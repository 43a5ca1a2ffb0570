package perf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

const calls = 1000

func TestTracepointCountsGetpid(t *testing.T) {
	testenv.RequireRoot(t)
	for _, method := range []AttachMethod{AttachAuto, AttachBPFLink, AttachIoctl} {
		t.Run(method.String(), func(t *testing.T) {
			onThread(func(tid int) {
				counts := newMap(t, prog.Array, 4, 8, 1)
				p := loadProg(t, prog.TracePoint, countProg(tid), map[string]*testMap{"counts": counts})
				l, err := Tracepoint(p, TracepointOptions{Group: "syscalls", Name: "sys_enter_getpid", Attach: method})
				if err != nil {
					t.Fatal(err)
				}
				if method != AttachAuto && l.Attach() != method {
					t.Errorf("attached with %v, want %v", l.Attach(), method)
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
	_, err := Tracepoint(p, TracepointOptions{Group: "syscalls", Name: "sys_enter_no_such_call"})
	mustErrorIs(t, err, ErrNotFound, "missing tracepoint")
	if !strings.Contains(err.Error(), "sys_enter_no_such_call") {
		t.Errorf("error %q does not name the tracepoint", err)
	}
	_, err = Tracepoint(p, TracepointOptions{Group: "../etc", Name: "x"})
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
				opts := UprobeOptions{Path: exe, Symbol: uprobeTargetSymbol, PID: os.Getpid(), Probe: probe}
				if !hasSymtab(t, exe) {
					// "go test" links with -s; go test -c and make vmtest
					// keep .symtab. Probe by file offset instead.
					off, err := pcFileOffset(exe, uprobeTarget)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("test binary has no .symtab: probing file offset %#x", off)
					opts.Symbol, opts.Offset = "", off
				}
				l, err := Uprobe(p, opts)
				if err != nil {
					t.Fatal(err)
				}
				if l.Probe() != probe {
					t.Errorf("probe method %v, want %v", l.Probe(), probe)
				}
				ev := l.TraceFSEvent()
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
	_, err := Uprobe(p, UprobeOptions{Path: notELF, Symbol: "main"})
	if err == nil || !strings.Contains(err.Error(), "not a readable ELF") {
		t.Errorf("non-ELF file: got %v", err)
	}
	_, err = Uprobe(p, UprobeOptions{Path: notELF, Offset: 0x1000})
	if err == nil || !strings.Contains(err.Error(), "not a readable ELF") {
		t.Errorf("non-ELF file by offset: got %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Uprobe(p, UprobeOptions{Path: exe, Symbol: "no.such.symbol"})
	mustErrorIs(t, err, ErrNotFound, "unknown ELF symbol")
	_, err = Uprobe(p, UprobeOptions{Path: filepath.Join(t.TempDir(), "missing")})
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
		_, err := Kprobe(p, KprobeOptions{Symbol: "sys_getpid"})
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
					l, err := Kprobe(p, KprobeOptions{Symbol: "sys_getpid", Return: ret, Probe: probe})
					if err != nil {
						t.Fatal(err)
					}
					ev := l.TraceFSEvent()
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
		_, err := Kprobe(p, KprobeOptions{Symbol: "purebpf_no_such_function", Probe: probe})
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
	if _, err := Kprobe(p, KprobeOptions{Symbol: "bad symbol"}); err == nil {
		t.Error("symbol with a space accepted")
	}
	if _, err := Kprobe(p, KprobeOptions{Symbol: "sys_getpid", Return: true, Offset: 4}); err == nil {
		t.Error("kretprobe with offset accepted")
	}
}

// TestAttachErrorRemovesEvent makes attaching fail after the tracefs event
// exists (a tracepoint program cannot go on a kprobe or uprobe event) and
// checks that the event is gone afterwards.
func TestAttachErrorRemovesEvent(t *testing.T) {
	testenv.RequireRoot(t)
	counts := newMap(t, prog.Array, 4, 8, 1)
	wrong := loadProg(t, prog.TracePoint, countProg(1), map[string]*testMap{"counts": counts})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	off, err := pcFileOffset(exe, uprobeTarget)
	if err != nil {
		t.Fatal(err)
	}
	for _, attach := range []AttachMethod{AttachBPFLink, AttachIoctl} {
		_, err := Uprobe(wrong, UprobeOptions{Path: exe, Offset: off, Probe: ProbeTraceFS, Attach: attach})
		if err == nil {
			t.Fatalf("tracepoint program attached to a uprobe with %v", attach)
		}
		if kprobesAvailable() {
			_, err := Kprobe(wrong, KprobeOptions{Symbol: "sys_getpid", Probe: ProbeTraceFS, Attach: attach})
			if err == nil {
				t.Fatalf("tracepoint program attached to a kprobe with %v", attach)
			}
		}
	}
	noLeftoverEvents(t)
}
