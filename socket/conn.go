//go:build linux

package socket

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Conn is a raw AF_PACKET socket bound to one interface. Reads are
// serialised; all methods are safe for concurrent use.
type Conn struct {
	f       *os.File
	rc      syscall.RawConn
	ifindex int
	name    string
	dir     Direction
	closed  atomic.Bool

	// Read state, guarded by rmu; kept here so that a read allocates
	// nothing (the callback is a method value made once in Open).
	rmu    sync.Mutex
	rbuf   []byte
	rinfo  Info
	rerr   error
	sa     unix.RawSockaddrLinklayer
	salen  uint32
	readFn func(fd uintptr) bool
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Open opens a raw AF_PACKET socket (SOCK_RAW, so frames include their
// link-layer header) bound to the interface called ifname. It needs
// CAP_NET_RAW, and CAP_BPF or CAP_SYS_ADMIN to attach an eBPF filter.
func Open(ifname string, opts *Options) (*Conn, error) {
	if opts == nil {
		opts = &Options{}
	}
	if opts.Direction > DirectionOut {
		return nil, fmt.Errorf("socket: open %q: unknown Direction %d (want DirectionBoth, DirectionIn or DirectionOut): %w", ifname, opts.Direction, unix.EINVAL)
	}
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("socket: open %q: %w (%v)", ifname, ErrNoInterface, err)
	}
	proto := opts.Protocol
	if proto == 0 {
		proto = unix.ETH_P_ALL
	}
	// Protocol 0 receives nothing until bind names the protocol and the
	// interface, so no frame of another interface gets queued meanwhile.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("socket: open %q: socket(AF_PACKET, SOCK_RAW): %w: capturing needs CAP_NET_RAW (and CAP_BPF or CAP_SYS_ADMIN to attach an eBPF filter); run as root or grant the capabilities", ifname, err)
		}
		return nil, fmt.Errorf("socket: open %q: socket(AF_PACKET, SOCK_RAW): %w", ifname, err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	raw := rawFD(fd)
	switch {
	case opts.Program != nil:
		if err := Attach(raw, opts.Program); err != nil {
			return nil, fmt.Errorf("socket: open %q: %w", ifname, err)
		}
	case opts.Classic != nil:
		if err := AttachClassicRaw(raw, opts.Classic); err != nil {
			return nil, fmt.Errorf("socket: open %q: %w", ifname, err)
		}
	}
	if opts.Direction == DirectionIn {
		// Best effort (Linux 4.20+); Read filters as well.
		_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: iface.Index}); err != nil {
		return nil, fmt.Errorf("socket: open %q: bind to ifindex %d: %w", ifname, iface.Index, err)
	}
	if opts.Promiscuous {
		mreq := unix.PacketMreq{Ifindex: int32(iface.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return nil, fmt.Errorf("socket: open %q: promiscuous mode: %w", ifname, err)
		}
	}
	f := os.NewFile(uintptr(fd), "packet:"+ifname)
	ok = true
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("socket: open %q: %w", ifname, err)
	}
	c := &Conn{f: f, rc: rc, ifindex: iface.Index, name: ifname, dir: opts.Direction}
	c.readFn = c.recv
	return c, nil
}

// rawFD lets the attach functions work on a descriptor before it is
// wrapped in an *os.File.
type rawFD int

func (fd rawFD) Control(f func(fd uintptr)) error { f(uintptr(fd)); return nil }
func (fd rawFD) Read(func(fd uintptr) bool) error { return errors.ErrUnsupported }
func (fd rawFD) Write(func(fd uintptr) bool) error {
	return errors.ErrUnsupported
}

// Name returns the interface name given to Open.
func (c *Conn) Name() string {
	if c == nil {
		return ""
	}
	return c.name
}

// Ifindex returns the index of the interface the socket is bound to.
func (c *Conn) Ifindex() int {
	if c == nil {
		return 0
	}
	return c.ifindex
}

// errNilConn is the error of a method called on a nil *Conn.
func errNilConn(op string) error {
	return fmt.Errorf("socket: %s: nil *socket.Conn: %w", op, os.ErrInvalid)
}

// SyscallConn gives access to the socket's descriptor (syscall.Conn).
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	if c == nil {
		return nil, errNilConn("syscall conn")
	}
	return c.rc, nil
}

func (c *Conn) control(f func(fd int) error) error {
	var ferr error
	if err := c.rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return c.closedErr(err)
	}
	return ferr
}

