package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// op is a pre-decoded operation. Variants that the encoding selects through
// the offset field (sdiv, smod, movsx) or the source bit (le/be) get their
// own op, so that the run loop is one dense switch.
type op uint8

const (
	opInvalid op = iota // second slot of lddw; never executed

	// 64-bit ALU, register and immediate forms.
	opAdd64X
	opAdd64K
	opSub64X
	opSub64K
	opMul64X
	opMul64K
	opDiv64X
	opDiv64K
	opSDiv64X
	opSDiv64K
	opOr64X
	opOr64K
	opAnd64X
	opAnd64K
	opLsh64X
	opLsh64K
	opRsh64X
	opRsh64K
	opNeg64
	opMod64X
	opMod64K
	opSMod64X
	opSMod64K
	opXor64X
	opXor64K
	opMov64X
	opMov64K
	opMovSX8_64
	opMovSX16_64
	opMovSX32_64
	opArsh64X
	opArsh64K
	opBswap16
	opBswap32
	opBswap64

	// 32-bit ALU.
	opAdd32X
	opAdd32K
	opSub32X
	opSub32K
	opMul32X
	opMul32K
	opDiv32X
	opDiv32K
	opSDiv32X
	opSDiv32K
	opOr32X
	opOr32K
	opAnd32X
	opAnd32K
	opLsh32X
	opLsh32K
	opRsh32X
	opRsh32K
	opNeg32
	opMod32X
	opMod32K
	opSMod32X
	opSMod32K
	opXor32X
	opXor32K
	opMov32X
	opMov32K
	opMovSX8_32
	opMovSX16_32
	opArsh32X
	opArsh32K
	opTrunc16 // le16 on a little-endian host
	opTrunc32 // le32 on a little-endian host
	opNop     // le64 on a little-endian host

	// Jumps. off holds the absolute target slot.
	opJa
	opJeq64X
	opJeq64K
	opJgt64X
	opJgt64K
	opJge64X
	opJge64K
	opJset64X
	opJset64K
	opJne64X
	opJne64K
	opJsgt64X
	opJsgt64K
	opJsge64X
	opJsge64K
	opJlt64X
	opJlt64K
	opJle64X
	opJle64K
	opJslt64X
	opJslt64K
	opJsle64X
	opJsle64K
	opJeq32X
	opJeq32K
	opJgt32X
	opJgt32K
	opJge32X
	opJge32K
	opJset32X
	opJset32K
	opJne32X
	opJne32K
	opJsgt32X
	opJsgt32K
	opJsge32X
	opJsge32K
	opJlt32X
	opJlt32K
	opJle32X
	opJle32K
	opJslt32X
	opJslt32K
	opJsle32X
	opJsle32K
	opMayGoto
	opCall      // helper, imm = number
	opCallLocal // off = target slot
	opCallX     // helper number in dst
	opTailCall
	opExit

	// Memory.
	opLdxB
	opLdxH
	opLdxW
	opLdxDW
	opLdxSB
	opLdxSH
	opLdxSW
	opStB
	opStH
	opStW
	opStDW
	opStxB
	opStxH
	opStxW
	opStxDW
	opAtomicW  // imm = atomic op
	opAtomicDW // imm = atomic op
	opLoadAcq  // size in src2
	opStoreRel // size in src2
	opLdImm64  // imm = value
	opLdMapVal // imm = map index, off = value offset
	// LD_ABS and LD_IND, one op per size (sz holds it too): imm is the
	// offset, src the index register of LD_IND.
	opLdAbsB
	opLdAbsH
	opLdAbsW
	opLdIndB
	opLdIndH
	opLdIndW
)

// dinsn is one pre-decoded instruction slot.
type dinsn struct {
	op  op
	dst uint8
	src uint8
	sz  uint8 // access size in bytes of loads, stores, atomics, LD_ABS/LD_IND
	off int32 // memory displacement or absolute jump target
	imm int64
}

var hostLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// program is a decoded program ready to run.
type program struct {
	code   []dinsn
	runlen []uint32          // instructions from a slot to the end of its basic block
	ones   []uint32          // runlen for step mode: all 1
	insns  insn.Instructions // the resolved program
	slots  []int             // slot -> instruction index, -1 for second lddw slots
	// stackDepth is how many bytes below r10 the program can reach in
	// the main frame: what a run must zero (see stackReach).
	stackDepth uint32
}

// xk is an operation's register (X) and immediate (K) forms, for 64 and
// 32 bits: [width][source], width 0 for ALU64/JMP, 1 for ALU/JMP32,
// source 0 for X, 1 for K.
type xk [2][2]op

// aluOps gives the ops of the ALU codes with X and K forms and no
// variants.
var aluOps = map[insn.ALUOp]xk{
	insn.Add:  {{opAdd64X, opAdd64K}, {opAdd32X, opAdd32K}},
	insn.Sub:  {{opSub64X, opSub64K}, {opSub32X, opSub32K}},
	insn.Mul:  {{opMul64X, opMul64K}, {opMul32X, opMul32K}},
	insn.Or:   {{opOr64X, opOr64K}, {opOr32X, opOr32K}},
	insn.And:  {{opAnd64X, opAnd64K}, {opAnd32X, opAnd32K}},
	insn.LSh:  {{opLsh64X, opLsh64K}, {opLsh32X, opLsh32K}},
	insn.RSh:  {{opRsh64X, opRsh64K}, {opRsh32X, opRsh32K}},
	insn.Xor:  {{opXor64X, opXor64K}, {opXor32X, opXor32K}},
	insn.ArSh: {{opArsh64X, opArsh64K}, {opArsh32X, opArsh32K}},
}

// divModOps gives division and modulo by [signed][width][source].
var divOps = [2]xk{
	{{opDiv64X, opDiv64K}, {opDiv32X, opDiv32K}},
	{{opSDiv64X, opSDiv64K}, {opSDiv32X, opSDiv32K}},
}
var modOps = [2]xk{
	{{opMod64X, opMod64K}, {opMod32X, opMod32K}},
	{{opSMod64X, opSMod64K}, {opSMod32X, opSMod32K}},
}

// jmpOps gives the conditional jumps.
var jmpOps = map[insn.JumpOp]xk{
	insn.JEq:  {{opJeq64X, opJeq64K}, {opJeq32X, opJeq32K}},
	insn.JGT:  {{opJgt64X, opJgt64K}, {opJgt32X, opJgt32K}},
	insn.JGE:  {{opJge64X, opJge64K}, {opJge32X, opJge32K}},
	insn.JSet: {{opJset64X, opJset64K}, {opJset32X, opJset32K}},
	insn.JNE:  {{opJne64X, opJne64K}, {opJne32X, opJne32K}},
	insn.JSGT: {{opJsgt64X, opJsgt64K}, {opJsgt32X, opJsgt32K}},
	insn.JSGE: {{opJsge64X, opJsge64K}, {opJsge32X, opJsge32K}},
	insn.JLT:  {{opJlt64X, opJlt64K}, {opJlt32X, opJlt32K}},
	insn.JLE:  {{opJle64X, opJle64K}, {opJle32X, opJle32K}},
	insn.JSLT: {{opJslt64X, opJslt64K}, {opJslt32X, opJslt32K}},
	insn.JSLE: {{opJsle64X, opJsle64K}, {opJsle32X, opJsle32K}},
}

