//go:build linux

package socket

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/socket/classic"
	"github.com/purebpf/purebpf/sys"
)

// rawConn returns the syscall.RawConn of sock: a syscall.RawConn itself or
// anything with a SyscallConn method.
func rawConn(sock any) (syscall.RawConn, error) {
	switch s := sock.(type) {
	case nil:
		return nil, fmt.Errorf("%w: nil", ErrNoSocket)
	case syscall.RawConn:
		return s, nil
	case syscall.Conn:
		rc, err := s.SyscallConn()
		if err != nil {
			return nil, err
		}
		return rc, nil
	}
	return nil, fmt.Errorf("%w: %T has no SyscallConn method", ErrNoSocket, sock)
}

// control runs f on the descriptor of sock.
func control(sock any, f func(fd int) error) error {
	if c, ok := sock.(*Conn); ok {
		if c == nil {
			return fmt.Errorf("%w: nil *socket.Conn: %w", ErrNoSocket, os.ErrInvalid)
		}
		return c.control(f)
	}
	rc, err := rawConn(sock)
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// Attach attaches the eBPF socket filter p to sock (SO_ATTACH_BPF, Linux
// 3.19), replacing any filter it had. sock is a *Conn, a syscall.Conn or a
// syscall.RawConn. The socket keeps its own reference to the program, so p
// may be closed afterwards. A program of another type than
// prog.SocketFilter gives an error wrapping ErrNotSocketFilter that names
// the type.
func Attach(sock any, p Program) error {
	progFD, err := sys.ObjectFD(p, "program")
	if err != nil {
		return fmt.Errorf("socket: attach program: %w", err)
	}
	err = control(sock, func(fd int) error {
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, progFD)
	})
	runtime.KeepAlive(p) // progFD is borrowed from p
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EINVAL) {
		if typ, ok := programType(p); ok && typ != prog.SocketFilter {
			return fmt.Errorf("socket: attach program: %w: its type is %s, want %s (%w)", ErrNotSocketFilter, typ, prog.SocketFilter, err)
		}
	}
	return attachError("attach program", err)
}

// programType finds the type of p: from its Type method if it has one
// (as *prog.Program does), else from the kernel's program info.
func programType(p Program) (prog.Type, bool) {
	if t, ok := p.(interface{ Type() prog.Type }); ok {
		return t.Type(), true
	}
	dup, err := unix.FcntlInt(uintptr(p.FD()), unix.F_DUPFD_CLOEXEC, 1)
	if err != nil {
		return 0, false
	}
	fd, err := sys.NewFD(dup)
	if err != nil {
		return 0, false
	}
	defer fd.Close()
	var info sys.ProgInfo
	if err := sys.ProgGetInfoByFD(fd, &info); err != nil {
		return 0, false
	}
	return prog.Type(info.Type), true
}

func attachError(op string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("socket: %s: %w (%w)", op, ErrLocked, err)
	case errors.Is(err, unix.ENOENT) && op == "detach":
		return fmt.Errorf("socket: %s: %w (%w)", op, ErrNoFilter, err)
	}
	return fmt.Errorf("socket: %s: %w", op, err)
}

// AttachClassic assembles the classic program filter and attaches it to
// sock (SO_ATTACH_FILTER), replacing any filter it had. The program is
// checked first as the kernel would (classic.Check), so that errors name
// the offending instruction and wrap classic.ErrInvalid.
func AttachClassic(sock any, filter []bpf.Instruction) error {
	raw, err := bpf.Assemble(filter)
	if err != nil {
		// Let classic name the instruction that does not assemble.
		if _, terr := classic.Translate(filter); terr != nil {
			return fmt.Errorf("socket: attach classic filter: %w", terr)
		}
		return fmt.Errorf("socket: attach classic filter: %w", err)
	}
	return AttachClassicRaw(sock, raw)
}

// AttachClassicRaw is AttachClassic for raw instructions, such as the
// output of "tcpdump -dd".
func AttachClassicRaw(sock any, filter []bpf.RawInstruction) error {
	// Ancillary loads the translator does not support are fine here: the
	// kernel runs them itself.
	if err := classic.Check(filter); err != nil && !errors.Is(err, classic.ErrUnsupported) {
		return fmt.Errorf("socket: attach classic filter: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(filter))}
	sf := make([]unix.SockFilter, len(filter))
	for k, r := range filter {
		sf[k] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog.Filter = &sf[0]
	err := control(sock, func(fd int) error {
		return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog)
	})
	if err != nil {
		return attachError("attach classic filter", err)
	}
	return nil
}

// Detach removes the filter, eBPF or classic, attached to sock
// (SO_DETACH_BPF, the same option as SO_DETACH_FILTER). Without a filter
// the error wraps ErrNoFilter; with a locked one, ErrLocked.
func Detach(sock any) error {
	err := control(sock, func(fd int) error {
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DETACH_BPF, 0)
	})
	if err != nil {
		return attachError("detach", err)
	}
	return nil
}

// LockFilter locks the filter of sock (SO_LOCK_FILTER, Linux 3.9): from
// then on, attaching or detaching a filter fails with an error wrapping
// ErrLocked, until the socket is closed. The lock cannot be undone.
func LockFilter(sock any) error {
	err := control(sock, func(fd int) error {
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_LOCK_FILTER, 1)
	})
	if err != nil {
		return fmt.Errorf("socket: lock filter: %w", err)
	}
	return nil
}
