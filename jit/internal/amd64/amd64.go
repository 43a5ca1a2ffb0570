package amd64

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Reg is a general-purpose register, numbered as in the ModRM encoding
// (0-7, and 8-15 for r8-r15).
type Reg uint8

// The sixteen general-purpose registers.
const (
	RAX Reg = iota
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
)

var regNames = [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}

// String returns the 64-bit name of r.
func (r Reg) String() string {
	if r > R15 {
		return fmt.Sprintf("reg%d", uint8(r))
	}
	return regNames[r]
}

func (r Reg) low() byte { return byte(r) & 7 }
func (r Reg) ext() bool { return r >= R8 }

// Width is an operand size in bits: 8, 16, 32 or 64.
type Width uint8

// Operand widths.
const (
	W8  Width = 8
	W16 Width = 16
	W32 Width = 32
	W64 Width = 64
)

// Mem is a memory operand: [Base + Index*1 + Disp], or [Base + Disp] when
// HasIndex is false.
type Mem struct {
	Base     Reg
	Index    Reg
	HasIndex bool
	Disp     int32
}

// M returns the memory operand [base + disp].
func M(base Reg, disp int32) Mem { return Mem{Base: base, Disp: disp} }

// MI returns the memory operand [base + index + disp].
func MI(base, index Reg, disp int32) Mem {
	return Mem{Base: base, Index: index, HasIndex: true, Disp: disp}
}

// Cond is a condition code, the low nibble of Jcc, SETcc and CMOVcc.
type Cond uint8

// Condition codes.
const (
	CondO  Cond = 0x0
	CondNO Cond = 0x1
	CondB  Cond = 0x2 // unsigned <
	CondAE Cond = 0x3 // unsigned >=
	CondE  Cond = 0x4
	CondNE Cond = 0x5
	CondBE Cond = 0x6 // unsigned <=
	CondA  Cond = 0x7 // unsigned >
	CondS  Cond = 0x8
	CondNS Cond = 0x9
	CondL  Cond = 0xc // signed <
	CondGE Cond = 0xd // signed >=
	CondLE Cond = 0xe // signed <=
	CondG  Cond = 0xf // signed >
)

// Label is a position in the code, bound once with Bind and referenced by
// any number of branches, before or after it is bound.
type Label int32

type fixup struct {
	at    int // offset of the rel32 field
	label Label
}

// ErrUnboundLabel is returned by Finish when a branch refers to a label
// that was never bound.
var ErrUnboundLabel = errors.New("amd64: branch to an unbound label")

// Asm accumulates machine code. The zero value is ready to use.
type Asm struct {
	Buf    []byte
	labels []int // offset of each label, -1 while unbound
	fixups []fixup
}

// Len returns the number of bytes emitted so far.
func (a *Asm) Len() int { return len(a.Buf) }

// NewLabel returns a fresh unbound label.
func (a *Asm) NewLabel() Label {
	a.labels = append(a.labels, -1)
	return Label(len(a.labels) - 1)
}

// Bind sets l to the current position.
func (a *Asm) Bind(l Label) { a.labels[l] = len(a.Buf) }

// Bound reports whether l has been bound, and where.
func (a *Asm) Bound(l Label) (int, bool) {
	off := a.labels[l]
	return off, off >= 0
}

// Finish patches every branch with the final distance to its label.
func (a *Asm) Finish() error {
	for _, f := range a.fixups {
		target := a.labels[f.label]
		if target < 0 {
			return fmt.Errorf("%w (label %d)", ErrUnboundLabel, f.label)
		}
		rel := int64(target) - int64(f.at+4)
		binary.LittleEndian.PutUint32(a.Buf[f.at:], uint32(int32(rel)))
	}
	a.fixups = a.fixups[:0]
	return nil
}

func (a *Asm) b(bs ...byte) { a.Buf = append(a.Buf, bs...) }

