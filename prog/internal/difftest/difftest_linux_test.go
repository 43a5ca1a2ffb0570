//go:build linux

package difftest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/conformance"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// How results leave the kernel: BPF_PROG_TEST_RUN reports only 32 bits
// of r0, so every program here ends in an epilogue that stores r0..r9 and
// the 64-byte test stack area into the 144-byte value of an array map
// "out", which the test reads back. The program runs as a socket filter,
// a type TEST_RUN supports; the body never touches the context. interp
// runs the very same spec as a socket filter and its "out" map is
// compared byte for byte.

const (
	stackArea = 64                    // fp-64 .. fp-1: the body's stack
	regsOff   = -(stackArea + 10*8)   // fp-144: r0..r9 are saved here
	keyOff    = regsOff - 8           // fp-152: the map key (0)
	outSize   = 10*8 + stackArea      // value: regs then the stack area
	epilogue  = "__difftest_epilogue" // label of the epilogue
	bodyLabel = "__difftest_body"     // label of the body's start
)

// withEpilogue returns body followed by the epilogue that saves the
// registers and stack area into map "out". Every exit of the main program
// (instructions before firstSub) becomes a jump to the epilogue.
//
// With allRegs false only r0 is saved (r1..r9 are stored as zero): the
// conformance programs may leave pointers, such as a copy of r10, in
// other registers, and addresses legitimately differ between the kernel
// and interp.
func withEpilogue(name string, body insn.Instructions, firstSub int, allRegs bool) *prog.Spec {
	is := make(insn.Instructions, 0, len(body)+20)
	for k, i := range body {
		if i.IsExit() && k < firstSub {
			j := insn.Ja(epilogue)
			j.Label = i.Label
			i = j
		}
		is = append(is, i)
	}
	// The epilogue sits before the body: the verifier wants every jump to
	// stay inside its subprogram, so it must belong to the main program,
	// and placing it in front leaves the offsets between the main program
	// and its subprograms untouched. The prologue jumps over it; the
	// body's exits jump back to it.
	ep := insn.Instructions{}
	for r := insn.R0; r <= insn.R9; r++ {
		if allRegs || r == insn.R0 {
			ep = append(ep, insn.StoreMem(insn.RFP, int16(regsOff+8*int(r)), r, insn.DW))
		} else {
			ep = append(ep, insn.StoreImm(insn.RFP, int16(regsOff+8*int(r)), 0, insn.DW))
		}
	}
	ep[0] = ep[0].WithLabel(epilogue)
	ep = append(ep,
		insn.StoreImm(insn.RFP, keyOff, 0, insn.W),
		insn.LoadMapPtr(insn.R1, "out"),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, keyOff),
		insn.Mov.Reg(insn.R3, insn.RFP),
		insn.Add.Imm(insn.R3, regsOff),
		insn.Mov.Imm(insn.R4, 0),
		insn.FnMapUpdateElem.Call(),
		insn.Mov.Imm(insn.R0, 0),
		insn.Exit(),
	)
	// The stack area and registers must be initialised for the verifier
	// and so that both sides start alike.
	pro := insn.Instructions{}
	for r := insn.R0; r <= insn.R9; r++ {
		pro = append(pro, insn.Mov.Imm(r, 0))
	}
	for off := -stackArea; off < 0; off += 8 {
		pro = append(pro, insn.StoreImm(insn.RFP, int16(off), 0, insn.DW))
	}
	all := append(pro, insn.Ja(bodyLabel))
	all = append(all, ep...)
	all = append(all, insn.Add.Imm(insn.R0, 0).WithLabel(bodyLabel)) // no-op
	all = append(all, is...)
	return &prog.Spec{
		// Conformance test names have '-', which kernel object names may not.
		Name: strings.ReplaceAll(name, "-", "_"), Type: prog.SocketFilter, License: "GPL", Instructions: all,
		Maps: []*prog.MapSpec{{Name: "out", Type: prog.Array, KeySize: 4, ValueSize: outSize, MaxEntries: 1}},
	}
}

var errRejected = errors.New("kernel verifier rejected the program")

// runKernel loads spec and runs it once, returning the "out" value.
func runKernel(spec *prog.Spec) ([]byte, error) {
	p, err := prog.NewProgram(spec, nil)
	if err != nil {
		var ve *prog.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("%w: %v", errRejected, err)
		}
		return nil, err
	}
	defer p.Close()
	res, err := p.Run(&prog.RunOptions{Data: make([]byte, 64)})
	if err != nil {
		return nil, err
	}
	if res.Retval != 0 {
		return nil, fmt.Errorf("kernel run returned %d, want 0 from the epilogue", res.Retval)
	}
	out := make([]byte, outSize)
	if err := p.Map("out").Lookup(uint32(0), out); err != nil {
		return nil, err
	}
	return out, nil
}

