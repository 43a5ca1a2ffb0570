//go:build linux

package link

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// This file is a minimal rtnetlink client on golang.org/x/sys/unix: one
// socket, requests with acknowledgements, dumps, attributes and extended
// acks (the kernel's error text).

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

// nlConn is a NETLINK_ROUTE socket. It belongs to the network namespace
// of the thread that opened it, whatever thread uses it later.
type nlConn struct {
	mu  sync.Mutex
	fd  int
	seq uint32
	pid uint32
}

func dialRoute() (*nlConn, error) {
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
	c := &nlConn{fd: fd}
	if nl, ok := sa.(*unix.SockaddrNetlink); ok {
		c.pid = nl.Pid
	}
	return c, nil
}

func (c *nlConn) Close() error {
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

// nlMsg is one received message: its type and payload.
type nlMsg struct {
	typ  uint16
	data []byte
}

// nlError is a failed netlink request: the errno and, when the kernel
// sent one, its extended-ack message.
type nlError struct {
	errno unix.Errno
	msg   string
}

func (e *nlError) Error() string {
	if e.msg != "" {
		return e.errno.Error() + " (kernel: " + e.msg + ")"
	}
	return e.errno.Error()
}

func (e *nlError) Unwrap() error { return e.errno }

// request sends one message and collects the answer: for a dump
// (unix.NLM_F_DUMP in flags) every message up to NLMSG_DONE, otherwise
// nothing but the acknowledgement.
func (c *nlConn) request(typ, flags uint16, body []byte) ([]nlMsg, error) {
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
	var out []nlMsg
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
				e := &nlError{errno: unix.Errno(-code)}
				if mflags&nlAckTLVs != 0 && len(data) >= nlmsgErrLen {
					for _, a := range parseAttrs(data[nlmsgErrLen:]) {
						if a.typ == unix.NLMSGERR_ATTR_MSG {
							e.msg = unix.ByteSliceToString(a.data)
						}
					}
				}
				return nil, e
			default:
				out = append(out, nlMsg{typ: mtyp, data: append([]byte(nil), data...)})
			}
		}
	}
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// attrs builds a sequence of netlink attributes.
type attrs struct{ b []byte }

func (a *attrs) add(typ uint16, data []byte) {
	hdr := make([]byte, nlAttrHdrLen)
	binary.NativeEndian.PutUint16(hdr[0:], uint16(nlAttrHdrLen+len(data)))
	binary.NativeEndian.PutUint16(hdr[2:], typ)
	a.b = append(a.b, hdr...)
	a.b = append(a.b, data...)
	for len(a.b)%unix.NLA_ALIGNTO != 0 {
		a.b = append(a.b, 0)
	}
}

func (a *attrs) u32(typ uint16, v uint32) {
	a.add(typ, binary.NativeEndian.AppendUint32(nil, v))
}

func (a *attrs) str(typ uint16, s string) { a.add(typ, append([]byte(s), 0)) }

func (a *attrs) nested(typ uint16, f func(*attrs)) {
	var in attrs
	f(&in)
	a.add(typ|unix.NLA_F_NESTED, in.b)
}

type attr struct {
	typ  uint16
	data []byte
}

// parseAttrs splits b into attributes, ignoring a malformed tail. The
// nested and byte-order flag bits are cleared from the types.
func parseAttrs(b []byte) []attr {
	var out []attr
	for len(b) >= nlAttrHdrLen {
		l := int(binary.NativeEndian.Uint16(b[0:]))
		typ := binary.NativeEndian.Uint16(b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if l < nlAttrHdrLen || l > len(b) {
			break
		}
		out = append(out, attr{typ: typ, data: b[nlAttrHdrLen:l]})
		b = b[min((l+unix.NLA_ALIGNTO-1)&^(unix.NLA_ALIGNTO-1), len(b)):]
	}
	return out
}

func findAttr(as []attr, typ uint16) []byte {
	for _, a := range as {
		if a.typ == typ {
			return a.data
		}
	}
	return nil
}
