//go:build linux

package classic

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// vmVerdict runs filter in x/net/bpf's VM.
func vmVerdict(t testing.TB, vm *bpf.VM, pkt []byte) uint32 {
	t.Helper()
	n, err := vm.Run(pkt)
	if err != nil {
		t.Fatalf("x/net/bpf VM: %v", err)
	}
	return uint32(n)
}

func disassemble(t testing.TB, raw []bpf.RawInstruction) []bpf.Instruction {
	t.Helper()
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("x/net/bpf cannot disassemble %v", raw)
	}
	return ins
}

// differential checks that the translation of filter gives the same
// verdict in every executor as x/net/bpf's VM, for every packet.
// With kernel set, the translation also runs in the kernel
// (BPF_PROG_TEST_RUN).
func differential(t *testing.T, kernel bool, name string, filter []bpf.Instruction, pkts [][]byte) {
	t.Helper()
	vm, err := bpf.NewVM(filter)
	if err != nil {
		t.Fatalf("%s: x/net/bpf rejects the filter: %v", name, err)
	}
	is, err := Translate(filter)
	if err != nil {
		t.Fatalf("%s: translate: %v", name, err)
	}
	ip := loadInterp(t, is)
	jp := loadJIT(t, is)
	var kp *kernelProg
	if kernel {
		kp = loadKernel(t, is)
	}
	mismatches := 0
	report := func(who string, pkt []byte, got, want uint32) {
		mismatches++
		if mismatches <= 3 {
			t.Errorf("%s: packet % x: %s runs the translation to %#x, x/net/bpf VM to %#x\nclassic: %v\neBPF:\n%s", name, pkt, who, got, want, filter, is)
		}
	}
	for _, pkt := range pkts {
		want := vmVerdict(t, vm, pkt)
		if got := ip.run(t, pkt, nil); got != want {
			report("interp", pkt, got, want)
		}
		if jp != nil {
			if got := jp.run(t, pkt); got != want {
				report("jit", pkt, got, want)
			}
		}
		if kp == nil {
			continue
		}
		if got := kp.run(t, pkt, nil); got != want {
			report("the kernel", pkt, got, want)
		}
	}
}

func TestTcpdumpFiltersMatchVM(t *testing.T) {
	kernel := haveKernel(t)
	rng := rand.New(rand.NewSource(1))
	pkts := append(corpus(), randomPackets(rng, 200, 90)...)
	for _, f := range tcpdumpFilters {
		t.Run(f.expr, func(t *testing.T) {
			filter := disassemble(t, raw(f.insns))
			differential(t, kernel, f.expr, filter, pkts)
		})
	}
}

