package insn

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Parse assembles a program written in the syntax that Instructions.String
// prints (see the package documentation): one instruction per line,
// "name:" labels, and comments starting with "#", ";" or "//".
//
// The result is resolved and validated like Instructions.Validate does:
// every label reference must name a label of the program and every
// instruction must be one the kernel accepts. Errors are *ParseError values
// naming the line and column; they wrap ErrSyntax for malformed text and the
// cause (ErrBadRegister, ErrUnresolvedLabel, ErrImmediateOverrun, an *Error
// of validation, ...) otherwise.
func Parse(src string) (Instructions, error) {
	var (
		is      Instructions
		pos     []srcPos
		pending *token // a label waiting for its instruction
		pendAt  int    // line of the pending label
	)
	for n, line := range strings.Split(src, "\n") {
		lineNo := n + 1
		toks, err := lexLine(line, lineNo)
		if err != nil {
			return nil, err
		}
		p := &parser{toks: toks, line: lineNo}
		if toks[0].kind == tokIdent && toks[1].is(":") {
			if pending != nil {
				return nil, &ParseError{Line: lineNo, Column: toks[0].col, Err: ErrSyntax,
					Msg: fmt.Sprintf("expected instruction after label %q, found label %q", pending.text, toks[0].text)}
			}
			pending, pendAt = &toks[0], lineNo
			p.pos = 2
		}
		if p.peek().kind == tokEOL {
			continue
		}
		start := p.peek()
		i := p.statement()
		if p.err == nil && p.peek().kind != tokEOL {
			p.fail(p.peek(), "end of line")
		}
		if p.err != nil {
			return nil, p.err
		}
		at := srcPos{line: lineNo, col: start.col, refCol: p.refCol}
		if pending != nil {
			i.Label = pending.text
			at.labelLine, at.labelCol = pendAt, pending.col
			pending = nil
		}
		is = append(is, i)
		pos = append(pos, at)
	}
	if pending != nil {
		return nil, &ParseError{Line: pendAt, Column: pending.col, Err: ErrSyntax,
			Msg: fmt.Sprintf("expected instruction after label %q, found end of input", pending.text)}
	}
	if err := checkLabels(is, pos); err != nil {
		return nil, err
	}
	if err := is.Validate(); err != nil {
		var ie *Error
		if !errors.As(err, &ie) {
			return nil, err
		}
		k := instructionAtSlot(is, ie.Slot)
		return nil, &ParseError{Line: pos[k].line, Column: pos[k].col, Msg: ie.Err.Error(), Err: err}
	}
	return is, nil
}

// srcPos is where an instruction and its label reference are in the text.
type srcPos struct{ line, col, refCol, labelLine, labelCol int }

// checkLabels reports labels defined twice and references to labels that
// are not defined, with their positions.
func checkLabels(is Instructions, pos []srcPos) error {
	labels := make(map[string]bool)
	for k, i := range is {
		if i.Label == "" {
			continue
		}
		if labels[i.Label] {
			return &ParseError{Line: pos[k].labelLine, Column: pos[k].labelCol, Msg: fmt.Sprintf("label %q is defined twice", i.Label), Err: ErrDuplicateLabel}
		}
		labels[i.Label] = true
	}
	for k, i := range is {
		if i.Ref == "" || i.IsMapReference() || labels[i.Ref] {
			continue
		}
		if i.IsLocalCall() {
			// "call name" with no such label calls the helper of that
			// name, with or without its bpf_ prefix.
			if h, ok := ParseHelper(i.Ref); ok {
				call := Call(int32(h))
				call.Label = i.Label
				is[k] = call
				continue
			}
			return &ParseError{Line: pos[k].line, Column: pos[k].refCol, Msg: fmt.Sprintf("call %s: no label and no kernel helper has that name", i.Ref), Err: ErrUnresolvedLabel}
		}
		return &ParseError{Line: pos[k].line, Column: pos[k].refCol, Msg: fmt.Sprintf("label %q is not defined", i.Ref), Err: ErrUnresolvedLabel}
	}
	return nil
}

