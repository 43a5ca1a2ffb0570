//go:build linux

package sys

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
)

func pipeFD(t *testing.T) (*FD, *FD) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, err := NewFD(p[0])
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewFD(p[1])
	if err != nil {
		t.Fatal(err)
	}
	return r, w
}

func fdIsOpen(raw int) bool {
	_, err := unix.FcntlInt(uintptr(raw), unix.F_GETFD, 0)
	return err == nil
}

func TestNewFDRejectsNegative(t *testing.T) {
	fd, err := NewFD(-1)
	if err == nil || fd != nil {
		t.Fatalf("NewFD(-1) = %v, %v; want error", fd, err)
	}
	if !errors.Is(err, unix.EBADF) {
		t.Errorf("NewFD(-1) error %v does not wrap EBADF", err)
	}
}

func TestFDCloseOnce(t *testing.T) {
	r, w := pipeFD(t)
	defer w.Close()
	raw := r.Int()
	if raw <= 0 {
		t.Fatalf("Int() = %d", raw)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if fdIsOpen(raw) {
		t.Fatalf("fd %d still open after Close", raw)
	}
	if r.Int() != -1 {
		t.Errorf("Int() after Close = %d, want -1", r.Int())
	}

	// Reuse the number for another file: a second Close must not touch it.
	other, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(other)
	err = r.Close()
	if !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close = %v, want os.ErrClosed", err)
	}
	if !fdIsOpen(other) {
		t.Errorf("second Close closed an unrelated fd %d", other)
	}

	var nilFD *FD
	if err := nilFD.Close(); err != nil {
		t.Errorf("nil Close = %v", err)
	}
	if nilFD.Int() != -1 || nilFD.Uint() != 0xffffffff {
		t.Errorf("nil Int/Uint = %d/%#x", nilFD.Int(), nilFD.Uint())
	}
}

func TestFDConcurrentClose(t *testing.T) {
	for range 100 {
		r, w := pipeFD(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		okCount := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.Close(); err == nil {
					mu.Lock()
					okCount++
					mu.Unlock()
				} else if !errors.Is(err, os.ErrClosed) {
					t.Errorf("concurrent Close: %v", err)
				}
			}()
		}
		wg.Wait()
		if okCount != 1 {
			t.Fatalf("%d Close calls succeeded, want exactly 1", okCount)
		}
		w.Close()
	}
}

func TestFDDupAndFile(t *testing.T) {
	r, w := pipeFD(t)
	defer r.Close()
	defer w.Close()

	d, err := w.Dup()
	if err != nil {
		t.Fatal(err)
	}
	if d.Int() == w.Int() || d.Int() <= 0 {
		t.Fatalf("Dup gave %d for %d", d.Int(), w.Int())
	}
	flags, err := unix.FcntlInt(uintptr(d.Int()), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("dup fd flags %#x, %v: want FD_CLOEXEC", flags, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	f, err := w.File("pipe")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	buf := make([]byte, 1)
	if n, err := unix.Read(r.Int(), buf); n != 1 || err != nil || buf[0] != 'x' {
		t.Fatalf("read %d %v %q", n, err, buf)
	}
	if !fdIsOpen(w.Int()) {
		t.Fatal("closing File closed the original fd")
	}

	closed, _ := pipeFD(t)
	closed.Close()
	if _, err := closed.Dup(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Dup of closed fd = %v, want os.ErrClosed", err)
	}
}

func TestNewFDMovesZero(t *testing.T) {
	// Put a pipe end at descriptor 0 without disturbing the real stdin.
	// Stdin may be closed (as under CI); then there is nothing to restore.
	if saved, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 3); err == nil {
		defer func() {
			_ = unix.Dup3(saved, 0, 0)
			unix.Close(saved)
		}()
	} else if !errors.Is(err, unix.EBADF) {
		t.Fatal(err)
	}
	r, w := pipeFD(t)
	defer r.Close()
	defer w.Close()
	if err := unix.Dup3(r.Int(), 0, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	fd, err := NewFD(0)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	if fd.Int() == 0 {
		t.Fatal("NewFD(0) kept descriptor 0")
	}
}

func TestFDCleanupClosesLeak(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	func() {
		fd, err := NewFD(p[0])
		if err != nil {
			t.Fatal(err)
		}
		_ = fd // dropped without Close
	}()
	for range 50 {
		runtime.GC()
		if !fdIsOpen(p[0]) {
			return
		}
		runtime.Gosched()
	}
	t.Errorf("leaked fd %d was not closed by the cleanup", p[0])
}

// CheckKind tells a program descriptor from a pipe and from other BPF
// kinds, and names what the descriptor is.
func TestCheckKind(t *testing.T) {
	testenv.RequireRoot(t)
	p := loadRetZero(t, ProgTypeSocketFilter, "kind")
	defer p.Close()
	if err := CheckKind(p, KindProgram); err != nil {
		t.Errorf("program as program: %v", err)
	}
	if err := CheckKind(p, KindMap); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "is a BPF program, not a BPF map") {
		t.Errorf("program as map: %v", err)
	}
	r, w := pipeFD(t)
	defer r.Close()
	defer w.Close()
	if err := CheckKind(r, KindLink); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "pipe:") {
		t.Errorf("pipe as link: %v", err)
	}
	w.Close()
	if err := CheckKind(w, KindLink); !errors.Is(err, os.ErrClosed) {
		t.Errorf("closed fd: %v", err)
	}
	if err := CheckKind(nil, KindMap); !errors.Is(err, os.ErrClosed) {
		t.Errorf("nil fd: %v", err)
	}
}
