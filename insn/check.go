package insn

import (
	"fmt"
	"math"
)

// check validates one instruction on its own: a known opcode, registers in
// range, zero reserved fields and no write to r10. The rules are those of
// RFC 9669 as the kernel's verifier enforces them (kernel/bpf/verifier.c,
// do_check and check_*_op, Linux 6.15).
func (i Instruction) check() error {
	if i.Dst > MaxRegister {
		return fmt.Errorf("%w: dst r%d", ErrBadRegister, uint8(i.Dst))
	}
	if i.Src > 0x0f {
		return fmt.Errorf("%w: src %d", ErrBadRegister, uint8(i.Src))
	}
	if !i.IsLoadImm64() && (i.Imm < math.MinInt32 || i.Imm > math.MaxInt32) {
		return fmt.Errorf("%w: %d", ErrImmediateOverrun, i.Imm)
	}
	switch i.OpCode.Class() {
	case ClassALU, ClassALU64:
		return i.checkALU()
	case ClassJmp, ClassJmp32:
		return i.checkJump()
	case ClassLd:
		return i.checkLd()
	case ClassLdX:
		return i.checkLdX()
	case ClassSt:
		if i.OpCode.Mode() != ModeMem {
			return unknownOpcode(i.OpCode)
		}
		return i.zero(false, true, false, false)
	default: // ClassStX
		switch i.OpCode.Mode() {
		case ModeMem:
			if err := i.checkSrc(); err != nil {
				return err
			}
			return i.zero(false, false, false, true)
		case ModeAtomic:
			return i.checkAtomic()
		}
		return unknownOpcode(i.OpCode)
	}
}

func unknownOpcode(op OpCode) error {
	return fmt.Errorf("%w 0x%02x", ErrUnknownOpcode, uint8(op))
}

// zero checks that the named fields are zero.
func (i Instruction) zero(dst, src, off, imm bool) error {
	switch {
	case dst && i.Dst != 0:
		return fmt.Errorf("%w: dst is r%d in %s", ErrReservedField, i.Dst, i.describe())
	case src && i.Src != 0:
		return fmt.Errorf("%w: src is %d in %s", ErrReservedField, i.Src, i.describe())
	case off && i.Offset != 0:
		return fmt.Errorf("%w: offset is %d in %s", ErrReservedField, i.Offset, i.describe())
	case imm && i.Imm != 0:
		return fmt.Errorf("%w: imm is %d in %s", ErrReservedField, i.Imm, i.describe())
	}
	return nil
}

func (i Instruction) describe() string { return fmt.Sprintf("opcode 0x%02x", uint8(i.OpCode)) }

func (i Instruction) checkSrc() error {
	if i.Src > MaxRegister {
		return fmt.Errorf("%w: src r%d", ErrBadRegister, uint8(i.Src))
	}
	return nil
}

func (i Instruction) writesDst() error {
	if i.Dst == R10 {
		return fmt.Errorf("%w (%s)", ErrWriteFP, i.describe())
	}
	return nil
}

func (i Instruction) checkALU() error {
	is64 := i.OpCode.Class() == ClassALU64
	x := i.OpCode.Source() == SourceX
	code := ALUOp(i.OpCode.Code())
	if code == 0xe0 || code == 0xf0 {
		return unknownOpcode(i.OpCode)
	}
	if err := i.writesDst(); err != nil {
		return err
	}
	// Offsets that select a variant.
	offOK := i.Offset == 0
	switch code {
	case Div, Mod:
		offOK = i.Offset == 0 || i.Offset == 1
	case Mov:
		if x {
			offOK = i.Offset == 0 || i.Offset == 8 || i.Offset == 16 || (is64 && i.Offset == 32)
		}
		if i.IsAddrSpaceCast() {
			// The verifier (check_alu_op, Linux 6.9+) takes casts
			// between address spaces 0 and 1 only.
			if i.Imm != 1 && i.Imm != 1<<16 {
				return fmt.Errorf("%w: addr_space_cast imm %#x: the kernel casts only from address space 1 to 0 (imm 0x1) or from 0 to 1 (imm 0x10000)", ErrInvalidField, i.Imm)
			}
			return i.checkSrc()
		}
	}
	if !offOK {
		return fmt.Errorf("%w: offset %d in %s", ErrInvalidField, i.Offset, i.describe())
	}
	switch code {
	case neg:
		if x {
			return unknownOpcode(i.OpCode)
		}
		return i.zero(false, true, false, true)
	case end:
		if is64 && x {
			return unknownOpcode(i.OpCode)
		}
		if i.Imm != 16 && i.Imm != 32 && i.Imm != 64 {
			return fmt.Errorf("%w: byte swap width %d, want 16, 32 or 64", ErrInvalidField, i.Imm)
		}
		return i.zero(false, true, false, false)
	}
	if x {
		if err := i.checkSrc(); err != nil {
			return err
		}
		return i.zero(false, false, false, true)
	}
	return i.zero(false, true, false, false)
}

