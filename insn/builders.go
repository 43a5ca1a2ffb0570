package insn

func alu(class Class, src Source, op ALUOp, dst, srcReg Register, imm int32) Instruction {
	return Instruction{
		OpCode: OpCode(class) | OpCode(src) | OpCode(op.Code()),
		Dst:    dst,
		Src:    srcReg,
		Offset: op.Offset(),
		Imm:    int64(imm),
	}
}

// Imm returns the 64-bit operation dst op= imm, for example
// Add.Imm(R0, 1) is "r0 += 1".
func (op ALUOp) Imm(dst Register, imm int32) Instruction {
	return alu(ClassALU64, SourceK, op, dst, 0, imm)
}

// Reg returns the 64-bit operation dst op= src, for example
// Mov.Reg(R6, R1) is "r6 = r1".
func (op ALUOp) Reg(dst, src Register) Instruction {
	return alu(ClassALU64, SourceX, op, dst, src, 0)
}

// Imm32 returns the 32-bit operation dst op= imm. The result is
// zero-extended to 64 bits.
func (op ALUOp) Imm32(dst Register, imm int32) Instruction {
	return alu(ClassALU, SourceK, op, dst, 0, imm)
}

// Reg32 returns the 32-bit operation dst op= src. The result is
// zero-extended to 64 bits.
func (op ALUOp) Reg32(dst, src Register) Instruction {
	return alu(ClassALU, SourceX, op, dst, src, 0)
}

// Neg returns "dst = -dst" on 64 bits.
func Neg(dst Register) Instruction { return alu(ClassALU64, SourceK, neg, dst, 0, 0) }

// Neg32 returns "dst = -dst" on 32 bits.
func Neg32(dst Register) Instruction { return alu(ClassALU, SourceK, neg, dst, 0, 0) }

// ToLE converts the low bits (16, 32 or 64) of dst from host to little-endian
// order, clearing the bits above: "dst = le16 dst".
func ToLE(dst Register, bits int32) Instruction { return alu(ClassALU, SourceK, end, dst, 0, bits) }

// ToBE converts the low bits (16, 32 or 64) of dst from host to big-endian
// order, clearing the bits above: "dst = be16 dst".
func ToBE(dst Register, bits int32) Instruction { return alu(ClassALU, SourceX, end, dst, 0, bits) }

// BSwap unconditionally reverses the bytes of the low bits (16, 32 or 64)
// of dst, clearing the bits above: "dst = bswap16 dst" (ALU64 opcode 0xd7).
func BSwap(dst Register, bits int32) Instruction {
	return alu(ClassALU64, SourceK, end, dst, 0, bits)
}

// AddrSpaceCast returns "dst = addr_space_cast(src, dstAS, srcAS)", which
// converts a pointer between the address spaces of a BPF arena (Linux 6.9,
// BPF_ADDR_SPACE_CAST: ALU64 MOV X with offset 1 and imm dstAS<<16 |
// srcAS). The kernel takes only the casts from address space 1 (the
// arena's user addresses) to 0 (the kernel's) and back: (dst, src, 0, 1)
// and (dst, src, 1, 0).
func AddrSpaceCast(dst, src Register, dstAS, srcAS uint16) Instruction {
	return Instruction{
		OpCode: OpCode(ClassALU64) | OpCode(SourceX) | OpCode(Mov),
		Dst:    dst,
		Src:    src,
		Offset: addrSpaceCastOff,
		Imm:    int64(dstAS)<<16 | int64(srcAS),
	}
}

// addrSpaceCastOff is the offset of a MOV that marks it as
// addr_space_cast (BPF_ADDR_SPACE_CAST).
const addrSpaceCastOff = 1

// IsAddrSpaceCast reports whether i is an addr_space_cast.
func (i Instruction) IsAddrSpaceCast() bool {
	return i.OpCode == OpCode(ClassALU64)|OpCode(SourceX)|OpCode(Mov) && i.Offset == addrSpaceCastOff
}

func jump(class Class, src Source, op JumpOp, dst, srcReg Register, imm int32, label string) Instruction {
	return Instruction{
		OpCode: OpCode(class) | OpCode(src) | OpCode(op),
		Dst:    dst,
		Src:    srcReg,
		Imm:    int64(imm),
		Ref:    label,
	}
}

// Imm returns "if dst op imm goto label", comparing 64 bits.
func (op JumpOp) Imm(dst Register, imm int32, label string) Instruction {
	return jump(ClassJmp, SourceK, op, dst, 0, imm, label)
}

// Reg returns "if dst op src goto label", comparing 64 bits.
func (op JumpOp) Reg(dst, src Register, label string) Instruction {
	return jump(ClassJmp, SourceX, op, dst, src, 0, label)
}

// Imm32 returns "if wdst op imm goto label", comparing the low 32 bits.
func (op JumpOp) Imm32(dst Register, imm int32, label string) Instruction {
	return jump(ClassJmp32, SourceK, op, dst, 0, imm, label)
}

// Reg32 returns "if wdst op wsrc goto label", comparing the low 32 bits.
func (op JumpOp) Reg32(dst, src Register, label string) Instruction {
	return jump(ClassJmp32, SourceX, op, dst, src, 0, label)
}

// Ja returns "goto label", an unconditional jump with a 16-bit offset.
func Ja(label string) Instruction { return jump(ClassJmp, SourceK, ja, 0, 0, 0, label) }

// Gotol returns "gotol label", an unconditional jump with a 32-bit offset
// held in imm (JMP32|JA, Linux 6.6).
func Gotol(label string) Instruction { return jump(ClassJmp32, SourceK, ja, 0, 0, 0, label) }