func (a *Asm) imm8(v int8)   { a.Buf = append(a.Buf, byte(v)) }
func (a *Asm) imm16(v int16) { a.Buf = binary.LittleEndian.AppendUint16(a.Buf, uint16(v)) }
func (a *Asm) imm32(v int32) { a.Buf = binary.LittleEndian.AppendUint32(a.Buf, uint32(v)) }
func (a *Asm) imm64(v int64) { a.Buf = binary.LittleEndian.AppendUint64(a.Buf, uint64(v)) }

// prefix emits the operand-size prefix for 16-bit operations and a REX
// prefix when one is needed. reg is the ModRM reg field (or an opcode
// extension, which never needs REX.R), index and base the SIB/rm fields.
// byteRegs says that reg and/or rm name 8-bit registers, which need a REX
// prefix to mean SPL, BPL, SIL and DIL rather than AH, CH, DH and BH.
func (a *Asm) prefix(w Width, reg, index, base Reg, byteReg bool) {
	a.prefixRex(w, reg, index, base, byteReg)
}

// isByteRex reports whether r, used as an 8-bit register, needs a REX
// prefix (SPL, BPL, SIL, DIL).
func isByteRex(r Reg) bool { return r >= RSP && r <= RDI }

func (a *Asm) prefixRex(w Width, reg, index, base Reg, forceRex bool) {
	if w == W16 {
		a.b(0x66)
	}
	rex := byte(0x40)
	if w == W64 {
		rex |= 8
	}
	if reg.ext() {
		rex |= 4
	}
	if index.ext() {
		rex |= 2
	}
	if base.ext() {
		rex |= 1
	}
	if rex != 0x40 || forceRex {
		a.b(rex)
	}
}

// modrmReg emits a register-direct ModRM byte.
func (a *Asm) modrmReg(reg, rm Reg) { a.b(0xc0 | reg.low()<<3 | rm.low()) }

// modrmMem emits the ModRM, SIB and displacement bytes of m.
func (a *Asm) modrmMem(reg Reg, m Mem) {
	var mod byte
	switch {
	case m.Disp == 0 && m.Base.low() != RBP.low():
		mod = 0
	case m.Disp >= -128 && m.Disp <= 127:
		mod = 1
	default:
		mod = 2
	}
	if m.HasIndex {
		a.b(mod<<6|reg.low()<<3|4, m.Index.low()<<3|m.Base.low())
	} else if m.Base.low() == RSP.low() {
		a.b(mod<<6|reg.low()<<3|4, 0x24)
	} else {
		a.b(mod<<6 | reg.low()<<3 | m.Base.low())
	}
	switch mod {
	case 1:
		a.imm8(int8(m.Disp))
	case 2:
		a.imm32(m.Disp)
	}
}

// rr emits an instruction with opcode op and a register-direct operand.
func (a *Asm) rr(w Width, op []byte, reg, rm Reg) {
	a.prefixRex(w, reg, 0, rm, w == W8 && (isByteRex(reg) || isByteRex(rm)))
	a.b(op...)
	a.modrmReg(reg, rm)
}

// rm emits an instruction with opcode op and a memory operand.
func (a *Asm) rm(w Width, op []byte, reg Reg, m Mem) {
	idx := Reg(0)
	if m.HasIndex {
		idx = m.Index
	}
	a.prefixRex(w, reg, idx, m.Base, w == W8 && isByteRex(reg))
	a.b(op...)
	a.modrmMem(reg, m)
}

// rmNoByte is rm for instructions whose reg field is not a byte register
// (an opcode extension), so SPL-DIL rules do not apply to it.
func (a *Asm) rmExt(w Width, op []byte, ext byte, m Mem) {
	idx := Reg(0)
	if m.HasIndex {
		idx = m.Index
	}
	a.prefix(w, 0, idx, m.Base, false)
	a.b(op...)
	a.modrmMem(Reg(ext), m)
}

// ALUOp is a two-operand integer operation with the classic encoding
// (op r/m, r at 8*n+1; 0x81/0x83 /n with an immediate).
type ALUOp uint8

