//go:build linux

package socket

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/socket/classic"
	"github.com/purebpf/purebpf/sys"
)

func TestOpenUnknownInterface(t *testing.T) {
	_, err := Open("nosuch-if0", nil)
	if !errors.Is(err, ErrNoInterface) || !strings.Contains(err.Error(), "nosuch-if0") {
		t.Fatalf("got %v, want ErrNoInterface naming the interface", err)
	}
}

func TestPacketTypeString(t *testing.T) {
	if Outgoing.String() != "outgoing" || Host.String() != "host" || PacketType(9).String() != "pkttype#9" {
		t.Fatal(Outgoing.String(), Host.String(), PacketType(9).String())
	}
}

// TestCaptureDirections sends datagrams over lo and checks that each is
// seen twice with DirectionBoth (sent, then received), once with
// DirectionIn and once with DirectionOut, with the right metadata.
func TestCaptureDirections(t *testing.T) {
	testenv.RequireRoot(t)
	dst := port(udpListener(t))
	filter := assemble(t, udpDstPort(dst))
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	both := open(t, &Options{Classic: filter})
	in := open(t, &Options{Classic: filter, Direction: DirectionIn})
	out := open(t, &Options{Classic: filter, Direction: DirectionOut})
	payloads := []string{"one", "two!", "three"}
	sendUDP(t, dst, payloads...)

	// check wants each payload once per packet type in types, in sending
	// order within each type (the interleaving of the sent and received
	// copies is up to the kernel's softirq timing).
	check := func(name string, got []captured, types ...PacketType) {
		t.Helper()
		if len(got) != len(types)*len(payloads) {
			t.Fatalf("%s: got %d packets, want %d", name, len(got), len(types)*len(payloads))
		}
		next := map[PacketType]int{}
		for k, p := range got {
			typ := p.info.Type
			if typ != types[0] && typ != types[len(types)-1] {
				t.Fatalf("%s: packet %d has type %v, want %v", name, k, typ, types)
			}
			want := payloads[next[typ]]
			next[typ]++
			dport, payload, ok := udpDst(p.frame)
			if !ok || dport != dst || string(payload) != want {
				t.Errorf("%s: packet %d: not UDP to %d with %q: % x", name, k, dst, want, p.frame)
			}
			wantLen := ethLen + ipv4Len + udpHdrLen + len(want)
			if p.info.Ifindex != lo.Index || p.info.Protocol != unix.ETH_P_IP ||
				p.info.Hatype != unix.ARPHRD_LOOPBACK || p.info.Len != wantLen || p.info.N != wantLen {
				t.Errorf("%s: packet %d: info %+v, want ifindex %d, protocol 0x800, hatype %d, length %d",
					name, k, p.info, lo.Index, unix.ARPHRD_LOOPBACK, wantLen)
			}
		}
	}
	check("both", collect(t, both, 200*time.Millisecond, 100), Outgoing, Host)
	check("in", collect(t, in, 100*time.Millisecond, 100), Host)
	check("out", collect(t, out, 100*time.Millisecond, 100), Outgoing)
}

// TestTruncatedRead checks that a short buffer gets the start of the frame
// and the real length.
func TestTruncatedRead(t *testing.T) {
	testenv.RequireRoot(t)
	dst := port(udpListener(t))
	c := open(t, &Options{Classic: assemble(t, udpDstPort(dst)), Direction: DirectionIn})
	sendUDP(t, dst, "0123456789")
	buf := make([]byte, 20)
	if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	info, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if info.N != 20 || info.Len != ethLen+ipv4Len+udpHdrLen+10 {
		t.Fatalf("info %+v, want N 20 and Len %d", info, ethLen+ipv4Len+udpHdrLen+10)
	}
}