// TestTcpdumpFiltersSelect checks the tcpdump filters against verdicts
// derived from the packets' construction, so a wrong reference VM could
// not hide a wrong translation.
func TestTcpdumpFiltersSelect(t *testing.T) {
	kernel := haveKernel(t)
	udpDNS := ether(macHost, 0x0800, ipv4(17, ipA, ipB, 0, 5, udp(40000, 53, []byte("query"))))
	find := func(expr string) []bpf.RawInstruction {
		for _, f := range tcpdumpFilters {
			if f.expr == expr {
				return raw(f.insns)
			}
		}
		t.Fatalf("no filter %q", expr)
		return nil
	}
	frames := map[string][]byte{
		"ipv4 udp dst 53":   udpDNS,
		"ipv4 udp src 53":   ether(macHost, 0x0800, ipv4(17, ipB, ipA, 0, 5, udp(53, 40000, nil))),
		"ipv4 udp frag":     ether(macHost, 0x0800, ipv4(17, ipA, ipB, 0x2000|12, 5, udp(1234, 53, nil))),
		"ipv4 tcp 80":       ether(macHost, 0x0800, ipv4(6, ipA, ipB, 0, 5, tcp(50000, 80, 0x02))),
		"ipv4 tcp 22 ack":   ether(macHost, 0x0800, ipv4(6, ipB, ipA, 0, 6, tcp(22, 50000, 0x10))),
		"ipv6 tcp 80":       ether(macHost, 0x86dd, ipv6(6, tcp(40000, 80, 0x02))),
		"arp":               ether(macBcast, 0x0806, make([]byte, 28)),
		"icmp":              ether(macHost, 0x0800, ipv4(1, ipA, ipB, 0, 5, make([]byte, 8))),
		"icmp6":             ether(macHost, 0x86dd, ipv6(58, make([]byte, 8))),
		"vlan ip":           ether(macHost, 0x8100, vlanTag(42, 0x0800, ipv4(17, ipA, ipB, 0, 5, udp(1, 53, nil)))),
		"truncated ipv4":    udpDNS[:30],
		"udp 1500 v4":       ether(macHost, 0x0800, ipv4(17, ipC, ipB, 0, 5, udp(1500, 2500, nil))),
		"ipv4 192.168 host": ether(macHost, 0x0800, ipv4(17, ipC, ipB, 0, 5, udp(7, 7, nil))),
	}
	cases := []struct {
		expr  string
		match []string
	}{
		{"ip and udp dst port 53", []string{"ipv4 udp dst 53"}},
		{"arp", []string{"arp"}},
		{"tcp port 80", []string{"ipv4 tcp 80", "ipv6 tcp 80"}},
		{"vlan", []string{"vlan ip"}},
		{"icmp", []string{"icmp"}},
		{"ip6", []string{"ipv6 tcp 80", "icmp6"}},
		{"vlan and ip", []string{"vlan ip"}},
		{"tcp[tcpflags] & tcp-syn != 0", []string{"ipv4 tcp 80"}},
		{"udp portrange 1000-2000", []string{"udp 1500 v4"}},
		{"net 192.168.0.0/16", []string{"ipv4 udp dst 53", "ipv4 udp src 53", "ipv4 udp frag", "ipv4 tcp 80", "ipv4 tcp 22 ack", "icmp", "udp 1500 v4", "ipv4 192.168 host"}},
	}
	for _, c := range cases {
		is, err := TranslateRaw(find(c.expr))
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		run := executors(t, kernel, is)
		match := map[string]bool{}
		for _, m := range c.match {
			match[m] = true
		}
		for name, frame := range frames {
			for who, verdict := range run(frame) {
				if got := verdict != 0; got != match[name] {
					t.Errorf("filter %q on %s in %s: passes=%v, want %v", c.expr, name, who, got, match[name])
				}
			}
		}
	}
}

