package insn

import (
	"fmt"
	"strconv"
)

var aluOperators = map[ALUOp]string{
	Add: "+=", Sub: "-=", Mul: "*=", Div: "/=", SDiv: "s/=", Or: "|=", And: "&=",
	LSh: "<<=", RSh: ">>=", Mod: "%=", SMod: "s%=", Xor: "^=", Mov: "=", ArSh: "s>>=",
}

var jumpOperators = map[JumpOp]string{
	JEq: "==", JGT: ">", JGE: ">=", JSet: "&", JNE: "!=", JSGT: "s>", JSGE: "s>=",
	JLT: "<", JLE: "<=", JSLT: "s<", JSLE: "s<=",
}

var sizeNames = map[Size]string{B: "u8", H: "u16", W: "u32", DW: "u64"}

var atomicOperators = map[AtomicOp]string{
	AtomicAdd: "+=", AtomicOr: "|=", AtomicAnd: "&=", AtomicXor: "^=",
}

var atomicFetchNames = map[AtomicOp]string{
	AtomicFetchAdd: "atomic_fetch_add", AtomicFetchOr: "atomic_fetch_or",
	AtomicFetchAnd: "atomic_fetch_and", AtomicFetchXor: "atomic_fetch_xor",
}

// String disassembles one instruction in the syntax of llvm-objdump and the
// kernel's documentation, for example "r2 = *(u32 *)(r1 + 4)". A jump or
// local call that has a Ref prints the label instead of the offset. An
// instruction that is not valid prints as "invalid: ..." with the reason.
func (i Instruction) String() string {
	if err := i.check(); err != nil {
		return fmt.Sprintf("invalid: %v", err)
	}
	switch i.OpCode.Class() {
	case ClassALU, ClassALU64:
		return i.aluString()
	case ClassJmp, ClassJmp32:
		return i.jumpString()
	case ClassLd:
		return i.ldString()
	case ClassLdX:
		sign := "u"
		if i.OpCode.Mode() == ModeMemSX {
			sign = "s"
		}
		return fmt.Sprintf("%s = *(%s%d *)%s", i.Dst, sign, i.OpCode.Size().Bytes()*8, memOperand(i.Src, i.Offset))
	case ClassSt:
		return fmt.Sprintf("*(%s *)%s = %d", sizeNames[i.OpCode.Size()], memOperand(i.Dst, i.Offset), i.Imm)
	}
	if i.OpCode.Mode() == ModeMem {
		return fmt.Sprintf("*(%s *)%s = %s", sizeNames[i.OpCode.Size()], memOperand(i.Dst, i.Offset), i.Src)
	}
	return i.atomicString()
}

func memOperand(base Register, off int16) string {
	if off < 0 {
		return fmt.Sprintf("(%s - %d)", base, -int(off))
	}
	return fmt.Sprintf("(%s + %d)", base, off)
}

// wreg names a register as its 32-bit half, "w1".
func wreg(r Register) string { return "w" + strconv.Itoa(int(r)) }

func (i Instruction) aluString() string {
	is64 := i.OpCode.Class() == ClassALU64
	reg := func(r Register) string {
		if is64 {
			return r.String()
		}
		return wreg(r)
	}
	code := ALUOp(i.OpCode.Code())
	switch code {
	case neg:
		return fmt.Sprintf("%s = -%s", reg(i.Dst), reg(i.Dst))
	case end:
		name := "le"
		switch {
		case is64:
			name = "bswap"
		case i.OpCode.Source() == SourceX:
			name = "be"
		}
		return fmt.Sprintf("%s = %s%d %s", i.Dst, name, i.Imm, i.Dst)
	}
	op := code | ALUOp(uint16(i.Offset)<<8)
	if i.IsAddrSpaceCast() {
		return fmt.Sprintf("%s = addr_space_cast(%s, %d, %d)", i.Dst, i.Src, i.Imm>>16, i.Imm&0xffff)
	}
	if code == Mov && i.OpCode.Source() == SourceX && i.Offset != 0 {
		return fmt.Sprintf("%s = (s%d)%s", reg(i.Dst), i.Offset, reg(i.Src))
	}
	if i.OpCode.Source() == SourceX {
		return fmt.Sprintf("%s %s %s", reg(i.Dst), aluOperators[op], reg(i.Src))
	}
	return fmt.Sprintf("%s %s %d", reg(i.Dst), aluOperators[op], i.Imm)
}

// target prints a jump destination: the label if there is one, else the
// signed offset.
func target(ref string, off int64) string {
	if ref != "" {
		return ref
	}
	return fmt.Sprintf("%+d", off)
}