// TestAttachDetachEBPF attaches an insn-built eBPF filter after Open,
// checks that only its port gets through, detaches it and checks that
// other traffic gets through again.
func TestAttachDetachEBPF(t *testing.T) {
	testenv.RequireRoot(t)
	want, other := port(udpListener(t)), port(udpListener(t))
	p := loadProgram(t, ebpfUDPDstPort(want))
	c := open(t, &Options{Direction: DirectionIn})
	if err := c.Attach(p); err != nil {
		t.Fatal(err)
	}
	drain(t, c) // frames queued between Open and Attach
	sendUDP(t, other, "nope")
	sendUDP(t, want, "yes-1")
	sendUDP(t, other, "nope")
	sendUDP(t, want, "yes-2")
	got := collect(t, c, 150*time.Millisecond, 100)
	if len(got) != 2 {
		t.Fatalf("got %d packets, want 2", len(got))
	}
	for k, g := range got {
		dport, payload, ok := udpDst(g.frame)
		if !ok || dport != want || string(payload) != fmt.Sprintf("yes-%d", k+1) {
			t.Errorf("packet %d: % x", k, g.frame)
		}
		// The filter returned 0xffff: the whole (short) frame is kept.
		if g.info.N != g.info.Len {
			t.Errorf("packet %d truncated: %+v", k, g.info)
		}
	}

	if err := c.Detach(); err != nil {
		t.Fatal(err)
	}
	sendUDP(t, other, "now-visible")
	found := false
	for _, g := range collect(t, c, 150*time.Millisecond, 1000) {
		if dport, payload, ok := udpDst(g.frame); ok && dport == other && string(payload) == "now-visible" {
			found = true
		}
	}
	if !found {
		t.Fatal("after Detach, the datagram to the other port was not captured")
	}
	if err := c.Detach(); !errors.Is(err, ErrNoFilter) {
		t.Fatalf("second Detach: got %v, want ErrNoFilter", err)
	}
}

// TestSnapLength checks that a filter's return value truncates the frame.
func TestSnapLength(t *testing.T) {
	testenv.RequireRoot(t)
	dst := port(udpListener(t))
	f := udpDstPort(dst)
	f[9] = bpf.RetConstant{Val: 40}
	c := open(t, &Options{Classic: assemble(t, f), Direction: DirectionIn})
	sendUDP(t, dst, strings.Repeat("x", 100))
	got := collect(t, c, 150*time.Millisecond, 10)
	if len(got) != 1 || got[0].info.N != 40 || got[0].info.Len != 40 {
		t.Fatalf("got %+v, want one packet cut to 40 bytes", got)
	}
}

// TestAttachToUDPConn attaches filters to an ordinary UDP socket, through
// net.Conn and through syscall.RawConn. On a UDP socket the filter sees
// the UDP header at offset 0 and the payload at offset 8.
func TestAttachToUDPConn(t *testing.T) {
	onlyA := []bpf.Instruction{
		bpf.LoadAbsolute{Off: udpHdrLen, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 'A', SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	}
	receive := func(t *testing.T, c *net.UDPConn) []string {
		var got []string
		buf := make([]byte, 100)
		for {
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := c.Read(buf)
			if err != nil {
				return got
			}
			got = append(got, string(buf[:n]))
		}
	}
	check := func(t *testing.T, c *net.UDPConn) {
		t.Helper()
		sendUDP(t, port(c), "A1", "B1", "A2", "C")
		if got := receive(t, c); strings.Join(got, ",") != "A1,A2" {
			t.Fatalf("received %q, want A1, A2", got)
		}
	}
	// Classic filters on one's own socket need no privilege.
	t.Run("classic/net.Conn", func(t *testing.T) {
		c := udpListener(t)
		var conn net.Conn = c
		if err := AttachClassic(conn, onlyA); err != nil {
			t.Fatal(err)
		}
		check(t, c)
		if err := Detach(conn); err != nil {
			t.Fatal(err)
		}
		sendUDP(t, port(c), "B2")
		if got := receive(t, c); len(got) != 1 || got[0] != "B2" {
			t.Fatalf("after Detach received %q", got)
		}
	})
	t.Run("ebpf/RawConn", func(t *testing.T) {
		testenv.RequireRoot(t)
		c := udpListener(t)
		rc, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		spec, err := classic.Spec("only_a", onlyA)
		if err != nil {
			t.Fatal(err)
		}
		if err := Attach(rc, loadProgram(t, spec)); err != nil {
			t.Fatal(err)
		}
		check(t, c)
	})
	t.Run("ebpf/insn", func(t *testing.T) {
		testenv.RequireRoot(t)
		c := udpListener(t)
		spec := &prog.Spec{Name: "only_a", Type: prog.SocketFilter, License: "GPL", Instructions: insn.Instructions{
			insn.Mov.Reg(insn.R6, insn.R1),
			insn.LoadAbs(udpHdrLen, insn.B),
			insn.JNE.Imm(insn.R0, 'A', "drop"),
			insn.Mov.Imm(insn.R0, 0xffff),
			insn.Exit(),
			insn.Mov.Imm(insn.R0, 0).WithLabel("drop"),
			insn.Exit(),
		}}
		p := loadProgram(t, spec)
		if err := Attach(c, p); err != nil {
			t.Fatal(err)
		}
		// The socket holds its own reference: closing ours changes nothing.
		p.Close()
		check(t, c)
	})
}

func TestLockFilter(t *testing.T) {
	c := udpListener(t)
	if err := AttachClassic(c, []bpf.Instruction{bpf.RetConstant{Val: 0xffff}}); err != nil {
		t.Fatal(err)
	}
	if err := LockFilter(c); err != nil {
		t.Fatal(err)
	}
	if err := Detach(c); !errors.Is(err, ErrLocked) || !errors.Is(err, unix.EPERM) {
		t.Fatalf("Detach of a locked filter: got %v, want ErrLocked", err)
	}
	if err := AttachClassic(c, []bpf.Instruction{bpf.RetConstant{Val: 0}}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Attach over a locked filter: got %v, want ErrLocked", err)
	}
	// The locked filter still works.
	sendUDP(t, port(c), "still here")
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 64)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "still here" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
}