// randomFilter generates a valid classic program: forward jumps only,
// scratch words read only after the prologue stored them, no division by
// a constant zero and shifts by X only right after X is loaded with a
// count below 32 (x/net/bpf's VM and the kernel differ above that).
func randomFilter(rng *rand.Rand) []bpf.Instruction {
	var p []bpf.Instruction
	stored := []uint32{}
	p = append(p, bpf.LoadConstant{Dst: bpf.RegA, Val: rng.Uint32()})
	p = append(p, bpf.LoadConstant{Dst: bpf.RegX, Val: uint32(rng.Intn(64))})
	for n := 0; n < 16; n++ {
		if rng.Intn(3) == 0 {
			src := bpf.RegA
			if rng.Intn(2) == 0 {
				src = bpf.RegX
			}
			p = append(p, bpf.StoreScratch{Src: src, N: n})
			stored = append(stored, uint32(n))
		}
	}
	sizes := []int{1, 2, 4}
	alu := []bpf.ALUOp{bpf.ALUOpAdd, bpf.ALUOpSub, bpf.ALUOpMul, bpf.ALUOpDiv, bpf.ALUOpOr, bpf.ALUOpAnd, bpf.ALUOpShiftLeft, bpf.ALUOpShiftRight, bpf.ALUOpMod, bpf.ALUOpXor}
	conds := []bpf.JumpTest{bpf.JumpEqual, bpf.JumpNotEqual, bpf.JumpGreaterThan, bpf.JumpLessThan, bpf.JumpGreaterOrEqual, bpf.JumpLessOrEqual, bpf.JumpBitsSet, bpf.JumpBitsNotSet}
	reg := func() bpf.Register { return bpf.Register(rng.Intn(2)) }
	val := func() uint32 {
		switch rng.Intn(4) {
		case 0:
			return uint32(rng.Intn(16))
		case 1:
			return rng.Uint32()
		case 2:
			return 0x80000000 | rng.Uint32()
		}
		return uint32(rng.Intn(0x10000))
	}
	body := 4 + rng.Intn(40)
	jumps := []int{}
	for len(p) < body {
		switch rng.Intn(17) {
		case 0:
			p = append(p, bpf.LoadAbsolute{Off: uint32(rng.Intn(80)), Size: sizes[rng.Intn(3)]})
		case 1:
			p = append(p, bpf.LoadIndirect{Off: uint32(rng.Intn(40)), Size: sizes[rng.Intn(3)]})
		case 2:
			p = append(p, bpf.LoadMemShift{Off: uint32(rng.Intn(60))})
		case 3:
			p = append(p, bpf.LoadConstant{Dst: reg(), Val: val()})
		case 4:
			if len(stored) > 0 {
				p = append(p, bpf.LoadScratch{Dst: reg(), N: int(stored[rng.Intn(len(stored))])})
			}
		case 5:
			p = append(p, bpf.StoreScratch{Src: reg(), N: rng.Intn(16)})
		case 6:
			p = append(p, bpf.LoadExtension{Num: bpf.ExtLen})
		case 7, 8:
			op := alu[rng.Intn(len(alu))]
			v := val()
			switch op {
			case bpf.ALUOpDiv, bpf.ALUOpMod:
				if v == 0 {
					v = 3
				}
			case bpf.ALUOpShiftLeft, bpf.ALUOpShiftRight:
				v %= 32
			}
			p = append(p, bpf.ALUOpConstant{Op: op, Val: v})
		case 9:
			op := alu[rng.Intn(len(alu))]
			if op == bpf.ALUOpShiftLeft || op == bpf.ALUOpShiftRight {
				p = append(p, bpf.LoadConstant{Dst: bpf.RegX, Val: uint32(rng.Intn(32))})
			}
			p = append(p, bpf.ALUOpX{Op: op})
		case 10:
			p = append(p, bpf.TAX{})
		case 11:
			p = append(p, bpf.TXA{})
		case 12, 13:
			jumps = append(jumps, len(p))
			p = append(p, bpf.JumpIf{Cond: conds[rng.Intn(len(conds))], Val: val()})
		case 14:
			jumps = append(jumps, len(p))
			p = append(p, bpf.JumpIfX{Cond: conds[rng.Intn(len(conds))]})
		case 15:
			jumps = append(jumps, len(p))
			p = append(p, bpf.Jump{})
		case 16:
			if rng.Intn(2) == 0 {
				p = append(p, bpf.RetA{})
			} else {
				p = append(p, bpf.RetConstant{Val: val()})
			}
		}
	}
	if rng.Intn(2) == 0 {
		p = append(p, bpf.RetA{})
	} else {
		p = append(p, bpf.RetConstant{Val: val()})
	}
	// skip picks a forward distance from pc that lands inside the
	// program, but never on a shift by X (its X load comes first).
	skip := func(pc int) uint8 {
		max := len(p) - pc - 2
		if max > 255 {
			max = 255
		}
		s := rng.Intn(max + 1)
		if a, ok := p[pc+1+s].(bpf.ALUOpX); ok && (a.Op == bpf.ALUOpShiftLeft || a.Op == bpf.ALUOpShiftRight) {
			s--
		}
		return uint8(s)
	}
	for _, pc := range jumps {
		switch j := p[pc].(type) {
		case bpf.JumpIf:
			j.SkipTrue, j.SkipFalse = skip(pc), skip(pc)
			p[pc] = j
		case bpf.JumpIfX:
			j.SkipTrue, j.SkipFalse = skip(pc), skip(pc)
			p[pc] = j
		case bpf.Jump:
			j.Skip = uint32(skip(pc))
			p[pc] = j
		}
	}
	return p
}