// The other op families, in the order of their size (B, H, W, DW) or
// width.
var (
	ldxOps     = [4]op{opLdxB, opLdxH, opLdxW, opLdxDW}
	ldxSXOps   = [4]op{opLdxSB, opLdxSH, opLdxSW, opInvalid}
	stOps      = [4]op{opStB, opStH, opStW, opStDW}
	stxOps     = [4]op{opStxB, opStxH, opStxW, opStxDW}
	movOps     = xk{{opMov64X, opMov64K}, {opMov32X, opMov32K}}
	movSXOps   = map[int16][2]op{8: {opMovSX8_64, opMovSX8_32}, 16: {opMovSX16_64, opMovSX16_32}, 32: {opMovSX32_64, opInvalid}}
	negOps     = [2]op{opNeg64, opNeg32}
	byteOrders = []op{opBswap16, opBswap32, opBswap64, opTrunc16, opTrunc32, opNop}
	ldAbsOps   = [3]op{opLdAbsB, opLdAbsH, opLdAbsW}
	ldIndOps   = [3]op{opLdIndB, opLdIndH, opLdIndW}
)

// opKind is what an op does, for the analyses of a program (basic blocks,
// stack reach) and the slow path: a table (opKinds) rather than ranges of
// the op enum, so that nothing depends on the order of the ops.
type opKind uint8

const (
	kindInvalid   opKind = iota // second slot of lddw
	kindALU                     // register arithmetic and byte order
	kindLoadImm                 // lddw of a value or a map handle
	kindMapValue                // lddw of a map value's address (Go finds it)
	kindPacket                  // LD_ABS, LD_IND
	kindLoad                    // ldx, ldsx: src is the base
	kindLoadAcq                 // load-acquire: src is the base
	kindStoreImm                // st: dst is the base, imm the value
	kindStoreReg                // stx: dst is the base, src the value
	kindStoreRel                // store-release: as stx
	kindAtomic                  // atomic read-modify-write: as stx
	kindJump                    // ja and conditional jumps
	kindMayGoto                 // may_goto
	kindCall                    // helper call
	kindCallX                   // callx
	kindCallLocal               // bpf-to-bpf call
	kindTailCall                // tail_call
	kindExit                    // exit
)

// opKinds is the kind of every op.
var opKinds [256]opKind

func init() {
	set := func(k opKind, ops ...op) {
		for _, o := range ops {
			if o != opInvalid {
				opKinds[o] = k
			}
		}
	}
	for _, t := range aluOps {
		set(kindALU, t[0][0], t[0][1], t[1][0], t[1][1])
	}
	for _, t := range append(divOps[:], append(modOps[:], movOps)...) {
		set(kindALU, t[0][0], t[0][1], t[1][0], t[1][1])
	}
	for _, t := range movSXOps {
		set(kindALU, t[:]...)
	}
	set(kindALU, negOps[:]...)
	set(kindALU, byteOrders...)
	for _, t := range jmpOps {
		set(kindJump, t[0][0], t[0][1], t[1][0], t[1][1])
	}
	set(kindJump, opJa)
	set(kindLoad, ldxOps[:]...)
	set(kindLoad, ldxSXOps[:]...)
	set(kindStoreImm, stOps[:]...)
	set(kindStoreReg, stxOps[:]...)
	set(kindLoadImm, opLdImm64)
	set(kindMapValue, opLdMapVal)
	set(kindPacket, ldAbsOps[:]...)
	set(kindPacket, ldIndOps[:]...)
	set(kindLoadAcq, opLoadAcq)
	set(kindStoreRel, opStoreRel)
	set(kindAtomic, opAtomicW, opAtomicDW)
	set(kindMayGoto, opMayGoto)
	set(kindCall, opCall)
	set(kindCallX, opCallX)
	set(kindCallLocal, opCallLocal)
	set(kindTailCall, opTailCall)
	set(kindExit, opExit)
}

// SizeIndex is the index of an access size in tables by B, H, W, DW:
// log2 of its bytes.
func SizeIndex(sz insn.Size) int {
	switch sz {
	case insn.B:
		return 0
	case insn.H:
		return 1
	case insn.W:
		return 2
	}
	return 3
}

// decoder holds what decoding needs to know about the VM.
type decoder struct {
	ctx      contextKind
	typ      prog.Type
	mapIndex func(i insn.Instruction) (int, error)
	helpers  *Registry
}