// MayGoto returns "may_goto label" (Linux 6.9): a jump the kernel takes once
// a loop has run out of its iteration allowance, and otherwise falls through.
func MayGoto(label string) Instruction { return jump(ClassJmp, SourceK, jcond, 0, 0, 0, label) }

// Call returns "call helper", a call of the kernel helper with that number.
func Call(helper int32) Instruction { return jump(ClassJmp, SourceK, call, 0, callHelper, helper, "") }

// CallLocal returns "call label", a bpf-to-bpf call of the function that
// starts at label.
func CallLocal(label string) Instruction {
	return jump(ClassJmp, SourceK, call, 0, callLocal, 0, label)
}

// CallBTF returns a call of the kernel function (kfunc) with that BTF id.
func CallBTF(id int32) Instruction { return jump(ClassJmp, SourceK, call, 0, callKfunc, id, "") }

// CallX returns "callx reg", an indirect call of the helper whose number is
// in reg (opcode 0x8d, register in dst, as the conformance suite encodes it).
func CallX(reg Register) Instruction { return jump(ClassJmp, SourceX, call, reg, 0, 0, "") }

// Exit returns "exit": return r0 to the caller.
func Exit() Instruction { return jump(ClassJmp, SourceK, exit, 0, 0, 0, "") }

// LoadMem returns "dst = *(size *)(src + off)".
func LoadMem(dst, src Register, off int16, size Size) Instruction {
	return Instruction{OpCode: OpCode(ClassLdX) | OpCode(ModeMem) | OpCode(size), Dst: dst, Src: src, Offset: off}
}

// LoadMemSX returns "dst = *(s8/s16/s32 *)(src + off)", a sign-extending
// load (Linux 6.6). Size must be B, H or W.
func LoadMemSX(dst, src Register, off int16, size Size) Instruction {
	return Instruction{OpCode: OpCode(ClassLdX) | OpCode(ModeMemSX) | OpCode(size), Dst: dst, Src: src, Offset: off}
}

// StoreMem returns "*(size *)(dst + off) = src".
func StoreMem(dst Register, off int16, src Register, size Size) Instruction {
	return Instruction{OpCode: OpCode(ClassStX) | OpCode(ModeMem) | OpCode(size), Dst: dst, Src: src, Offset: off}
}

// StoreImm returns "*(size *)(dst + off) = imm".
func StoreImm(dst Register, off int16, imm int32, size Size) Instruction {
	return Instruction{OpCode: OpCode(ClassSt) | OpCode(ModeMem) | OpCode(size), Dst: dst, Offset: off, Imm: int64(imm)}
}

// Atomic returns the atomic operation op on the W or DW at dst + off with
// operand src, for example Atomic(AtomicAdd, DW, R10, -8, R1) is
// "lock *(u64 *)(r10 - 8) += r1".
func Atomic(op AtomicOp, size Size, dst Register, off int16, src Register) Instruction {
	return Instruction{OpCode: OpCode(ClassStX) | OpCode(ModeAtomic) | OpCode(size), Dst: dst, Src: src, Offset: off, Imm: int64(op)}
}

// LoadAcquire returns "dst = load_acquire((size *)(src + off))" (Linux 6.15).
func LoadAcquire(dst, src Register, off int16, size Size) Instruction {
	i := Atomic(AtomicLoadAcquire, size, src, off, src)
	i.Dst = dst
	return i
}

// StoreRelease returns "store_release((size *)(dst + off), src)" (Linux 6.15).
func StoreRelease(dst Register, off int16, src Register, size Size) Instruction {
	return Atomic(AtomicStoreRelease, size, dst, off, src)
}

// LoadImm64 returns "dst = value ll", the two-slot 64-bit constant load.
func LoadImm64(dst Register, value int64) Instruction {
	return Instruction{OpCode: OpLdImm64, Dst: dst, Imm: value}
}

// LoadPseudo returns an LD_IMM64 with the given pseudo source, whose 64-bit
// constant is interpreted by the loader (a map fd, a BTF id, ...).
func LoadPseudo(dst Register, src PseudoSrc, value int64) Instruction {
	return Instruction{OpCode: OpLdImm64, Dst: dst, Src: Register(src), Imm: value}
}

// LoadMapPtr returns "dst = map_fd(name) ll": dst becomes a pointer to the
// map called name, resolved by the loader.
func LoadMapPtr(dst Register, name string) Instruction {
	i := LoadPseudo(dst, PseudoMapFD, 0)
	i.Ref = name
	return i
}

// LoadMapValue returns "dst = map_value(name, off) ll": dst becomes a
// pointer to byte off of the value of the first element of the map called
// name (an array map with one entry, as for global data).
func LoadMapValue(dst Register, name string, off uint32) Instruction {
	i := LoadPseudo(dst, PseudoMapValue, int64(uint64(off)<<32))
	i.Ref = name
	return i
}

// LoadAbs returns the legacy packet load "r0 = *(size *)skb[off]" (size B,
// H or W; the value is converted from network byte order). Only socket
// filter style programs may use it.
func LoadAbs(off int32, size Size) Instruction {
	return Instruction{OpCode: OpCode(ClassLd) | OpCode(ModeAbs) | OpCode(size), Imm: int64(off)}
}

// LoadInd returns the legacy packet load "r0 = *(size *)skb[src + off]".
func LoadInd(src Register, off int32, size Size) Instruction {
	return Instruction{OpCode: OpCode(ClassLd) | OpCode(ModeInd) | OpCode(size), Src: src, Imm: int64(off)}
}