// compare runs spec in the kernel, interp and jit through package
// bpftest and reports any difference in the verdict or the "out" map. It
// returns errRejected (wrapped) when the kernel refuses the program.
func compare(t *testing.T, spec *prog.Spec) error {
	t.Helper()
	h, err := bpftest.NewProgram(spec, &bpftest.Options{Kernel: bpftest.KernelRequired})
	if err != nil {
		var ve *prog.VerifierError
		if errors.As(err, &ve) {
			return fmt.Errorf("%w: %v", errRejected, err)
		}
		if strings.Contains(err.Error(), "the kernel cannot load") {
			return err
		}
		t.Errorf("%s: the kernel loads it, userspace does not: %v\n%s", spec.Name, err, spec.Instructions)
		return nil
	}
	defer h.Close()
	res, err := h.Run(bpftest.PacketInput(make([]byte, 64)))
	if err != nil {
		return err
	}
	if !res.OK() {
		var outs []string
		for _, e := range res.Engines {
			out := make([]byte, outSize)
			h.Map(e, "out").Lookup(uint32(0), out)
			outs = append(outs, describe(e.String(), out))
		}
		t.Errorf("%s: the engines differ: %s\n%s\nprogram:\n%s", spec.Name, res, strings.Join(outs, "\n"), spec.Instructions)
	}
	for _, o := range res.Outcomes[0] {
		if o.Err != nil || o.Ret != 0 {
			t.Errorf("%s: %s: %v, want 0 from the epilogue", spec.Name, o.Engine, o)
		}
	}
	return nil
}

func describe(who string, out []byte) string {
	s := who + ":"
	for r := 0; r < 10; r++ {
		s += fmt.Sprintf(" r%d=%#x", r, binary.LittleEndian.Uint64(out[8*r:]))
	}
	return s + fmt.Sprintf(" stack=%x", out[80:])
}

// eligible reports whether a conformance program can run in the harness
// and, if so, where its first subprogram starts. Programs that need their
// memory (r1 is the socket filter context here), call helpers or use
// callx are left out; the kernel verifier is the judge of the rest.
func eligible(tc conformance.Test, is insn.Instructions) (int, string) {
	if len(tc.Memory) > 0 {
		return 0, "uses memory"
	}
	firstSub := len(is)
	offs := is.SlotOffsets()
	slotToIdx := map[int]int{}
	for k, o := range offs {
		slotToIdx[o] = k
	}
	for k, i := range is {
		switch {
		case i.IsHelperCall(), i.IsKfuncCall():
			return 0, "calls a helper"
		case i.OpCode.Class() == insn.ClassJmp && i.OpCode.Code() == 0x80 && i.OpCode.Source() == insn.SourceX:
			return 0, "uses callx"
		case i.IsLocalCall():
			target := offs[k] + 1 + int(int32(i.Imm))
			if idx, ok := slotToIdx[target]; ok && idx < firstSub {
				firstSub = idx
			}
		case i.OpCode.Class() == insn.ClassLd && !i.IsLoadImm64():
			return 0, "uses LD_ABS/LD_IND"
		case i.IsLoadImm64() && i.Src != 0:
			return 0, "loads a pseudo constant"
		}
	}
	return firstSub, ""
}

func TestConformanceKernelVsInterp(t *testing.T) {
	testenv.RequireRoot(t)
	tests := conformance.Require(t)
	var ran, rejected, skipped, wrongExpect int
	for _, tc := range tests {
		is, err := insn.Unmarshal(tc.Program)
		if err != nil {
			skipped++
			continue
		}
		firstSub, why := eligible(tc, is)
		if why != "" {
			skipped++
			continue
		}
		spec := withEpilogue(tc.Name, is, firstSub, false)
		err = compare(t, spec)
		switch {
		case errors.Is(err, errRejected):
			rejected++
			t.Logf("%s: %v", tc.Name, err)
			if tc.Name == "call_local" || tc.Name == "rfc9669_call_local" {
				t.Errorf("%s should verify; the harness broke it", tc.Name)
			}
			continue
		case err != nil:
			t.Errorf("%s: kernel: %v", tc.Name, err)
			continue
		}
		ran++
		// The suite's expectation, where r0 is the program's own result
		// (the prologue zeroes r1 and r2, which the suite sets to memory
		// and length; tests reading them differ legitimately).
		kern, _ := runKernel(spec)
		if got := binary.LittleEndian.Uint64(kern); got != tc.Result {
			wrongExpect++
			t.Logf("%s: kernel r0 = %#x, suite expects %#x (the program reads r1/r2 or differs from the suite)", tc.Name, got, tc.Result)
		}
	}
	t.Logf("conformance: %d run on both sides, %d rejected by the verifier, %d not eligible, %d differ from the suite's expectation", ran, rejected, skipped, wrongExpect)
	if ran < 100 {
		t.Errorf("only %d conformance programs ran in the kernel; the harness is probably broken", ran)
	}
}