func instructionAtSlot(is Instructions, slot int) int {
	for k, off := range is.SlotOffsets() {
		if slot < off+is[k].Slots() {
			return k
		}
	}
	return len(is) - 1
}

// parser is a recursive descent parser of one line. The first error is
// sticky: after it, every token read is the end of the line and every
// further error is dropped, so that the grammar code needs no error checks
// between steps.
type parser struct {
	toks   []token
	pos    int
	line   int
	err    *ParseError
	refCol int // column of the label reference of the instruction, if any
}

func (p *parser) peek() token {
	if p.err != nil {
		return token{kind: tokEOL}
	}
	return p.toks[p.pos]
}

func (p *parser) peekAt(n int) token {
	if p.err != nil || p.pos+n >= len(p.toks) {
		return token{kind: tokEOL}
	}
	return p.toks[p.pos+n]
}

func (p *parser) next() token {
	t := p.peek()
	if t.kind != tokEOL {
		p.pos++
	}
	return t
}

// fail records a syntax error: expected what, found t.
func (p *parser) fail(t token, what string) {
	if p.err == nil {
		p.err = &ParseError{Line: p.line, Column: t.col, Msg: fmt.Sprintf("expected %s, found %s", what, t.describe()), Err: ErrSyntax}
	}
}

// failErr records a semantic error at token t.
func (p *parser) failErr(t token, sentinel error, format string, args ...any) {
	if p.err == nil {
		p.err = &ParseError{Line: p.line, Column: t.col, Msg: fmt.Sprintf(format, args...), Err: sentinel}
	}
}

// expect consumes the identifier or punctuation s.
func (p *parser) expect(s string) {
	t := p.next()
	if !t.is(s) {
		p.fail(t, fmt.Sprintf("%q", s))
	}
}

// accept consumes s if it is next and reports whether it did.
func (p *parser) accept(s string) bool {
	if p.peek().is(s) {
		p.next()
		return true
	}
	return false
}

// regOperand is a register as written: its number and whether it was
// written as the 64-bit rN (true) or the 32-bit wN (false).
type regOperand struct {
	reg  Register
	wide bool
	tok  token
}

// isRegister reports whether t looks like a register name, rN or wN.
func isRegister(t token) bool {
	if t.kind != tokIdent || len(t.text) < 2 || (t.text[0] != 'r' && t.text[0] != 'w') {
		return false
	}
	for k := 1; k < len(t.text); k++ {
		if t.text[k] < '0' || t.text[k] > '9' {
			return false
		}
	}
	return true
}

// register reads rN or wN.
func (p *parser) register() regOperand {
	t := p.next()
	if !isRegister(t) {
		p.fail(t, "register")
		return regOperand{}
	}
	n := 0
	for k := 1; k < len(t.text) && n <= int(MaxRegister); k++ {
		n = n*10 + int(t.text[k]-'0')
	}
	if n > int(MaxRegister) || (len(t.text) > 2 && t.text[1] == '0') {
		p.failErr(t, ErrBadRegister, "%q is not a register: want r0 to r10 or w0 to w10", t.text)
		return regOperand{}
	}
	return regOperand{reg: Register(n), wide: t.text[0] == 'r', tok: t}
}

// reg64 reads an rN register.
func (p *parser) reg64() Register {
	r := p.register()
	if p.err == nil && !r.wide {
		p.failErr(r.tok, ErrBadRegister, "expected a 64-bit register r%d, found %q", r.reg, r.tok.text)
	}
	return r.reg
}

// sameWidth checks that the register b is written like a, both rN or
// both wN.
func (p *parser) sameWidth(a, b regOperand) {
	if p.err == nil && a.wide != b.wide {
		p.failErr(b.tok, ErrBadRegister, "mixed 32-bit and 64-bit registers: %q and %q", a.tok.text, b.tok.text)
	}
}

// sameRegister checks that b is the very register a, as the syntax of
// neg, byte swaps and atomics requires.
func (p *parser) sameRegister(a, b regOperand) {
	if p.err == nil && (a.reg != b.reg || a.wide != b.wide) {
		p.fail(b.tok, fmt.Sprintf("%q", a.tok.text))
	}
}

