//go:build linux

package link

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/bpffs"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// pinDir returns a fresh directory on /sys/fs/bpf, removed after the test.
func pinDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(bpffs.Path, fmt.Sprintf("purebpf-link-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_")))
	if err := bpffs.Ensure(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// childPinXDP runs in a re-executed test binary: it joins the network
// namespace passed as fd 3, attaches a dropping XDP program to
// $IFINDEX, pins the link at $PIN and exits.
func childPinXDP() error {
	runtime.LockOSThread()
	if err := unix.Setns(3, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	ifindex, _ := strconv.Atoi(os.Getenv("IFINDEX"))
	port, _ := strconv.Atoi(os.Getenv("PORT"))
	p, err := prog.NewProgram(xdpSpec("xdp_child_drop", port, xdpDrop), nil)
	if err != nil {
		return err
	}
	defer p.Close()
	l, err := AttachXDP(p, ifindex, &XDPOptions{Mode: XDPGeneric})
	if err != nil {
		return err
	}
	if err := l.Pin(os.Getenv("PIN")); err != nil {
		l.Close()
		return err
	}
	return l.Close() // the pin keeps the program attached
}

func TestPinSurvivesProcess(t *testing.T) {
	v := newVeth(t)
	pin := filepath.Join(pinDir(t), "xdp")

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=pin-xdp", "PIN="+pin,
		"IFINDEX="+strconv.Itoa(v.ifB), "PORT="+strconv.Itoa(v.port))
	// The os.File owns a duplicate: its finalizer must not close v.nsB.
	dup, err := unix.FcntlInt(uintptr(v.nsB), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		t.Fatal(err)
	}
	nsFile := os.NewFile(uintptr(dup), "netns")
	defer nsFile.Close()
	cmd.ExtraFiles = []*os.File{nsFile}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}

	// The child is gone; its pinned link still drops our datagrams.
	if got := v.exchange(t, 2, "pinned"); len(got) != 0 {
		t.Fatalf("the pinned link did not survive its process: %q arrived", got)
	}
	l, err := LoadPinned(pin)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != TypeXDP || info.Ifindex != v.ifB {
		t.Fatalf("Info = %+v, want the child's XDP link on ifindex %d", info, v.ifB)
	}

	pass := xdpProgram(t, "xdp_pass", v.port, xdpPass)
	if err := l.Update(pass); err != nil {
		t.Fatal(err)
	}
	if got := v.exchange(t, 2, "updated"); len(got) != 2 {
		t.Fatalf("after Update: %d of 2 datagrams arrived", len(got))
	}
	if n := counter(t, pass, 0); n != 2 {
		t.Fatalf("the new program counted %d, want 2", n)
	}

	// A pinned path that already exists.
	if err := l.Pin(pin); !errors.Is(err, os.ErrExist) {
		t.Fatalf("Pin on an existing path: %v, want os.ErrExist", err)
	}
	// Closing a loaded pinned link leaves it attached.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	v.exchange(t, 1, "still")
	if n := counter(t, pass, 0); n != 3 {
		t.Fatalf("after closing the loaded link the program counted %d, want 3", n)
	}

	// Unpin and close: detached.
	l, err = LoadPinned(pin)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unpin(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pin); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pin still there after Unpin: %v", err)
	}
	if err := l.Unpin(); err == nil {
		t.Fatal("second Unpin succeeded")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, info.ID)
	v.exchange(t, 1, "detached")
	if n := counter(t, pass, 0); n != 3 {
		t.Fatalf("after detaching the program counted %d, want still 3", n)
	}
}

func TestLoadPinnedBadInput(t *testing.T) {
	dir := pinDir(t)
	if _, err := LoadPinned(filepath.Join(dir, "missing")); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("missing pin: %v, want ENOENT", err)
	}
	// A pinned program is not a link.
	p := socketFilter(t)
	path := filepath.Join(dir, "prog")
	if err := p.Pin(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPinned(path); err == nil || !strings.Contains(err.Error(), "not a BPF link") {
		t.Fatalf("pinned program: %v, want an error saying it is not a link", err)
	}
}

// NewFromFD names a nil or closed descriptor instead of passing it to
// BPF_OBJ_GET_INFO_BY_FD (which answers a bare EBADF).
func TestNewFromFDBadInput(t *testing.T) {
	if _, err := NewFromFD(nil); !errors.Is(err, os.ErrInvalid) || !strings.Contains(err.Error(), "nil *sys.FD") {
		t.Errorf("NewFromFD(nil): %v, want an error naming the nil *sys.FD and wrapping os.ErrInvalid", err)
	}
	fd, err := sys.NewFD(int(must(unix.Dup(0))))
	if err != nil {
		t.Fatal(err)
	}
	fd.Close()
	if _, err := NewFromFD(fd); !errors.Is(err, os.ErrClosed) {
		t.Errorf("NewFromFD(closed): %v, want os.ErrClosed", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