// decode validates and pre-decodes a program.
func (d *decoder) decode(is insn.Instructions) (*program, error) {
	if len(is) == 0 {
		return nil, loadErr(-1, "program has no instructions")
	}
	resolved, err := is.Resolve()
	if err != nil {
		return nil, &LoadError{Slot: slotOf(err), Err: err}
	}
	if err := resolved.Validate(); err != nil {
		return nil, &LoadError{Slot: slotOf(err), Err: err}
	}
	n := resolved.Slots()
	p := &program{code: make([]dinsn, n), insns: resolved, slots: make([]int, n)}
	pc := 0
	for k, i := range resolved {
		p.slots[pc] = k
		di, err := d.decodeOne(i, pc)
		if err != nil {
			return nil, &LoadError{Slot: pc, Err: err}
		}
		p.code[pc] = di
		if i.IsLoadImm64() {
			p.slots[pc+1] = -1
			p.code[pc+1] = dinsn{op: opInvalid}
			pc++
		}
		pc++
	}
	p.runlen, p.ones = make([]uint32, n), make([]uint32, n)
	for pc := n - 1; pc >= 0; pc-- {
		p.ones[pc] = 1
		if p.slots[pc] < 0 {
			continue // second slot of lddw
		}
		p.runlen[pc] = 1
		if o := p.code[pc].op; o.straight() {
			next := pc + 1
			if o == opLdImm64 {
				next = pc + 2
			}
			if next < n {
				p.runlen[pc] += p.runlen[next]
			}
		}
	}
	p.stackDepth = p.stackReach()
	last := resolved[len(resolved)-1]
	if !last.IsExit() && !(last.OpCode == insn.OpJa || last.OpCode == insn.OpGotol) {
		return nil, loadErr(n-1, "last instruction is %q; it must be exit or an unconditional jump, or the program could fall off its end", last.String())
	}
	return p, nil
}

func slotOf(err error) int {
	if ie, ok := err.(*insn.Error); ok {
		return ie.Slot
	}
	return -1
}

