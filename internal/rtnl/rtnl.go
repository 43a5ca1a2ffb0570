//go:build linux

// Package rtnl is a minimal rtnetlink client on golang.org/x/sys/unix:
// one NETLINK_ROUTE socket, requests with acknowledgements, dumps,
// attributes and extended acks (the kernel's error text). Package link's
// cls_bpf filters and internal/netns's veth pairs talk to the kernel
// through it.
//
// Dependencies: the standard library and golang.org/x/sys/unix.
package rtnl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// netlink socket options missing from x/sys/unix's names we use.
const (
	nlCapAck      = 10    // NETLINK_CAP_ACK: errors do not echo the request
	nlAckTLVs     = 0x200 // NLM_F_ACK_TLVS in the flags of an NLMSG_ERROR
	nlmsgHdrLen   = unix.SizeofNlMsghdr
	nlmsgErrLen   = unix.SizeofNlMsgerr
	nlAttrHdrLen  = unix.SizeofNlAttr
	nlRecvBufSize = 64 << 10
	nlTimeout     = 10 * time.Second
)

// Conn is a NETLINK_ROUTE socket. It belongs to the network namespace
// of the thread that opened it, whatever thread uses it later.
type Conn struct {
	mu  sync.Mutex
	fd  int
	seq uint32
	pid uint32
}

// Dial opens a NETLINK_ROUTE socket in the calling thread's network
// namespace, with extended acks and a bounded wait for answers.
func Dial() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	// Extended acks (Linux 4.12+) carry the kernel's reason for an error.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, nlCapAck, 1)
	// The kernel answers rtnetlink requests synchronously; a bound on the
	// wait turns a lost answer into an error instead of a hang.
	tv := unix.NsecToTimeval(int64(nlTimeout))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink getsockname: %w", err)
	}
	c := &Conn{fd: fd}
	if nl, ok := sa.(*unix.SockaddrNetlink); ok {
		c.pid = nl.Pid
	}
	return c, nil
}

// Close closes the socket. Close on nil does nothing; a second Close
// returns os.ErrClosed.
func (c *Conn) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return os.ErrClosed
	}
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}

// Msg is one received message: its type and payload.
type Msg struct {
	Type uint16
	Data []byte
}

// Error is a failed netlink request: the errno and, when the kernel
// sent one, its extended-ack message.
type Error struct {
	errno unix.Errno
	msg   string
}

func (e *Error) Error() string {
	if e.msg != "" {
		return e.errno.Error() + " (kernel: " + e.msg + ")"
	}
	return e.errno.Error()
}

func (e *Error) Unwrap() error { return e.errno }

// Request sends one message and collects the answer: for a dump
// (unix.NLM_F_DUMP in flags) every message up to NLMSG_DONE, otherwise
// nothing but the acknowledgement.
func (c *Conn) Request(typ, flags uint16, body []byte) ([]Msg, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil, fmt.Errorf("netlink: %w", os.ErrClosed)
	}
	c.seq++
	seq := c.seq
	flags |= unix.NLM_F_REQUEST
	// NLM_F_DUMP is two bits, one of which NLM_F_EXCL shares.
	if flags&unix.NLM_F_DUMP != unix.NLM_F_DUMP {
		flags |= unix.NLM_F_ACK
	}
	msg := make([]byte, nlmsgHdrLen, nlmsgHdrLen+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(nlmsgHdrLen+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags)
	binary.NativeEndian.PutUint32(msg[8:], seq)
	binary.NativeEndian.PutUint32(msg[12:], c.pid)
	msg = append(msg, body...)
	if err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink send: %w", err)
	}
	var out []Msg
	buf := make([]byte, nlRecvBufSize)
	for {
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return nil, fmt.Errorf("netlink: no answer from the kernel within %v: %w", nlTimeout, unix.ETIMEDOUT)
		}
		if err != nil {
			return nil, fmt.Errorf("netlink receive: %w", err)
		}
		b := buf[:n]
		for len(b) >= nlmsgHdrLen {
			l := int(binary.NativeEndian.Uint32(b[0:]))
			if l < nlmsgHdrLen || l > len(b) {
				return nil, fmt.Errorf("netlink: malformed message of length %d", l)
			}
			mtyp := binary.NativeEndian.Uint16(b[4:])
			mflags := binary.NativeEndian.Uint16(b[6:])
			mseq := binary.NativeEndian.Uint32(b[8:])
			data := b[nlmsgHdrLen:l]
			b = b[min(nlmAlign(l), len(b)):]
			if mseq != seq {
				continue // an answer to an earlier request
			}
			switch mtyp {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(data) < 4 {
					return nil, errors.New("netlink: short error message")
				}
				code := int32(binary.NativeEndian.Uint32(data))
				if code == 0 {
					return out, nil
				}
				e := &Error{errno: unix.Errno(-code)}
				if mflags&nlAckTLVs != 0 && len(data) >= nlmsgErrLen {
					for _, a := range ParseAttrs(data[nlmsgErrLen:]) {
						if a.Type == unix.NLMSGERR_ATTR_MSG {
							e.msg = unix.ByteSliceToString(a.Data)
						}
					}
				}
				return nil, e
			default:
				out = append(out, Msg{Type: mtyp, Data: append([]byte(nil), data...)})
			}
		}
	}
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// Attrs builds a sequence of netlink attributes in B.
type Attrs struct{ B []byte }

// Add appends attribute typ with data, padded to 4 bytes.
func (a *Attrs) Add(typ uint16, data []byte) {
	hdr := make([]byte, nlAttrHdrLen)
	binary.NativeEndian.PutUint16(hdr[0:], uint16(nlAttrHdrLen+len(data)))
	binary.NativeEndian.PutUint16(hdr[2:], typ)
	a.B = append(a.B, hdr...)
	a.B = append(a.B, data...)
	for len(a.B)%unix.NLA_ALIGNTO != 0 {
		a.B = append(a.B, 0)
	}
}

// U32 appends a native-endian u32 attribute.
func (a *Attrs) U32(typ uint16, v uint32) {
	a.Add(typ, binary.NativeEndian.AppendUint32(nil, v))
}

// Str appends a NUL-terminated string attribute.
func (a *Attrs) Str(typ uint16, s string) { a.Add(typ, append([]byte(s), 0)) }

// Nested appends a nested attribute whose content f builds.
func (a *Attrs) Nested(typ uint16, f func(*Attrs)) {
	var in Attrs
	f(&in)
	a.Add(typ|unix.NLA_F_NESTED, in.B)
}

// Attr is one parsed attribute.
type Attr struct {
	Type uint16
	Data []byte
}

// ParseAttrs splits b into attributes, ignoring a malformed tail. The
// nested and byte-order flag bits are cleared from the types.
func ParseAttrs(b []byte) []Attr {
	var out []Attr
	for len(b) >= nlAttrHdrLen {
		l := int(binary.NativeEndian.Uint16(b[0:]))
		typ := binary.NativeEndian.Uint16(b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if l < nlAttrHdrLen || l > len(b) {
			break
		}
		out = append(out, Attr{Type: typ, Data: b[nlAttrHdrLen:l]})
		b = b[min((l+unix.NLA_ALIGNTO-1)&^(unix.NLA_ALIGNTO-1), len(b)):]
	}
	return out
}

// FindAttr returns the data of the first attribute of type typ, or nil.
func FindAttr(as []Attr, typ uint16) []byte {
	for _, a := range as {
		if a.Type == typ {
			return a.Data
		}
	}
	return nil
}