func TestRandomFiltersMatchVM(t *testing.T) {
	kernel := haveKernel(t)
	rng := rand.New(rand.NewSource(42))
	pkts := append(corpus()[:60], randomPackets(rng, 60, 80)...)
	n := 400
	if testing.Short() {
		n = 50
	}
	for k := 0; k < n; k++ {
		filter := randomFilter(rng)
		raw, err := bpf.Assemble(filter)
		if err != nil {
			t.Fatalf("random filter %d does not assemble: %v", k, err)
		}
		if kernel {
			if err := kernelAccepts(t, raw); err != nil {
				t.Fatalf("random filter %d: the kernel rejects it (%v), so the generator is wrong: %v", k, err, filter)
			}
		}
		differential(t, kernel, fmt.Sprintf("random filter %d", k), filter, pkts)
		if t.Failed() {
			return
		}
	}
}

// executors loads is into interp and, with kernel, into the kernel, and
// returns a function giving each one's verdict on a packet.
func executors(t *testing.T, kernel bool, is insn.Instructions) func(pkt []byte) map[string]uint32 {
	t.Helper()
	ip := loadInterp(t, is)
	jp := loadJIT(t, is)
	var kp *kernelProg
	if kernel {
		kp = loadKernel(t, is)
	}
	return func(pkt []byte) map[string]uint32 {
		out := map[string]uint32{"interp": ip.run(t, pkt, nil)}
		if jp != nil {
			out["jit"] = jp.run(t, pkt)
		}
		if kp != nil {
			out["kernel"] = kp.run(t, pkt, nil)
		}
		return out
	}
}

// TestSemanticsWithoutVM covers what x/net/bpf's VM does not implement or
// does differently, against values derived from the kernel's rules.
func TestSemanticsWithoutVM(t *testing.T) {
	kernel := haveKernel(t)
	pkt := ether(macHost, 0x0800, ipv4(17, ipA, ipB, 0, 5, udp(1, 53, nil)))
	cases := []struct {
		name string
		prog []bpf.Instruction
		want uint32
	}{
		{"neg", []bpf.Instruction{bpf.LoadConstant{Val: 5}, bpf.NegateA{}, bpf.RetA{}}, uint32(0xfffffffb)},
		{"div by X zero returns 0", []bpf.Instruction{bpf.LoadConstant{Val: 7}, bpf.LoadConstant{Dst: bpf.RegX, Val: 0}, bpf.ALUOpX{Op: bpf.ALUOpDiv}, bpf.RetConstant{Val: 99}}, 0},
		{"mod by X zero returns 0", []bpf.Instruction{bpf.LoadConstant{Val: 7}, bpf.ALUOpX{Op: bpf.ALUOpMod}, bpf.RetConstant{Val: 99}}, 0},
		{"div by X", []bpf.Instruction{bpf.LoadConstant{Val: 0xffffffff}, bpf.LoadConstant{Dst: bpf.RegX, Val: 16}, bpf.ALUOpX{Op: bpf.ALUOpDiv}, bpf.RetA{}}, 0x0fffffff},
		{"shift by X masks to 5 bits", []bpf.Instruction{bpf.LoadConstant{Val: 1}, bpf.LoadConstant{Dst: bpf.RegX, Val: 33}, bpf.ALUOpX{Op: bpf.ALUOpShiftLeft}, bpf.RetA{}}, 2},
		{"ret k", []bpf.Instruction{bpf.RetConstant{Val: 0xfffffffe}}, 0xfffffffe},
		{"A and X start at 0", []bpf.Instruction{bpf.ALUOpX{Op: bpf.ALUOpAdd}, bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: 1}, bpf.RetA{}}, 1},
		{"jgt unsigned", []bpf.Instruction{bpf.LoadConstant{Val: 0x80000000}, bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: 1, SkipTrue: 1}, bpf.RetConstant{Val: 0}, bpf.RetConstant{Val: 1}}, 1},
		{"msh keeps A", []bpf.Instruction{bpf.LoadConstant{Val: 77}, bpf.LoadMemShift{Off: 14}, bpf.TXA{}, bpf.RetA{}}, 20},
		{"msh keeps A (2)", []bpf.Instruction{bpf.LoadConstant{Val: 77}, bpf.LoadMemShift{Off: 14}, bpf.RetA{}}, 77},
		{"msh out of bounds returns 0", []bpf.Instruction{bpf.LoadConstant{Val: 77}, bpf.LoadMemShift{Off: 1000}, bpf.RetA{}}, 0},
		{"len", []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtLen}, bpf.RetA{}}, uint32(len(pkt))},
		{"xor x", []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegX, Val: 0xff}, bpf.LoadConstant{Val: 0x0f}, bpf.LoadExtension{Num: adALUXorX}, bpf.RetA{}}, 0xf0},
		{"jset 2^31", []bpf.Instruction{bpf.LoadConstant{Val: 0x80000000}, bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x80000000, SkipFalse: 1}, bpf.RetConstant{Val: 5}, bpf.RetConstant{Val: 6}}, 5},
		{"jump to a no-op jump", []bpf.Instruction{bpf.Jump{Skip: 0}, bpf.JumpIf{Cond: bpf.JumpEqual}, bpf.RetConstant{Val: 3}}, 3},
	}
	for _, c := range cases {
		is, err := Translate(c.prog)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for who, got := range executors(t, kernel, is)(pkt) {
			if got != c.want {
				t.Errorf("%s in %s: got %#x, want %#x\n%s", c.name, who, got, c.want, is)
			}
		}
	}
}

