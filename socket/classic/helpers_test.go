//go:build linux

package classic

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// haveKernel reports whether tests can load programs into the kernel: true
// as root. Without root it returns false (so only the userspace executors
// run), except that CI=true makes it fail the test instead.
func haveKernel(t testing.TB) bool {
	t.Helper()
	if os.Geteuid() == 0 {
		return true
	}
	if testenv.CI() {
		t.Fatal("kernel comparison needs root (CAP_BPF, CAP_NET_RAW) and CI=true forbids skipping it")
	}
	t.Log("not root: comparing with interp only, not with the kernel")
	return false
}

// interpProg is a translated program in package interp.
type interpProg struct {
	vm *interp.VM
}

func loadInterp(t testing.TB, is insn.Instructions) *interpProg {
	t.Helper()
	vm, err := interp.New(&prog.Spec{Name: "classic", Type: prog.SocketFilter, License: "GPL", Instructions: is}, nil)
	if err != nil {
		t.Fatalf("interp: load translated program: %v\n%s", err, is)
	}
	return &interpProg{vm: vm}
}

// interpMeta is the metadata the kernel's BPF_PROG_TEST_RUN gives (see
// fakeEther), so that both executors see the same context.
var interpMeta = interp.SKBMeta{Protocol: 0x88b5, PktType: unix.PACKET_HOST, Ifindex: 1}

func (p *interpProg) run(t testing.TB, pkt []byte, meta *interp.SKBMeta) uint32 {
	t.Helper()
	if meta == nil {
		meta = &interpMeta
	}
	r, err := p.vm.RunSocketFilter(pkt, meta)
	if err != nil {
		t.Fatalf("interp: run: %v", err)
	}
	return r
}

// jitProg is a translated program compiled by package jit, or nil where
// there is no JIT (jit.ErrNotSupported).
type jitProg struct {
	vm *jit.VM
}

func loadJIT(t testing.TB, is insn.Instructions) *jitProg {
	t.Helper()
	vm, err := jit.New(&prog.Spec{Name: "classic", Type: prog.SocketFilter, License: "GPL", Instructions: is}, nil)
	if errors.Is(err, jit.ErrNotSupported) {
		return nil
	}
	if err != nil {
		t.Fatalf("jit: compile translated program: %v\n%s", err, is)
	}
	t.Cleanup(func() { vm.Close() })
	return &jitProg{vm: vm}
}

func (p *jitProg) run(t testing.TB, pkt []byte) uint32 {
	t.Helper()
	r, err := p.vm.RunSocketFilter(pkt, &interpMeta)
	if err != nil {
		t.Fatalf("jit: run: %v", err)
	}
	return r
}

// kernelProg is a translated program loaded into the kernel as a socket
// filter, run with BPF_PROG_TEST_RUN.
type kernelProg struct {
	fd *sys.FD
}

func loadKernel(t testing.TB, is insn.Instructions) *kernelProg {
	t.Helper()
	code, err := is.Marshal()
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	lic, err := sys.NewStringPointer("GPL")
	if err != nil {
		t.Fatal(err)
	}
	logBuf := make([]byte, 1<<16)
	attr := sys.ProgLoadAttr{
		ProgType: sys.ProgTypeSocketFilter,
		InsnCnt:  uint32(len(code) / insn.SlotSize),
		Insns:    sys.NewSlicePointer(code),
		License:  lic,
		LogLevel: 1,
		LogSize:  uint32(len(logBuf)),
		LogBuf:   sys.NewSlicePointer(logBuf),
	}
	fd, err := sys.ProgLoad(&attr)
	if err != nil {
		t.Fatalf("load translated program: %v\n%s\nverifier log:\n%s", err, is, cString(logBuf))
	}
	t.Cleanup(func() { fd.Close() })
	return &kernelProg{fd: fd}
}

func cString(b []byte) string {
	for k, c := range b {
		if c == 0 {
			return string(b[:k])
		}
	}
	return string(b)
}

// fakeEther is the Ethernet header BPF_PROG_TEST_RUN strips (with
// eth_type_trans) before a socket filter sees the data: the program sees
// what follows it. The destination is lo's all-zero address, so the
// packet type is PACKET_HOST; the type is the IEEE local experimental
// 0x88b5, so skb->protocol is that and the kernel does not insist on an IP
// header (it rejects ETH_P_IP data shorter than 20 bytes).
var fakeEther = []byte{0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0x88, 0xb5}

// skbCtx mirrors the start of struct __sk_buff up to hwtstamp (192 bytes),
// for ctx_in.
type skbCtx [48]uint32

// run returns the program's verdict on pkt, as the kernel computes it.
func (k *kernelProg) run(t testing.TB, pkt []byte, ctx *skbCtx) uint32 {
	t.Helper()
	data := append(append(make([]byte, 0, len(fakeEther)+len(pkt)), fakeEther...), pkt...)
	attr := sys.ProgTestRunAttr{
		ProgFD:     k.fd.Uint(),
		DataSizeIn: uint32(len(data)),
		DataIn:     sys.NewSlicePointer(data),
	}
	if ctx != nil {
		attr.CtxSizeIn = uint32(len(ctx) * 4)
		attr.CtxIn = sys.NewSlicePointer(ctx[:])
	}
	for {
		err := sys.ProgTestRun(&attr)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
		}
		return attr.Retval
	}
}

// kernelAccepts reports whether the kernel accepts filter with
// SO_ATTACH_FILTER, and the errno if not.
func kernelAccepts(t testing.TB, raw []bpf.RawInstruction) error {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	defer unix.Close(fd)
	filter := make([]unix.SockFilter, len(raw))
	for k, r := range raw {
		filter[k] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter))}
	if len(filter) > 0 {
		prog.Filter = (*unix.SockFilter)(&filter[0])
	}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog)
}