// The classic two-operand operations.
const (
	ADD ALUOp = 0
	OR  ALUOp = 1
	ADC ALUOp = 2
	SBB ALUOp = 3
	AND ALUOp = 4
	SUB ALUOp = 5
	XOR ALUOp = 6
	CMP ALUOp = 7
)

// ALURR emits dst = dst op src (op dst, src) at width 32 or 64.
func (a *Asm) ALURR(w Width, op ALUOp, dst, src Reg) {
	a.rr(w, []byte{byte(op)<<3 | 1}, src, dst)
}

// ALURI emits dst = dst op imm, using the short form for 8-bit immediates.
func (a *Asm) ALURI(w Width, op ALUOp, dst Reg, imm int32) {
	a.prefix(w, 0, 0, dst, false)
	if imm >= -128 && imm <= 127 {
		a.b(0x83)
		a.modrmReg(Reg(op), dst)
		a.imm8(int8(imm))
		return
	}
	a.b(0x81)
	a.modrmReg(Reg(op), dst)
	a.imm32(imm)
}

// ALURM emits reg = reg op [m] (op reg, [m]).
func (a *Asm) ALURM(w Width, op ALUOp, reg Reg, m Mem) {
	a.rm(w, []byte{byte(op)<<3 | 3}, reg, m)
}

// ALUMR emits [m] = [m] op reg, with a LOCK prefix if lock is set.
func (a *Asm) ALUMR(w Width, op ALUOp, m Mem, reg Reg, lock bool) {
	if lock {
		a.b(0xf0)
	}
	opc := byte(op)<<3 | 1
	if w == W8 {
		opc--
	}
	a.rm(w, []byte{opc}, reg, m)
}

// TestRR emits test a, b.
func (a *Asm) TestRR(w Width, x, y Reg) { a.rr(w, []byte{0x85}, y, x) }

// MovRR emits dst = src. At width 32 it zero-extends into the full
// register.
func (a *Asm) MovRR(w Width, dst, src Reg) { a.rr(w, []byte{0x89}, src, dst) }

// MovImm loads a 64-bit constant into dst with the shortest encoding: a
// 32-bit move when it zero-extends correctly, a sign-extended 32-bit
// immediate, or a 10-byte movabs.
func (a *Asm) MovImm(dst Reg, v int64) {
	switch {
	case v == 0:
		a.ALURR(W32, XOR, dst, dst)
	case v > 0 && v <= 0xffffffff:
		a.MovImm32(dst, uint32(v))
	case v >= -1<<31 && v < 1<<31:
		a.prefix(W64, 0, 0, dst, false)
		a.b(0xc7)
		a.modrmReg(0, dst)
		a.imm32(int32(v))
	default:
		a.prefix(W64, 0, 0, dst, false)
		a.b(0xb8 + dst.low())
		a.imm64(v)
	}
}

// MovImm32 emits mov dst32, imm (zero-extending). Unlike MovImm it never
// uses xor, so it leaves the flags alone.
func (a *Asm) MovImm32(dst Reg, v uint32) {
	a.prefix(W32, 0, 0, dst, false)
	a.b(0xb8 + dst.low())
	a.imm32(int32(v))
}

// Load emits a load of width w from m into dst. Loads of 8 and 16 bits
// zero-extend (movzx); 32-bit loads zero-extend by the ISA rule.
func (a *Asm) Load(w Width, dst Reg, m Mem) {
	switch w {
	case W8:
		a.rm(W32, []byte{0x0f, 0xb6}, dst, m)
	case W16:
		a.rm(W32, []byte{0x0f, 0xb7}, dst, m)
	default:
		a.rm(w, []byte{0x8b}, dst, m)
	}
}

// LoadSX emits a sign-extending load of width w (8, 16 or 32) from m into
// the 64-bit dst.
func (a *Asm) LoadSX(w Width, dst Reg, m Mem) {
	switch w {
	case W8:
		a.rm(W64, []byte{0x0f, 0xbe}, dst, m)
	case W16:
		a.rm(W64, []byte{0x0f, 0xbf}, dst, m)
	default:
		a.rm(W64, []byte{0x63}, dst, m)
	}
}

