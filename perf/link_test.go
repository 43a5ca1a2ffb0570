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

	"github.com/purebpf/purebpf/internal/bpffs"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/link"
	"github.com/purebpf/purebpf/prog"
)

// perfPinPath returns a path on /sys/fs/bpf for one pin, removed (with its
// directory) after the test.
func perfPinPath(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(bpffs.Path, fmt.Sprintf("purebpf-perf-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_")))
	if err := bpffs.Ensure(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "link")
}

// progID is the kernel ID of p.
func progID(t *testing.T, p *prog.Program) uint32 {
	t.Helper()
	info, err := p.Info()
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// perfLinkCase is one attachment whose link.Link behaviour is checked by
// checkPerfLink: attach makes it with an attach method, fire makes the
// probe fire n times on the calling thread, count reads how often the
// program ran.
type perfLinkCase struct {
	p      *prog.Program
	attach func(AttachMethod) (link.Link, error)
	fire   func(n int)
	count  func() uint64
}

// checkPerfLink attaches c with AttachBPFLink and with AttachIoctl and
// checks Info, Update, Pin, LoadPinned, Unpin and Close against the
// program's runs. The caller runs it on one locked thread (onThread).
func checkPerfLink(t *testing.T, c perfLinkCase) {
	t.Helper()
	wantProg := progID(t, c.p)
	for _, method := range []AttachMethod{AttachBPFLink, AttachIoctl} {
		l, err := c.attach(method)
		if err != nil {
			t.Fatalf("%v: %v", method, err)
		}
		pl, ok := l.(*Link)
		if !ok {
			t.Fatalf("%v: the link is a %T, want *perf.Link", method, l)
		}
		if pl.Attach() != method {
			t.Fatalf("attached with %v, want %v", pl.Attach(), method)
		}
		info, err := l.Info()
		if err != nil {
			t.Fatalf("%v: Info: %v", method, err)
		}
		if info.Type != link.TypePerfEvent || info.ProgramID != wantProg {
			t.Errorf("%v: Info = %+v, want type perf_event and program %d", method, info, wantProg)
		}
		if (info.ID != 0) != (method == AttachBPFLink) {
			t.Errorf("%v: Info.ID = %d, want non-zero exactly for a BPF link", method, info.ID)
		}
		err = l.Update(c.p)
		mustErrorIs(t, err, ErrNotSupported, method.String()+": Update")
		if !strings.Contains(err.Error(), "cannot swap") {
			t.Errorf("%v: Update error does not say why: %v", method, err)
		}

		path := perfPinPath(t)
		before := c.count()
		switch {
		case method == AttachIoctl:
			mustErrorIs(t, l.Pin(path), ErrNotSupported, "Pin of an ioctl attachment")
			mustErrorIs(t, l.Unpin(), ErrNotSupported, "Unpin of an ioctl attachment")
			if _, err := os.Lstat(path); err == nil {
				t.Errorf("a refused Pin left %s", path)
			}
		case pl.TraceFSEvent() != "":
			ev := pl.TraceFSEvent()
			err := l.Pin(path)
			mustErrorIs(t, err, ErrNotSupported, "Pin of a tracefs probe")
			if !strings.Contains(err.Error(), ev) || !strings.Contains(err.Error(), "ProbePMU") {
				t.Errorf("Pin error should name the event %s and the way out: %v", ev, err)
			}
		default:
			if err := l.Pin(path); err != nil {
				t.Fatalf("Pin: %v", err)
			}
			mustErrorIs(t, l.Pin(path), os.ErrExist, "second Pin on the same path")
			// Closed but pinned: still attached.
			if err := l.Close(); err != nil {
				t.Fatalf("Close of a pinned link: %v", err)
			}
			c.fire(7)
			if got := c.count() - before; got != 7 {
				t.Fatalf("pinned after Close: program ran %d times for 7 events, want 7", got)
			}
			pinned, err := link.LoadPinned(path)
			if err != nil {
				t.Fatal(err)
			}
			pinfo, err := pinned.Info()
			if err != nil {
				t.Fatal(err)
			}
			if pinfo.Type != link.TypePerfEvent || pinfo.ID != info.ID || pinfo.ProgramID != wantProg {
				t.Errorf("LoadPinned: Info = %+v, want %+v", pinfo, info)
			}
			mustErrorIs(t, pinned.Update(c.p), ErrNotSupported, "Update of a loaded perf_event link")
			if err := pinned.Unpin(); err != nil {
				t.Fatal(err)
			}
			if err := pinned.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after Unpin %s: %v", path, err)
			}
			before = c.count()
			c.fire(5)
			if got := c.count() - before; got != 0 {
				t.Fatalf("after Unpin and Close the program still ran %d times", got)
			}
		}

		c.fire(3)
		afterClose := c.count()
		if err := l.Close(); err != nil {
			t.Fatalf("%v: Close: %v", method, err)
		}
		c.fire(3)
		if got := c.count(); got != afterClose {
			t.Errorf("%v: the program ran %d times after Close", method, got-afterClose)
		}
		if err := l.Close(); err != nil {
			t.Errorf("%v: second Close: %v", method, err)
		}
		_, err = l.Info()
		mustErrorIs(t, err, os.ErrClosed, "Info after Close")
		mustErrorIs(t, l.Pin(path), os.ErrClosed, "Pin after Close")
		mustErrorIs(t, l.Unpin(), os.ErrClosed, "Unpin after Close")
		mustErrorIs(t, l.Update(c.p), os.ErrClosed, "Update after Close")
	}
}