// gen generates random verifiable programs: ALU and ALU32 with immediates
// and registers (including the v4 signed division, modulo, sign-extending
// moves and bswap), JMP and JMP32 forward branches, gotol, stack loads
// (also sign-extending) and stores of every size, and atomics on the
// stack. Registers r0..r9 start with random 64-bit constants. The v4
// forms are generated only when v4 is set: the test sets it from
// prog.HaveV4ISA, since kernels before Linux 6.6 reject them.
type gen struct {
	r  *rand.Rand
	is insn.Instructions
	n  int  // labels made
	v4 bool // emit cpu v4 instructions (sdiv, smod, movsx, ldsx, bswap, gotol)
}

func (g *gen) reg() insn.Register { return insn.Register(g.r.IntN(10)) }

func (g *gen) imm() int32 {
	switch g.r.IntN(4) {
	case 0:
		return int32(g.r.IntN(17)) - 8
	case 1:
		return []int32{0, 1, -1, 0x7fffffff, -0x80000000, 31, 32, 63, 64}[g.r.IntN(9)]
	}
	return int32(g.r.Uint32())
}

func (g *gen) value() int64 {
	switch g.r.IntN(3) {
	case 0:
		return []int64{0, 1, -1, -1 << 63, 1<<63 - 1, 0xffffffff, 0x80000000, 0x7fffffff}[g.r.IntN(8)]
	case 1:
		return int64(g.r.IntN(200)) - 100
	}
	return int64(g.r.Uint64())
}

var aluOps = []insn.ALUOp{insn.Add, insn.Sub, insn.Mul, insn.Div, insn.SDiv, insn.Or, insn.And, insn.LSh, insn.RSh, insn.Mod, insn.SMod, insn.Xor, insn.Mov, insn.ArSh}

// preV4ALU maps the v4 ALU operations to the nearest older ones.
var preV4ALU = map[insn.ALUOp]insn.ALUOp{insn.SDiv: insn.Div, insn.SMod: insn.Mod}
var jmpOps = []insn.JumpOp{insn.JEq, insn.JGT, insn.JGE, insn.JSet, insn.JNE, insn.JSGT, insn.JSGE, insn.JLT, insn.JLE, insn.JSLT, insn.JSLE}
var sizes = []insn.Size{insn.B, insn.H, insn.W, insn.DW}
var atomics = []insn.AtomicOp{insn.AtomicAdd, insn.AtomicOr, insn.AtomicAnd, insn.AtomicXor, insn.AtomicFetchAdd, insn.AtomicFetchOr, insn.AtomicFetchAnd, insn.AtomicFetchXor, insn.AtomicXchg, insn.AtomicCmpXchg}

func (g *gen) stackOff(size insn.Size) int16 {
	b := size.Bytes()
	slots := stackArea / b
	return int16(-stackArea + b*g.r.IntN(slots))
}