// Store emits a store of the low w bits of src to m.
func (a *Asm) Store(w Width, m Mem, src Reg) {
	if w == W8 {
		a.rm(W8, []byte{0x88}, src, m)
		return
	}
	a.rm(w, []byte{0x89}, src, m)
}

// StoreImm emits a store of the low w bits of imm to m (a 64-bit store
// sign-extends the 32-bit immediate).
func (a *Asm) StoreImm(w Width, m Mem, imm int32) {
	switch w {
	case W8:
		a.rmExt(W8, []byte{0xc6}, 0, m)
		a.imm8(int8(imm))
	case W16:
		a.rmExt(W16, []byte{0xc7}, 0, m)
		a.imm16(int16(imm))
	default:
		a.rmExt(w, []byte{0xc7}, 0, m)
		a.imm32(imm)
	}
}

// Lea emits dst = address of m.
func (a *Asm) Lea(dst Reg, m Mem) { a.rm(W64, []byte{0x8d}, dst, m) }

// LeaRIP emits dst = address of label l (RIP-relative).
func (a *Asm) LeaRIP(dst Reg, l Label) {
	a.prefix(W64, dst, 0, 0, false)
	a.b(0x8d, 0x05|dst.low()<<3)
	a.rel32(l)
}

// ShiftOp is a shift or rotate selected by the ModRM reg field of
// 0xc1/0xd3.
type ShiftOp uint8

// Shifts and rotates.
const (
	ROL ShiftOp = 0
	ROR ShiftOp = 1
	SHL ShiftOp = 4
	SHR ShiftOp = 5
	SAR ShiftOp = 7
)

// ShiftImm emits a shift of dst by a constant count (width 16, 32 or 64).
func (a *Asm) ShiftImm(w Width, op ShiftOp, dst Reg, n uint8) {
	a.prefix(w, 0, 0, dst, false)
	a.b(0xc1)
	a.modrmReg(Reg(op), dst)
	a.b(n)
}

// ShiftCL emits a shift of dst by CL. The processor masks the count to 5
// bits for 32-bit operands and 6 bits for 64-bit ones.
func (a *Asm) ShiftCL(w Width, op ShiftOp, dst Reg) {
	a.prefix(w, 0, 0, dst, false)
	a.b(0xd3)
	a.modrmReg(Reg(op), dst)
}

// IMulRR emits dst = dst * src (signed multiply, low half).
func (a *Asm) IMulRR(w Width, dst, src Reg) { a.rr(w, []byte{0x0f, 0xaf}, dst, src) }

// IMulRRI emits dst = src * imm.
func (a *Asm) IMulRRI(w Width, dst, src Reg, imm int32) {
	if imm >= -128 && imm <= 127 {
		a.rr(w, []byte{0x6b}, dst, src)
		a.imm8(int8(imm))
		return
	}
	a.rr(w, []byte{0x69}, dst, src)
	a.imm32(imm)
}

// Unary is a one-operand 0xf7 group operation.
type Unary uint8

// One-operand operations of the 0xf7 group.
const (
	NOT  Unary = 2
	NEG  Unary = 3
	MUL  Unary = 4
	IMUL Unary = 5
	DIV  Unary = 6 // rdx:rax / r -> rax, remainder rdx
	IDIV Unary = 7
)

// UnaryR emits a one-operand 0xf7 group operation on r.
func (a *Asm) UnaryR(w Width, op Unary, r Reg) {
	a.prefix(w, 0, 0, r, false)
	a.b(0xf7)
	a.modrmReg(Reg(op), r)
}

// Cqo emits cqo (64-bit) or cdq (32-bit): sign-extend rax into rdx.
func (a *Asm) Cqo(w Width) {
	if w == W64 {
		a.b(0x48)
	}
	a.b(0x99)
}

