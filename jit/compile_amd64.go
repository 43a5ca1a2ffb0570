//go:build amd64 && unix

package jit

import (
	"fmt"
	"unsafe"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	. "github.com/purebpf/purebpf/jit/internal/amd64"
)

// bpfReg is where each BPF register lives while generated code runs. The
// trampoline (trampoline_amd64.s) loads and stores the same assignment.
var bpfReg = [11]Reg{RAX, RDI, RSI, RBX, R8, R9, R12, R13, R14, R15, RBP}

// Fixed roles of the remaining x86 registers.
const (
	regState  = R10 // *state
	regBudget = RDX // remaining instruction budget
	tmp1      = RCX // scratch; shift counts
	tmp2      = R11 // scratch; checked addresses
)

// compileOptions selects what the code generator emits.
type compileOptions struct {
	unchecked bool // no region checks on loads, stores and atomics
	noBudget  bool // no instruction budget at backward jumps and calls
	// mapHandle resolves an LD_IMM64 map reference (src 1 or 5) to the
	// value the program sees; nil rejects them.
	mapHandle func(i insn.Instruction) (uint64, error)
	// mapStorage returns what an LD_IMM64 map value load (src 2 or 6)
	// grants, when the code may resolve it itself (fastpath_amd64.go);
	// nil or false leaves every such load to Go.
	mapStorage func(i insn.Instruction) (mapStorage, bool)
	// arrays are the array maps whose lookups the code makes itself.
	arrays []arrayMap
	// facts says which accesses need no region check (valuefacts.go).
	facts valueFacts
	// stackDepth is how many bytes below r10 the main frame's region
	// reaches (engine.StackReach).
	stackDepth int
	// hashes are the hash maps whose lookups the code makes itself
	// (fastpath_hash_amd64.go).
	hashes []hashMap
}

// compiled is the output of the code generator.
type compiled struct {
	code []byte
	// slotAt maps code offsets of instruction starts to slots, for
	// disassembly listings.
	starts []int // code offset of each slot's first byte, -1 for lddw's second slot
	// mapValues lists LD_IMM64 map value loads (src 2 and 6): the code
	// reads their address from state at run time.
	mapValues []mapValueRef
	// storages are the memory the fast paths put in the region tables
	// (fastpath_amd64.go): run.flush finds the Env's region for a table
	// entry in them.
	storages [][]byte
	// lookups[s] says that the access checks the code left out rest on
	// the map_lookup_elem call at slot s being the engine's own (see
	// valueFacts).
	lookups []bool
}

type mapValueRef struct {
	slot int
	ins  insn.Instruction
}

type compiler struct {
	a     Asm
	is    insn.Instructions
	slots []int   // first slot of each instruction
	at    []int   // instruction index of each slot, -1 inside lddw
	lbl   []Label // label of each slot
	opts  compileOptions
	stubs []func()

	startLbl Label // the first byte of the code
	exitLbl  Label // exit instruction: return from a call or finish
	doneLbl  Label // finish with r0 as the result
	depthLbl Label // call depth exceeded, pc already stored
	abortLbl Label // LD_ABS/LD_IND out of the packet: end with r0 = 0
	search   [2][4]Label
	used     [2][4]bool
	nsites   [2]int // checked load and store sites so far (addr)
	out      compiled

	// subStart is the first slot of the callee region: the slots from
	// the lowest bpf-to-bpf call target on (len(at) without calls).
	// blockCharge[s] is what the basic block starting at callee-region
	// slot s charges when it is entered (see blocks).
	subStart    int
	blockCharge []int
	// cur is the slot of the instruction being compiled.
	cur int
}

// compile translates a validated, resolved program into machine code.
func compile(is insn.Instructions, opts compileOptions) (*compiled, error) {
	c := &compiler{is: is, opts: opts}
	c.slots = is.SlotOffsets()
	n := is.Slots()
	c.at = make([]int, n)
	for k := range c.at {
		c.at[k] = -1
	}
	for k, s := range c.slots {
		c.at[s] = k
	}
	c.lbl = make([]Label, n)
	for k := range c.lbl {
		c.lbl[k] = c.a.NewLabel()
	}
	c.startLbl = c.a.NewLabel()
	c.a.Bind(c.startLbl)
	c.exitLbl = c.a.NewLabel()
	c.doneLbl = c.a.NewLabel()
	c.depthLbl = c.a.NewLabel()
	c.abortLbl = c.a.NewLabel()
	for w := range c.search {
		for k := range c.search[w] {
			c.search[w][k] = c.a.NewLabel()
		}
	}
	c.out.starts = make([]int, n)
	for k := range c.out.starts {
		c.out.starts[k] = -1
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: empty program", ErrCompile)
	}
	last := is[len(is)-1]
	if !last.IsExit() && !(last.OpCode == insn.OpJa || last.OpCode == insn.OpGotol) {
		return nil, &CompileError{Slot: c.slots[len(is)-1], Err: fmt.Errorf("%w: the last instruction must be exit or an unconditional jump", ErrCompile)}
	}
	for _, m := range opts.arrays {
		c.out.storages = append(c.out.storages, m.storage)
	}
	if opts.facts.n > 0 {
		c.out.lookups = opts.facts.lookups
	}
	c.blocks()
	for k, i := range is {
		s := c.slots[k]
		c.cur = s
		c.a.Bind(c.lbl[s])
		c.out.starts[s] = c.a.Len()
		if n := c.blockCharge[s]; n > 0 {
			c.charge(s, n)
		}
		if err := c.insn(s, i); err != nil {
			return nil, &CompileError{Slot: s, Err: err}
		}
	}
	c.tail()
	if err := c.a.Finish(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCompile, err)
	}
	c.out.code = c.a.Buf
	return &c.out, nil
}

// CompileError is an instruction the JIT cannot compile.
type CompileError struct {
	Slot int   // the instruction's first slot
	Err  error // wraps ErrCompile
}

