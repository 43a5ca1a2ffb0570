package jit

import (
	"math"

	"github.com/purebpf/purebpf/insn"
)

// Value facts: which loads and stores of a program provably fall inside a
// map value the run was granted, so that the JIT may make them without a
// region check, as the kernel's verifier lets its JIT do.
//
// A non-NULL result of the engine's own map_lookup_elem on a data map
// (array, hash, their per-CPU and LRU forms) is a region of exactly the
// map's value_size bytes, granted for the rest of the run (Env.AddRegion:
// interp never revokes a map value's region, and the Env's region keeps
// the memory alive however the map changes), and an LD_IMM64 map value
// load grants its array's whole storage (Env.mapValueAddr) before the
// program goes on. An access through a register that still holds such a
// pointer, at an offset that keeps it inside the region, therefore
// passes interp's check whatever the program's bytes: the check can go.
//
// The analysis is a forward dataflow over the program's instructions,
// with one fact per register r0-r9 and joins that keep a fact only where
// every path agrees. Facts come only from the sources above; an ALU64
// add or sub of a constant moves a pointer; a 64-bit mov copies it; any
// other write forgets it; calls forget r0-r5 (BPF's callee-saved r6-r9
// are restored by every call and return); a NULL check (a 64-bit JEQ or
// JNE with 0) turns a lookup result into a pointer on the path where it
// is not NULL, for every register holding the same result. Loads from the
// stack give nothing (spills are not tracked); a proven atomic keeps its
// alignment test. What the analysis does not prove keeps its check, so a wrong
// guess costs speed, never safety. Each entry point (the program's start,
// bpf-to-bpf call targets, callback functions) starts with no facts.
//
// map_lookup_elem is the engine's own helper only while the VM's helper
// registry says so (engine.StdHelpers): a test may register another, and
// the registry is read at run time. The JIT therefore proves nothing from
// a lookup unless the registry held the engine's own when it compiled,
// and a run that reaches such a lookup (leaving to Go: the code's fast
// path checks the same bit itself) after the registry changed fails with
// an error (run.call).

// factKind is what a register is known to hold.
type factKind uint8

const (
	factNone        factKind = iota // nothing known
	factMap                         // a map reference: LD_IMM64 of map idx
	factValueOrNull                 // map_lookup_elem's result at call slot idx: NULL or a value
	factValue                       // a pointer off bytes into a granted region of size bytes
	factCtx                         // the context's address plus off (r1 at the program's start)
	factStack                       // r10 plus off (of the frame the register was set in)
)

// fact is what one register is known to hold.
type fact struct {
	kind  factKind
	write bool  // factValueOrNull, factValue: the region may be written
	idx   int   // factMap: the map's index; factValueOrNull, factValue: the lookup's slot (-1 for a map value load)
	size  int64 // factValueOrNull, factValue: the region's length
	off   int64 // factValue: where the register points, from the region's start
}

// regFacts is what r0-r9 are known to hold at an instruction.
type regFacts [10]fact

// factSource says where the facts come from in a VM's program.
type factSource struct {
	// mapIndex returns the map index of an LD_IMM64 map reference (src 1
	// or 5).
	mapIndex func(i insn.Instruction) (int, bool)
	// lookup returns, for map idx, the length of the region a non-NULL
	// map_lookup_elem result grants and whether it may be written; false
	// when its lookups grant no such region (maps of maps, special maps)
	// or map_lookup_elem is not the engine's own.
	lookup func(idx int) (size int64, write bool, ok bool)
	// storage returns the length of the region an LD_IMM64 map value load
	// (src 2 or 6) grants and the offset of the address it loads into it;
	// false when the load grants none.
	storage func(i insn.Instruction) (size, off int64, ok bool)
	// ctx says that r1 holds the context at the program's start and
	// that the context's words may be read directly (engine.DirectReads:
	// XDP, tc).
	ctx bool
}

// valueFacts is the analysis' result.
type valueFacts struct {
	// proven[s] says that the load or store at slot s falls inside a
	// granted map value whatever the program's bytes.
	proven []bool
	// lookups[s] says that a proof rests on the map_lookup_elem call at
	// slot s being the engine's own.
	lookups []bool
	// n counts the proven accesses.
	n int
	// ctxRead[s], when not negative, is the offset into the context of
	// the 4-byte load at slot s, which reads through a register that
	// holds the context's address plus a constant (nil: none): the JIT
	// checks such a load against the direct context reads first. A hint
	// only: the check it chooses is made at run time.
	ctxRead []int16
	// calls holds what r1-r5 are known to hold at each helper call.
	calls map[int]regFacts
}