func (g *gen) one() {
	r := g.r
	dst, src := g.reg(), g.reg()
	wide := r.IntN(2) == 0
	switch k := r.IntN(20); {
	case k < 9: // ALU
		op := aluOps[r.IntN(len(aluOps))]
		if old, ok := preV4ALU[op]; ok && !g.v4 {
			op = old
		}
		width := int32(32)
		if wide {
			width = 64
		}
		if r.IntN(2) == 0 {
			imm := g.imm()
			switch op {
			case insn.LSh, insn.RSh, insn.ArSh:
				imm = int32(uint32(imm) % uint32(width)) // the verifier rejects larger shifts
			case insn.Div, insn.SDiv, insn.Mod, insn.SMod:
				if imm == 0 {
					imm = 3 // and division by a zero immediate
				}
			}
			if wide {
				g.emit(op.Imm(dst, imm))
			} else {
				g.emit(op.Imm32(dst, imm))
			}
		} else if wide {
			g.emit(op.Reg(dst, src))
		} else {
			g.emit(op.Reg32(dst, src))
		}
	case k < 10: // sign-extending moves, negation, byte swaps
		c := r.IntN(6)
		if !g.v4 && (c <= 1 || c == 3) {
			c = 2 + 2*r.IntN(2) // Neg or ToBE: v4 adds movsx and bswap
		}
		switch c {
		case 0:
			g.emit([]insn.ALUOp{insn.MovSX8, insn.MovSX16, insn.MovSX32}[r.IntN(3)].Reg(dst, src))
		case 1:
			g.emit([]insn.ALUOp{insn.MovSX8, insn.MovSX16}[r.IntN(2)].Reg32(dst, src))
		case 2:
			if wide {
				g.emit(insn.Neg(dst))
			} else {
				g.emit(insn.Neg32(dst))
			}
		case 3:
			g.emit(insn.BSwap(dst, []int32{16, 32, 64}[r.IntN(3)]))
		case 4:
			g.emit(insn.ToBE(dst, []int32{16, 32, 64}[r.IntN(3)]))
		case 5:
			g.emit(insn.ToLE(dst, []int32{16, 32, 64}[r.IntN(3)]))
		}
	case k < 11:
		g.emit(insn.LoadImm64(dst, g.value()))
	case k < 14: // forward branch over 1..3 generated instructions
		op := jmpOps[r.IntN(len(jmpOps))]
		label := fmt.Sprintf("L%d", g.n)
		g.n++
		var j insn.Instruction
		switch r.IntN(4) {
		case 0:
			j = op.Imm(dst, g.imm(), label)
		case 1:
			j = op.Reg(dst, src, label)
		case 2:
			j = op.Imm32(dst, g.imm(), label)
		default:
			j = op.Reg32(dst, src, label)
		}
		body := 1 + r.IntN(3)
		if g.v4 && r.IntN(8) == 0 {
			// An unconditional jump over code would leave it unreachable,
			// which the verifier rejects: gotol jumps to the next slot.
			j, body = insn.Gotol(label), 0
		}
		g.emit(j)
		for ; body > 0; body-- {
			g.one()
		}
		g.emit(insn.Add.Imm(insn.R0, 0).WithLabel(label)) // a no-op landing pad
	case k < 16: // store
		size := sizes[r.IntN(4)]
		if r.IntN(3) == 0 {
			g.emit(insn.StoreImm(insn.RFP, g.stackOff(size), g.imm(), size))
		} else {
			g.emit(insn.StoreMem(insn.RFP, g.stackOff(size), src, size))
		}
	case k < 18: // load
		size := sizes[r.IntN(4)]
		if g.v4 && size != insn.DW && r.IntN(2) == 0 {
			g.emit(insn.LoadMemSX(dst, insn.RFP, g.stackOff(size), size))
		} else {
			g.emit(insn.LoadMem(dst, insn.RFP, g.stackOff(size), size))
		}
	default: // atomic
		size := []insn.Size{insn.W, insn.DW}[r.IntN(2)]
		g.emit(insn.Atomic(atomics[r.IntN(len(atomics))], size, insn.RFP, g.stackOff(size), src))
	}
}

func (g *gen) emit(i insn.Instruction) { g.is = append(g.is, i) }

func (g *gen) program(n int) insn.Instructions {
	g.is = nil
	for r := insn.R0; r <= insn.R9; r++ {
		g.emit(insn.LoadImm64(r, g.value()))
	}
	for off := -stackArea; off < 0; off += 8 {
		g.emit(insn.StoreMem(insn.RFP, int16(off), insn.Register(g.r.IntN(10)), insn.DW))
	}
	for len(g.is) < n {
		g.one()
	}
	g.emit(insn.Exit())
	return g.is
}