func (e *CompileError) Error() string { return fmt.Sprintf("jit: slot %d: %v", e.Slot, e.Err) }

// Unwrap returns the cause.
func (e *CompileError) Unwrap() error { return e.Err }

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCompile}, args...)...)
}

func (c *compiler) target(s int, rel int64) (int, error) {
	t := int64(s) + 1 + rel
	if t < 0 || t >= int64(len(c.at)) || c.at[t] < 0 {
		return 0, unsupported("jump to slot %d is out of range or into lddw", t)
	}
	return int(t), nil
}

func width(is64 bool) Width {
	if is64 {
		return W64
	}
	return W32
}

func (c *compiler) insn(s int, i insn.Instruction) error {
	op := i.OpCode
	switch op.Class() {
	case insn.ClassALU, insn.ClassALU64:
		return c.alu(i)
	case insn.ClassJmp, insn.ClassJmp32:
		return c.jump(s, i)
	case insn.ClassLdX:
		return c.ldx(s, i)
	case insn.ClassSt:
		if op.Mode() != insn.ModeMem {
			return unsupported("opcode 0x%02x", uint8(op))
		}
		w := sizeWidth(op.Size())
		m := c.addr(s, i.Dst, i.Offset, op.Size(), true, false)
		c.a.StoreImm(w, m, int32(i.Imm))
		return nil
	case insn.ClassStX:
		switch op.Mode() {
		case insn.ModeMem:
			m := c.addr(s, i.Dst, i.Offset, op.Size(), true, false)
			c.a.Store(sizeWidth(op.Size()), m, bpfReg[i.Src])
			return nil
		case insn.ModeAtomic:
			return c.atomic(s, i)
		}
		return unsupported("opcode 0x%02x", uint8(op))
	case insn.ClassLd:
		return c.ld(s, i)
	}
	return unsupported("opcode 0x%02x", uint8(op))
}

func sizeWidth(sz insn.Size) Width {
	switch sz {
	case insn.B:
		return W8
	case insn.H:
		return W16
	case insn.W:
		return W32
	}
	return W64
}

var aluOps = map[insn.ALUOp]ALUOp{insn.Add: ADD, insn.Sub: SUB, insn.Or: OR, insn.And: AND, insn.Xor: XOR}

func (c *compiler) alu(i insn.Instruction) error {
	a := &c.a
	is64 := i.OpCode.Class() == insn.ClassALU64
	w := width(is64)
	x := i.OpCode.Source() == insn.SourceX
	dst := bpfReg[i.Dst]
	var src Reg
	if x {
		if i.Src > insn.R10 {
			return unsupported("src register %d", i.Src)
		}
		src = bpfReg[i.Src]
	}
	imm := int32(i.Imm)
	code := insn.ALUOp(i.OpCode.Code())
	switch code {
	case insn.Add, insn.Sub, insn.Or, insn.And, insn.Xor:
		if x {
			a.ALURR(w, aluOps[code], dst, src)
		} else {
			a.ALURI(w, aluOps[code], dst, imm)
		}
	case insn.Mul:
		if x {
			a.IMulRR(w, dst, src)
		} else {
			a.IMulRRI(w, dst, dst, imm)
		}
	case insn.Div, insn.Mod:
		c.divMod(w, i.Offset == 1, code == insn.Mod, dst, x, src, imm)
	case insn.LSh, insn.RSh, insn.ArSh:
		sh := map[insn.ALUOp]ShiftOp{insn.LSh: SHL, insn.RSh: SHR, insn.ArSh: SAR}[code]
		if x {
			// The processor masks CL to 6 bits (64-bit) or 5 bits (32-bit),
			// exactly the masking BPF specifies.
			a.MovRR(W32, tmp1, src)
			a.ShiftCL(w, sh, dst)
			if !is64 {
				// A 32-bit shift by zero leaves the register untouched on
				// some processors; make the zero extension explicit.
				a.MovRR(W32, dst, dst)
			}
		} else {
			n := uint8(imm) & uint8(w-1)
			if n != 0 {
				a.ShiftImm(w, sh, dst, n)
			} else if !is64 {
				a.MovRR(W32, dst, dst)
			}
		}
	case insn.ALUNeg:
		a.UnaryR(w, NEG, dst)
	case insn.Mov:
		switch {
		case !x && is64:
			a.MovImm(dst, int64(imm))
		case !x:
			a.MovImm(dst, int64(uint32(imm)))
		case i.Offset == 0 && is64:
			if dst != src {
				a.MovRR(W64, dst, src)
			}
		case i.Offset == 0:
			a.MovRR(W32, dst, src)
		case i.Offset == 8:
			a.Movsx(w, W8, dst, src)
		case i.Offset == 16:
			a.Movsx(w, W16, dst, src)
		case i.Offset == 32 && is64:
			a.Movsx(W64, W32, dst, src)
		default:
			return unsupported("movsx offset %d", i.Offset)
		}
	case insn.ALUEnd: // end, bswap
		toLE := !is64 && !x
		switch {
		case toLE && imm == 16:
			a.Movzx(W16, dst, dst)
		case toLE && imm == 32:
			a.MovRR(W32, dst, dst)
		case toLE && imm == 64:
		case imm == 16:
			a.ShiftImm(W16, ROL, dst, 8)
			a.Movzx(W16, dst, dst)
		case imm == 32:
			a.Bswap(W32, dst)
		case imm == 64:
			a.Bswap(W64, dst)
		default:
			return unsupported("byte swap width %d", imm)
		}
	default:
		return unsupported("ALU opcode 0x%02x", uint8(i.OpCode))
	}
	return nil
}

