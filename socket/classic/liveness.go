package classic

import "golang.org/x/net/bpf"

// successors returns the classic instructions control can pass to from
// pc (none after a return).
func successors(ri bpf.RawInstruction, pc int) []int {
	switch ri.Op & 0x07 {
	case clsRet:
		return nil
	case clsJmp:
		if ri.Op&0xf0 == jmpJa {
			return []int{pc + 1 + int(ri.K)}
		}
		return []int{pc + 1 + int(ri.Jt), pc + 1 + int(ri.Jf)}
	}
	return []int{pc + 1}
}

// uses reports whether ri reads and whether it writes the accumulator A
// (x false) or the index register X (x true).
func uses(ri bpf.RawInstruction, x bool) (reads, writes bool) {
	op := ri.Op
	switch op & 0x07 {
	case clsLd:
		if op&0xe0 == mdAbs && ri.K == ancillaryOffsetU32+adALUXorX {
			return true, !x // A ^= X
		}
		if x {
			return op&0xe0 == mdInd, false
		}
		return false, true
	case clsLdx:
		return false, x
	case clsSt:
		return !x, false
	case clsStx:
		return x, false
	case clsALU:
		if x {
			return op&0xf0 != opNeg && op&srcX != 0, false
		}
		return true, true
	case clsJmp:
		if op&0xf0 == jmpJa {
			return false, false
		}
		return !x || op&srcX != 0, false
	case clsRet:
		return !x && op&0x18 == retA, false
	case clsMisc:
		if op&0xf8 == miscTxa {
			return x, !x
		}
		return !x, x // tax
	}
	return false, false
}

// liveIn returns, for each instruction, whether the register (A, or X
// when x is set) may be read before being written on some path starting
// at that instruction. Jumps only go forward, so one backward pass
// suffices.
func liveIn(filter []bpf.RawInstruction, x bool) []bool {
	live := make([]bool, len(filter)+1)
	for pc := len(filter) - 1; pc >= 0; pc-- {
		ri := filter[pc]
		out := false
		for _, s := range successors(ri, pc) {
			out = out || live[s]
		}
		reads, writes := uses(ri, x)
		live[pc] = reads || (out && !writes)
	}
	return live[:len(filter)]
}
