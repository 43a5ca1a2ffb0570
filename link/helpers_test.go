//go:build linux

package link

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/netns"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// childEnv selects a child mode when the test binary re-executes itself.
const childEnv = "PUREBPF_LINK_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := runChild(mode); err != nil {
			fmt.Fprintf(os.Stderr, "child %s: %v\n", mode, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(mode string) error {
	switch mode {
	case "pin-xdp":
		return childPinXDP()
	case "connect":
		return childConnect()
	}
	return fmt.Errorf("unknown child mode %q", mode)
}

// kernelAtLeast reports whether the running kernel's release is at least
// major.minor.
func kernelAtLeast(t testing.TB, major, minor int) bool {
	t.Helper()
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &ma, &mi); err != nil {
		t.Fatalf("kernel release %q: %v", uts.Release, err)
	}
	return ma > major || (ma == major && mi >= minor)
}

// inNetns runs f on a thread that has joined the network namespace nsFD
// (netns.Enter, which returns the thread to its own namespace after).
func inNetns(nsFD int, f func() error) error { return netns.Enter(nsFD, f) }

// newNS creates a network namespace, with lo up, that lives as long as
// the test (package internal/netns).
func newNS(t testing.TB) *netns.NS {
	t.Helper()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// veth is a veth pair whose ends live in two throwaway namespaces, with
// 10.199.N.1/24 on A and 10.199.N.2/24 on B.
type veth struct {
	nsA, nsB int
	ifA, ifB int
	ipA, ipB net.IP
	nameA    string
	nameB    string
	port     int
	recv     *net.UDPConn // bound in B
	send     *net.UDPConn // in A, connected to B
}

var vethSeq atomic.Int32

func newVeth(t testing.TB) *veth {
	t.Helper()
	v := newVethNoWarm(t)
	// Wait for the carrier and resolve ARP before any test program runs.
	for try := 0; len(v.exchange(t, 1, "warmup")) != 1; try++ {
		if try == 10 {
			t.Fatalf("no warm-up datagram crossed the veth pair in 10 tries")
		}
	}
	return v
}

func newVethNoWarm(t testing.TB) *veth {
	t.Helper()
	testenv.RequireRoot(t)
	n := int(vethSeq.Add(1))
	nsA, nsB := newNS(t), newNS(t)
	v := &veth{
		nsA: nsA.FD(), nsB: nsB.FD(),
		ipA: net.IPv4(10, 199, byte(n), 1).To4(), ipB: net.IPv4(10, 199, byte(n), 2).To4(),
		nameA: "pbl0", nameB: "pbl1", port: 4000 + n,
	}
	if err := nsA.AddVeth(v.nameA, nsB, v.nameB); err != nil {
		t.Fatal(err)
	}
	var err error
	if v.ifA, err = nsA.Configure(v.nameA, v.ipA, 24); err != nil {
		t.Fatal(err)
	}
	if v.ifB, err = nsB.Configure(v.nameB, v.ipB, 24); err != nil {
		t.Fatal(err)
	}
	err = nsB.Do(func() error {
		var err error
		v.recv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: v.ipB, Port: v.port})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.recv.Close() })
	err = inNetns(v.nsA, func() error {
		var err error
		v.send, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: v.ipB, Port: v.port})
		if err != nil {
			return err
		}
		// No UDP checksum, so that programs may rewrite the payload.
		rc, err := v.send.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1) }); err != nil {
			return err
		}
		return serr
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.send.Close() })
	return v
}

// exchange sends n datagrams "<tag> <k>" from A to B, one at a time, and
// returns the payloads B received within 300ms of each send.
func (v *veth) exchange(t testing.TB, n int, tag string) []string {
	t.Helper()
	var got []string
	buf := make([]byte, 2048)
	for k := 0; k < n; k++ {
		msg := fmt.Sprintf("%s %d", tag, k)
		if _, err := v.send.Write([]byte(msg)); err != nil {
			t.Fatalf("send: %v", err)
		}
		deadline := time.Now().Add(300 * time.Millisecond)
		for {
			v.recv.SetReadDeadline(deadline)
			m, _, err := v.recv.ReadFromUDP(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				t.Fatalf("receive: %v", err)
			}
			s := string(buf[:m])
			// Programs may rewrite the first byte (xdpRewrite).
			if len(s) == len(msg) && s[1:] == msg[1:] {
				got = append(got, s)
				break
			}
			// A late datagram of an earlier round or tag: ignore it.
		}
	}
	return got
}

// counterSpec is a one-slot array map of uint64 counters.
func counterSpec(name string, slots uint32) *prog.MapSpec {
	return &prog.MapSpec{Name: name, Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: slots}
}