// closedErr makes the poller's error about a closed descriptor ("use of
// closed file") match os.ErrClosed.
func (c *Conn) closedErr(err error) error {
	if c.closed.Load() && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("%w (%v)", os.ErrClosed, err)
	}
	return err
}

// Read waits for the next packet, copies it (or as much as fits) into buf
// and returns its metadata. It allocates nothing. It returns an error
// wrapping os.ErrDeadlineExceeded when the read deadline passes and
// os.ErrClosed when the socket is closed, also while Read is waiting.
func (c *Conn) Read(buf []byte) (Info, error) {
	if c == nil {
		return Info{}, errNilConn("read")
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf, c.rerr = buf, nil
	err := c.rc.Read(c.readFn)
	c.rbuf = nil
	if err != nil {
		return Info{}, fmt.Errorf("socket: read %s: %w", c.name, c.closedErr(err))
	}
	if c.rerr != nil {
		return Info{}, c.rerr
	}
	return c.rinfo, nil
}

// recv is the RawConn.Read callback: it returns false to wait for the
// socket to become readable.
func (c *Conn) recv(fd uintptr) bool {
	var p unsafe.Pointer
	if len(c.rbuf) > 0 {
		p = unsafe.Pointer(&c.rbuf[0])
	}
	for {
		c.salen = uint32(unsafe.Sizeof(c.sa))
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(p), uintptr(len(c.rbuf)),
			unix.MSG_TRUNC, uintptr(unsafe.Pointer(&c.sa)), uintptr(unsafe.Pointer(&c.salen)))
		switch errno {
		case 0:
		case unix.EAGAIN:
			return false
		case unix.EINTR:
			continue
		default:
			c.rerr = fmt.Errorf("socket: read %s: recvfrom: %w", c.name, errno)
			return true
		}
		typ := PacketType(c.sa.Pkttype)
		if (c.dir == DirectionIn && typ == Outgoing) || (c.dir == DirectionOut && typ != Outgoing) {
			continue
		}
		c.rinfo = Info{
			N:        min(int(n), len(c.rbuf)),
			Len:      int(n),
			Ifindex:  int(c.sa.Ifindex),
			Type:     typ,
			Protocol: htons(c.sa.Protocol),
			Hatype:   c.sa.Hatype,
		}
		return true
	}
}

// SetReadDeadline sets the time after which a waiting or future Read
// fails with os.ErrDeadlineExceeded; the zero time means no deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c == nil {
		return errNilConn("set read deadline")
	}
	if err := c.f.SetReadDeadline(t); err != nil {
		return fmt.Errorf("socket: set read deadline: %w", err)
	}
	return nil
}

// Attach attaches the eBPF socket filter p (see the function Attach).
func (c *Conn) Attach(p Program) error { return Attach(c, p) }

// AttachClassic attaches a classic filter (see the function
// AttachClassic).
func (c *Conn) AttachClassic(filter []bpf.Instruction) error { return AttachClassic(c, filter) }

// AttachClassicRaw attaches a classic filter given as raw instructions.
func (c *Conn) AttachClassicRaw(filter []bpf.RawInstruction) error {
	return AttachClassicRaw(c, filter)
}

// Detach removes the socket's filter (see the function Detach).
func (c *Conn) Detach() error { return Detach(c) }

// LockFilter locks the socket's filter (see the function LockFilter).
func (c *Conn) LockFilter() error { return LockFilter(c) }

// Stats returns how many packets the socket received and dropped (for
// lack of buffer space) since the previous call (PACKET_STATISTICS, which
// resets the counters).
func (c *Conn) Stats() (received, dropped uint32, err error) {
	if c == nil {
		return 0, 0, errNilConn("statistics")
	}
	err = c.control(func(fd int) error {
		s, err := unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			return err
		}
		received, dropped = s.Packets, s.Drops
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("socket: statistics: %w", err)
	}
	return received, dropped, nil
}

// Close closes the socket, which detaches its filter and ends promiscuous
// mode. A Read waiting in another goroutine returns os.ErrClosed. Closing
// a nil *Conn does nothing.
func (c *Conn) Close() error {
	if c == nil {
		return nil
	}
	c.closed.Store(true)
	if err := c.f.Close(); err != nil {
		return fmt.Errorf("socket: close %s: %w", c.name, err)
	}
	return nil
}
