//go:build linux

package link

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// childConnect runs in a re-executed test binary placed in the test's
// cgroup: it opens $N TCP connections to $ADDR with raw system calls and
// writes one byte on each.
func childConnect() error {
	n, _ := strconv.Atoi(os.Getenv("N"))
	ap, err := net.ResolveTCPAddr("tcp4", os.Getenv("ADDR"))
	if err != nil {
		return err
	}
	sa := &unix.SockaddrInet4{Port: ap.Port}
	copy(sa.Addr[:], ap.IP.To4())
	for k := 0; k < n; k++ {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Connect(fd, sa); err != nil {
			unix.Close(fd)
			return fmt.Errorf("connect: %w", err)
		}
		if _, err := unix.Write(fd, []byte{'x'}); err != nil {
			unix.Close(fd)
			return err
		}
		buf := make([]byte, 1)
		if _, err := unix.Read(fd, buf); err != nil {
			unix.Close(fd)
			return err
		}
		unix.Close(fd)
	}
	return nil
}

// newCgroup creates a child cgroup of the cgroup2 root, removed after the
// test.
func newCgroup(t *testing.T) (string, int) {
	t.Helper()
	testenv.RequireRoot(t)
	root := testenv.Cgroup2Mount()
	if root == "" {
		// Mount the hierarchy ourselves (it is the same one wherever it
		// is mounted).
		root = t.TempDir()
		if err := unix.Mount("cgroup2", root, "cgroup2", 0, ""); err != nil {
			testenv.SkipOrFail(t, "no cgroup2 file system is mounted, and mounting one failed: %v", err)
		}
		t.Cleanup(func() { unix.Unmount(root, unix.MNT_DETACH) })
	}
	dir := filepath.Join(root, fmt.Sprintf("purebpf-link-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create cgroup: %v", err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(fd)
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove cgroup: %v", err)
		}
	})
	return dir, fd
}

// runConnectChild runs childConnect in the cgroup cgfd, against a
// loopback server of this process, and returns once all n connections
// were served.
func runConnectChild(t *testing.T, cgfd, n int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 1)
			c.Read(buf)
			c.Write(buf)
			c.Close()
		}
	}()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=connect", "N="+strconv.Itoa(n), "ADDR="+ln.Addr().String())
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgfd}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// cgroupCounter counts its runs in counts[0] and returns 1 (allow).
func cgroupCounter(t *testing.T, name string, typ prog.Type, attach prog.AttachType) *prog.Program {
	code := append(countInsns(0), insn.Mov.Imm(insn.R0, 1), insn.Exit())
	return load(t, &prog.Spec{Name: name, Type: typ, Instructions: code, Maps: []*prog.MapSpec{counterSpec("counts", 1)}},
		&prog.ProgramOptions{ExpectedAttachType: attach})
}