func (i Instruction) checkJump() error {
	is32 := i.OpCode.Class() == ClassJmp32
	x := i.OpCode.Source() == SourceX
	switch JumpOp(i.OpCode.Code()) {
	case ja:
		if x {
			return unknownOpcode(i.OpCode)
		}
		if is32 { // gotol: the distance is in imm
			return i.zero(true, true, true, false)
		}
		return i.zero(true, true, false, true)
	case call:
		if is32 {
			return unknownOpcode(i.OpCode)
		}
		if x { // callx: the target register is in dst
			return i.zero(false, true, true, true)
		}
		if i.Src > callKfunc {
			return fmt.Errorf("%w: call src %d, want 0 (helper), 1 (local) or 2 (kfunc)", ErrInvalidField, i.Src)
		}
		if i.Src == callKfunc {
			return i.zero(true, false, false, false) // off is a module BTF fd index
		}
		return i.zero(true, false, true, false)
	case exit:
		if is32 || x {
			return unknownOpcode(i.OpCode)
		}
		return i.zero(true, true, true, true)
	case jcond:
		if is32 || x {
			return unknownOpcode(i.OpCode)
		}
		// may_goto: src 0 (BPF_MAY_GOTO), no dst, no imm.
		return i.zero(true, true, false, true)
	case 0xf0:
		return unknownOpcode(i.OpCode)
	}
	if x {
		if err := i.checkSrc(); err != nil {
			return err
		}
		return i.zero(false, false, false, true)
	}
	return i.zero(false, true, false, false)
}

func (i Instruction) checkLd() error {
	op := i.OpCode
	switch op.Mode() {
	case ModeImm:
		if op.Size() != DW {
			return unknownOpcode(op)
		}
		if PseudoSrc(i.Src) > maxPseudoSrc {
			return fmt.Errorf("%w: lddw src %d, want 0 to %d", ErrInvalidField, i.Src, maxPseudoSrc)
		}
		if err := i.writesDst(); err != nil {
			return err
		}
		switch PseudoSrc(i.Src) {
		case PseudoMapFD, PseudoMapIdx:
			// The second slot's imm is reserved for these
			// (kernel/bpf/verifier.c, resolve_pseudo_ldimm64).
			if i.MapValueOffset() != 0 {
				return fmt.Errorf("%w: upper imm is 0x%x in lddw with src %d", ErrReservedField, i.MapValueOffset(), i.Src)
			}
		}
		return i.zero(false, false, true, false)
	case ModeAbs, ModeInd:
		if op.Size() == DW {
			return unknownOpcode(op)
		}
		if op.Mode() == ModeAbs {
			return i.zero(true, true, true, false)
		}
		if err := i.checkSrc(); err != nil {
			return err
		}
		return i.zero(true, false, true, false)
	}
	return unknownOpcode(op)
}

func (i Instruction) checkLdX() error {
	switch i.OpCode.Mode() {
	case ModeMem:
	case ModeMemSX:
		if i.OpCode.Size() == DW {
			return unknownOpcode(i.OpCode)
		}
	default:
		return unknownOpcode(i.OpCode)
	}
	if err := i.checkSrc(); err != nil {
		return err
	}
	if err := i.writesDst(); err != nil {
		return err
	}
	return i.zero(false, false, false, true)
}

func (i Instruction) checkAtomic() error {
	if err := i.checkSrc(); err != nil {
		return err
	}
	size := i.OpCode.Size()
	switch op := AtomicOp(i.Imm); op {
	case AtomicAdd, AtomicOr, AtomicAnd, AtomicXor:
	case AtomicFetchAdd, AtomicFetchOr, AtomicFetchAnd, AtomicFetchXor, AtomicXchg:
		if i.Src == R10 {
			return fmt.Errorf("%w (atomic fetch writes src)", ErrWriteFP)
		}
	case AtomicCmpXchg:
	case AtomicLoadAcquire:
		if i.Dst == R10 {
			return fmt.Errorf("%w (load-acquire writes dst)", ErrWriteFP)
		}
		return nil
	case AtomicStoreRelease:
		return nil
	default:
		return fmt.Errorf("%w: atomic operation 0x%x", ErrInvalidField, int32(op))
	}
	if size != W && size != DW {
		return fmt.Errorf("%w: atomic read-modify-write on %d bytes, want 4 or 8", ErrInvalidField, size.Bytes())
	}
	return nil
}