// signedNumber reads a number with an optional sign.
func (p *parser) signedNumber() (neg bool, mag uint64, t token) {
	t = p.peek()
	if p.accept("-") {
		neg = true
	} else {
		p.accept("+")
	}
	n := p.next()
	if n.kind != tokNumber {
		p.fail(n, "number")
		return false, 0, t
	}
	return neg, n.num, t
}

// number reads a signed number in [lo, hi]; sentinel and what describe a
// value out of range.
func (p *parser) number(lo, hi int64, sentinel error, what string) int64 {
	neg, mag, t := p.signedNumber()
	if p.err != nil {
		return 0
	}
	v, ok := int64(0), false
	switch {
	case neg && mag <= 1<<63:
		v, ok = -int64(mag), true // -(1<<63) wraps to MinInt64, which is right
	case !neg && mag <= math.MaxInt64:
		v, ok = int64(mag), true
	}
	if !ok || v < lo || v > hi {
		sign := ""
		if neg {
			sign = "-"
		}
		p.failErr(t, sentinel, "%s%d is out of range for %s: want %d to %d", sign, mag, what, lo, hi)
		return 0
	}
	return v
}

// imm32 reads a 32-bit immediate. A 64-bit operation sign-extends its
// immediate, so it takes only int32 values; a 32-bit one also takes
// 0x80000000 to 0xffffffff, meaning the same bit pattern.
func (p *parser) imm32(wide bool) int32 {
	hi := int64(math.MaxUint32)
	if wide {
		hi = math.MaxInt32
	}
	return int32(uint32(p.number(math.MinInt32, hi, ErrImmediateOverrun, "a 32-bit immediate")))
}

// imm64 reads the 64-bit constant of "rN = value ll".
func (p *parser) imm64() int64 {
	neg, mag, t := p.signedNumber()
	if p.err != nil {
		return 0
	}
	if !neg {
		return int64(mag)
	}
	if mag > 1<<63 {
		p.failErr(t, ErrImmediateOverrun, "-%d does not fit in 64 bits", mag)
		return 0
	}
	return -int64(mag)
}

// u32 reads a number stored in 32 bits, signed or not.
func (p *parser) u32(what string) uint32 {
	return uint32(p.number(math.MinInt32, math.MaxUint32, ErrImmediateOverrun, what))
}

var sizeByName = map[string]Size{"u8": B, "u16": H, "u32": W, "u64": DW}
var signedSizeByName = map[string]Size{"s8": B, "s16": H, "s32": W}

// size reads "(u32 *)" or, if signed is true, also "(s16 *)"; it reports
// whether the size was signed.
func (p *parser) size(signed bool) (Size, bool) {
	p.expect("(")
	t := p.next()
	size, ok := sizeByName[t.text]
	sx := false
	if !ok && signed {
		size, sx = signedSizeByName[t.text]
		ok = sx
	}
	if !ok || t.kind != tokIdent {
		if signed {
			p.fail(t, "u8, u16, u32, u64, s8, s16 or s32")
		} else {
			p.fail(t, "u8, u16, u32 or u64")
		}
	}
	p.expect("*")
	p.expect(")")
	return size, sx
}

// address reads "rN + off" or "rN - off".
func (p *parser) address() (Register, int16) {
	base := p.reg64()
	t := p.next()
	var neg bool
	switch {
	case t.is("+"):
	case t.is("-"):
		neg = true
	default:
		p.fail(t, `"+" or "-"`)
		return 0, 0
	}
	at := p.peek()
	off := p.number(math.MinInt16-1, math.MaxInt16+1, ErrInvalidField, "a 16-bit offset")
	if neg {
		off = -off
	}
	if p.err == nil && (off < math.MinInt16 || off > math.MaxInt16) {
		p.failErr(at, ErrInvalidField, "offset %d does not fit in 16 bits", off)
	}
	return base, int16(off)
}

// memory reads "(rN + off)".
func (p *parser) memory() (Register, int16) {
	p.expect("(")
	base, off := p.address()
	p.expect(")")
	return base, off
}