func (i Instruction) jumpString() string {
	is32 := i.OpCode.Class() == ClassJmp32
	switch JumpOp(i.OpCode.Code()) {
	case ja:
		if is32 {
			return "gotol " + target(i.Ref, i.Imm)
		}
		return "goto " + target(i.Ref, int64(i.Offset))
	case jcond:
		return "may_goto " + target(i.Ref, int64(i.Offset))
	case exit:
		return "exit"
	case call:
		switch {
		case i.OpCode.Source() == SourceX:
			return "callx " + i.Dst.String()
		case i.Src == callLocal:
			if i.Ref != "" {
				return "call " + i.Ref
			}
			return fmt.Sprintf("call pc%+d", i.Imm)
		case i.Src == callKfunc:
			if i.Offset != 0 {
				return fmt.Sprintf("call kfunc %d, %d", i.Imm, i.Offset)
			}
			return fmt.Sprintf("call kfunc %d", i.Imm)
		}
		if name, ok := helperName(i.Imm); ok {
			return "call " + name
		}
		return fmt.Sprintf("call %d", i.Imm)
	}
	reg := Register.String
	if is32 {
		reg = wreg
	}
	rhs := strconv.FormatInt(i.Imm, 10)
	if i.OpCode.Source() == SourceX {
		rhs = reg(i.Src)
	}
	op := jumpOperators[JumpOp(i.OpCode.Code())]
	return fmt.Sprintf("if %s %s %s goto %s", reg(i.Dst), op, rhs, target(i.Ref, int64(i.Offset)))
}

func (i Instruction) ldString() string {
	size := i.OpCode.Size()
	switch i.OpCode.Mode() {
	case ModeAbs:
		return fmt.Sprintf("r0 = *(%s *)skb[%d]", sizeNames[size], i.Imm)
	case ModeInd:
		if i.Imm == 0 {
			return fmt.Sprintf("r0 = *(%s *)skb[%s]", sizeNames[size], i.Src)
		}
		if i.Imm < 0 {
			return fmt.Sprintf("r0 = *(%s *)skb[%s - %d]", sizeNames[size], i.Src, -i.Imm)
		}
		return fmt.Sprintf("r0 = *(%s *)skb[%s + %d]", sizeNames[size], i.Src, i.Imm)
	}
	arg := func(v int64) string {
		if i.Ref != "" {
			return i.Ref
		}
		return strconv.FormatInt(v, 10)
	}
	lo := int64(i.MapFD())
	switch PseudoSrc(i.Src) {
	case PseudoMapFD:
		return fmt.Sprintf("%s = map_fd(%s) ll", i.Dst, arg(lo))
	case PseudoMapValue:
		return fmt.Sprintf("%s = map_value(%s, %d) ll", i.Dst, arg(lo), i.MapValueOffset())
	case PseudoBTFID:
		return fmt.Sprintf("%s = btf_id(%d, %d) ll", i.Dst, lo, i.MapValueOffset())
	case PseudoFunc:
		if i.Ref != "" {
			return fmt.Sprintf("%s = func(%s) ll", i.Dst, i.Ref)
		}
		return fmt.Sprintf("%s = func(pc%+d, %d) ll", i.Dst, lo, i.MapValueOffset())
	case PseudoMapIdx:
		return fmt.Sprintf("%s = map_idx(%s) ll", i.Dst, arg(lo))
	case PseudoMapIdxValue:
		return fmt.Sprintf("%s = map_idx_value(%s, %d) ll", i.Dst, arg(lo), i.MapValueOffset())
	}
	return fmt.Sprintf("%s = %#x ll", i.Dst, uint64(i.Imm))
}

func (i Instruction) atomicString() string {
	size := i.OpCode.Size()
	is64 := size == DW
	reg := func(r Register) string {
		if is64 {
			return r.String()
		}
		return wreg(r)
	}
	ptr := fmt.Sprintf("(%s *)%s", sizeNames[size], memOperand(i.Dst, i.Offset))
	op := AtomicOp(i.Imm)
	switch op {
	case AtomicLoadAcquire:
		return fmt.Sprintf("%s = load_acquire((%s *)%s)", reg(i.Dst), sizeNames[size], memOperand(i.Src, i.Offset))
	case AtomicStoreRelease:
		return fmt.Sprintf("store_release(%s, %s)", ptr, reg(i.Src))
	case AtomicXchg, AtomicCmpXchg:
		name := "xchg"
		if op == AtomicCmpXchg {
			name = "cmpxchg"
		}
		if is64 {
			name += "_64"
		} else {
			name += "32_32"
		}
		addr := memOperand(i.Dst, i.Offset)
		addr = addr[1 : len(addr)-1]
		if op == AtomicCmpXchg {
			return fmt.Sprintf("%s = %s(%s, %s, %s)", reg(R0), name, addr, reg(R0), reg(i.Src))
		}
		return fmt.Sprintf("%s = %s(%s, %s)", reg(i.Src), name, addr, reg(i.Src))
	}
	if name, ok := atomicFetchNames[op]; ok {
		return fmt.Sprintf("%s = %s(%s, %s)", reg(i.Src), name, ptr, reg(i.Src))
	}
	return fmt.Sprintf("lock *%s %s %s", ptr, atomicOperators[op], reg(i.Src))
}
