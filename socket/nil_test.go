//go:build linux

package socket

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/perf"
	"github.com/purebpf/purebpf/prog"
)

// socket.Program and perf.FDer are one interface: a value of either is
// the other.
var _ perf.FDer = Program(nil)
var _ Program = perf.FDer(nil)

// A nil or closed program, and a nil *Conn, give errors naming the
// cause instead of panicking.
func TestNilHandles(t *testing.T) {
	var nilProg *prog.Program
	c := udpListener(t)
	err := Attach(c, nilProg)
	if !errors.Is(err, os.ErrInvalid) || !strings.Contains(err.Error(), "nil program *prog.Program") {
		t.Errorf("Attach(nil *prog.Program): %v", err)
	}
	if err := Attach(c, nil); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("Attach(nil): %v", err)
	}
	var nc *Conn
	if err := nc.Close(); err != nil {
		t.Errorf("nil Conn.Close: %v", err)
	}
	if _, err := nc.Read(make([]byte, 64)); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("nil Conn.Read: %v", err)
	}
	if err := nc.Detach(); !errors.Is(err, os.ErrInvalid) || !errors.Is(err, ErrNoSocket) {
		t.Errorf("nil Conn.Detach: %v", err)
	}
	if err := nc.SetReadDeadline(time.Now()); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("nil Conn.SetReadDeadline: %v", err)
	}
	if _, _, err := nc.Stats(); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("nil Conn.Stats: %v", err)
	}
	if _, err := nc.SyscallConn(); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("nil Conn.SyscallConn: %v", err)
	}
	if nc.Name() != "" || nc.Ifindex() != 0 {
		t.Error("nil Conn accessors")
	}

	testenv.RequireRoot(t)
	if _, err := Open("lo", &Options{Program: nilProg}); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("Open with a nil *prog.Program: %v", err)
	}
	p := loadProgram(t, ebpfUDPDstPort(9))
	p.Close()
	if err := Attach(c, p); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Attach of a closed program: %v", err)
	}
}

// The frames a socket filter passed on a real AF_PACKET socket get the
// same verdict from prog.Program.RunSocketFilter, which shows the program
// the Ethernet header as the socket does; Program.Run, which starts at the
// network header, does not.
func TestRunSocketFilterMatchesSocket(t *testing.T) {
	testenv.RequireRoot(t)
	want, other := port(udpListener(t)), port(udpListener(t))
	p := loadProgram(t, ebpfUDPDstPort(want))
	c := open(t, &Options{Direction: DirectionIn})
	drain(t, c) // no filter yet: capture everything
	sendUDP(t, want, "pass")
	sendUDP(t, other, "drop")
	var frames [][]byte
	for _, g := range collect(t, c, 150*time.Millisecond, 1000) {
		if dport, _, ok := udpDst(g.frame); ok && (dport == want || dport == other) {
			frames = append(frames, g.frame)
		}
	}
	if len(frames) != 2 {
		t.Fatalf("captured %d of the 2 datagrams", len(frames))
	}
	for _, f := range frames {
		dport, _, _ := udpDst(f)
		verdict, err := p.RunSocketFilter(f)
		if err != nil {
			t.Fatal(err)
		}
		if wantV := map[bool]uint32{true: 0xffff, false: 0}[dport == want]; verdict != wantV {
			t.Errorf("RunSocketFilter on the frame to port %d = %#x, want %#x", dport, verdict, wantV)
		}
		res, err := p.Run(&prog.RunOptions{Data: f})
		if err != nil {
			t.Fatal(err)
		}
		if res.Retval != 0 {
			t.Errorf("Run on the frame to port %d = %#x: it should read the IP header at offset 0 and drop", dport, res.Retval)
		}
	}
	// The filter on the socket agrees.
	if err := c.Attach(p); err != nil {
		t.Fatal(err)
	}
	drain(t, c)
	sendUDP(t, want, "pass")
	sendUDP(t, other, "drop")
	got := collect(t, c, 150*time.Millisecond, 100)
	if len(got) != 1 {
		t.Fatalf("socket passed %d frames, want 1", len(got))
	}
}

// Without CAP_NET_RAW, Open says which capability it lacks. Run as root,
// the test runs itself again as user nobody.
func TestOpenUnprivileged(t *testing.T) {
	if testenv.Unprivileged() {
		_, err := Open("lo", nil)
		if err == nil {
			t.Fatal("Open succeeded without privileges")
		}
		t.Log(err)
		if !errors.Is(err, syscall.EPERM) || !strings.Contains(err.Error(), "needs CAP_NET_RAW") {
			t.Fatalf("Open without privileges: %v", err)
		}
		return
	}
	testenv.RunUnprivileged(t)
}

// The packet types, written as numbers so that they exist on every
// system, are linux/if_packet.h's.
func TestPacketTypeValues(t *testing.T) {
	for got, want := range map[PacketType]int{
		Host: unix.PACKET_HOST, Broadcast: unix.PACKET_BROADCAST, Multicast: unix.PACKET_MULTICAST,
		OtherHost: unix.PACKET_OTHERHOST, Outgoing: unix.PACKET_OUTGOING, Loopback: unix.PACKET_LOOPBACK,
		User: unix.PACKET_USER, Kernel: unix.PACKET_KERNEL,
	} {
		if int(got) != want {
			t.Errorf("%s = %d, want %d", got, got, want)
		}
	}
}

// An unknown Direction is refused rather than read as DirectionBoth.
func TestOpenUnknownDirection(t *testing.T) {
	c, err := Open("lo", &Options{Direction: 9})
	if err == nil {
		c.Close()
	}
	if !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "unknown Direction 9") {
		t.Errorf("Open with Direction 9: %v", err)
	}
}

// Every method of a nil *Conn: no panic, Close is a no-op, errors name
// the nil handle.
func TestNilConnMethods(t *testing.T) {
	// The classic attaches check their (here empty) filter first.
	testenv.NilMethods(t, (*Conn)(nil), "nil", "AttachClassic", "AttachClassicRaw")
	var c *Conn
	err := c.AttachClassicRaw([]bpf.RawInstruction{{Op: 0x06}})
	if err == nil || !strings.Contains(err.Error(), "nil *socket.Conn") {
		t.Errorf("nil Conn.AttachClassicRaw with a valid filter: %v", err)
	}
}