// valueReg reads the data register of a memory access of the given size:
// rN, or also wN when the access is narrower than 64 bits.
func (p *parser) valueReg(size Size) regOperand {
	r := p.register()
	if p.err == nil && size == DW && !r.wide {
		p.failErr(r.tok, ErrBadRegister, "a 64-bit access takes a 64-bit register r%d, found %q", r.reg, r.tok.text)
	}
	return r
}

// label reads a label name.
func (p *parser) label() string {
	t := p.next()
	if t.kind != tokIdent {
		p.fail(t, "label")
		return ""
	}
	p.refCol = t.col
	return t.text
}

// jumpTarget reads the target of a jump: a label, or a signed offset in
// [lo, hi] slots.
func (p *parser) jumpTarget(lo, hi int64) (string, int64) {
	if p.peek().kind == tokIdent {
		return p.label(), 0
	}
	if t := p.peek(); t.kind != tokNumber && !t.is("+") && !t.is("-") {
		p.fail(t, "label or offset")
		return "", 0
	}
	return "", p.number(lo, hi, ErrJumpOutOfRange, "a jump offset")
}

func (p *parser) statement() Instruction {
	t := p.peek()
	switch {
	case t.is("exit"):
		p.next()
		return Exit()
	case t.is("goto"), t.is("may_goto"):
		p.next()
		i := Ja("")
		if t.is("may_goto") {
			i = MayGoto("")
		}
		ref, off := p.jumpTarget(math.MinInt16, math.MaxInt16)
		i.Ref, i.Offset = ref, int16(off)
		return i
	case t.is("gotol"):
		p.next()
		i := Gotol("")
		i.Ref, i.Imm = p.jumpTarget(math.MinInt32, math.MaxInt32)
		return i
	case t.is("call"):
		p.next()
		return p.call()
	case t.is("callx"):
		p.next()
		return CallX(p.reg64())
	case t.is("if"):
		p.next()
		return p.condJump()
	case t.is("lock"):
		p.next()
		return p.lock()
	case t.is("store_release"):
		p.next()
		p.expect("(")
		size, _ := p.size(false)
		dst, off := p.memory()
		p.expect(",")
		src := p.valueReg(size)
		p.expect(")")
		return StoreRelease(dst, off, src.reg, size)
	case t.is("*"):
		p.next()
		return p.store()
	case isRegister(t):
		return p.assignment()
	}
	p.fail(t, "instruction")
	return Instruction{}
}

// call reads what follows "call": a helper number, "kfunc id[, off]",
// "pc+N" or a label.
func (p *parser) call() Instruction {
	t := p.peek()
	switch {
	case t.is("kfunc") && (p.peekAt(1).kind == tokNumber || p.peekAt(1).is("-")):
		p.next()
		i := CallBTF(int32(p.number(math.MinInt32, math.MaxInt32, ErrImmediateOverrun, "a kfunc BTF id")))
		if p.accept(",") {
			i.Offset = int16(p.number(math.MinInt16, math.MaxInt16, ErrInvalidField, "a kfunc module index"))
		}
		return i
	case t.is("pc") && (p.peekAt(1).is("+") || p.peekAt(1).is("-")):
		p.next()
		i := CallLocal("")
		i.Imm = p.number(math.MinInt32, math.MaxInt32, ErrJumpOutOfRange, "a call offset")
		return i
	case t.kind == tokIdent:
		return CallLocal(p.label())
	}
	return Call(int32(p.number(math.MinInt32, math.MaxInt32, ErrImmediateOverrun, "a helper number")))
}

var jumpByOperator = map[string]JumpOp{}

var aluByOperator = map[string]ALUOp{}

func init() {
	for op, s := range jumpOperators {
		jumpByOperator[s] = op
	}
	for op, s := range aluOperators {
		if op != Mov {
			aluByOperator[s] = op
		}
	}
}

// condJump reads what follows "if": "dst op src goto target".
func (p *parser) condJump() Instruction {
	dst := p.register()
	t := p.next()
	op, ok := jumpByOperator[t.text]
	if !ok || t.kind != tokPunct {
		p.fail(t, "comparison operator")
	}
	var i Instruction
	if isRegister(p.peek()) {
		src := p.register()
		p.sameWidth(dst, src)
		i = op.Reg(dst.reg, src.reg, "")
	} else {
		i = op.Imm(dst.reg, p.imm32(dst.wide), "")
	}
	if !dst.wide {
		i.OpCode = i.OpCode&^0x07 | OpCode(ClassJmp32)
	}
	p.expect("goto")
	ref, off := p.jumpTarget(math.MinInt16, math.MaxInt16)
	i.Ref, i.Offset = ref, int16(off)
	return i
}