// maxFactOff bounds the offsets the analysis tracks; a pointer moved
// further is forgotten.
const maxFactOff = math.MaxInt32

// analyzeValues computes the value facts of is.
func analyzeValues(is insn.Instructions, src factSource) valueFacts {
	slots := is.SlotOffsets()
	n := is.Slots()
	at := make([]int, n) // instruction index of each slot, -1 inside lddw
	for k := range at {
		at[k] = -1
	}
	for k, s := range slots {
		at[s] = k
	}
	out := valueFacts{proven: make([]bool, n), lookups: make([]bool, n)}
	in := make([]*regFacts, len(is))
	var work []int
	// flow merges f into instruction k's facts and queues k if they
	// changed.
	flow := func(k int, f *regFacts) {
		if k < 0 || k >= len(is) {
			return
		}
		if in[k] == nil {
			c := *f
			in[k] = &c
			work = append(work, k)
			return
		}
		changed := false
		for r := range in[k] {
			if in[k][r] != f[r] && in[k][r].kind != factNone {
				in[k][r] = fact{}
				changed = true
			}
		}
		if changed {
			work = append(work, k)
		}
	}
	slotIndex := func(s int) int {
		if s < 0 || s >= n {
			return -1
		}
		return at[s]
	}
	var none, entry regFacts
	if src.ctx {
		entry[1] = fact{kind: factCtx}
	}
	flow(0, &entry)
	for k, i := range is {
		if t, ok := entryTarget(i, slots[k]); ok {
			flow(slotIndex(t), &none)
		}
	}
	for len(work) > 0 {
		k := work[len(work)-1]
		work = work[:len(work)-1]
		f := *in[k]
		i := is[k]
		s := slots[k]
		next := k + 1
		switch cls := i.OpCode.Class(); {
		case cls == insn.ClassJmp || cls == insn.ClassJmp32:
			jop := insn.JumpOp(i.OpCode.Code())
			switch {
			case i.IsExit():
				continue
			case jop == insn.JCall:
				if i.IsHelperCall() && insn.HelperFunc(i.Imm) == insn.FnMapLookupElem && f[1].kind == factMap {
					if size, write, ok := src.lookup(f[1].idx); ok {
						f[0] = fact{kind: factValueOrNull, write: write, idx: s, size: size}
						for r := 1; r <= 5; r++ {
							f[r] = fact{}
						}
						flow(next, &f)
						continue
					}
				}
				for r := 0; r <= 5; r++ {
					f[r] = fact{}
				}
				flow(next, &f)
				continue
			case jop == insn.JA:
				rel := int(i.Offset)
				if cls == insn.ClassJmp32 {
					rel = int(i.Imm)
				}
				flow(slotIndex(s+1+rel), &f)
				continue
			}
			t := slotIndex(s + 1 + int(i.Offset))
			if (jop == insn.JEq || jop == insn.JNE) && cls == insn.ClassJmp && i.OpCode.Source() == insn.SourceK && i.Imm == 0 &&
				i.Dst <= insn.R9 && f[i.Dst].kind == factValueOrNull {
				nonNull := f
				id := f[i.Dst].idx
				for r := range nonNull {
					if g := nonNull[r]; g.kind == factValueOrNull && g.idx == id {
						nonNull[r] = fact{kind: factValue, write: g.write, idx: id, size: g.size}
					}
				}
				isNull := f // NULL is a scalar 0: nothing to prove with
				for r := range isNull {
					if g := isNull[r]; g.kind == factValueOrNull && g.idx == id {
						isNull[r] = fact{}
					}
				}
				if jop == insn.JEq {
					flow(t, &isNull)
					flow(next, &nonNull)
				} else {
					flow(t, &nonNull)
					flow(next, &isNull)
				}
				continue
			}
			flow(t, &f)
			flow(next, &f)
			continue
		case i.IsLoadImm64():
			var g fact
			switch insn.PseudoSrc(i.Src) {
			case insn.PseudoMapFD, insn.PseudoMapIdx:
				if idx, ok := src.mapIndex(i); ok {
					g = fact{kind: factMap, idx: idx}
				}
			case insn.PseudoMapValue, insn.PseudoMapIdxValue:
				if size, off, ok := src.storage(i); ok && off <= maxFactOff {
					g = fact{kind: factValue, write: true, idx: -1, size: size, off: off}
				}
			}
			if i.Dst <= insn.R9 {
				f[i.Dst] = g
			}
		case cls == insn.ClassALU64 || cls == insn.ClassALU:
			if i.Dst > insn.R9 {
				break
			}
			d := f[i.Dst]
			f[i.Dst] = fact{}
			if cls != insn.ClassALU64 {
				break
			}
			op := insn.ALUOp(i.OpCode.Code()) | insn.ALUOp(uint16(i.Offset))<<8
			switch {
			case op == insn.Mov && i.OpCode.Source() == insn.SourceX && i.Src <= insn.R9:
				f[i.Dst] = f[i.Src]
			case op == insn.Mov && i.OpCode.Source() == insn.SourceX && i.Src == insn.R10:
				f[i.Dst] = fact{kind: factStack}
			case (op == insn.Add || op == insn.Sub) && i.OpCode.Source() == insn.SourceK && (d.kind == factValue || d.kind == factCtx || d.kind == factStack):
				delta := int64(int32(i.Imm))
				if op == insn.Sub {
					delta = -delta
				}
				if o := d.off + delta; o >= -maxFactOff && o <= maxFactOff {
					d.off = o
					f[i.Dst] = d
				}
			}
		case cls == insn.ClassLdX:
			if i.Dst <= insn.R9 {
				f[i.Dst] = fact{}
			}
		case cls == insn.ClassStX && i.OpCode.Mode() == insn.ModeAtomic:
			switch insn.AtomicOp(i.Imm) {
			case insn.AtomicCmpXchg:
				f[0] = fact{}
			case insn.AtomicLoadAcquire:
				if i.Dst <= insn.R9 {
					f[i.Dst] = fact{}
				}
			default:
				if insn.AtomicOp(i.Imm)&insn.Fetch != 0 && i.Src <= insn.R9 {
					f[i.Src] = fact{}
				}
			}
		case cls == insn.ClassLd: // LD_ABS, LD_IND: r0 and the scratch registers
			for r := 0; r <= 5; r++ {
				f[r] = fact{}
			}
		}
		flow(next, &f)
	}
	// The facts are final: prove what they prove.
	for k, i := range is {
		if i.IsHelperCall() && in[k] != nil {
			if out.calls == nil {
				out.calls = map[int]regFacts{}
			}
			out.calls[slots[k]] = *in[k]
		}
		ok, write := accessOf(i)
		if !ok || in[k] == nil {
			continue
		}
		base, off := accessBase(i)
		if base > insn.R9 {
			continue
		}
		g := in[k][base]
		lo := g.off + int64(off)
		if g.kind == factCtx && !write && i.OpCode.Size() == insn.W && i.OpCode.Mode() == insn.ModeMem && lo >= 0 && lo%4 == 0 && lo < 256 {
			if out.ctxRead == nil {
				out.ctxRead = make([]int16, n)
				for j := range out.ctxRead {
					out.ctxRead[j] = -1
				}
			}
			out.ctxRead[slots[k]] = int16(lo)
			continue
		}
		if g.kind == factValue && (!write || g.write) && lo >= 0 && lo+int64(i.OpCode.Size().Bytes()) <= g.size {
			out.proven[slots[k]] = true
			out.n++
			if g.idx >= 0 {
				out.lookups[g.idx] = true
			}
		}
	}
	return out
}

