package socket

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/net/bpf"

	"github.com/purebpf/purebpf/sys"
)

// Sentinel errors.
var (
	// ErrNotSocketFilter is wrapped when a program of another type than
	// prog.SocketFilter is attached. It wraps sys.ErrProgramType, the
	// sentinel of link's and perf's wrong-type refusals.
	ErrNotSocketFilter = fmt.Errorf("%w: program is not a socket filter", sys.ErrProgramType)
	// ErrNoSocket is wrapped when the value given as a socket has no file
	// descriptor to reach.
	ErrNoSocket = errors.New("not a socket")
	// ErrLocked is wrapped when the socket's filter was locked with
	// LockFilter and so cannot be replaced or removed (the kernel's EPERM).
	ErrLocked = errors.New("socket filter is locked")
	// ErrNoFilter is wrapped by Detach when no filter is attached (the
	// kernel's ENOENT).
	ErrNoFilter = errors.New("no socket filter attached")
)

// Program is a loaded eBPF program, such as a *prog.Program. Package socket
// needs only its file descriptor. It is sys.FDer, the same interface as
// perf.FDer.
type Program = sys.FDer

// ErrNoInterface is wrapped by Open when the interface does not exist.
var ErrNoInterface = errors.New("no such network interface")

// PacketType is the kernel's classification of a captured packet
// (sll_pkttype, the PACKET_* constants of linux/if_packet.h).
type PacketType uint8

// Packet types.
const (
	Host      PacketType = 0 // PACKET_HOST: addressed to this host
	Broadcast PacketType = 1 // link-layer broadcast
	Multicast PacketType = 2 // link-layer multicast
	OtherHost PacketType = 3 // to another host, seen in promiscuous mode
	Outgoing  PacketType = 4 // sent by this host
	Loopback  PacketType = 5 // looped-back multicast
	User      PacketType = 6 // to user space
	Kernel    PacketType = 7 // to the kernel
)

var packetTypeNames = [...]string{"host", "broadcast", "multicast", "otherhost", "outgoing", "loopback", "user", "kernel"}

// String returns the type's name, such as "outgoing".
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return "pkttype#" + strconv.Itoa(int(t))
}

// Direction selects which packets Read returns.
type Direction uint8

// Directions.
const (
	// DirectionBoth returns every packet: on loopback, each one twice.
	DirectionBoth Direction = iota
	// DirectionIn drops packets this host sends (PacketType Outgoing).
	DirectionIn
	// DirectionOut returns only packets this host sends.
	DirectionOut
)

// Options configures Open. A nil *Options means the defaults.
type Options struct {
	// Protocol is the Ethernet protocol to capture, such as 0x0800 for
	// IPv4, in host byte order. 0 means every protocol (ETH_P_ALL).
	Protocol uint16
	// Promiscuous puts the interface in promiscuous mode for as long as
	// the socket is open (PACKET_ADD_MEMBERSHIP with PACKET_MR_PROMISC).
	Promiscuous bool
	// Direction keeps only incoming or only outgoing packets.
	Direction Direction
	// Program, if set, is an eBPF socket filter attached before the
	// socket is bound to the interface, so no packet escapes it.
	Program Program
	// Classic, if set (and Program is not), is a classic filter attached
	// before the socket is bound.
	Classic []bpf.RawInstruction
}

// Info is the metadata of a captured packet.
type Info struct {
	// N is the number of bytes copied into the buffer given to Read.
	N int
	// Len is the packet's length on the wire as the socket saw it; it is
	// larger than N when the buffer was too small or a filter kept only
	// part of the packet.
	Len int
	// Ifindex is the index of the interface the packet was seen on.
	Ifindex int
	// Type says whether the packet was sent, received, broadcast, ...
	Type PacketType
	// Protocol is the Ethernet protocol (sll_protocol) in host byte order,
	// such as 0x0800 for IPv4.
	Protocol uint16
	// Hatype is the ARPHRD_* link-layer type, such as 772 for loopback.
	Hatype uint16
}