var atomicByOperator = map[string]AtomicOp{"+=": AtomicAdd, "|=": AtomicOr, "&=": AtomicAnd, "^=": AtomicXor}

// lock reads what follows "lock": "*(u64 *)(dst + off) += src".
func (p *parser) lock() Instruction {
	p.expect("*")
	size, _ := p.size(false)
	dst, off := p.memory()
	t := p.next()
	op, ok := atomicByOperator[t.text]
	if !ok {
		p.fail(t, `"+=", "|=", "&=" or "^="`)
	}
	src := p.valueReg(size)
	return Atomic(op, size, dst, off, src.reg)
}

// store reads what follows "*": "(u32 *)(dst + off) = src" or "= imm".
func (p *parser) store() Instruction {
	size, _ := p.size(false)
	dst, off := p.memory()
	p.expect("=")
	if isRegister(p.peek()) {
		return StoreMem(dst, off, p.valueReg(size).reg, size)
	}
	return StoreImm(dst, off, p.imm32(size == DW), size)
}

// assignment reads an instruction that starts with a register: ALU
// operations, loads, 64-bit constants and the atomics written as calls.
func (p *parser) assignment() Instruction {
	dst := p.register()
	t := p.next()
	if op, ok := aluByOperator[t.text]; ok && t.kind == tokPunct {
		return p.alu(op, dst)
	}
	if !t.is("=") {
		p.fail(t, "assignment operator")
		return Instruction{}
	}
	t = p.peek()
	switch {
	case t.is("-") && isRegister(p.peekAt(1)):
		p.next()
		p.sameRegister(dst, p.register())
		if dst.wide {
			return Neg(dst.reg)
		}
		return Neg32(dst.reg)
	case t.is("-") || t.kind == tokNumber:
		if p.peekAt(1).is("ll") || p.peekAt(2).is("ll") {
			if !dst.wide {
				p.failErr(dst.tok, ErrBadRegister, "a 64-bit constant needs a 64-bit register r%d", dst.reg)
			}
			v := p.imm64()
			p.expect("ll")
			return LoadImm64(dst.reg, v)
		}
		return p.alu(Mov, dst)
	case isRegister(t):
		return p.alu(Mov, dst)
	case t.is("("):
		return p.movSX(dst)
	case t.is("*"):
		p.next()
		return p.load(dst)
	case t.kind == tokIdent:
		p.next()
		if bits, ok := strings.CutPrefix(t.text, "bswap"); ok {
			return p.byteSwap(dst, bits, BSwap)
		}
		if bits, ok := strings.CutPrefix(t.text, "le"); ok {
			return p.byteSwap(dst, bits, ToLE)
		}
		if bits, ok := strings.CutPrefix(t.text, "be"); ok {
			return p.byteSwap(dst, bits, ToBE)
		}
		if src, ok := pseudoByName[t.text]; ok {
			return p.pseudo(dst, t, src)
		}
		if t.text == "addr_space_cast" {
			return p.addrSpaceCast(dst, t)
		}
		return p.atomicCall(dst, t)
	}
	p.fail(t, "operand")
	return Instruction{}
}

// alu reads the source operand of "dst op= src" or "dst op= imm".
func (p *parser) alu(op ALUOp, dst regOperand) Instruction {
	var i Instruction
	if isRegister(p.peek()) {
		src := p.register()
		p.sameWidth(dst, src)
		i = op.Reg(dst.reg, src.reg)
	} else {
		i = op.Imm(dst.reg, p.imm32(dst.wide))
	}
	if !dst.wide {
		i.OpCode = i.OpCode&^0x07 | OpCode(ClassALU)
	}
	return i
}