// divMod emits division or modulo with BPF's rules: x/0 = 0, x%0 = x
// (truncated to 32 bits for ALU32), INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0.
// x86 div uses rax and rdx, which hold r0 and the budget, so both are
// saved around it.
func (c *compiler) divMod(w Width, signed, mod bool, dst Reg, x bool, src Reg, imm int32) {
	a := &c.a
	done := a.NewLabel()
	if x {
		a.MovRR(W64, tmp2, src)
		zero := a.NewLabel()
		a.TestRR(w, tmp2, tmp2)
		a.Jcc(CondE, zero)
		c.stubs = append(c.stubs, func() {
			a.Bind(zero)
			if mod {
				if w == W32 {
					a.MovRR(W32, dst, dst)
				}
			} else {
				a.ALURR(W32, XOR, dst, dst)
			}
			a.Jmp(done)
		})
	} else {
		if (w == W32 && uint32(imm) == 0) || (w == W64 && imm == 0) {
			if mod {
				if w == W32 {
					a.MovRR(W32, dst, dst)
				}
			} else {
				a.ALURR(W32, XOR, dst, dst)
			}
			return
		}
		a.MovImm(tmp2, int64(imm))
	}
	if signed {
		// x86 idiv traps on INT_MIN / -1; BPF gives INT_MIN (that is,
		// -dst wrapping) and modulo 0. Any dst divided by -1 is -dst.
		minus := a.NewLabel()
		a.ALURI(w, CMP, tmp2, -1)
		a.Jcc(CondE, minus)
		c.stubs = append(c.stubs, func() {
			a.Bind(minus)
			if mod {
				a.ALURR(W32, XOR, dst, dst)
			} else {
				a.UnaryR(w, NEG, dst)
			}
			a.Jmp(done)
		})
	}
	a.Store(W64, M(regState, offTmp), regBudget)
	if dst != RAX {
		a.MovRR(W64, tmp1, RAX)
		a.MovRR(W64, RAX, dst)
	}
	if signed {
		a.Cqo(w)
		a.UnaryR(w, IDIV, tmp2)
	} else {
		a.ALURR(W32, XOR, RDX, RDX)
		a.UnaryR(w, DIV, tmp2)
	}
	res := RAX
	if mod {
		res = RDX
	}
	a.MovRR(w, tmp2, res)
	if dst != RAX {
		a.MovRR(W64, RAX, tmp1)
	}
	a.Load(W64, regBudget, M(regState, offTmp))
	a.MovRR(W64, dst, tmp2)
	a.Bind(done)
}

var jumpConds = map[insn.JumpOp]Cond{
	insn.JEq: CondE, insn.JNE: CondNE, insn.JGT: CondA, insn.JGE: CondAE,
	insn.JLT: CondB, insn.JLE: CondBE, insn.JSGT: CondG, insn.JSGE: CondGE,
	insn.JSLT: CondL, insn.JSLE: CondLE, insn.JSet: CondNE,
}

// charge emits budget accounting: n instructions are taken from the
// budget in rdx, and when it goes negative the code leaves to Go with
// exitBudget at slot s. The code holds only a slice of the run's budget
// at a time (see budgetSlice), so Go usually grants the next slice and
// resumes right after the check; only when the run's whole budget is
// spent does the run fail. Nothing but rdx is live at a charge.
func (c *compiler) charge(s int, n int) {
	if c.opts.noBudget {
		return
	}
	a := &c.a
	a.ALURI(W64, SUB, regBudget, int32(n))
	stub := a.NewLabel()
	resume := a.NewLabel()
	a.Jcc(CondS, stub)
	a.Bind(resume)
	c.stubs = append(c.stubs, func() {
		a.Bind(stub)
		a.StoreImm(W64, M(regState, offPC), int32(s))
		a.LeaRIP(tmp1, resume)
		a.Store(W64, M(regState, offEntry), tmp1)
		a.StoreImm(W64, M(regState, offExit), exitBudget)
		a.Ret()
	})
}

// chargeJump charges a jump from slot s to slot t if it goes backward
// into the main region, by the length of the loop it closes. Blocks of
// the callee region charge themselves when they are entered.
func (c *compiler) chargeJump(s, t int) {
	if t <= s && t < c.subStart {
		c.charge(s, s-t+1)
	}
}

// blocks finds the callee region and the charge of each of its basic
// blocks. The main region (slots before the first bpf-to-bpf call
// target) is charged at its backward jumps by the length of the loop they
// close, and at calls; code after a return into it runs forward only, so
// the loops and calls that lead to it bound it. A callee, though, can run
// its whole straight-line body per call, however long, so the callee
// region is charged exactly as interp counts: every basic block, when it
// is entered, by its number of instructions (its terminating jump, call
// or exit included). Leaders are jump and call targets, the slot after
// any jump, call or exit, and the start of the region.
func (c *compiler) blocks() {
	n := len(c.at)
	c.subStart = n
	leader := make([]bool, n+1)
	mark := func(t int64) {
		if t >= 0 && t < int64(n) {
			leader[t] = true
		}
	}
	for k, i := range c.is {
		s := int64(c.slots[k])
		if cl := i.OpCode.Class(); cl != insn.ClassJmp && cl != insn.ClassJmp32 {
			continue
		}
		mark(s + 1)
		switch {
		case i.OpCode == insn.OpGotol:
			mark(s + 1 + int64(int32(i.Imm)))
		case i.IsLocalCall():
			t := s + 1 + int64(int32(i.Imm))
			mark(t)
			if t >= 0 && t < int64(c.subStart) {
				c.subStart = int(t)
			}
		case insn.JumpOp(i.OpCode.Code()) == insn.JCall || i.IsExit():
		default: // ja, may_goto, conditional jumps
			mark(s + 1 + int64(i.Offset))
		}
	}
	leader[c.subStart] = true
	c.blockCharge = make([]int, n)
	if c.opts.noBudget {
		return
	}
	run := make([]int, n+1)
	for k := len(c.is) - 1; k >= 0; k-- {
		i := c.is[k]
		s := c.slots[k]
		if s < c.subStart {
			break
		}
		run[s] = 1
		if cl := i.OpCode.Class(); cl != insn.ClassJmp && cl != insn.ClassJmp32 {
			if next := s + int(i.Slots()); next < n && !leader[next] {
				run[s] += run[next]
			}
		}
		if leader[s] {
			c.blockCharge[s] = run[s]
		}
	}
}