func TestTracepointLink(t *testing.T) {
	testenv.RequireRoot(t)
	onThread(func(tid int) {
		counts := newMap(t, prog.Array, 4, 8, 1)
		p := loadProg(t, prog.TracePoint, countProg(tid), map[string]*testMap{"counts": counts})
		checkPerfLink(t, perfLinkCase{
			p: p,
			attach: func(m AttachMethod) (link.Link, error) {
				return Tracepoint("syscalls", "sys_enter_getpid", p, &TracepointOptions{Attach: m})
			},
			fire:  func(n int) { getpids(n) },
			count: func() uint64 { return counts.lookupU64(t, 0) },
		})
	})
}

// checkProbeLinks runs checkPerfLink on probes made with each probe
// method by attach, for a program that counts the calls of this thread;
// fire makes the probed function run n times.
func checkProbeLinks(t *testing.T, attach func(p *prog.Program, probe ProbeMethod, m AttachMethod) (link.Link, error), fire func(n int)) {
	defer noLeftoverEvents(t)
	for _, probe := range []ProbeMethod{ProbePMU, ProbeTraceFS} {
		t.Run(probe.String(), func(t *testing.T) {
			onThread(func(tid int) {
				counts := newMap(t, prog.Array, 4, 8, 1)
				p := loadProg(t, prog.Kprobe, countProg(tid), map[string]*testMap{"counts": counts})
				checkPerfLink(t, perfLinkCase{
					p:      p,
					attach: func(m AttachMethod) (link.Link, error) { return attach(p, probe, m) },
					fire:   fire,
					count:  func() uint64 { return counts.lookupU64(t, 0) },
				})
			})
		})
	}
}

func TestUprobeLink(t *testing.T) {
	testenv.RequireRoot(t)
	exe, off := uprobeTargetOffset(t)
	checkProbeLinks(t, func(p *prog.Program, probe ProbeMethod, m AttachMethod) (link.Link, error) {
		return Uprobe(exe, "", p, &UprobeOptions{Offset: off, PID: os.Getpid(), Probe: probe, Attach: m})
	}, func(n int) {
		for i := range n {
			uprobeSink += uprobeTarget(i)
		}
	})
}

// uprobeSink keeps uprobeTarget's calls from being optimised away.
var uprobeSink int

// TestKprobeLink runs where the kernel has kprobes: in make vmtest's
// 6.1 and 6.12 VMs (the host kernel has CONFIG_KPROBES off; TestKprobe
// checks the error there).
func TestKprobeLink(t *testing.T) {
	testenv.RequireRoot(t)
	if !kprobesAvailable() {
		// No kprobe link can exist here: the attach itself must say so.
		counts := newMap(t, prog.Array, 4, 8, 1)
		p := loadProg(t, prog.Kprobe, countProg(1), map[string]*testMap{"counts": counts})
		_, err := Kprobe("sys_getpid", p, &KprobeOptions{Attach: AttachBPFLink})
		mustErrorIs(t, err, ErrNotSupported, "kprobe link without kernel kprobes")
		t.Log("the kernel has no kprobes (CONFIG_KPROBES off): the link checks run under make vmtest")
		return
	}
	checkProbeLinks(t, func(p *prog.Program, probe ProbeMethod, m AttachMethod) (link.Link, error) {
		return Kprobe("sys_getpid", p, &KprobeOptions{Probe: probe, Attach: m})
	}, getpids)
}

// A nil *Link is a link.Link whose Close does nothing and whose other
// methods return errors wrapping os.ErrInvalid.
func TestNilLink(t *testing.T) {
	var l *Link
	var ll link.Link = l
	if err := ll.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	_, err := ll.Info()
	mustErrorIs(t, err, os.ErrInvalid, "nil Link.Info")
	mustErrorIs(t, ll.Pin("/sys/fs/bpf/x"), os.ErrInvalid, "nil Link.Pin")
	mustErrorIs(t, ll.Unpin(), os.ErrInvalid, "nil Link.Unpin")
	mustErrorIs(t, ll.Update(nil), os.ErrInvalid, "nil Link.Update")
	if l.TraceFSEvent() != "" || l.String() != "perf.Link(<nil>)" {
		t.Errorf("nil Link accessors: %q %q", l.TraceFSEvent(), l.String())
	}
}

// getpids makes n getpid system calls on the calling thread.
func getpids(n int) {
	for range n {
		unix.Getpid()
	}
}