func (d *decoder) decodeOne(i insn.Instruction, pc int) (dinsn, error) {
	di := dinsn{dst: uint8(i.Dst), src: uint8(i.Src), off: int32(i.Offset), imm: i.Imm}
	o := i.OpCode
	x := o.Source() == insn.SourceX
	k := 1 // the K form's index in xk
	if x {
		k = 0
	}
	switch o.Class() {
	case insn.ClassALU64, insn.ClassALU:
		w := 0
		if o.Class() == insn.ClassALU {
			w = 1
		}
		code := insn.ALUOp(o.Code())
		if ops, ok := aluOps[code]; ok {
			di.op = ops[w][k]
			return di, nil
		}
		switch code {
		case insn.Div:
			di.op = divOps[i.Offset][w][k] // Validate allows offsets 0 and 1
		case insn.Mod:
			di.op = modOps[i.Offset][w][k]
		case insn.Mov:
			switch ops, ok := movSXOps[i.Offset]; {
			case !x || i.Offset == 0:
				di.op = movOps[w][k]
			case ok:
				di.op = ops[w]
			default:
				// addr_space_cast (offset 1, Linux 6.9): there are no arenas here.
				return di, fmt.Errorf("%s: BPF arenas are not supported", i)
			}
		case insn.ALUNeg:
			di.op = negOps[w]
		case insn.ALUEnd: // end / bswap
			swap := w == 0 || (x != !hostLittle) // bswap, to-be on LE, to-le on BE
			switch {
			case swap && i.Imm == 16:
				di.op = opBswap16
			case swap && i.Imm == 32:
				di.op = opBswap32
			case swap:
				di.op = opBswap64
			case i.Imm == 16:
				di.op = opTrunc16
			case i.Imm == 32:
				di.op = opTrunc32
			default:
				di.op = opNop
			}
		default:
			return di, fmt.Errorf("unknown ALU opcode 0x%02x", uint8(o))
		}
		return di, nil
	case insn.ClassJmp, insn.ClassJmp32:
		w := 0
		if o.Class() == insn.ClassJmp32 {
			w = 1
		}
		switch {
		case o == insn.OpJa:
			di.op, di.off = opJa, int32(pc+1+int(i.Offset))
		case o == insn.OpGotol:
			di.op, di.off = opJa, int32(pc+1+int(int32(i.Imm)))
		case o == insn.OpMayGoto:
			di.op, di.off = opMayGoto, int32(pc+1+int(i.Offset))
		case o == insn.OpExit:
			di.op = opExit
		case o == insn.OpCallX:
			di.op = opCallX
		case i.IsLocalCall():
			di.op, di.off = opCallLocal, int32(pc+1+int(int32(i.Imm)))
		case i.IsKfuncCall():
			return di, fmt.Errorf("call to kfunc with BTF id %d: kernel functions are not available in userspace", i.Imm)
		case i.IsHelperCall():
			if insn.HelperFunc(i.Imm) == insn.FnTailCall {
				di.op = opTailCall
				return di, nil
			}
			if d.helpers.lookup(insn.HelperFunc(i.Imm)) == nil {
				return di, fmt.Errorf("%w %d (%s): not in the VM's helper registry", ErrUnknownHelper, i.Imm, insn.HelperFunc(i.Imm))
			}
			di.op = opCall
		default:
			ops, ok := jmpOps[insn.JumpOp(o.Code())]
			if !ok {
				return di, fmt.Errorf("unknown jump opcode 0x%02x", uint8(o))
			}
			di.op = ops[w][k]
			di.off = int32(pc + 1 + int(i.Offset))
			if w == 1 && !x {
				di.imm = int64(uint32(i.Imm)) // compared with the low 32 bits
			}
		}
		return di, nil
	case insn.ClassLd:
		switch o.Mode() {
		case insn.ModeImm:
			switch insn.PseudoSrc(i.Src) {
			case insn.PseudoNone:
				di.op = opLdImm64
			case insn.PseudoMapFD, insn.PseudoMapIdx, insn.PseudoMapValue, insn.PseudoMapIdxValue:
				idx, err := d.mapIndex(i)
				if err != nil {
					return di, err
				}
				// A map pointer is an opaque handle: an LD_IMM64 of it.
				di.imm = int64(MapHandle(idx))
				di.op = opLdImm64
				if s := insn.PseudoSrc(i.Src); s == insn.PseudoMapValue || s == insn.PseudoMapIdxValue {
					di.op = opLdMapVal
					di.imm = int64(idx)
					di.off = int32(i.MapValueOffset())
					if di.off < 0 {
						return di, fmt.Errorf("map value offset %d is too large", i.MapValueOffset())
					}
				}
			default:
				return di, fmt.Errorf("lddw with src %d (%s) is not supported in userspace", i.Src, pseudoName(insn.PseudoSrc(i.Src)))
			}
		case insn.ModeAbs, insn.ModeInd:
			if d.ctx == ctxKprobe || d.ctx == ctxXDP {
				return di, fmt.Errorf("%w: legacy packet load %q needs a socket filter (or raw memory) context, not %s", ErrContext, i.String(), d.typ)
			}
			if o.Size() == insn.DW {
				return di, fmt.Errorf("legacy packet load %q of 8 bytes: LD_ABS and LD_IND read 1, 2 or 4", i.String())
			}
			di.op = ldAbsOps[SizeIndex(o.Size())]
			if o.Mode() == insn.ModeInd {
				di.op = ldIndOps[SizeIndex(o.Size())]
			}
			di.sz = uint8(o.Size().Bytes())
		default:
			return di, fmt.Errorf("unknown opcode 0x%02x", uint8(o))
		}
		return di, nil
	case insn.ClassLdX:
		di.sz = uint8(o.Size().Bytes())
		di.op = ldxOps[SizeIndex(o.Size())]
		if o.Mode() == insn.ModeMemSX {
			di.op = ldxSXOps[SizeIndex(o.Size())] // Validate rejects ldsx of 8 bytes
		}
		return di, nil
	case insn.ClassSt:
		di.sz = uint8(o.Size().Bytes())
		di.op = stOps[SizeIndex(o.Size())]
		return di, nil
	default: // ClassStX
		if o.Mode() == insn.ModeAtomic {
			switch insn.AtomicOp(i.Imm) {
			case insn.AtomicLoadAcquire:
				di.op = opLoadAcq
			case insn.AtomicStoreRelease:
				di.op = opStoreRel
			default:
				di.op = opAtomicW
				if o.Size() == insn.DW {
					di.op = opAtomicDW
				}
			}
			di.sz = uint8(o.Size().Bytes())
			return di, nil
		}
		di.sz = uint8(o.Size().Bytes())
		di.op = stxOps[SizeIndex(o.Size())]
		return di, nil
	}
}

