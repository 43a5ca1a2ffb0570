//go:build linux

package socket

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/bpf"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/socket/classic"
)

// Filters from "tcpdump -y EN10MB -dd EXPR" (tcpdump 4.99) with the ports
// 11111 (0x2b67) and 22222 (0x56ce) as placeholders, replaced by each
// test's own ports.
const (
	placeholderUDP = 0x2b67
	placeholderTCP = 0x56ce
)

var kernelFilters = []struct {
	expr string
	raw  []bpf.RawInstruction
}{
	{"tcp port 22222", []bpf.RawInstruction{
		{Op: 0x28, K: 0xc}, {Op: 0x15, Jf: 6, K: 0x86dd}, {Op: 0x30, K: 0x14}, {Op: 0x15, Jf: 15, K: 0x6},
		{Op: 0x28, K: 0x36}, {Op: 0x15, Jt: 12, K: 0x56ce}, {Op: 0x28, K: 0x38}, {Op: 0x15, Jt: 10, Jf: 11, K: 0x56ce},
		{Op: 0x15, Jf: 10, K: 0x800}, {Op: 0x30, K: 0x17}, {Op: 0x15, Jf: 8, K: 0x6}, {Op: 0x28, K: 0x14},
		{Op: 0x45, Jt: 6, K: 0x1fff}, {Op: 0xb1, K: 0xe}, {Op: 0x48, K: 0xe}, {Op: 0x15, Jt: 2, K: 0x56ce},
		{Op: 0x48, K: 0x10}, {Op: 0x15, Jf: 1, K: 0x56ce}, {Op: 0x6, K: 0x40000}, {Op: 0x6, K: 0},
	}},
	{"udp port 11111 or tcp port 22222", []bpf.RawInstruction{
		{Op: 0x28, K: 0xc}, {Op: 0x15, Jf: 11, K: 0x86dd}, {Op: 0x30, K: 0x14}, {Op: 0x15, Jf: 4, K: 0x11},
		{Op: 0x28, K: 0x36}, {Op: 0x15, Jt: 25, K: 0x2b67}, {Op: 0x28, K: 0x38}, {Op: 0x15, Jt: 23, Jf: 24, K: 0x2b67},
		{Op: 0x15, Jf: 23, K: 0x6}, {Op: 0x28, K: 0x36}, {Op: 0x15, Jt: 20, K: 0x56ce}, {Op: 0x28, K: 0x38},
		{Op: 0x15, Jt: 18, Jf: 19, K: 0x56ce}, {Op: 0x15, Jf: 18, K: 0x800}, {Op: 0x30, K: 0x17}, {Op: 0x15, Jf: 7, K: 0x11},
		{Op: 0x28, K: 0x14}, {Op: 0x45, Jt: 14, K: 0x1fff}, {Op: 0xb1, K: 0xe}, {Op: 0x48, K: 0xe},
		{Op: 0x15, Jt: 10, K: 0x2b67}, {Op: 0x48, K: 0x10}, {Op: 0x15, Jt: 8, Jf: 9, K: 0x2b67}, {Op: 0x15, Jf: 8, K: 0x6},
		{Op: 0x28, K: 0x14}, {Op: 0x45, Jt: 6, K: 0x1fff}, {Op: 0xb1, K: 0xe}, {Op: 0x48, K: 0xe},
		{Op: 0x15, Jt: 2, K: 0x56ce}, {Op: 0x48, K: 0x10}, {Op: 0x15, Jf: 1, K: 0x56ce}, {Op: 0x6, K: 0x40000},
		{Op: 0x6, K: 0},
	}},
	{"udp dst port 11111 and len > 60", []bpf.RawInstruction{
		{Op: 0x28, K: 0xc}, {Op: 0x15, Jf: 4, K: 0x86dd}, {Op: 0x30, K: 0x14}, {Op: 0x15, Jf: 13, K: 0x11},
		{Op: 0x28, K: 0x38}, {Op: 0x15, Jt: 8, Jf: 11, K: 0x2b67}, {Op: 0x15, Jf: 10, K: 0x800}, {Op: 0x30, K: 0x17},
		{Op: 0x15, Jf: 8, K: 0x11}, {Op: 0x28, K: 0x14}, {Op: 0x45, Jt: 6, K: 0x1fff}, {Op: 0xb1, K: 0xe},
		{Op: 0x48, K: 0x10}, {Op: 0x15, Jf: 3, K: 0x2b67}, {Op: 0x80, K: 0}, {Op: 0x25, Jf: 1, K: 0x3c},
		{Op: 0x6, K: 0x40000}, {Op: 0x6, K: 0},
	}},
	{"udp port 11111 and ip[2:2] - ((ip[0]&0xf)<<2) - 8 > 5", []bpf.RawInstruction{
		{Op: 0x28, K: 0xc}, {Op: 0x15, Jt: 21, K: 0x86dd}, {Op: 0x15, Jf: 20, K: 0x800}, {Op: 0x30, K: 0x17},
		{Op: 0x15, Jf: 18, K: 0x11}, {Op: 0x28, K: 0x14}, {Op: 0x45, Jt: 16, K: 0x1fff}, {Op: 0xb1, K: 0xe},
		{Op: 0x48, K: 0xe}, {Op: 0x15, Jt: 2, K: 0x2b67}, {Op: 0x48, K: 0x10}, {Op: 0x15, Jf: 11, K: 0x2b67},
		{Op: 0x28, K: 0x10}, {Op: 0x2, K: 0x1}, {Op: 0x30, K: 0xe}, {Op: 0x54, K: 0xf},
		{Op: 0x64, K: 0x2}, {Op: 0x7, K: 0x5}, {Op: 0x60, K: 0x1}, {Op: 0x1c, K: 0},
		{Op: 0x14, K: 0x8}, {Op: 0x25, Jf: 1, K: 0x5}, {Op: 0x6, K: 0x40000}, {Op: 0x6, K: 0},
	}},
	// Hand-written: the same test through the kernel's negative offsets,
	// SKF_LL_OFF (link-layer header) and SKF_NET_OFF (network header).
	{"ll[12:2] = 0x800 and net[9] = 17 and net[22:2] = 11111", []bpf.RawInstruction{
		{Op: 0x28, K: 0xffe00000 + 12}, {Op: 0x15, Jf: 5, K: 0x800},
		{Op: 0x30, K: 0xfff00000 + 9}, {Op: 0x15, Jf: 3, K: 17},
		{Op: 0x28, K: 0xfff00000 + 22}, {Op: 0x15, Jf: 1, K: 0x2b67},
		{Op: 0x6, K: 0x40000}, {Op: 0x6, K: 0},
	}},
}