func TestAncillary(t *testing.T) {
	pkt := ether(macHost, 0x0800, ipv4(17, ipA, ipB, 0, 5, udp(1, 53, nil)))
	ld := func(ad bpf.Extension) insn.Instructions {
		is, err := Translate([]bpf.Instruction{bpf.LoadExtension{Num: ad}, bpf.RetA{}})
		if err != nil {
			t.Fatalf("extension %d: %v", ad, err)
		}
		return is
	}
	// In interp, every field comes from SKBMeta, in host order.
	meta := &interp.SKBMeta{
		PktType: unix.PACKET_OUTGOING, Mark: 0xdecaf, QueueMapping: 3, Protocol: unix.ETH_P_IPV6,
		VLANPresent: true, VLANTCI: 0x2042, VLANProto: unix.ETH_P_8021AD, Ifindex: 7, Hash: 0xfeedbeef,
	}
	interpCases := []struct {
		ext  bpf.Extension
		want uint32
	}{
		{bpf.ExtProto, unix.ETH_P_IPV6},
		{bpf.ExtType, unix.PACKET_OUTGOING},
		{bpf.ExtInterfaceIndex, 7},
		{adMark, 0xdecaf},
		{adQueue, 3},
		{bpf.ExtRXHash, 0xfeedbeef},
		{bpf.ExtVLANTag, 0x2042},
		{bpf.ExtVLANTagPresent, 1},
		{bpf.ExtVLANProto, unix.ETH_P_8021AD},
	}
	for _, c := range interpCases {
		if got := loadInterp(t, ld(c.ext)).run(t, pkt, meta); got != c.want {
			t.Errorf("interp: extension %d: got %#x, want %#x", c.ext, got, c.want)
		}
	}
	vm, err := interp.New(&prog.Spec{Name: "cpu", Type: prog.SocketFilter, License: "GPL", Instructions: ld(bpf.ExtCPUID)}, &interp.Options{CPU: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := vm.RunSocketFilter(pkt, nil); err != nil || got != 5 {
		t.Errorf("interp: cpu: got %d, %v; want 5", got, err)
	}
	vm, err = interp.New(&prog.Spec{Name: "rand", Type: prog.SocketFilter, License: "GPL", Instructions: ld(bpf.ExtRand)}, &interp.Options{Rand: func() uint32 { return 0xabcdef12 }})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := vm.RunSocketFilter(pkt, nil); err != nil || got != 0xabcdef12 {
		t.Errorf("interp: random: got %#x, %v; want 0xabcdef12", got, err)
	}

	if !haveKernel(t) {
		return
	}
	// BPF_PROG_TEST_RUN builds the skb on lo (ifindex 1) with the fake
	// Ethernet header: protocol 0x88b5, PACKET_HOST, no VLAN tag, no hash,
	// queue 0; the mark comes from ctx_in.
	var ctx skbCtx
	ctx[skbMark/4] = 0xdecaf
	kernelCases := []struct {
		ext  bpf.Extension
		want uint32
	}{
		{bpf.ExtProto, 0x88b5},
		{bpf.ExtType, unix.PACKET_HOST},
		{bpf.ExtInterfaceIndex, 1},
		{adMark, 0xdecaf},
		{adQueue, 0},
		{bpf.ExtRXHash, 0},
		{bpf.ExtVLANTag, 0},
		{bpf.ExtVLANTagPresent, 0},
		{bpf.ExtVLANProto, 0},
	}
	for _, c := range kernelCases {
		if got := loadKernel(t, ld(c.ext)).run(t, pkt, &ctx); got != c.want {
			t.Errorf("kernel: extension %d: got %#x, want %#x", c.ext, got, c.want)
		}
	}
	// The CPU is one this process may run on; random values differ
	// between runs.
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		t.Fatal(err)
	}
	if cpu := loadKernel(t, ld(bpf.ExtCPUID)).run(t, pkt, nil); !allowed.IsSet(int(cpu)) {
		t.Errorf("kernel: cpu: got %d, which this process may not run on", cpu)
	}
	kp := loadKernel(t, ld(bpf.ExtRand))
	seen := map[uint32]bool{}
	for k := 0; k < 8; k++ {
		seen[kp.run(t, pkt, nil)] = true
	}
	if len(seen) < 2 {
		t.Errorf("kernel: random: 8 runs gave %d distinct values", len(seen))
	}
}

func TestUnsupportedAncillary(t *testing.T) {
	for _, ext := range []bpf.Extension{bpf.ExtNetlinkAttr, bpf.ExtNetlinkAttrNested, bpf.ExtLinkLayerType, bpf.ExtPayloadOffset} {
		_, err := Translate([]bpf.Instruction{bpf.LoadExtension{Num: ext}, bpf.RetA{}})
		var e *Error
		if !errors.Is(err, ErrUnsupported) || !errors.As(err, &e) || e.Index != 0 {
			t.Errorf("extension %d: got %v, want ErrUnsupported at instruction 0", ext, err)
		}
		if Supported(ext) {
			t.Errorf("Supported(%d) = true", ext)
		}
	}
}

func TestInvalidPrograms(t *testing.T) {
	r := func(op uint16, jt, jf uint8, k uint32) bpf.RawInstruction {
		return bpf.RawInstruction{Op: op, Jt: jt, Jf: jf, K: k}
	}
	ret := r(clsRet|retK, 0, 0, 1)
	long := make([]bpf.RawInstruction, MaxInstructions+1)
	for k := range long {
		long[k] = ret
	}
	cases := []struct {
		name  string
		prog  []bpf.RawInstruction
		index int
	}{
		{"empty", nil, -1},
		{"too long", long, -1},
		{"jeq out of range", []bpf.RawInstruction{r(clsJmp|jmpJeq, 1, 0, 0), ret}, 0},
		{"jeq false out of range", []bpf.RawInstruction{r(clsJmp|jmpJeq, 0, 5, 0), ret}, 0},
		{"ja out of range", []bpf.RawInstruction{ret, r(clsJmp|jmpJa, 0, 0, 1), ret}, 1},
		{"ja huge", []bpf.RawInstruction{r(clsJmp|jmpJa, 0, 0, 0xffffffff), ret}, 0},
		{"unknown opcode", []bpf.RawInstruction{r(0xff, 0, 0, 0), ret}, 0},
		{"ld half imm", []bpf.RawInstruction{r(clsLd|szH|mdImm, 0, 0, 0), ret}, 0},
		{"ret x", []bpf.RawInstruction{r(clsRet|0x08, 0, 0, 0)}, 0},
		{"div by constant zero", []bpf.RawInstruction{r(clsALU|opDiv, 0, 0, 0), ret}, 0},
		{"mod by constant zero", []bpf.RawInstruction{r(clsALU|opMod, 0, 0, 0), ret}, 0},
		{"shift by 32", []bpf.RawInstruction{r(clsALU|opLsh, 0, 0, 32), ret}, 0},
		{"scratch index", []bpf.RawInstruction{r(clsSt, 0, 0, 16), ret}, 0},
		{"ldx scratch index", []bpf.RawInstruction{r(clsLdx|mdMem, 0, 0, 16), ret}, 0},
		{"uninitialised scratch", []bpf.RawInstruction{r(clsLd|mdMem, 0, 0, 3), ret}, 0},
		{"scratch written on one path only", []bpf.RawInstruction{
			r(clsJmp|jmpJeq, 1, 0, 0), r(clsSt, 0, 0, 2), r(clsLd|mdMem, 0, 0, 2), ret}, 2},
		{"no final return", []bpf.RawInstruction{ret, r(clsLd|mdImm, 0, 0, 0)}, 1},
		{"unknown ancillary", []bpf.RawInstruction{r(clsLd|szW|mdAbs, 0, 0, uint32(0xfffff000+64)), ret}, 0},
		{"misaligned ancillary", []bpf.RawInstruction{r(clsLd|szW|mdAbs, 0, 0, uint32(0xfffff000+2)), ret}, 0},
	}
	for _, c := range cases {
		_, err := TranslateRaw(c.prog)
		var e *Error
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) {
			t.Errorf("%s: got %v, want *Error wrapping ErrInvalid", c.name, err)
			continue
		}
		if e.Index != c.index {
			t.Errorf("%s: error names instruction %d, want %d: %v", c.name, e.Index, c.index, err)
		}
		if testing.Verbose() {
			t.Logf("%s: %v", c.name, err)
		}
	}
	// The kernel agrees that each is invalid.
	if !haveKernel(t) {
		return
	}
	for _, c := range cases {
		if err := kernelAccepts(t, c.prog); !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOMEM) {
			t.Errorf("%s: kernel SO_ATTACH_FILTER gives %v, want EINVAL", c.name, err)
		}
	}
}