// addrSpaceCast reads "(src, dst_as, src_as)" after "dst =
// addr_space_cast".
func (p *parser) addrSpaceCast(dst regOperand, t token) Instruction {
	if !dst.wide {
		p.failErr(dst.tok, ErrBadRegister, "addr_space_cast needs a 64-bit register r%d", dst.reg)
	}
	p.expect("(")
	src := p.register()
	if !src.wide {
		p.failErr(src.tok, ErrBadRegister, "addr_space_cast needs a 64-bit register r%d", src.reg)
	}
	p.expect(",")
	dstAS := p.number(0, math.MaxUint16, ErrInvalidField, "an address space")
	p.expect(",")
	srcAS := p.number(0, math.MaxUint16, ErrInvalidField, "an address space")
	p.expect(")")
	return AddrSpaceCast(dst.reg, src.reg, uint16(dstAS), uint16(srcAS))
}

var movSXByName = map[string]ALUOp{"s8": MovSX8, "s16": MovSX16, "s32": MovSX32}

// movSX reads "(s16)src", a sign-extending move.
func (p *parser) movSX(dst regOperand) Instruction {
	p.expect("(")
	t := p.next()
	op, ok := movSXByName[t.text]
	if !ok || t.kind != tokIdent {
		p.fail(t, "s8, s16 or s32")
	}
	p.expect(")")
	src := p.register()
	p.sameWidth(dst, src)
	if dst.wide {
		return op.Reg(dst.reg, src.reg)
	}
	return op.Reg32(dst.reg, src.reg)
}

// byteSwap reads the operand of "dst = le16 dst" and its kin.
func (p *parser) byteSwap(dst regOperand, bits string, build func(Register, int32) Instruction) Instruction {
	var width int32
	switch bits {
	case "16":
		width = 16
	case "32":
		width = 32
	case "64":
		width = 64
	default:
		p.fail(p.toks[p.pos-1], "le16, le32, le64, be16, be32, be64, bswap16, bswap32 or bswap64")
	}
	if p.err == nil && !dst.wide {
		p.failErr(dst.tok, ErrBadRegister, "a byte swap is written with the 64-bit register r%d", dst.reg)
	}
	p.sameRegister(dst, p.register())
	return build(dst.reg, width)
}

// load reads what follows "dst = *": "(u32 *)(src + off)", a signed size
// for a sign-extending load, or "(u8 *)skb[...]" for a legacy packet load.
func (p *parser) load(dst regOperand) Instruction {
	size, sx := p.size(true)
	if p.peek().is("skb") {
		p.next()
		return p.packetLoad(dst, size, sx)
	}
	src, off := p.memory()
	if p.err == nil && !dst.wide && (sx || size == DW) {
		p.failErr(dst.tok, ErrBadRegister, "this load needs a 64-bit register r%d", dst.reg)
	}
	if sx {
		return LoadMemSX(dst.reg, src, off, size)
	}
	return LoadMem(dst.reg, src, off, size)
}

// packetLoad reads "[imm]", "[src]" or "[src + imm]" after "skb".
func (p *parser) packetLoad(dst regOperand, size Size, sx bool) Instruction {
	if p.err == nil && (sx || dst.reg != R0 || !dst.wide) {
		p.failErr(dst.tok, ErrInvalidField, "a packet load is written r0 = *(u8|u16|u32 *)skb[...]")
	}
	p.expect("[")
	var i Instruction
	if isRegister(p.peek()) {
		src := p.reg64()
		var imm int64
		switch t := p.peek(); {
		case t.is("+"):
			p.next()
			imm = p.number(math.MinInt32, math.MaxInt32, ErrImmediateOverrun, "a packet offset")
		case t.is("-"):
			p.next()
			imm = -p.number(math.MinInt32+1, math.MaxInt32+1, ErrImmediateOverrun, "a packet offset")
		}
		i = LoadInd(src, int32(imm), size)
	} else {
		i = LoadAbs(int32(p.number(math.MinInt32, math.MaxInt32, ErrImmediateOverrun, "a packet offset")), size)
	}
	p.expect("]")
	return i
}

var pseudoByName = map[string]PseudoSrc{
	"map_fd": PseudoMapFD, "map_value": PseudoMapValue, "btf_id": PseudoBTFID,
	"func": PseudoFunc, "map_idx": PseudoMapIdx, "map_idx_value": PseudoMapIdxValue,
}

