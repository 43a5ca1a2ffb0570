// Package socket captures packets with a raw AF_PACKET socket and attaches
// socket filters, eBPF (SO_ATTACH_BPF) or classic (SO_ATTACH_FILTER), to it
// or to any socket the caller already has, such as a UDP net.Conn.
//
// # Capture
//
// Open binds a SOCK_RAW AF_PACKET socket to one interface, by name, for
// every protocol (ETH_P_ALL) or one. Conn.Read copies one frame, link-layer
// header included, into the caller's buffer and reports its metadata
// (interface index, packet type, protocol and original length) without
// allocating. The descriptor is non-blocking and registered with Go's
// network poller, so SetReadDeadline works and Close unblocks a blocked
// Read.
//
// On the loopback interface ("lo") every packet is seen twice: once as it
// is sent (PacketType Outgoing) and once as it is received (Host).
// Options.Direction keeps one of the two; DirectionIn also asks the kernel
// not to queue outgoing packets at all (PACKET_IGNORE_OUTGOING, Linux
// 4.20).
//
// A filter attached after Open cannot recall frames already queued. To
// filter from the first frame on, pass it in Options: Open attaches it
// before it binds the socket to the interface.
//
// # Filters
//
// Attach, AttachClassic, Detach and LockFilter work on a *Conn or on any
// socket given as a syscall.Conn (*net.UDPConn, *net.TCPConn, *net.IPConn,
// *os.File, ...) or a syscall.RawConn. An eBPF program is a Program
// (sys.FDer, the interface perf also takes): anything with an FD method,
// such as a *prog.Program of type prog.SocketFilter; a program of another
// type is refused with an error naming its type, a nil one with an error
// wrapping os.ErrInvalid and a closed one with os.ErrClosed.
//
// The filter sees each frame from its link-layer (Ethernet) header on, as
// interp and jit do. prog.Program.Run does not (BPF_PROG_TEST_RUN starts
// a socket filter's packet at the network header); use
// prog.Program.RunSocketFilter to test a filter in the kernel on the
// frames a socket sees. A classic
// program is checked first (package socket/classic) so that errors name the
// offending instruction. A socket filter returns how many bytes of each
// packet to keep; 0 drops it.
//
// The package builds on every GOOS; off Linux Open and the attach
// functions return errors wrapping sys.ErrNotSupported.
//
// Package socket may import sys, prog, socket/classic, the standard
// library, golang.org/x/sys/unix and golang.org/x/net/bpf.
package socket