func TestTranslateAssembleError(t *testing.T) {
	_, err := Translate([]bpf.Instruction{bpf.LoadAbsolute{Off: 0, Size: 3}, bpf.RetA{}})
	var e *Error
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) || e.Index != 0 {
		t.Fatalf("got %v, want ErrInvalid at 0", err)
	}
	_, err = Translate([]bpf.Instruction{bpf.RetA{}, nil})
	if !errors.As(err, &e) || e.Index != 1 {
		t.Fatalf("nil instruction: got %v", err)
	}
}

func TestSpec(t *testing.T) {
	raw := raw(tcpdumpFilters[0].insns)
	spec, err := SpecRaw("dns", raw)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Type != prog.SocketFilter || spec.Name != "dns" {
		t.Fatalf("spec %+v", spec)
	}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	// The translation starts by saving the context; this filter writes
	// A and X before reading them, so they need no clearing. Every LD_ABS
	// of the classic program stays an LD_ABS.
	is := spec.Instructions
	if is[0] != insn.Mov.Reg(insn.R6, insn.R1) || is[1] != insn.LoadAbs(12, insn.H).WithLabel(is[1].Label) {
		t.Errorf("prologue %v; %v", is[0], is[1])
	}
	abs := 0
	for _, i := range is {
		if i.OpCode.Class() == insn.ClassLd && i.OpCode.Mode() == insn.ModeAbs {
			abs++
		}
	}
	if abs != 4 { // ldh [12], ldb [23], ldh [20], ldxb msh [14]
		t.Errorf("%d LD_ABS, want 4:\n%s", abs, is)
	}
}

