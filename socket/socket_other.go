//go:build !linux

package socket

import (
	"fmt"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/net/bpf"

	"github.com/purebpf/purebpf/sys"
)

// errOS is the error of every function that needs Linux's AF_PACKET
// sockets and socket filters.
func errOS(what string) error {
	return fmt.Errorf("socket: %s needs Linux, not %s: %w", what, runtime.GOOS, sys.ErrNotSupported)
}

// Conn is a raw AF_PACKET socket. On this system none can be opened.
type Conn struct{}

// Open returns an error wrapping sys.ErrNotSupported on this system.
func Open(ifname string, opts *Options) (*Conn, error) { return nil, errOS("AF_PACKET") }

// Name returns "".
func (c *Conn) Name() string { return "" }

// Ifindex returns 0.
func (c *Conn) Ifindex() int { return 0 }

// SyscallConn returns an error wrapping sys.ErrNotSupported.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return nil, errOS("AF_PACKET") }

// Read returns an error wrapping sys.ErrNotSupported.
func (c *Conn) Read(buf []byte) (Info, error) { return Info{}, errOS("AF_PACKET") }

// SetReadDeadline returns an error wrapping sys.ErrNotSupported.
func (c *Conn) SetReadDeadline(t time.Time) error { return errOS("AF_PACKET") }

// Attach returns an error wrapping sys.ErrNotSupported.
func (c *Conn) Attach(p Program) error { return errOS("SO_ATTACH_BPF") }

// AttachClassic returns an error wrapping sys.ErrNotSupported.
func (c *Conn) AttachClassic(filter []bpf.Instruction) error { return errOS("SO_ATTACH_FILTER") }

// AttachClassicRaw returns an error wrapping sys.ErrNotSupported.
func (c *Conn) AttachClassicRaw(filter []bpf.RawInstruction) error {
	return errOS("SO_ATTACH_FILTER")
}

// Detach returns an error wrapping sys.ErrNotSupported.
func (c *Conn) Detach() error { return errOS("SO_DETACH_BPF") }

// LockFilter returns an error wrapping sys.ErrNotSupported.
func (c *Conn) LockFilter() error { return errOS("SO_LOCK_FILTER") }

// Stats returns an error wrapping sys.ErrNotSupported.
func (c *Conn) Stats() (received, dropped uint32, err error) { return 0, 0, errOS("AF_PACKET") }

// Close does nothing.
func (c *Conn) Close() error { return nil }

// Attach returns an error wrapping sys.ErrNotSupported on this system.
func Attach(sock any, p Program) error { return errOS("SO_ATTACH_BPF") }

// AttachClassic returns an error wrapping sys.ErrNotSupported on this
// system.
func AttachClassic(sock any, filter []bpf.Instruction) error { return errOS("SO_ATTACH_FILTER") }

// AttachClassicRaw returns an error wrapping sys.ErrNotSupported on this
// system.
func AttachClassicRaw(sock any, filter []bpf.RawInstruction) error {
	return errOS("SO_ATTACH_FILTER")
}

// Detach returns an error wrapping sys.ErrNotSupported on this system.
func Detach(sock any) error { return errOS("SO_DETACH_BPF") }

// LockFilter returns an error wrapping sys.ErrNotSupported on this system.
func LockFilter(sock any) error { return errOS("SO_LOCK_FILTER") }
