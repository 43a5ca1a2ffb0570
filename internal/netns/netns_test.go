//go:build linux

package netns

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/purebpf/purebpf/internal/testenv"
)

// inode returns the "net:[N]" name of the namespace behind ns.
func inode(t *testing.T, ns *NS) string {
	t.Helper()
	var name string
	if err := ns.Do(func() (err error) { name, err = os.Readlink("/proc/thread-self/ns/net"); return err }); err != nil {
		t.Fatal(err)
	}
	return name
}

// alive returns a thread (/proc/PID/task/TID) that is in namespace name,
// or "".
func alive(name string) string {
	tasks, _ := filepath.Glob("/proc/[0-9]*/task/*/ns/net")
	for _, task := range tasks {
		if n, err := os.Readlink(task); err == nil && n == name {
			return filepath.Dir(filepath.Dir(task))
		}
	}
	return ""
}

// Two namespaces joined by a veth pair carry a datagram, leave the
// caller's namespace untouched and are gone after Close.
func TestVethPair(t *testing.T) {
	testenv.RequireRoot(t)
	mine, _ := os.Readlink("/proc/thread-self/ns/net")
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	na, nb := inode(t, a), inode(t, b)
	if na == nb || na == mine || nb == mine {
		t.Fatalf("namespaces %s and %s, ours %s: want three different ones", na, nb, mine)
	}
	if err := a.AddVeth("nstest0", b, "nstest1"); err != nil {
		t.Fatal(err)
	}
	if _, err := net.InterfaceByName("nstest0"); err == nil {
		t.Fatal("the veth end appeared in the caller's namespace")
	}
	ipA, ipB := net.IPv4(10, 202, 0, 1), net.IPv4(10, 202, 0, 2)
	if _, err := a.Configure("nstest0", ipA, 24); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Configure("nstest1", ipB, 24); err != nil {
		t.Fatal(err)
	}
	var recv *net.UDPConn
	if err := b.Do(func() (err error) { recv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: ipB, Port: 4321}); return err }); err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	var send *net.UDPConn
	if err := a.Do(func() (err error) {
		send, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: ipB, Port: 4321})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer send.Close()
	buf := make([]byte, 64)
	got := ""
	for try := 0; try < 20 && got == ""; try++ { // the carrier comes up asynchronously
		send.Write([]byte("over the pair"))
		recv.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, _, err := recv.ReadFromUDP(buf); err == nil {
			got = string(buf[:n])
		}
	}
	if got != "over the pair" {
		t.Fatalf("received %q", got)
	}
	if err := a.Do(func() error { return fmt.Errorf("mine: %w", os.ErrExist) }); !errors.Is(err, os.ErrExist) {
		t.Fatalf("Do's error: %v", err)
	}
	if _, err := a.Configure("nosuch0", ipA, 24); err == nil {
		t.Fatal("Configure of a missing interface succeeded")
	}
	send.Close()
	recv.Close()
	a.Close()
	b.Close()
	if err := a.Do(func() error { return nil }); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Do after Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for try := 0; alive(na) != "" || alive(nb) != ""; try++ {
		if try == 50 {
			t.Fatalf("namespaces still in use after Close: %s by %q, %s by %q (this process is %d)", na, alive(na), nb, alive(nb), os.Getpid())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