func TestCgroup(t *testing.T) {
	dir, cgfd := newCgroup(t)
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	hooks := []CgroupHook{CgroupInetIngress, CgroupInetEgress, CgroupSockCreate, CgroupInet4Connect}
	progs := make([]*prog.Program, len(hooks))
	links := make([]Link, len(hooks))
	for k, h := range hooks {
		progs[k] = cgroupCounter(t, strings.NewReplacer("/", "_", "cgroup_", "").Replace(h.String()), h.prog, h.AttachType())
		l, err := AttachCgroup(progs[k], dir, h)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		links[k] = l
		info, err := l.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Type != TypeCgroup || info.AttachType != h.AttachType() || info.CgroupID != st.Ino {
			t.Fatalf("%s: Info = %+v, want cgroup link, attach type %d, cgroup id %d", h, info, h.AttachType(), st.Ino)
		}
	}

	const n = 3
	runConnectChild(t, cgfd, n)
	in, out, create, connect := counter(t, progs[0], 0), counter(t, progs[1], 0), counter(t, progs[2], 0), counter(t, progs[3], 0)
	t.Logf("ingress %d, egress %d, sock_create %d, connect4 %d", in, out, create, connect)
	if connect != n {
		t.Errorf("connect4 saw %d connects, want %d", connect, n)
	}
	if create < n {
		t.Errorf("sock_create saw %d sockets, want at least %d", create, n)
	}
	// Each connection sends at least SYN, ACK, data and FIN, and
	// receives at least SYN-ACK and the echoed byte.
	if out < 4*n || in < 2*n {
		t.Errorf("cgroup_skb saw %d packets out and %d in, want at least %d and %d", out, in, 4*n, 2*n)
	}

	// Update swaps the connect4 program.
	connect2 := cgroupCounter(t, "connect4_b", prog.CgroupSockAddr, prog.AttachCgroupInet4Connect)
	if err := links[3].Update(connect2); err != nil {
		t.Fatal(err)
	}
	if err := links[3].Update(progs[0]); !errors.Is(err, sys.ErrProgramType) { // perf's refusals wrap it too
		t.Fatalf("Update connect4 with a cgroup_skb program: %v, want ErrProgramType", err)
	}
	runConnectChild(t, cgfd, 2)
	if a, b := counter(t, progs[3], 0), counter(t, connect2, 0); a != n || b != 2 {
		t.Fatalf("after Update: old program %d (want %d), new %d (want 2)", a, n, b)
	}

	// Close detaches.
	for _, l := range links {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	runConnectChild(t, cgfd, 1)
	if b := counter(t, connect2, 0); b != 2 {
		t.Fatalf("after Close the connect4 program counted %d, want still 2", b)
	}

	// Bad input.
	if _, err := AttachCgroup(progs[0], dir, CgroupSockCreate); !errors.Is(err, ErrProgramType) ||
		!strings.Contains(err.Error(), "cgroup_skb") || !strings.Contains(err.Error(), "cgroup_sock") {
		t.Fatalf("cgroup_skb on sock_create: %v, want ErrProgramType naming both types", err)
	}
	if _, err := AttachCgroup(progs[0], filepath.Join(dir, "missing"), CgroupInetIngress); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("missing cgroup: %v, want ENOENT", err)
	}
	if _, err := AttachCgroup(progs[0], dir, CgroupHook{}); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "attach zero CgroupHook on cgroup") {
		t.Fatalf("zero hook: %v, want EINVAL", err)
	}
}

// Every cgroup hook attaches a program of its type loaded with its
// attach type, and Info reports the hook.
func TestCgroupEveryHook(t *testing.T) {
	dir, _ := newCgroup(t)
	hooks := []CgroupHook{CgroupInetIngress, CgroupInetEgress, CgroupSockCreate, CgroupInet4Connect, CgroupInet6Connect,
		CgroupInet4Bind, CgroupInet6Bind, CgroupUDP4Sendmsg, CgroupUDP6Sendmsg, CgroupUDP4Recvmsg, CgroupUDP6Recvmsg,
		CgroupInet4Getpeername, CgroupInet6Getpeername, CgroupInet4Getsockname, CgroupInet6Getsockname,
		CgroupSockRelease, CgroupInet4PostBind, CgroupInet6PostBind, CgroupGetsockopt, CgroupSetsockopt,
		CgroupSysctl, CgroupDevice, CgroupSockOps}
	if kernelAtLeast(t, 6, 7) {
		hooks = append(hooks, CgroupUnixConnect, CgroupUnixSendmsg, CgroupUnixRecvmsg, CgroupUnixGetpeername, CgroupUnixGetsockname)
	}
	for _, h := range hooks {
		p := load(t, &prog.Spec{Name: "hook", Type: h.prog, License: "GPL", Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 1), insn.Exit()}},
			&prog.ProgramOptions{ExpectedAttachType: h.AttachType()})
		l, err := AttachCgroup(p, dir, h)
		if err != nil {
			t.Errorf("%s: %v", h, err)
			continue
		}
		info, err := l.Info()
		if err != nil || info.Type != TypeCgroup || info.AttachType != h.AttachType() {
			t.Errorf("%s: Info = %+v, %v; want a cgroup link with attach type %d", h, info, err, h.AttachType())
		}
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}
}