func TestRandomProgramsKernelVsInterp(t *testing.T) {
	testenv.RequireRoot(t)
	const programs = 1000
	seed := uint64(0x5eed)
	// PUREBPF_DIFF_SEED explores other programs; failures print the seed.
	if v := os.Getenv("PUREBPF_DIFF_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 0, 64)
		if err != nil {
			t.Fatalf("PUREBPF_DIFF_SEED=%q: %v", v, err)
		}
		seed = s
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), v4: haveV4(t)}
	rejected := 0
	for n := 0; n < programs; n++ {
		body := g.program(20 + g.r.IntN(60))
		spec := withEpilogue(fmt.Sprintf("rand%d", n), body, len(body), true)
		if err := spec.Validate(); err != nil {
			t.Fatalf("generator made an invalid program %d: %v\n%s", n, err, body)
		}
		err := compare(t, spec)
		if errors.Is(err, errRejected) {
			rejected++
			if rejected <= 3 {
				t.Logf("program %d rejected: %v", n, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("program %d (seed %#x): %v", n, seed, err)
		}
	}
	t.Logf("random programs: %d compared, %d rejected by the verifier (seed %#x, v4 instructions %v)", programs-rejected, rejected, seed, g.v4)
	if rejected > programs/10 {
		t.Errorf("%d of %d generated programs were rejected; the generator should make verifiable programs", rejected, programs)
	}
}

// TestMapperKernelVsUserspace fills a kernel map and an interp userspace
// map alike and checks both through the same Mapper-based helper,
// including prog.NewIterator, which is written once over Mapper.
func TestMapperKernelVsUserspace(t *testing.T) {
	testenv.RequireRoot(t)
	for _, mt := range []prog.MapType{prog.Hash, prog.Array, prog.LRUHash, prog.PerCPUHash, prog.PerCPUArray} {
		spec := prog.MapSpec{Name: "m", Type: mt, KeySize: 4, ValueSize: 8, MaxEntries: 8}
		if mt == prog.LRUHash {
			// The kernel's LRU may evict before the map is full (free
			// elements sit on per-CPU lists): with max_entries 8 on
			// this 2-CPU machine only 6 of 8 inserts survive. Leave room.
			spec.MaxEntries = 256
		}
		km, err := prog.NewMap(&spec)
		if err != nil {
			t.Fatal(err)
		}
		cpus, err := prog.PossibleCPUs()
		if err != nil {
			t.Fatal(err)
		}
		um, err := maps.New(spec, &maps.Options{CPUs: cpus})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []prog.Mapper{km, um} {
			fill(t, m, cpus)
		}
		k, u := dump(t, km, cpus), dump(t, um, cpus)
		if fmt.Sprint(k) != fmt.Sprint(u) {
			t.Errorf("%s: kernel map %v, userspace map %v", mt, k, u)
		}
		if len(k) != 8 {
			t.Errorf("%s: %d entries, want 8", mt, len(k))
		}
		km.Close()
	}
}

// fill stores key*3+cpu for keys 0..7 (per-CPU maps: one value per CPU).
func fill(t *testing.T, m prog.Mapper, cpus int) {
	t.Helper()
	for key := uint32(0); key < 8; key++ {
		var err error
		if m.MapSpec().Type.PerCPU() {
			vals := make([]uint64, cpus)
			for c := range vals {
				vals[c] = uint64(key)*3 + uint64(c)
			}
			err = m.Update(key, vals, prog.UpdateAny)
		} else {
			err = m.Update(key, uint64(key)*3, prog.UpdateAny)
		}
		if err != nil {
			t.Fatalf("%T update %d: %v", m, key, err)
		}
	}
	if err := m.Update(uint32(99), uint64(1), prog.UpdateExist); err == nil {
		t.Errorf("%T: UpdateExist beyond the map accepted", m)
	}
}

// dump reads every entry with prog.NewIterator, sorted by key.
func dump(t *testing.T, m prog.Mapper, cpus int) map[uint32][]uint64 {
	t.Helper()
	out := map[uint32][]uint64{}
	it := prog.NewIterator(m)
	var k uint32
	perCPU := m.MapSpec().Type.PerCPU()
	n := 1
	if perCPU {
		n = cpus
	}
	v := make([]uint64, n)
	var err error
	for {
		var ok bool
		if perCPU { // a slice of one value per CPU, even with one CPU
			ok = it.Next(&k, v)
		} else {
			ok = it.Next(&k, &v[0])
		}
		if !ok {
			err = it.Err()
			break
		}
		out[k] = append([]uint64(nil), v...)
	}
	if err != nil {
		t.Fatalf("%T: %v", m, err)
	}
	return out
}

// haveV4 reports whether the kernel accepts the cpu v4 instructions
// (Linux 6.6), failing the test when the probe cannot decide.
func haveV4(t *testing.T) bool {
	t.Helper()
	err := prog.HaveV4ISA()
	if err != nil && !errors.Is(err, prog.ErrNotSupported) {
		t.Fatalf("probe v4 instructions: %v", err)
	}
	return err == nil
}