func (c *compiler) jump(s int, i insn.Instruction) error {
	a := &c.a
	is32 := i.OpCode.Class() == insn.ClassJmp32
	w := width(!is32)
	jop := insn.JumpOp(i.OpCode.Code())
	x := i.OpCode.Source() == insn.SourceX
	switch jop {
	case insn.JA: // ja, gotol
		rel := int64(i.Offset)
		if is32 {
			rel = int64(int32(i.Imm))
		}
		t, err := c.target(s, rel)
		if err != nil {
			return err
		}
		c.chargeJump(s, t)
		a.Jmp(c.lbl[t])
		return nil
	case insn.JCall:
		if is32 {
			return unsupported("opcode 0x%02x", uint8(i.OpCode))
		}
		switch {
		case x:
			if i.Dst > insn.R10 {
				return unsupported("callx register %d", i.Dst)
			}
			a.Store(W64, M(regState, offArg), bpfReg[i.Dst])
			c.leave(s, exitCallX)
		case i.IsHelperCall():
			slow, done := a.NewLabel(), a.NewLabel()
			switch insn.HelperFunc(i.Imm) {
			case insn.FnMapLookupElem:
				if !c.opts.unchecked {
					c.lookupFast(slow, done)
				}
			case insn.FnMapUpdateElem:
				if !c.opts.unchecked {
					c.updateFast(slow, done)
				}
			}
			a.Bind(slow)
			a.StoreImm(W64, M(regState, offArg), int32(i.Imm))
			c.leave(s, exitHelper)
			a.Bind(done)
		case i.IsLocalCall():
			t, err := c.target(s, i.Imm)
			if err != nil {
				return err
			}
			c.localCall(s, t)
		default:
			return unsupported("calls of kernel functions (kfunc, BTF id %d) cannot run in userspace", i.Imm)
		}
		return nil
	case insn.JExit:
		// At depth 0 (the common case) finish right here; a return
		// from a call goes through the shared exit routine.
		a.Load(W64, tmp1, M(regState, offDepth))
		a.TestRR(W64, tmp1, tmp1)
		a.Jcc(CondNE, c.exitLbl)
		a.StoreImm(W64, M(regState, offExit), exitDone)
		a.Ret()
		return nil
	case insn.JCond: // may_goto
		t, err := c.target(s, int64(i.Offset))
		if err != nil {
			return err
		}
		c.chargeJump(s, t)
		a.Load(W64, tmp1, M(regState, offLoops))
		a.TestRR(W64, tmp1, tmp1)
		a.Jcc(CondE, c.lbl[t])
		a.ALURI(W64, SUB, tmp1, 1)
		a.Store(W64, M(regState, offLoops), tmp1)
		return nil
	}
	cond, ok := jumpConds[jop]
	if !ok {
		return unsupported("jump opcode 0x%02x", uint8(i.OpCode))
	}
	t, err := c.target(s, int64(i.Offset))
	if err != nil {
		return err
	}
	c.chargeJump(s, t)
	dst := bpfReg[i.Dst]
	switch {
	case jop == insn.JSet && x:
		a.TestRR(w, dst, bpfReg[i.Src])
	case jop == insn.JSet:
		a.MovImm(tmp1, int64(int32(i.Imm)))
		a.TestRR(w, dst, tmp1)
	case x:
		a.ALURR(w, CMP, dst, bpfReg[i.Src])
	default:
		a.ALURI(w, CMP, dst, int32(i.Imm))
	}
	a.Jcc(cond, c.lbl[t])
	return nil
}

// leave emits a return to Go with an exit reason, resuming after it.
func (c *compiler) leave(s int, reason int32) {
	a := &c.a
	resume := a.NewLabel()
	a.StoreImm(W64, M(regState, offExit), reason)
	a.StoreImm(W64, M(regState, offPC), int32(s))
	a.LeaRIP(tmp1, resume)
	a.Store(W64, M(regState, offEntry), tmp1)
	a.Ret()
	a.Bind(resume)
}

// localCall emits a bpf-to-bpf call: the caller's return address, r6-r10
// and may_goto allowance go to state.frames (not the native stack, so that
// the code can leave to Go and resume at any depth), r10 moves down one
// zeroed frame, and the stack region grows to include it.
func (c *compiler) localCall(s, t int) {
	a := &c.a
	ret := a.NewLabel()
	if s < c.subStart { // a callee's calls are part of its blocks' charge
		c.charge(s, 1)
	}
	a.Load(W64, tmp1, M(regState, offDepth))
	a.ALURI(W64, CMP, tmp1, maxCallFrames-1)
	stub := a.NewLabel()
	a.Jcc(CondAE, stub)
	c.stubs = append(c.stubs, func() {
		a.Bind(stub)
		a.StoreImm(W64, M(regState, offPC), int32(s))
		a.Jmp(c.depthLbl)
	})
	a.IMulRRI(W32, tmp2, tmp1, frameSize)
	a.ALURI(W64, ADD, tmp1, 1)
	a.Store(W64, M(regState, offDepth), tmp1)
	a.Lea(tmp2, MI(regState, tmp2, offFrames))
	for k, r := range []Reg{R12, R13, R14, R15, RBP} {
		a.Store(W64, M(tmp2, offFrameSaved+int32(8*k)), r)
	}
	a.Load(W64, tmp1, M(regState, offLoops))
	a.Store(W64, M(tmp2, offFrameLoops), tmp1)
	a.LeaRIP(tmp1, ret)
	a.Store(W64, M(tmp2, offFrameRet), tmp1)
	a.StoreImm(W64, M(regState, offLoops), maxLoops)
	a.ALURI(W64, SUB, RBP, stackSize)
	a.Lea(tmp1, M(RBP, -stackSize))
	a.Store(W64, M(regState, offStkLo), tmp1)
	// Zero the new frame, as interp does.
	a.MovImm(tmp1, -stackSize)
	loop := a.NewLabel()
	a.Bind(loop)
	a.StoreImm(W64, MI(RBP, tmp1, 0), 0)
	a.ALURI(W64, ADD, tmp1, 8)
	a.Jcc(CondNE, loop)
	a.Jmp(c.lbl[t])
	a.Bind(ret)
}

