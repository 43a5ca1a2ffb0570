package classic

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// allowed lists the exact opcodes the kernel's classic checker accepts
// (bpf_check_classic in net/core/filter.c).
var allowed = func() map[uint16]bool {
	m := map[uint16]bool{
		clsLd | szW | mdAbs: true, clsLd | szH | mdAbs: true, clsLd | szB | mdAbs: true,
		clsLd | szW | mdInd: true, clsLd | szH | mdInd: true, clsLd | szB | mdInd: true,
		clsLd | szW | mdLen: true, clsLd | mdImm: true, clsLd | mdMem: true,
		clsLdx | szW | mdLen: true, clsLdx | szB | mdMsh: true, clsLdx | mdImm: true, clsLdx | mdMem: true,
		clsSt: true, clsStx: true,
		clsALU | opNeg:    true,
		clsMisc | miscTax: true, clsMisc | miscTxa: true,
		clsRet | retK: true, clsRet | retA: true,
		clsJmp | jmpJa: true,
	}
	for op := range aluOps {
		m[clsALU|op|srcK] = true
		m[clsALU|op|srcX] = true
	}
	for _, op := range []uint16{jmpJeq, jmpJgt, jmpJge, jmpSet} {
		m[clsJmp|op|srcK] = true
		m[clsJmp|op|srcX] = true
	}
	return m
}()

// Check reports whether the kernel would accept filter as a classic socket
// filter, following bpf_check_classic (net/core/filter.c, Linux 6.x): its
// length, opcodes, constant divisors and shift counts, scratch indices,
// jump targets, ancillary load numbers, the final return, and that every
// scratch word is written on every path before it is read. It also
// rejects the ancillary loads this package cannot translate. Errors are
// *Error values.
func Check(filter []bpf.RawInstruction) error {
	if len(filter) == 0 || len(filter) > MaxInstructions {
		return &Error{Index: -1, Err: fmt.Errorf("%w: program has %d instructions, want 1 to %d", ErrInvalid, len(filter), MaxInstructions)}
	}
	bad := func(pc int, format string, args ...any) error {
		return &Error{Index: pc, Instruction: filter[pc].Disassemble(), Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)}
	}
	n := len(filter)
	for pc, ri := range filter {
		if !allowed[ri.Op] {
			return bad(pc, "unknown opcode %#x", ri.Op)
		}
		k := ri.K
		switch ri.Op & 0x07 {
		case clsALU:
			op := ri.Op & 0xf0
			if ri.Op&srcX == 0 && (op == opDiv || op == opMod) && k == 0 {
				return bad(pc, "division by constant zero")
			}
			if ri.Op&srcX == 0 && (op == opLsh || op == opRsh) && k >= 32 {
				return bad(pc, "shift by constant %d, want less than 32", k)
			}
		case clsLd, clsLdx:
			if ri.Op&0xe0 == mdMem && k >= memWords {
				return bad(pc, "scratch index %d out of range, want 0 to %d", k, memWords-1)
			}
			if ri.Op&0x07 == clsLd && ri.Op&0xe0 == mdAbs && k >= ancillaryOffsetU32 {
				ad := int32(k) - AncillaryOffset
				if ad >= ancillaryLimit || ad%4 != 0 {
					return bad(pc, "unknown ancillary load SKF_AD_OFF+%d", ad)
				}
				if !Supported(bpf.Extension(ad)) {
					return &Error{Index: pc, Instruction: ri.Disassemble(), Err: fmt.Errorf("%w: ancillary load SKF_AD_OFF+%d (%s) has no eBPF socket filter equivalent", ErrUnsupported, ad, adName(ad))}
				}
			}
		case clsSt, clsStx:
			if k >= memWords {
				return bad(pc, "scratch index %d out of range, want 0 to %d", k, memWords-1)
			}
		case clsJmp:
			if ri.Op&0xf0 == jmpJa {
				if uint64(k) >= uint64(n-pc-1) {
					return bad(pc, "jump target %d is out of range (program has %d instructions)", uint64(pc)+1+uint64(k), n)
				}
				break
			}
			if t := pc + 1 + int(ri.Jt); t >= n {
				return bad(pc, "true branch target %d is out of range (program has %d instructions)", t, n)
			}
			if f := pc + 1 + int(ri.Jf); f >= n {
				return bad(pc, "false branch target %d is out of range (program has %d instructions)", f, n)
			}
		}
	}
	if filter[n-1].Op&0x07 != clsRet {
		return bad(n-1, "the last instruction must be a return")
	}
	return checkScratch(filter)
}

// checkScratch rejects reads of scratch words that are not written on
// every path leading to them. Jumps only go forward, so one pass suffices:
// valid[pc] collects the words written on every jump into pc, and the
// fall-through state carries on after a return just as the kernel's
// check_load_and_stores does.
func checkScratch(filter []bpf.RawInstruction) error {
	valid := make([]uint16, len(filter))
	for pc := range valid {
		valid[pc] = 0xffff
	}
	var cur uint16
	for pc, ri := range filter {
		cur &= valid[pc]
		switch {
		case ri.Op == clsSt || ri.Op == clsStx:
			cur |= 1 << ri.K
		case ri.Op == clsLd|mdMem || ri.Op == clsLdx|mdMem:
			if cur&(1<<ri.K) == 0 {
				return &Error{Index: pc, Instruction: ri.Disassemble(), Err: fmt.Errorf("%w: scratch word M[%d] may be read before it is written", ErrInvalid, ri.K)}
			}
		case ri.Op&0x07 == clsJmp:
			if ri.Op&0xf0 == jmpJa {
				valid[pc+1+int(ri.K)] &= cur
			} else {
				valid[pc+1+int(ri.Jt)] &= cur
				valid[pc+1+int(ri.Jf)] &= cur
			}
			cur = 0xffff
		}
	}
	return nil
}