func counter(t testing.TB, p *prog.Program, slot uint32) uint64 {
	t.Helper()
	var v uint64
	if err := p.Map("counts").Lookup(slot, &v); err != nil {
		t.Fatalf("read counter: %v", err)
	}
	return v
}

// countInsns increments counts[slot] (r6..r9 are preserved).
func countInsns(slot int32) insn.Instructions {
	return insn.Instructions{
		insn.StoreImm(insn.R10, -4, slot, insn.W),
		insn.LoadMapPtr(insn.R1, "counts"),
		insn.Mov.Reg(insn.R2, insn.R10),
		insn.Add.Imm(insn.R2, -4),
		insn.Call(int32(insn.FnMapLookupElem)),
		insn.JEq.Imm(insn.R0, 0, fmt.Sprintf("nocount%d", slot)),
		insn.Mov.Imm(insn.R1, 1),
		insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1),
		insn.Mov.Imm(insn.R0, 0).WithLabel(fmt.Sprintf("nocount%d", slot)),
	}
}

func load(t testing.TB, spec *prog.Spec, opts *prog.ProgramOptions) *prog.Program {
	t.Helper()
	testenv.RequireRoot(t)
	if spec.License == "" {
		spec.License = "GPL"
	}
	p, err := prog.NewProgram(spec, opts)
	if err != nil {
		t.Fatalf("load %s: %v", spec.Name, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// xdpAction is what the test XDP program does with UDP datagrams to port.
type xdpAction int

const (
	xdpPass xdpAction = iota
	xdpDrop
	xdpRewrite // replace the first payload byte with 'X'
)

// xdpProgram counts UDP/IPv4 datagrams to port in counts[0] and passes,
// drops or rewrites them; every other packet passes.
func xdpProgram(t testing.TB, name string, port int, act xdpAction) *prog.Program {
	t.Helper()
	return load(t, xdpSpec(name, port, act), nil)
}

func xdpSpec(name string, port int, act xdpAction) *prog.Spec {
	be := int32(port>>8 | (port&0xff)<<8) // the port as loaded from the packet (network order, read little-endian)
	code := insn.Instructions{
		insn.LoadMem(insn.R6, insn.R1, 0, insn.W), // data
		insn.LoadMem(insn.R7, insn.R1, 4, insn.W), // data_end
		insn.Mov.Reg(insn.R2, insn.R6),
		insn.Add.Imm(insn.R2, 43),
		insn.JGT.Reg(insn.R2, insn.R7, "pass"),
		insn.LoadMem(insn.R2, insn.R6, 12, insn.H),
		insn.JNE.Imm(insn.R2, 0x0008, "pass"), // ETH_P_IP
		insn.LoadMem(insn.R2, insn.R6, 23, insn.B),
		insn.JNE.Imm(insn.R2, unix.IPPROTO_UDP, "pass"),
		insn.LoadMem(insn.R2, insn.R6, 36, insn.H),
		insn.JNE.Imm(insn.R2, be, "pass"),
	}
	code = append(code, countInsns(0)...)
	switch act {
	case xdpDrop:
		code = append(code, insn.Mov.Imm(insn.R0, 1), insn.Exit()) // XDP_DROP
	case xdpRewrite:
		code = append(code, insn.StoreImm(insn.R6, 42, 'X', insn.B))
	}
	code = append(code, insn.Mov.Imm(insn.R0, 2).WithLabel("pass"), insn.Exit()) // XDP_PASS
	return &prog.Spec{Name: name, Type: prog.XDP, License: "GPL", Instructions: code, Maps: []*prog.MapSpec{counterSpec("counts", 1)}}
}

// tcProgram counts every packet in counts[slot] and returns ret.
func tcProgram(t testing.TB, name string, slot int32, ret int32) *prog.Program {
	t.Helper()
	code := append(countInsns(slot), insn.Mov.Imm(insn.R0, ret), insn.Exit())
	return load(t, &prog.Spec{Name: name, Type: prog.SchedCLS, Instructions: code, Maps: []*prog.MapSpec{counterSpec("counts", 4)}}, nil)
}

// socketFilter is a program of a type no hook here takes.
func socketFilter(t testing.TB) *prog.Program {
	return load(t, &prog.Spec{Name: "sockfilter", Type: prog.SocketFilter,
		Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}}, nil)
}

// waitGone waits until the kernel has released link id (freeing is
// deferred past an RCU grace period).
func waitGone(t testing.TB, id uint32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		fd, err := sys.LinkGetFDByID(id)
		if err != nil {
			if !errors.Is(err, unix.ENOENT) {
				t.Fatalf("open link %d: %v", id, err)
			}
			return
		}
		fd.Close()
		if time.Now().After(deadline) {
			t.Fatalf("link %d still exists 5s after its last reference went", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