// addr returns the memory operand of an n-byte access at base+off, after
// emitting its region check in checked mode. Accesses through r10 at
// offsets inside the current frame need no check: the frame is always
// part of the stack region. atomic puts the address in r11 so that
// alignment can be tested.
//
// The check compares the address with one region: the one the site's
// slot (state.sites) names, the last region an access of the slot's
// sites was found in, whatever it was since (see state.sites for why a
// stale slot can only miss). A miss calls the search routine, which
// finds the region in the tables and points the slot at it, or leaves to
// Go.
func (c *compiler) addr(s int, base insn.Register, off int16, sz insn.Size, write, atomic bool) Mem {
	a := &c.a
	n := int16(sz.Bytes())
	if base == insn.R10 && off >= -stackSize && off <= -n && !atomic {
		return M(RBP, int32(off))
	}
	if s < len(c.opts.facts.proven) && c.opts.facts.proven[s] {
		// Inside a map value the run was granted (valuefacts.go).
		if !atomic {
			return M(bpfReg[base], int32(off))
		}
		a.Lea(tmp2, M(bpfReg[base], int32(off))) // for the alignment test
		return M(tmp2, 0)
	}
	m := M(bpfReg[base], int32(off))
	if c.opts.unchecked {
		if !atomic {
			return m
		}
		a.Lea(tmp2, m)
		return M(tmp2, 0)
	}
	k := engine.SizeIndex(sz) // log2 of the size
	wi := b2i(write)
	slot := offSites + 4*int32(wi*siteSlots+c.nsites[wi]%siteSlots)
	c.nsites[wi]++
	retry := a.NewLabel()
	slow := a.NewLabel()
	cont := a.NewLabel()
	if ctxOff := c.ctxRead(s); ctxOff >= 0 && !write && !atomic && k == 2 {
		c.ctxCheck(m, ctxOff, cont)
	}
	// After Go grants a miss, the code resumes here with only the BPF
	// registers restored, so the address is computed again.
	a.Bind(retry)
	a.Lea(tmp2, m)
	a.LoadSX(W32, tmp1, M(regState, slot))
	a.ALURM(W64, SUB, tmp2, MI(regState, tmp1, offZero))
	a.ALURM(W64, CMP, tmp2, MI(regState, tmp1, offZero+8+8*int32(k)))
	a.Jcc(CondAE, slow)
	a.Bind(cont)
	c.used[wi][k] = true
	search := c.search[wi][k]
	c.stubs = append(c.stubs, func() {
		a.Bind(slow)
		a.StoreImm(W64, M(regState, offPC), int32(s))
		a.LeaRIP(tmp1, retry)
		a.Store(W64, M(regState, offEntry), tmp1)
		a.StoreImm(W64, M(regState, offSiteArg), slot)
		a.Lea(tmp2, m)
		a.Call(search)
		a.Jmp(cont)
	})
	if atomic {
		a.Lea(tmp2, m)
		return M(tmp2, 0)
	}
	return m
}

// ctxRead returns the context offset the value facts found the 4-byte
// load at slot s reads, or -1.
func (c *compiler) ctxRead(s int) int32 {
	if s < len(c.opts.facts.ctxRead) {
		return int32(c.opts.facts.ctxRead[s])
	}
	return -1
}

// ctxCheck emits the check of a 4-byte load at m that the value facts
// say reads the context at offset off (a hint): it jumps to ok when m is
// the context's address plus off and the run lets the code read that
// word directly (state.ctxStart, ctxLim, ctxMask: engine.DirectReads),
// and falls through to the site's region check otherwise. It saves the
// call of the search routine, which handles direct reads too, for the
// context reads every packet program starts with.
func (c *compiler) ctxCheck(m Mem, off int32, ok Label) {
	a := &c.a
	other := a.NewLabel()
	a.Lea(tmp2, m)
	a.ALURM(W64, SUB, tmp2, M(regState, offCtxStart))
	a.ALURI(W64, CMP, tmp2, off)
	a.Jcc(CondNE, other)
	a.Load(W64, tmp1, M(regState, offCtxLim))
	a.ALURI(W64, CMP, tmp1, off)
	a.Jcc(CondBE, other)
	a.Load(W64, tmp1, M(regState, offCtxMask))
	if w := off / 4; w < 31 {
		a.ALURI(W64, AND, tmp1, 1<<w)
	} else {
		a.ShiftImm(W64, SHR, tmp1, uint8(w))
		a.ALURI(W32, AND, tmp1, 1)
	}
	a.Jcc(CondNE, ok)
	a.Bind(other)
}

func (c *compiler) ldx(s int, i insn.Instruction) error {
	a := &c.a
	sz := i.OpCode.Size()
	w := sizeWidth(sz)
	switch i.OpCode.Mode() {
	case insn.ModeMem:
		m := c.addr(s, i.Src, i.Offset, sz, false, false)
		a.Load(w, bpfReg[i.Dst], m)
	case insn.ModeMemSX:
		if sz == insn.DW {
			return unsupported("opcode 0x%02x", uint8(i.OpCode))
		}
		m := c.addr(s, i.Src, i.Offset, sz, false, false)
		a.LoadSX(w, bpfReg[i.Dst], m)
	default:
		return unsupported("opcode 0x%02x", uint8(i.OpCode))
	}
	return nil
}