func TestBadInput(t *testing.T) {
	t.Run("not a socket", func(t *testing.T) {
		if err := Detach(42); !errors.Is(err, ErrNoSocket) || !strings.Contains(err.Error(), "int") {
			t.Fatalf("got %v", err)
		}
		if err := Detach(nil); !errors.Is(err, ErrNoSocket) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("classic jump out of range", func(t *testing.T) {
		c := udpListener(t)
		err := AttachClassicRaw(c, []bpf.RawInstruction{{Op: 0x15, Jt: 5, K: 1}, {Op: 0x06, K: 1}})
		var ce *classic.Error
		if !errors.Is(err, classic.ErrInvalid) || !errors.As(err, &ce) || ce.Index != 0 || !strings.Contains(err.Error(), "out of range") {
			t.Fatalf("got %v", err)
		}
		err = AttachClassic(c, []bpf.Instruction{bpf.Jump{Skip: 3}, bpf.RetA{}})
		if !errors.Is(err, classic.ErrInvalid) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("closed UDP socket", func(t *testing.T) {
		c := udpListener(t)
		c.Close()
		if err := AttachClassic(c, []bpf.Instruction{bpf.RetA{}}); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("got %v, want net.ErrClosed", err)
		}
	})
	t.Run("nil program", func(t *testing.T) {
		if err := Attach(udpListener(t), nil); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("closed Conn", func(t *testing.T) {
		testenv.RequireRoot(t)
		c, err := Open("lo", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if err := c.AttachClassic([]bpf.Instruction{bpf.RetA{}}); !errors.Is(err, os.ErrClosed) {
			t.Fatalf("attach: got %v, want os.ErrClosed", err)
		}
		if _, err := c.Read(make([]byte, 10)); !errors.Is(err, os.ErrClosed) {
			t.Fatalf("read: got %v, want os.ErrClosed", err)
		}
		if err := c.Close(); !errors.Is(err, os.ErrClosed) {
			t.Fatalf("second close: got %v, want os.ErrClosed", err)
		}
	})
	t.Run("tracepoint program", func(t *testing.T) {
		testenv.RequireRoot(t)
		tp := loadProgram(t, &prog.Spec{Name: "tp", Type: prog.TracePoint, License: "GPL",
			Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}})
		c := udpListener(t)
		err := Attach(c, tp)
		if !errors.Is(err, ErrNotSocketFilter) || !errors.Is(err, sys.ErrProgramType) || !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "tracepoint") {
			t.Fatalf("got %v, want ErrNotSocketFilter naming tracepoint", err)
		}
		// Without a Type method the type comes from the kernel.
		err = Attach(c, fdOnly{tp.FD()})
		if !errors.Is(err, ErrNotSocketFilter) || !strings.Contains(err.Error(), "tracepoint") {
			t.Fatalf("fd only: got %v, want ErrNotSocketFilter naming tracepoint", err)
		}
		// Open refuses it too, and leaks nothing.
		if _, err := Open("lo", &Options{Program: tp}); !errors.Is(err, ErrNotSocketFilter) {
			t.Fatalf("Open: got %v", err)
		}
	})
}

// TestOpenProtocol checks that Options.Protocol limits capture to one
// Ethernet type.
func TestOpenProtocol(t *testing.T) {
	testenv.RequireRoot(t)
	dst := port(udpListener(t))
	filter := assemble(t, udpDstPort(dst))
	v4 := open(t, &Options{Protocol: unix.ETH_P_IP, Classic: filter, Direction: DirectionIn})
	v6 := open(t, &Options{Protocol: unix.ETH_P_IPV6, Direction: DirectionIn})
	drain(t, v6)
	sendUDP(t, dst, "v4 only")
	if got := collect(t, v4, 100*time.Millisecond, 10); len(got) != 1 || got[0].info.Protocol != unix.ETH_P_IP {
		t.Fatalf("IPv4 socket captured %+v", got)
	}
	for _, g := range collect(t, v6, 50*time.Millisecond, 1000) {
		if g.info.Protocol != unix.ETH_P_IPV6 {
			t.Fatalf("IPv6 socket captured protocol %#x", g.info.Protocol)
		}
	}
}

// TestPromiscuous checks that the interface is promiscuous exactly while
// a promiscuous socket is open.
func TestPromiscuous(t *testing.T) {
	testenv.RequireRoot(t)
	promisc := func() bool {
		b, err := os.ReadFile("/sys/class/net/lo/flags")
		if err != nil {
			testenv.SkipOrFail(t, "cannot read interface flags: %v", err)
		}
		var flags uint32
		if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "0x%x", &flags); err != nil {
			t.Fatalf("interface flags %q: %v", b, err)
		}
		return flags&unix.IFF_PROMISC != 0
	}
	if promisc() {
		t.Skip("lo is already promiscuous")
	}
	c, err := Open("lo", &Options{Promiscuous: true, Classic: []bpf.RawInstruction{{Op: 0x06}}})
	if err != nil {
		t.Fatal(err)
	}
	if !promisc() {
		t.Error("lo is not promiscuous while the socket is open")
	}
	c.Close()
	if promisc() {
		t.Error("lo is still promiscuous after Close")
	}
}

// TestOpenFailureLeaksNothing checks that a failed Open closes its socket.
func TestOpenFailureLeaksNothing(t *testing.T) {
	testenv.RequireRoot(t)
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	bad := []bpf.RawInstruction{{Op: 0x15, Jt: 9}, {Op: 0x06}}
	before := count()
	for i := 0; i < 10; i++ {
		if _, err := Open("lo", &Options{Classic: bad}); !errors.Is(err, classic.ErrInvalid) {
			t.Fatalf("got %v", err)
		}
	}
	if after := count(); after != before {
		t.Fatalf("%d descriptors before, %d after", before, after)
	}
}

type fdOnly struct{ fd int }

func (f fdOnly) FD() int { return f.fd }

func TestDeadlineAndClose(t *testing.T) {
	testenv.RequireRoot(t)
	dropAll := []bpf.RawInstruction{{Op: 0x06, K: 0}}
	c, err := Open("lo", &Options{Classic: dropAll})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetReadDeadline(start.Add(50 * time.Millisecond))
	if _, err := c.Read(make([]byte, 100)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("read returned after %v, before the deadline", d)
	}

	c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 100))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("read returned before Close: %v", err)
	default:
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("blocked read returned %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
}

func TestReadAllocatesNothing(t *testing.T) {
	testenv.RequireRoot(t)
	dst := port(udpListener(t))
	c := open(t, &Options{Classic: assemble(t, udpDstPort(dst)), Direction: DirectionIn})
	fd := rawUDPSender(t, dst)
	payload := []byte("ping")
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := unix.Write(fd, payload); err != nil {
			t.Fatal(err)
		}
		info, err := c.Read(buf)
		if err != nil || info.N != ethLen+ipv4Len+udpHdrLen+len(payload) {
			t.Fatalf("read %+v, %v", info, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per send and read, want 0", allocs)
	}
}

func TestStats(t *testing.T) {
	testenv.RequireRoot(t)
	dst := port(udpListener(t))
	c := open(t, &Options{Classic: assemble(t, udpDstPort(dst)), Direction: DirectionIn})
	c.Stats() // reset
	sendUDP(t, dst, "a", "b", "c")
	if n := len(collect(t, c, 100*time.Millisecond, 10)); n != 3 {
		t.Fatalf("captured %d", n)
	}
	rx, drops, err := c.Stats()
	if err != nil || rx != 3 || drops != 0 {
		t.Fatalf("stats %d received, %d dropped, %v; want 3, 0", rx, drops, err)
	}
}

var _ syscall.Conn = (*Conn)(nil)

func BenchmarkRead(b *testing.B) {
	testenv.RequireRoot(b)
	dst := port(udpListener(b))
	c := open(b, &Options{Classic: assemble(b, udpDstPort(dst)), Direction: DirectionIn})
	fd := rawUDPSender(b, dst)
	payload := make([]byte, 64)
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(time.Minute))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := unix.Write(fd, payload); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}