// TestJumpBoundaries compares every conditional jump, with a constant and
// with X, at and around equality and at the signed/unsigned boundary,
// with both branch layouts the translation distinguishes.
func TestJumpBoundaries(t *testing.T) {
	kernel := haveKernel(t)
	conds := []bpf.JumpTest{bpf.JumpEqual, bpf.JumpNotEqual, bpf.JumpGreaterThan, bpf.JumpLessThan, bpf.JumpGreaterOrEqual, bpf.JumpLessOrEqual, bpf.JumpBitsSet, bpf.JumpBitsNotSet}
	consts := []uint32{0, 1, 5, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff}
	pkt := make([]byte, 20)
	for _, cond := range conds {
		for _, k := range consts {
			for _, skips := range [][2]uint8{{0, 1}, {1, 0}, {1, 2}, {2, 1}} {
				for _, useX := range []bool{false, true} {
					var jump bpf.Instruction = bpf.JumpIf{Cond: cond, Val: k, SkipTrue: skips[0], SkipFalse: skips[1]}
					if useX {
						jump = bpf.JumpIfX{Cond: cond, SkipTrue: skips[0], SkipFalse: skips[1]}
					}
					var ins []bpf.Instruction
					for _, a := range []uint32{k - 1, k, k + 1} {
						ins = append(ins[:0],
							bpf.LoadConstant{Dst: bpf.RegA, Val: a},
							bpf.LoadConstant{Dst: bpf.RegX, Val: k},
							jump,
							bpf.RetConstant{Val: 10},
							bpf.RetConstant{Val: 11},
							bpf.RetConstant{Val: 12},
						)
						differential(t, kernel, fmt.Sprintf("%v with A=%#x", jump, a), ins, [][]byte{pkt})
					}
				}
			}
		}
	}
}