func (c *compiler) atomic(s int, i insn.Instruction) error {
	a := &c.a
	sz := i.OpCode.Size()
	w := sizeWidth(sz)
	src := bpfReg[i.Src]
	op := insn.AtomicOp(i.Imm)
	switch op {
	case insn.AtomicLoadAcquire:
		// x86-64 loads are acquire loads (TSO).
		m := c.addr(s, i.Src, i.Offset, sz, false, false)
		a.Load(w, bpfReg[i.Dst], m)
		return nil
	case insn.AtomicStoreRelease:
		// x86-64 stores are release stores (TSO).
		m := c.addr(s, i.Dst, i.Offset, sz, true, false)
		a.Store(w, m, src)
		return nil
	}
	if sz != insn.W && sz != insn.DW {
		return unsupported("atomic operation on %d bytes", sz.Bytes())
	}
	m := c.addr(s, i.Dst, i.Offset, sz, true, true)
	// The verifier rejects misaligned atomics; interp reports them after
	// the region check, and so do we. (A LOCK on a split cache line may
	// also raise a split-lock trap.)
	a.MovRR(W32, tmp1, tmp2)
	a.ALURI(W32, AND, tmp1, int32(sz.Bytes()-1))
	mis := a.NewLabel()
	a.Jcc(CondNE, mis)
	n := sz.Bytes()
	c.stubs = append(c.stubs, func() {
		a.Bind(mis)
		a.StoreImm(W64, M(regState, offPC), int32(s))
		a.Store(W64, M(regState, offArg), tmp2)
		a.StoreImm(W64, M(regState, offInfo), int32(n|1<<8))
		a.StoreImm(W64, M(regState, offExit), exitAlign)
		a.Ret()
	})
	switch op {
	case insn.AtomicAdd:
		a.ALUMR(w, ADD, m, src, true)
	case insn.AtomicOr:
		a.ALUMR(w, OR, m, src, true)
	case insn.AtomicAnd:
		a.ALUMR(w, AND, m, src, true)
	case insn.AtomicXor:
		a.ALUMR(w, XOR, m, src, true)
	case insn.AtomicFetchAdd:
		a.Xadd(w, m, src)
	case insn.AtomicXchg:
		a.Xchg(w, m, src)
	case insn.AtomicCmpXchg:
		a.CmpXchg(w, m, src)
		if w == W32 {
			// cmpxchg leaves rax's upper half alone when it stores; BPF
			// zero-extends r0 in every case.
			a.MovRR(W32, RAX, RAX)
		}
	case insn.AtomicFetchOr, insn.AtomicFetchAnd, insn.AtomicFetchXor:
		// A compare-exchange loop, which needs rax (r0): keep r0 and the
		// operand in state while it runs.
		aop := map[insn.AtomicOp]ALUOp{insn.AtomicFetchOr: OR, insn.AtomicFetchAnd: AND, insn.AtomicFetchXor: XOR}[op]
		a.Store(W64, M(regState, offTmp), RAX)
		a.Store(W64, M(regState, offTmp2), src)
		a.Load(w, RAX, m)
		loop := a.NewLabel()
		a.Bind(loop)
		a.MovRR(W64, tmp1, RAX)
		a.ALURM(w, aop, tmp1, M(regState, offTmp2))
		a.CmpXchg(w, m, tmp1)
		a.Jcc(CondNE, loop)
		// rax holds the old value, zero-extended for 32 bits. When src is
		// r0 itself that is already the result.
		if src != RAX {
			a.MovRR(w, src, RAX)
			a.Load(W64, RAX, M(regState, offTmp))
		}
	default:
		return unsupported("atomic operation 0x%x", int32(op))
	}
	return nil
}

func (c *compiler) ld(s int, i insn.Instruction) error {
	a := &c.a
	op := i.OpCode
	switch op.Mode() {
	case insn.ModeImm:
		if !i.IsLoadImm64() {
			return unsupported("opcode 0x%02x", uint8(op))
		}
		dst := bpfReg[i.Dst]
		switch insn.PseudoSrc(i.Src) {
		case insn.PseudoNone:
			a.MovImm(dst, i.Imm)
		case insn.PseudoMapFD, insn.PseudoMapIdx:
			if c.opts.mapHandle == nil {
				return unsupported("lddw map reference without maps")
			}
			h, err := c.opts.mapHandle(i)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrCompile, err)
			}
			a.MovImm(dst, int64(h))
		case insn.PseudoMapValue, insn.PseudoMapIdxValue:
			// The value's address is known per run (it also grants the
			// region), so Go supplies it: leave with a helper-like exit.
			c.out.mapValues = append(c.out.mapValues, mapValueRef{slot: s, ins: i})
			slow, done := a.NewLabel(), a.NewLabel()
			if c.opts.mapStorage != nil && !c.opts.unchecked {
				if ms, ok := c.opts.mapStorage(i); ok && c.mapValueFast(dst, ms, i.MapValueOffset(), slow, done) {
					c.out.storages = append(c.out.storages, ms.storage)
				}
			}
			a.Bind(slow)
			a.StoreImm(W64, M(regState, offArg), int32(len(c.out.mapValues)-1))
			c.leave(s, exitMapValue)
			a.Load(W64, dst, M(regState, offArg))
			a.Bind(done)
		default:
			return unsupported("lddw with src %d", i.Src)
		}
		return nil
	case insn.ModeAbs, insn.ModeInd:
		return c.ldPacket(i)
	}
	return unsupported("opcode 0x%02x", uint8(op))
}