// Movzx emits dst = zero-extended low w (8 or 16) bits of src.
func (a *Asm) Movzx(w Width, dst, src Reg) {
	if w == W8 {
		// The source is a byte register: SIL/DIL/SPL/BPL need REX.
		a.prefixRex(W32, dst, 0, src, isByteRex(src))
		a.b(0x0f, 0xb6)
		a.modrmReg(dst, src)
		return
	}
	a.rr(W32, []byte{0x0f, 0xb7}, dst, src)
}

// Movsx emits dst = sign-extended low w (8, 16 or 32) bits of src, at
// destination width dw (32 or 64).
func (a *Asm) Movsx(dw, w Width, dst, src Reg) {
	switch w {
	case W8:
		a.prefixRex(dw, dst, 0, src, isByteRex(src))
		a.b(0x0f, 0xbe)
		a.modrmReg(dst, src)
	case W16:
		a.rr(dw, []byte{0x0f, 0xbf}, dst, src)
	default:
		a.rr(W64, []byte{0x63}, dst, src)
	}
}

// Bswap emits a byte swap of the 32- or 64-bit register r.
func (a *Asm) Bswap(w Width, r Reg) {
	a.prefix(w, 0, 0, r, false)
	a.b(0x0f, 0xc8+r.low())
}

// Xadd emits lock xadd [m], r: [m] += r, r = old [m].
func (a *Asm) Xadd(w Width, m Mem, r Reg) {
	a.b(0xf0)
	a.rm(w, []byte{0x0f, 0xc1}, r, m)
}

// Xchg emits xchg [m], r, which is implicitly locked.
func (a *Asm) Xchg(w Width, m Mem, r Reg) { a.rm(w, []byte{0x87}, r, m) }

// CmpXchg emits lock cmpxchg [m], r: if [m] == rax { [m] = r } else { rax = [m] }.
func (a *Asm) CmpXchg(w Width, m Mem, r Reg) {
	a.b(0xf0)
	a.rm(w, []byte{0x0f, 0xb1}, r, m)
}

// Mfence emits a full memory barrier.
func (a *Asm) Mfence() { a.b(0x0f, 0xae, 0xf0) }

func (a *Asm) rel32(l Label) {
	a.fixups = append(a.fixups, fixup{at: len(a.Buf), label: l})
	a.imm32(0)
}

// Jmp emits an unconditional jump to l (rel32).
func (a *Asm) Jmp(l Label) {
	a.b(0xe9)
	a.rel32(l)
}

// Jcc emits a conditional jump to l (rel32).
func (a *Asm) Jcc(c Cond, l Label) {
	a.b(0x0f, 0x80|byte(c))
	a.rel32(l)
}

// JmpR emits an indirect jump to the address in r.
func (a *Asm) JmpR(r Reg) {
	a.prefix(W32, 0, 0, r, false)
	a.b(0xff)
	a.modrmReg(4, r)
}

// JmpM emits an indirect jump to the address stored at m.
func (a *Asm) JmpM(m Mem) { a.rmExt(W32, []byte{0xff}, 4, m) }

// Call emits a direct call to l (rel32).
func (a *Asm) Call(l Label) {
	a.b(0xe8)
	a.rel32(l)
}

// Ret emits ret.
func (a *Asm) Ret() { a.b(0xc3) }

// Setcc emits dst8 = cond ? 1 : 0.
func (a *Asm) Setcc(c Cond, dst Reg) {
	a.prefixRex(W32, 0, 0, dst, isByteRex(dst))
	a.b(0x0f, 0x90|byte(c))
	a.modrmReg(0, dst)
}

// Cmovcc emits if cond { dst = src }.
func (a *Asm) Cmovcc(w Width, c Cond, dst, src Reg) {
	a.rr(w, []byte{0x0f, 0x40 | byte(c)}, dst, src)
}

// Int3 emits a breakpoint, used to pad unreachable code.
func (a *Asm) Int3() { a.b(0xcc) }

// Ud2 emits an undefined instruction, used to pad unreachable code.
func (a *Asm) Ud2() { a.b(0x0f, 0x0b) }