// withPorts replaces the placeholder ports, and optionally the accept
// length, in a copy of raw.
func withPorts(raw []bpf.RawInstruction, udp, tcp uint16, snap uint32) []bpf.RawInstruction {
	out := append([]bpf.RawInstruction(nil), raw...)
	for k := range out {
		switch {
		case out[k].K == placeholderUDP && out[k].Op != 0x06:
			out[k].K = uint32(udp)
		case out[k].K == placeholderTCP && out[k].Op != 0x06:
			out[k].K = uint32(tcp)
		case out[k].Op == 0x06 && out[k].K != 0 && snap != 0:
			out[k].K = snap
		}
	}
	return out
}

// tcpExchange opens a TCP connection to a fresh listener, sends data both
// ways and closes it; it returns the listener's port via listen.
func tcpExchange(t *testing.T, ln *net.TCPListener) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil {
			done <- err
			return
		}
		_, err = c.Write([]byte("world"))
		done <- err
	}()
	c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestClassicAndTranslationAgreeInKernel attaches each classic filter to
// one AF_PACKET socket and its eBPF translation to another, sends the same
// traffic over lo and checks that both sockets capture the same frames,
// cut to the same lengths.
func TestClassicAndTranslationAgreeInKernel(t *testing.T) {
	testenv.RequireRoot(t)
	for _, f := range kernelFilters {
		for _, snap := range []uint32{0, 50} {
			name := f.expr + "/whole"
			if snap != 0 {
				name = f.expr + "/snap50"
			}
			t.Run(name, func(t *testing.T) {
				udpPort := port(udpListener(t))
				otherUDP := port(udpListener(t))
				ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				tcpPort := uint16(ln.Addr().(*net.TCPAddr).Port)

				raw := withPorts(f.raw, udpPort, tcpPort, snap)
				spec, err := classic.SpecRaw("xlated", raw)
				if err != nil {
					t.Fatal(err)
				}
				cls := open(t, &Options{Classic: raw})
				ebpf := open(t, &Options{Program: loadProgram(t, spec)})

				sendUDP(t, udpPort, "a", strings.Repeat("b", 40), strings.Repeat("c", 200))
				sendUDP(t, otherUDP, "not this one", strings.Repeat("d", 100))
				tcpExchange(t, ln)
				// Replies from udpPort, for the "udp port" (src or dst) filters.
				from := udpListener(t)
				if _, err := from.WriteToUDP([]byte("reply"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(udpPort)}); err != nil {
					t.Fatal(err)
				}

				a := collect(t, cls, 200*time.Millisecond, 1000)
				b := collect(t, ebpf, 50*time.Millisecond, 1000)
				if len(a) == 0 {
					t.Fatal("the classic filter captured nothing: the traffic does not exercise it")
				}
				if len(a) != len(b) {
					t.Fatalf("classic captured %d frames, translation %d", len(a), len(b))
				}
				// The kernel hands each frame to the taps one after the
				// other; frames sent on two CPUs at once (the TCP client
				// and server) can reach the two sockets in different
				// orders. The captures must be equal as multisets.
				sortCaptured(a)
				sortCaptured(b)
				for k := range a {
					if a[k].info != b[k].info || !bytes.Equal(a[k].frame, b[k].frame) {
						t.Errorf("frame %d differs:\nclassic %+v % x\neBPF    %+v % x", k, a[k].info, a[k].frame, b[k].info, b[k].frame)
					}
					if snap != 0 && a[k].info.N > int(snap) {
						t.Errorf("frame %d: %d bytes, snap length %d", k, a[k].info.N, snap)
					}
				}
				t.Logf("%d frames agree", len(a))
			})
		}
	}
}

// sortCaptured orders captured frames by their bytes, then by their
// metadata, so that two captures of the same traffic compare equal
// whatever order the kernel delivered them in.
func sortCaptured(cs []captured) {
	slices.SortStableFunc(cs, func(x, y captured) int {
		if c := bytes.Compare(x.frame, y.frame); c != 0 {
			return c
		}
		return strings.Compare(fmt.Sprintf("%+v", x.info), fmt.Sprintf("%+v", y.info))
	})
}