// ldPacket emits a legacy LD_ABS or LD_IND: r0 = the big-endian value at
// the offset in the packet; an offset outside it ends the program with
// r0 = 0, as the kernel's bpf_gen_ld_abs sequence does.
func (c *compiler) ldPacket(i insn.Instruction) error {
	a := &c.a
	sz := i.OpCode.Size()
	if sz == insn.DW {
		return unsupported("opcode 0x%02x", uint8(i.OpCode))
	}
	n := int32(sz.Bytes())
	abort := a.NewLabel()
	var m Mem
	if k := int64(int32(i.Imm)); i.OpCode.Mode() == insn.ModeAbs {
		// A constant offset: one comparison with the packet length.
		if k < 0 {
			a.Jmp(abort) // negative (SKF_*_OFF) offsets read nothing here
		} else {
			a.Load(W64, tmp2, M(regState, offPktLen))
			a.ALURI(W64, CMP, tmp2, int32(k)+n)
			a.Jcc(CondB, abort)
		}
		a.Load(W64, tmp2, M(regState, offPkt))
		m = M(tmp2, int32(k))
	} else {
		a.MovRR(W32, tmp1, bpfReg[i.Src])
		a.ALURI(W32, ADD, tmp1, int32(i.Imm))
		a.Movsx(W64, W32, tmp1, tmp1)
		a.TestRR(W64, tmp1, tmp1)
		a.Jcc(CondS, abort)
		a.Lea(tmp2, M(tmp1, n))
		a.ALURM(W64, CMP, tmp2, M(regState, offPktLen))
		a.Jcc(CondA, abort)
		a.Load(W64, tmp2, M(regState, offPkt))
		m = MI(tmp2, tmp1, 0)
	}
	switch n {
	case 1:
		a.Load(W8, RAX, m)
	case 2:
		a.Load(W16, RAX, m)
		a.ShiftImm(W16, ROL, RAX, 8)
		a.Movzx(W16, RAX, RAX)
	default:
		a.Load(W32, RAX, m)
		a.Bswap(W32, RAX)
	}
	c.stubs = append(c.stubs, func() {
		a.Bind(abort)
		a.Jmp(c.abortLbl)
	})
	return nil
}

// tail emits the out-of-line stubs and shared routines.
func (c *compiler) tail() {
	a := &c.a
	for k := 0; k < len(c.stubs); k++ { // stubs may add stubs
		c.stubs[k]()
	}

	// exit: return to the caller's frame, or finish.
	a.Bind(c.exitLbl)
	a.Load(W64, tmp1, M(regState, offDepth))
	a.TestRR(W64, tmp1, tmp1)
	a.Jcc(CondE, c.doneLbl)
	a.ALURI(W64, SUB, tmp1, 1)
	a.Store(W64, M(regState, offDepth), tmp1)
	a.IMulRRI(W32, tmp2, tmp1, frameSize)
	a.Lea(tmp2, MI(regState, tmp2, offFrames))
	for k, r := range []Reg{R12, R13, R14, R15, RBP} {
		a.Load(W64, r, M(tmp2, offFrameSaved+int32(8*k)))
	}
	a.Load(W64, tmp1, M(tmp2, offFrameLoops))
	a.Store(W64, M(regState, offLoops), tmp1)
	a.Lea(tmp1, M(RBP, -stackSize))
	a.Store(W64, M(regState, offStkLo), tmp1)
	c.forgetStack() // the stack region shrank
	a.JmpM(M(tmp2, offFrameRet))

	a.Bind(c.doneLbl)
	c.forgetStack() // the next run's may be smaller
	a.StoreImm(W64, M(regState, offExit), exitDone)
	a.Ret()

	a.Bind(c.abortLbl)
	c.forgetStack()
	a.ALURR(W32, XOR, RAX, RAX)
	a.StoreImm(W64, M(regState, offExit), exitAbort)
	a.Ret()

	a.Bind(c.depthLbl)
	a.StoreImm(W64, M(regState, offExit), exitDepth)
	a.Ret()

	for wi := range c.search {
		for k := range c.search[wi] {
			if c.used[wi][k] {
				c.searchRoutine(wi == 1, k)
			}
		}
	}
}

// forgetStack empties state.stk, the cached stack region, when the stack
// region may shrink (see state.sites). It clobbers rcx.
func (c *compiler) forgetStack() {
	a := &c.a
	a.ALURR(W32, XOR, tmp1, tmp1)
	for k := int32(0); k < 4; k++ {
		a.Store(W64, M(regState, offStk+8+8*k), tmp1)
	}
}

