//go:build linux

// Package netns makes throwaway network namespaces and the veth pairs
// between them, for tests and examples whose traffic must stay in
// namespaces they created.
//
// A namespace made by New has no name: nothing refers to it but the
// descriptor and the OS thread that NS holds, so it and everything in it
// (interfaces, addresses, XDP programs on them, sockets' bindings) is gone
// when Close drops both, or when the process dies however it dies. Nothing
// is left behind under /run/netns or in the caller's namespace.
//
// Dependencies: the standard library, golang.org/x/sys/unix and
// internal/rtnl.
package netns

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/rtnl"
)

// NS is a network namespace with one OS thread inside it that runs the
// functions given to Do. Sockets opened there stay in the namespace
// whichever goroutine uses them later.
type NS struct {
	fd    int
	calls chan func()
	once  sync.Once
	done  chan struct{}
}

// New creates a network namespace with lo up (unshare(CLONE_NEWNET) on a
// dedicated thread, which needs CAP_SYS_ADMIN).
func New() (*NS, error) {
	ns := &NS{fd: -1, calls: make(chan func()), done: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, and no other
		// goroutine ever runs in the namespace.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		ns.fd = fd
		if err := setUp(1); err != nil {
			unix.Close(fd)
			errc <- fmt.Errorf("set lo up: %w", err)
			return
		}
		errc <- nil
		for {
			select {
			case f := <-ns.calls:
				f()
			case <-ns.done:
				return
			}
		}
	}()
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("new network namespace: %w", err)
	}
	return ns, nil
}

// FD is a descriptor of the namespace (for IFLA_NET_NS_FD, setns), or -1
// after Close.
func (ns *NS) FD() int { return ns.fd }

// Do runs f on the namespace's thread and returns its error. After Close
// it returns os.ErrClosed.
func (ns *NS) Do(f func() error) error {
	if ns == nil {
		return fmt.Errorf("netns: nil *NS: %w", os.ErrInvalid)
	}
	errc := make(chan error, 1)
	call := func() {
		defer func() {
			if r := recover(); r != nil {
				errc <- fmt.Errorf("netns: panic: %v", r)
			}
		}()
		errc <- f()
	}
	select {
	case ns.calls <- call:
		return <-errc
	case <-ns.done:
		return fmt.Errorf("netns: %w", os.ErrClosed)
	}
}

// Close ends the namespace's thread and closes its descriptor. The
// namespace goes away with its last reference: sockets still open in it
// keep it alive until they are closed. Close twice does nothing more.
func (ns *NS) Close() error {
	if ns == nil {
		return nil
	}
	var err error
	ns.once.Do(func() {
		close(ns.done)
		err = unix.Close(ns.fd)
		ns.fd = -1
	})
	return err
}

// AddVeth creates a veth pair in ns: name stays in ns, peerName is
// created in peer (the veth driver; a module in Debian's kernels).
func (ns *NS) AddVeth(name string, peer *NS, peerName string) error {
	return ns.Do(func() error {
		c, err := rtnl.Dial()
		if err != nil {
			return err
		}
		defer c.Close()
		var a rtnl.Attrs
		a.Str(unix.IFLA_IFNAME, name)
		a.Nested(unix.IFLA_LINKINFO, func(li *rtnl.Attrs) {
			li.Str(unix.IFLA_INFO_KIND, "veth")
			li.Nested(unix.IFLA_INFO_DATA, func(d *rtnl.Attrs) {
				var p rtnl.Attrs
				p.Str(unix.IFLA_IFNAME, peerName)
				p.U32(unix.IFLA_NET_NS_FD, uint32(peer.FD()))
				d.Add(1 /* VETH_INFO_PEER */, append(ifinfomsg(0, 0, 0), p.B...))
			})
		})
		if _, err := c.Request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, append(ifinfomsg(0, 0, 0), a.B...)); err != nil {
			return fmt.Errorf("create veth pair %s/%s (is the veth module loaded?): %w", name, peerName, err)
		}
		return nil
	})
}

// Configure gives the interface called name in ns the address ip/prefix
// (IPv4 or IPv6) and sets it up. It returns the interface's index.
func (ns *NS) Configure(name string, ip net.IP, prefix int) (int, error) {
	var ifindex int
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return err
		}
		ifindex = ifi.Index
		c, err := rtnl.Dial()
		if err != nil {
			return err
		}
		defer c.Close()
		family, addr := byte(unix.AF_INET), ip.To4()
		if addr == nil {
			family, addr = unix.AF_INET6, ip.To16()
		}
		if addr == nil {
			return fmt.Errorf("%v is not an IP address: %w", ip, os.ErrInvalid)
		}
		msg := make([]byte, unix.SizeofIfAddrmsg)
		msg[0], msg[1] = family, byte(prefix)
		if family == unix.AF_INET6 {
			msg[2] = unix.IFA_F_NODAD // usable at once
		}
		binary.NativeEndian.PutUint32(msg[4:], uint32(ifi.Index))
		var a rtnl.Attrs
		a.Add(unix.IFA_LOCAL, addr)
		a.Add(unix.IFA_ADDRESS, addr)
		if _, err := c.Request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, append(msg, a.B...)); err != nil {
			return fmt.Errorf("add address %v/%d to %s: %w", ip, prefix, name, err)
		}
		if _, err := c.Request(unix.RTM_NEWLINK, 0, ifinfomsg(int32(ifi.Index), unix.IFF_UP, unix.IFF_UP)); err != nil {
			return fmt.Errorf("set %s up: %w", name, err)
		}
		return nil
	})
	return ifindex, err
}

// setUp sets interface ifindex of the calling thread's namespace up.
func setUp(ifindex int) error {
	c, err := rtnl.Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Request(unix.RTM_NEWLINK, 0, ifinfomsg(int32(ifindex), unix.IFF_UP, unix.IFF_UP))
	return err
}

func ifinfomsg(index int32, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	return b
}