func TestLiveness(t *testing.T) {
	type reg struct{ a, x bool }
	cases := []struct {
		name string
		prog []bpf.Instruction
		want reg // live at entry
	}{
		{"ret k", []bpf.Instruction{bpf.RetConstant{Val: 1}}, reg{}},
		{"ret a", []bpf.Instruction{bpf.RetA{}}, reg{a: true}},
		{"ld then ret a", []bpf.Instruction{bpf.LoadAbsolute{Off: 1, Size: 1}, bpf.RetA{}}, reg{}},
		{"ind reads x", []bpf.Instruction{bpf.LoadIndirect{Off: 1, Size: 1}, bpf.RetA{}}, reg{x: true}},
		{"msh writes x", []bpf.Instruction{bpf.LoadMemShift{Off: 1}, bpf.LoadIndirect{Off: 1, Size: 1}, bpf.RetA{}}, reg{}},
		{"tax", []bpf.Instruction{bpf.TAX{}, bpf.RetConstant{}}, reg{a: true}},
		{"txa", []bpf.Instruction{bpf.TXA{}, bpf.RetA{}}, reg{x: true}},
		{"xor x", []bpf.Instruction{bpf.LoadExtension{Num: adALUXorX}, bpf.RetA{}}, reg{a: true, x: true}},
		{"one branch reads", []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegX, Val: 1}, bpf.JumpIfX{Cond: bpf.JumpEqual, SkipTrue: 1}, bpf.RetConstant{}, bpf.RetA{}}, reg{a: true}},
		{"stx", []bpf.Instruction{bpf.StoreScratch{Src: bpf.RegX, N: 0}, bpf.RetConstant{}}, reg{x: true}},
		{"alu x", []bpf.Instruction{bpf.LoadConstant{Val: 1}, bpf.ALUOpX{Op: bpf.ALUOpAdd}, bpf.RetA{}}, reg{x: true}},
		{"neg", []bpf.Instruction{bpf.NegateA{}, bpf.RetConstant{}}, reg{a: true}},
	}
	for _, c := range cases {
		raw, err := bpf.Assemble(c.prog)
		if err != nil {
			t.Fatal(err)
		}
		if got := (reg{liveIn(raw, false)[0], liveIn(raw, true)[0]}); got != c.want {
			t.Errorf("%s: live at entry %+v, want %+v", c.name, got, c.want)
		}
	}
}