// searchRoutine emits the slow path of a region check for accesses of
// 1<<k bytes: r11 holds the address, state.pc and state.entry (the
// retry point) are set, and state.siteArg is the offset of the site's
// slot. It tries the direct context reads, the stack region, the region
// table and the one-shot grant; when the stack region or a table entry
// holds the access, it points the slot at it (the stack through
// state.stk) and returns. Neither a context read nor a grant is cached:
// they hold for one access each. On a miss it drops its return address
// and leaves to Go with exitMiss, which checks the access exactly as
// interp does and either fails the run or grants it and resumes at the
// retry point.
func (c *compiler) searchRoutine(write bool, k int) {
	a := &c.a
	a.Bind(c.search[b2i(write)][k])
	n := int32(1) << k
	tab, cnt, grant := offRtab, offNRead, offGrant
	if write {
		tab, cnt = offWtab, offNWrite
	}
	hit := a.NewLabel()
	next := a.NewLabel()
	miss := a.NewLabel()
	tryGrant := a.NewLabel()
	restore := a.NewLabel()
	a.Store(W64, M(regState, offTmp), RAX)
	a.Store(W64, M(regState, offTmp2), RBX)

	if !write && k == 2 {
		// A direct context read (state.ctxMask): an aligned 4-byte
		// load of a word the context's rules let through with no
		// other effect. Not cached: a cached region has no rules.
		// First: each run reads the context afresh (a site's slot
		// cannot hold it), while the stack is cached in stk.
		stack := a.NewLabel()
		a.MovRR(W64, tmp1, tmp2)
		a.ALURM(W64, SUB, tmp1, M(regState, offCtxStart))
		a.ALURM(W64, CMP, tmp1, M(regState, offCtxLim))
		a.Jcc(CondAE, stack)
		a.MovRR(W32, RAX, tmp1)
		a.ALURI(W32, AND, RAX, 3)
		a.Jcc(CondNE, stack)
		a.ShiftImm(W64, SHR, tmp1, 2) // the word, below 64: the count in cl
		a.Load(W64, RAX, M(regState, offCtxMask))
		a.ShiftCL(W64, SHR, RAX)
		a.ALURI(W32, AND, RAX, 1)
		a.Jcc(CondNE, restore)
		a.Bind(stack)
	}
	// The stack region [stkLo, stkTop), writable and readable.
	a.MovRR(W64, tmp1, tmp2)
	a.ALURM(W64, SUB, tmp1, M(regState, offStkLo))
	a.Load(W64, RAX, M(regState, offStkTop))
	a.ALURM(W64, SUB, RAX, M(regState, offStkLo))
	a.ALURR(W64, CMP, tmp1, RAX)
	a.Jcc(CondAE, next)
	a.MovRR(W64, RBX, RAX)
	a.ALURR(W64, SUB, RBX, tmp1)
	a.ALURI(W64, CMP, RBX, n)
	a.Jcc(CondB, next)
	// Cache the stack in stk: start, then for sizes 1, 2, 4, 8
	// len-size+1, or 0 when the region is shorter than the size. The
	// engine makes every stack region at least 8 bytes long (a main
	// frame's reachable part is rounded up: stackReach), but a lim of
	// 4-8+1 would let any 8-byte access through, so the code does not
	// count on it (TestAttackShortStackLims). len is at most the whole
	// call stack, so the signed test is exact.
	a.Load(W64, tmp1, M(regState, offStkLo))
	a.Store(W64, M(regState, offStk), tmp1)
	a.ALURR(W32, XOR, tmp1, tmp1)
	for j := int32(0); j < 4; j++ {
		a.MovRR(W64, RBX, RAX)
		if j > 0 {
			a.ALURI(W64, SUB, RBX, 1<<j-1)
			a.Cmovcc(W64, CondLE, RBX, tmp1)
		}
		a.Store(W64, M(regState, offStk+8+8*j), RBX)
	}
	a.Load(W64, RBX, M(regState, offSiteArg))
	a.StoreImm(W32, MI(regState, RBX, 0), offStk-offZero)
	a.Jmp(restore)

	a.Bind(next)
	pend := a.NewLabel()
	a.Lea(RAX, M(regState, tab))
	a.Load(W64, RBX, M(regState, cnt))
	a.TestRR(W64, RBX, RBX)
	a.Jcc(CondE, pend)
	loop := a.NewLabel()
	a.Bind(loop)
	a.MovRR(W64, tmp1, tmp2)
	a.ALURM(W64, SUB, tmp1, M(RAX, 0))
	a.ALURM(W64, CMP, tmp1, M(RAX, 8+8*int32(k)))
	a.Jcc(CondB, hit)
	a.ALURI(W64, ADD, RAX, regionSize)
	a.ALURI(W64, SUB, RBX, 1)
	a.Jcc(CondNE, loop)

	// The grants the code recorded (state.pend: read-write regions of
	// start and length n): off = addr-start must be below n, and n-off
	// at least the access's size. Not cached: only Go puts regions in
	// the tables.
	a.Bind(pend)
	a.Lea(RAX, M(regState, offPend))
	a.Load(W64, RBX, M(regState, offNPend))
	a.TestRR(W64, RBX, RBX)
	a.Jcc(CondE, tryGrant)
	ploop := a.NewLabel()
	pnext := a.NewLabel()
	a.Bind(ploop)
	a.MovRR(W64, tmp1, tmp2)
	a.ALURM(W64, SUB, tmp1, M(RAX, 0))
	a.ALURM(W64, CMP, tmp1, M(RAX, 8))
	a.Jcc(CondAE, pnext)
	a.ALURM(W64, SUB, tmp1, M(RAX, 8)) // off-n, in [-n, -1]
	a.ALURI(W64, CMP, tmp1, -n)
	a.Jcc(CondLE, restore)
	a.Bind(pnext)
	a.ALURI(W64, ADD, RAX, int32(unsafe.Sizeof(pendGrant{})))
	a.ALURI(W64, SUB, RBX, 1)
	a.Jcc(CondNE, ploop)

	a.Bind(tryGrant)
	a.Load(W64, tmp1, M(regState, offGrantW))
	a.ALURI(W64, CMP, tmp1, int32(b2i(write)))
	a.Jcc(CondNE, miss)
	a.MovRR(W64, tmp1, tmp2)
	a.ALURM(W64, SUB, tmp1, M(regState, grant))
	a.ALURM(W64, CMP, tmp1, M(regState, grant+8+8*int32(k)))
	a.Jcc(CondAE, miss)
	a.StoreImm(W64, M(regState, grant+8+8*int32(k)), 0) // one shot
	a.Jmp(restore)

	// rax is the entry: the slot gets its offset from state.zero.
	a.Bind(hit)
	a.ALURR(W64, SUB, RAX, regState)
	a.ALURI(W64, SUB, RAX, offZero)
	a.Load(W64, RBX, M(regState, offSiteArg))
	a.Store(W32, MI(regState, RBX, 0), RAX)
	a.Bind(restore)
	a.Load(W64, RAX, M(regState, offTmp))
	a.Load(W64, RBX, M(regState, offTmp2))
	a.Ret()

	a.Bind(miss)
	a.Load(W64, RAX, M(regState, offTmp))
	a.Load(W64, RBX, M(regState, offTmp2))
	a.ALURI(W64, ADD, RSP, 8) // drop the return address into the access site
	a.Store(W64, M(regState, offArg), tmp2)
	a.StoreImm(W64, M(regState, offInfo), n|int32(b2i(write))<<8)
	a.StoreImm(W64, M(regState, offExit), exitMiss)
	a.Ret()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