// pseudo reads the arguments of "dst = map_fd(name) ll" and the other
// LD_IMM64 pseudo forms.
func (p *parser) pseudo(dst regOperand, name token, src PseudoSrc) Instruction {
	if p.err == nil && !dst.wide {
		p.failErr(dst.tok, ErrBadRegister, "%s needs a 64-bit register r%d", name.text, dst.reg)
	}
	i := LoadPseudo(dst.reg, src, 0)
	var lo, hi uint32
	p.expect("(")
	switch src {
	case PseudoBTFID:
		lo = p.u32("a BTF id")
		p.expect(",")
		hi = p.u32("a BTF object fd")
	case PseudoFunc:
		if p.peek().is("pc") && (p.peekAt(1).is("+") || p.peekAt(1).is("-")) {
			p.next()
			lo = uint32(p.number(math.MinInt32, math.MaxInt32, ErrJumpOutOfRange, "a function offset"))
			p.expect(",")
			hi = p.u32("the upper 32 bits")
		} else {
			i.Ref = p.label()
		}
	default:
		if p.peek().kind == tokIdent {
			i.Ref = p.next().text
		} else {
			lo = p.u32("a map fd or index")
		}
		if src == PseudoMapValue || src == PseudoMapIdxValue {
			p.expect(",")
			hi = p.u32("a map value offset")
		}
	}
	p.expect(")")
	p.expect("ll")
	i.Imm = int64(uint64(hi)<<32 | uint64(lo))
	return i
}

var fetchByName = map[string]AtomicOp{
	"atomic_fetch_add": AtomicFetchAdd, "atomic_fetch_or": AtomicFetchOr,
	"atomic_fetch_and": AtomicFetchAnd, "atomic_fetch_xor": AtomicFetchXor,
}

// atomicCall reads the atomics written as function calls:
// atomic_fetch_add((u64 *)(r10 - 8), r1), xchg_64(r10 - 8, r1),
// cmpxchg_64(r10 - 8, r0, r1) and load_acquire((u64 *)(r1 + 0)).
func (p *parser) atomicCall(dst regOperand, name token) Instruction {
	if op, ok := fetchByName[name.text]; ok {
		p.expect("(")
		size, _ := p.size(false)
		base, off := p.memory()
		p.expect(",")
		src := p.valueReg(size)
		p.expect(")")
		p.sameRegister(dst, src)
		return Atomic(op, size, base, off, src.reg)
	}
	var size Size
	var op AtomicOp
	switch name.text {
	case "load_acquire":
		p.expect("(")
		size, _ := p.size(false)
		src, off := p.memory()
		p.expect(")")
		if p.err == nil && size == DW && !dst.wide {
			p.failErr(dst.tok, ErrBadRegister, "a 64-bit access takes a 64-bit register r%d, found %q", dst.reg, dst.tok.text)
		}
		return LoadAcquire(dst.reg, src, off, size)
	case "xchg_64":
		size, op = DW, AtomicXchg
	case "xchg32_32":
		size, op = W, AtomicXchg
	case "cmpxchg_64":
		size, op = DW, AtomicCmpXchg
	case "cmpxchg32_32":
		size, op = W, AtomicCmpXchg
	default:
		p.fail(name, "operand")
		return Instruction{}
	}
	want := size == DW
	p.expect("(")
	base, off := p.address()
	p.expect(",")
	src := p.register()
	if op == AtomicCmpXchg {
		if p.err == nil && (dst.reg != R0 || src.reg != R0) {
			p.failErr(dst.tok, ErrInvalidField, "cmpxchg compares with and writes r0")
		}
		p.sameWidth(dst, src)
		p.expect(",")
		src = p.register()
	} else {
		p.sameRegister(dst, src)
	}
	p.expect(")")
	if p.err == nil && (dst.wide != want || src.wide != want) {
		p.failErr(dst.tok, ErrBadRegister, "%s takes %s registers", name.text, map[bool]string{true: "64-bit r", false: "32-bit w"}[want])
	}
	return Atomic(op, size, base, off, src.reg)
}