// entryTarget returns the slot a bpf-to-bpf call or a function pointer
// load at slot s names: an entry point, which starts with no facts.
func entryTarget(i insn.Instruction, s int) (int, bool) {
	switch {
	case i.IsLocalCall():
		return s + 1 + int(i.Imm), true
	case i.IsLoadImm64() && insn.PseudoSrc(i.Src) == insn.PseudoFunc:
		return s + 1 + int(i.MapFD()), true
	}
	return 0, false
}

// accessOf reports whether i is a load, store or atomic and whether it
// writes (an atomic read-modify-write does both).
func accessOf(i insn.Instruction) (access, write bool) {
	switch i.OpCode.Class() {
	case insn.ClassLdX:
		m := i.OpCode.Mode()
		return m == insn.ModeMem || m == insn.ModeMemSX, false
	case insn.ClassSt:
		return i.OpCode.Mode() == insn.ModeMem, true
	case insn.ClassStX:
		switch i.OpCode.Mode() {
		case insn.ModeMem:
			return true, true
		case insn.ModeAtomic:
			return true, insn.AtomicOp(i.Imm) != insn.AtomicLoadAcquire
		}
	}
	return false, false
}

// accessBase returns the register a load, store or atomic addresses
// through and its offset.
func accessBase(i insn.Instruction) (insn.Register, int16) {
	if i.OpCode.Class() == insn.ClassLdX || i.OpCode.Class() == insn.ClassStX && i.OpCode.Mode() == insn.ModeAtomic && insn.AtomicOp(i.Imm) == insn.AtomicLoadAcquire {
		return i.Src, i.Offset
	}
	return i.Dst, i.Offset
}
