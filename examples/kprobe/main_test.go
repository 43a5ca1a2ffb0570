//go:build linux

package main

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func kernelHasKprobes() bool {
	_, err := os.Stat("/sys/bus/event_source/devices/kprobe")
	return err == nil
}

func TestOpensnoop(t *testing.T) {
	testenv.RequireRoot(t)
	for _, tp := range []bool{false, true} {
		for _, output := range []string{"perf", "ringbuf"} {
			name := output + "/kprobe"
			if tp {
				name = output + "/tracepoint"
			}
			t.Run(name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var out, diag syncBuffer
				done := make(chan error, 1)
				go func() { done <- runOpensnoop(ctx, config{Output: output, Tracepoint: tp}, &out, &diag) }()

				path := filepath.Join(t.TempDir(), fmt.Sprintf("opensnoop-%d-%s", os.Getpid(), strings.ReplaceAll(name, "/", "-")))
				want := fmt.Sprintf("%-7d", os.Getpid())
				deadline := time.Now().Add(20 * time.Second)
				found := ""
				for found == "" && time.Now().Before(deadline) {
					fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
					if err != nil {
						t.Fatal(err)
					}
					unix.Close(fd)
					time.Sleep(20 * time.Millisecond)
					for _, line := range strings.Split(out.String(), "\n") {
						if strings.HasSuffix(line, " "+path) {
							found = line
						}
					}
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("opensnoop: %v", err)
				}
				if found == "" {
					t.Fatalf("no event for %s; output:\n%s\ndiagnostics: %s", path, out.String(), diag.String())
				}
				f := strings.Fields(found)
				if len(f) != 5 || f[1] != strings.TrimSpace(want) || f[3] != "O_WRONLY|O_CREAT|O_CLOEXEC" {
					t.Fatalf("event line %q: want pid %d and flags O_WRONLY|O_CREAT|O_CLOEXEC", found, os.Getpid())
				}
				if !strings.HasPrefix(out.String(), "TIME(s)") {
					t.Fatalf("output does not start with the header: %q", out.String())
				}
				fellBack := strings.Contains(diag.String(), "no kprobes")
				switch {
				case tp && fellBack:
					t.Errorf("-tracepoint printed the kprobe fallback note: %q", diag.String())
				case !tp && kernelHasKprobes() && fellBack:
					t.Errorf("fell back to the tracepoint on a kernel with kprobes: %q", diag.String())
				case !tp && !kernelHasKprobes() && !fellBack:
					t.Errorf("kernel without kprobes: no one-line note, diagnostics %q", diag.String())
				}
			})
		}
	}
}

func TestCountMode(t *testing.T) {
	testenv.RequireRoot(t)
	if _, err := findLibc(); err != nil {
		t.Skipf("no libc in this environment (the vmtest initramfs has none): %v", err)
	}
	ls, err := exec.LookPath("ls")
	if err != nil {
		t.Skipf("no ls to exercise malloc: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, diag syncBuffer
	done := make(chan error, 1)
	go func() { done <- runCount(ctx, config{Func: "malloc", Top: 1 << 20}, &out, &diag) }()
	for !strings.Contains(diag.String(), "counting calls") {
		select {
		case err := <-done:
			t.Fatalf("count mode ended early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	var pids []int
	for range 3 {
		cmd := exec.Command(ls, "/")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, cmd.ProcessState.Pid())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		found := false
		for _, line := range strings.Split(out.String(), "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == fmt.Sprint(pid) && f[2] != "0" {
				found = true
			}
		}
		if !found {
			t.Errorf("no malloc count for ls pid %d; output:\n%s", pid, out.String())
		}
	}
}

func TestOpenFlags(t *testing.T) {
	for _, c := range []struct {
		f    uint32
		want string
	}{
		{unix.O_RDONLY, "O_RDONLY"},
		{unix.O_WRONLY | unix.O_CREAT | unix.O_CLOEXEC, "O_WRONLY|O_CREAT|O_CLOEXEC"},
		{unix.O_RDWR | unix.O_TRUNC | 0x40000000, "O_RDWR|O_TRUNC|0x40000000"},
	} {
		if got := openFlags(c.f); got != c.want {
			t.Errorf("openFlags(%#x) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestDecodeEvent(t *testing.T) {
	b := make([]byte, eventSize+4) // perf adds padding
	b[offPID] = 42
	b[offFlags] = 1
	copy(b[offComm:], "cat\x00junk")
	copy(b[offFilename:], "/etc/passwd\x00")
	e, err := decodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	if e.pid != 42 || e.flags != 1 || e.comm != "cat" || e.filename != "/etc/passwd" {
		t.Fatalf("decoded %+v", e)
	}
	if _, err := decodeEvent(b[:eventSize-1]); err == nil {
		t.Fatal("short event accepted")
	}
}

//go:noinline
func countedFunc(x int) int { return x ^ 0x5a }

// TestCountModeExact counts calls of a function of this test binary, so
// the expected count is known exactly. It needs the binary's .symtab,
// which go test -c (and so make vmtest) keeps and plain go test strips.
func TestCountModeExact(t *testing.T) {
	testenv.RequireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	hasSymtab := f.Section(".symtab") != nil
	f.Close()
	if !hasSymtab {
		t.Skip("test binary linked without .symtab (plain go test); go test -c and make vmtest keep it")
	}
	const calls = 250
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, diag syncBuffer
	done := make(chan error, 1)
	cfg := config{Lib: exe, Func: "github.com/purebpf/purebpf/examples/kprobe.countedFunc", Top: 1 << 20}
	go func() { done <- runCount(ctx, cfg, &out, &diag) }()
	for !strings.Contains(diag.String(), "counting calls") {
		select {
		case err := <-done:
			t.Fatalf("count mode ended early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	sum := 0
	for i := range calls {
		sum += countedFunc(i)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d", os.Getpid())
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == want {
			if f[2] != fmt.Sprint(calls) {
				t.Fatalf("counted %s calls for this process, want %d (sum %d)", f[2], calls, sum)
			}
			return
		}
	}
	t.Fatalf("no row for pid %s in:\n%s", want, out.String())
}
