//go:build linux

package socket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// Frames on lo carry a 14-byte Ethernet header of zero addresses; with
// our IPv4 traffic (no options) the transport header is at 34.
const (
	ethLen    = 14
	ipv4Len   = 20
	udpHdrLen = 8
)

// udpListener returns a UDP socket on 127.0.0.1 with a port of its own, so
// that parallel tests never see each other's traffic.
func udpListener(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func port(c net.Conn) uint16 { return uint16(c.LocalAddr().(*net.UDPAddr).Port) }

// sendUDP sends each payload from a fresh socket to 127.0.0.1:dst.
func sendUDP(t testing.TB, dst uint16, payloads ...string) {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(dst)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range payloads {
		if _, err := c.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
}

// udpDstPort is the classic filter tcpdump compiles for
// "ip and udp dst port P": IPv4, UDP, not a later fragment, destination
// port P (found through the IP header length).
func udpDstPort(p uint16) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0x0800, SkipTrue: 8},
		bpf.LoadAbsolute{Off: 23, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 17, SkipTrue: 6},
		bpf.LoadAbsolute{Off: 20, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: 4},
		bpf.LoadMemShift{Off: 14},
		bpf.LoadIndirect{Off: 16, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(p), SkipTrue: 1},
		bpf.RetConstant{Val: 0x40000},
		bpf.RetConstant{Val: 0},
	}
}

func assemble(t testing.TB, f []bpf.Instruction) []bpf.RawInstruction {
	t.Helper()
	raw, err := bpf.Assemble(f)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// ebpfUDPDstPort is an eBPF socket filter written with insn that keeps
// IPv4 UDP packets to port p (IP header without options) and drops the
// rest.
func ebpfUDPDstPort(p uint16) *prog.Spec {
	return &prog.Spec{
		Name: "udp_dport", Type: prog.SocketFilter, License: "GPL",
		Instructions: insn.Instructions{
			insn.Mov.Reg(insn.R6, insn.R1),
			insn.LoadAbs(12, insn.H),
			insn.JNE.Imm(insn.R0, 0x0800, "drop"),
			insn.LoadAbs(23, insn.B),
			insn.JNE.Imm(insn.R0, 17, "drop"),
			insn.LoadAbs(ethLen+ipv4Len+2, insn.H),
			insn.JNE.Imm(insn.R0, int32(p), "drop"),
			insn.Mov.Imm(insn.R0, 0xffff),
			insn.Exit(),
			insn.Mov.Imm(insn.R0, 0).WithLabel("drop"),
			insn.Exit(),
		},
	}
}

func loadProgram(t testing.TB, spec *prog.Spec) *prog.Program {
	t.Helper()
	p, err := prog.NewProgram(spec, nil)
	if err != nil {
		t.Fatalf("load %s: %v", spec.Name, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func open(t testing.TB, opts *Options) *Conn {
	t.Helper()
	c, err := Open("lo", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// captured is one packet Read returned.
type captured struct {
	info  Info
	frame []byte
}

// collect reads packets until none arrives for quiet, or until max are
// read.
func collect(t testing.TB, c *Conn, quiet time.Duration, max int) []captured {
	t.Helper()
	var out []captured
	buf := make([]byte, 65536)
	for len(out) < max {
		if err := c.SetReadDeadline(time.Now().Add(quiet)); err != nil {
			t.Fatal(err)
		}
		info, err := c.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, captured{info, bytes.Clone(buf[:info.N])})
	}
	return out
}

// drain discards whatever was queued before a filter was attached.
func drain(t testing.TB, c *Conn) {
	t.Helper()
	collect(t, c, 30*time.Millisecond, 1<<20)
}

// udpDst returns the UDP destination port and payload of an IPv4 frame
// seen on lo, or ok=false.
func udpDst(frame []byte) (dport uint16, payload []byte, ok bool) {
	if len(frame) < ethLen+ipv4Len+udpHdrLen || binary.BigEndian.Uint16(frame[12:]) != 0x0800 || frame[ethLen+9] != 17 {
		return 0, nil, false
	}
	ihl := int(frame[ethLen]&0xf) * 4
	u := frame[ethLen+ihl:]
	return binary.BigEndian.Uint16(u[2:]), u[udpHdrLen:], true
}

// rawUDPSender is a connected UDP socket driven with raw syscalls, which
// allocate nothing.
func rawUDPSender(t testing.TB, dst uint16) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(dst), Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	return fd
}
