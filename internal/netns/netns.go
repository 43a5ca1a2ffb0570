//go:build linux

// Package netns makes throwaway network namespaces and the veth pairs
// between them, for tests and examples whose traffic must stay in
// namespaces they created.
//
// A namespace made by New has no name: nothing refers to it but NS's
// descriptor and the sockets opened inside it, so it and everything in it
// (interfaces, addresses, XDP programs on them) is gone once Close and
// the sockets' Close drop those, or when the process dies however it
// dies. Nothing is left behind under /run/netns or in the caller's
// namespace. Threads that enter a namespace to run Do's function go back
// to their own before they are released.
//
// Dependencies: the standard library, golang.org/x/sys/unix and
// internal/rtnl.
package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/rtnl"
)

// NS is a network namespace held by a descriptor. Do runs functions
// inside it; sockets opened there stay in the namespace whichever
// goroutine uses them later.
type NS struct {
	mu sync.Mutex
	fd int
}

// New creates a network namespace with lo up (unshare(CLONE_NEWNET),
// which needs CAP_SYS_ADMIN). The calling thread is not moved.
func New() (*NS, error) {
	var fd int
	err := onThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
		}
		var err error
		if fd, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			return err
		}
		if err := setUp(1); err != nil {
			unix.Close(fd)
			return fmt.Errorf("set lo up: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("new network namespace: %w", err)
	}
	return &NS{fd: fd}, nil
}

// onThread runs f on a locked OS thread of its own and then returns the
// thread to the namespace it came from. If it cannot, the thread stays
// locked and ends with its goroutine (the main thread, which cannot end,
// would stay in the namespace: restoring is what keeps it out).
func onThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(orig)
		var ferr error
		func() {
			defer func() {
				if r := recover(); r != nil {
					ferr = fmt.Errorf("netns: panic: %v", r)
				}
			}()
			ferr = f()
		}()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("netns: returning the thread to its namespace: %w", err))
			return // still locked: the thread ends with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// FD is a descriptor of the namespace (for IFLA_NET_NS_FD, setns), or -1
// after Close.
func (ns *NS) FD() int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.fd
}

// Do runs f on a thread inside the namespace and returns its error. After
// Close it returns an error wrapping os.ErrClosed.
func (ns *NS) Do(f func() error) error {
	if ns == nil {
		return fmt.Errorf("netns: nil *NS: %w", os.ErrInvalid)
	}
	// A duplicate keeps the namespace for this call even if Close runs
	// meanwhile; calls run concurrently.
	ns.mu.Lock()
	if ns.fd < 0 {
		ns.mu.Unlock()
		return fmt.Errorf("netns: %w", os.ErrClosed)
	}
	fd, err := unix.FcntlInt(uintptr(ns.fd), unix.F_DUPFD_CLOEXEC, 0)
	ns.mu.Unlock()
	if err != nil {
		return fmt.Errorf("netns: dup: %w", err)
	}
	defer unix.Close(fd)
	return Enter(fd, f)
}

// Enter runs f on a thread inside the network namespace fd refers to,
// then returns the thread to its own namespace.
func Enter(fd int, f func() error) error {
	return onThread(func() error {
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("setns: %w", err)
		}
		return f()
	})
}

// Close closes the namespace's descriptor. The namespace goes away with
// its last reference: sockets still open in it keep it alive until they
// are closed. A second Close does nothing.
func (ns *NS) Close() error {
	if ns == nil {
		return nil
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.fd < 0 {
		return nil
	}
	err := unix.Close(ns.fd)
	ns.fd = -1
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