func pseudoName(s insn.PseudoSrc) string {
	switch s {
	case insn.PseudoBTFID:
		return "BTF id of a kernel variable"
	case insn.PseudoFunc:
		return "function address"
	}
	return "unknown"
}

// straight reports whether fast runs op and continues with the next slot
// without leaving its basic block: arithmetic, lddw, loads and stores, and
// LD_ABS/LD_IND (a read past the packet leaves to exec, which ends the run,
// with the unexecuted rest of the block refunded as for a failed load).
func (o op) straight() bool {
	switch opKinds[o] {
	case kindALU, kindLoadImm, kindPacket, kindLoad, kindStoreImm, kindStoreReg:
		return true
	}
	return false
}

// stackReach returns how many bytes below r10 the program can read or
// write in the main frame, so that a run needs to zero only those (the
// rest of the frame is still zero from the Env's allocation and earlier
// runs, which never wrote it). When r10 is used only as the base of loads,
// stores and atomics with constant offsets, that is the deepest such
// offset. When its value can go anywhere else (another register, memory, a
// helper, a comparison) the program can form any stack address, and the
// answer is the whole frame; so it is for tail calls and callx (the target
// runs in this frame), for bpf-to-bpf calls (a callee's stack region spans
// the frames above it, the whole main frame included) and for r10-relative
// accesses at or above r10. Callees' frames are zeroed when they are
// entered (Env.pushFrame).
//
// The main frame's region (region 0 at depth 0) is exactly these bytes:
// an address below them is outside every region, whatever route the
// program takes to it (a guessed pointer, a helper such as
// probe_read_kernel), so no run can see stack bytes an earlier run left.
func (p *program) stackReach() uint32 {
	depth := int64(0)
	base := func(off int32, sz uint8) bool { // reports whether the access stays in one frame below r10
		if int64(off)+int64(sz) > 0 {
			return false
		}
		depth = max(depth, -int64(off))
		return true
	}
	for pc, in := range p.code {
		if p.slots[pc] < 0 {
			continue // second slot of lddw
		}
		esc := false
		switch k := opKinds[in.op]; {
		case k == kindLoad || k == kindLoadAcq:
			esc = in.dst == 10 || in.src == 10 && !base(in.off, in.sz)
		case k == kindStoreImm:
			esc = in.dst == 10 && !base(in.off, in.sz)
		case k == kindStoreReg || k == kindStoreRel || k == kindAtomic:
			esc = in.src == 10 || in.dst == 10 && !base(in.off, in.sz)
		case k == kindTailCall || k == kindCallX || k == kindCallLocal:
			// A tail-call target runs in this frame; a callee's stack
			// region reaches up through the whole main frame.
			esc = true
		case k == kindCall || k == kindExit || k == kindMayGoto || in.op == opJa:
			// r10 is no argument of calls; the other fields hold no register.
		default: // ALU, conditional jumps, lddw, LD_ABS/LD_IND
			esc = in.dst == 10 || in.src == 10
		}
		if esc {
			return StackSize
		}
	}
	// Rounded up to whole 8-byte slots, at least one: the fast path's
	// bounds checks assume a stack region of at least 8 bytes.
	return uint32(min(max((depth+7)&^7, 8), StackSize))
}
