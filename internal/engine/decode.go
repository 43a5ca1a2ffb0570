package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

//go:generate go run genops.go

// The ops, their names, kinds and encodings are generated (ops_gen.go)
// from the table in internal/optab, which documents how to add one.

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
	// callbacks are the slots function address loads name: the only
	// slots a callback handle can enter (callback.go).
	callbacks map[int]bool
}

// opInfo is what the analyses and exec know about an op (opInfos, from
// optab.Kinds and optab.Ops).
type opInfo struct {
	kind     opKind
	reach    reach // how stackReach treats its register fields
	straight bool  // fast runs it and continues with the next slot
	slots    uint8 // slots it spans: 2 for lddw
	budget   uint8 // instructions it counts as
}

// straight reports whether fast runs op and continues with the next slot
// without leaving its basic block: arithmetic, lddw, loads and stores, and
// LD_ABS/LD_IND (a read past the packet leaves to exec, which ends the run,
// with the unexecuted rest of the block refunded as for a failed load).
func (o op) straight() bool { return opInfos[o].straight }

// kind returns the op's kind.
func (o op) kind() opKind { return opInfos[o].kind }

// opEnc is an encoding of an op (optab.Enc): the decoder takes the first of
// opEncs[opcode] whose constraints (when) the instruction meets and fixes
// its operands (fix).
type opEnc struct {
	op   op
	sz   uint8 // access size in bytes of loads, stores, atomics, LD_ABS/LD_IND
	when uint8 // the fields that must equal src, off and imm; the host byte order
	fix  uint8 // operand fix-ups
	src  uint8
	off  int16
	imm  int32
}

// Constraints of an encoding (opEnc.when).
const (
	whenOff = 1 << iota // the offset field is off
	whenImm             // the immediate is imm
	whenSrc             // the src field is src
	whenLE              // the host is little-endian
	whenBE              // the host is big-endian
)

// Operand fix-ups of an encoding (opEnc.fix).
const (
	fixOffTarget = 1 << iota // off becomes the absolute slot pc+1+offset
	fixImmTarget             // off becomes the absolute slot pc+1+imm
	fixImmU32                // imm is zero-extended from 32 bits
)

// matches reports whether i meets the encoding's constraints.
func (c *opEnc) matches(i insn.Instruction) bool {
	return (c.when&whenOff == 0 || i.Offset == c.off) &&
		(c.when&whenImm == 0 || int32(i.Imm) == c.imm) &&
		(c.when&whenSrc == 0 || uint8(i.Src) == c.src) &&
		(c.when&whenLE == 0 || hostLittle) &&
		(c.when&whenBE == 0 || !hostLittle)
}

// lookupEnc returns the encoding i decodes from, or nil.
func lookupEnc(i insn.Instruction) *opEnc {
	encs := opEncs[i.OpCode]
	for k := range encs {
		if encs[k].matches(i) {
			return &encs[k]
		}
	}
	return nil
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
	// kfunc returns the call number of the kfunc a call names (kfunc.go).
	kfunc func(i insn.Instruction) (int64, error)
	// callbacks collects the targets of function address loads.
	callbacks map[int]bool
}

// decode validates and pre-decodes a program.
func (d *decoder) decode(is insn.Instructions) (*program, error) {
	if len(is) == 0 {
		return nil, loadErr(-1, "program has no instructions")
	}
	d.callbacks = nil
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
		if i.IsKfuncCall() {
			// Now a call of a registered kfunc by its call number, the
			// form the JIT compiles from p.insns (kfunc.go).
			resolved[k] = kfuncCall(i, di.imm)
		}
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
		o := p.code[pc].op
		p.runlen[pc] = uint32(opInfos[o].budget)
		if o.straight() {
			next := pc + int(opInfos[o].slots)
			if next < n {
				p.runlen[pc] += p.runlen[next]
			}
		}
	}
	p.stackDepth = p.stackReach()
	if len(d.callbacks) > 0 {
		// A callback runs in a frame above this one, its stack region
		// reaching up through the whole main frame (as a callee's).
		p.stackDepth = StackSize
	}
	p.callbacks = d.callbacks
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
	if i.IsKfuncCall() {
		// A call of a kfunc the VM's Options.Kfuncs implements: a call
		// by the number lookupCall resolves (kfunc.go).
		num, err := d.kfunc(i)
		if err != nil {
			return di, err
		}
		di.op, di.imm = opCall, num
		return di, nil
	}
	c := lookupEnc(i)
	if c == nil {
		return di, refused(i)
	}
	di.op, di.sz = c.op, c.sz
	switch {
	case c.fix&fixOffTarget != 0:
		di.off = int32(pc + 1 + int(i.Offset))
	case c.fix&fixImmTarget != 0:
		di.off = int32(pc + 1 + int(int32(i.Imm)))
	}
	if c.fix&fixImmU32 != 0 {
		di.imm = int64(uint32(i.Imm)) // compared with the low 32 bits
	}
	switch di.op.kind() {
	case kindCall:
		if d.helpers.lookup(insn.HelperFunc(i.Imm)) == nil {
			return di, fmt.Errorf("%w %d (%s): not in the VM's helper registry", ErrUnknownHelper, i.Imm, insn.HelperFunc(i.Imm))
		}
	case kindLoadImm:
		if insn.PseudoSrc(i.Src) == insn.PseudoNone {
			break
		}
		if insn.PseudoSrc(i.Src) == insn.PseudoFunc {
			// A function address (bpf_loop's callback): an opaque
			// handle of the target slot (callback.go).
			h, err := d.callbackHandle(i, pc)
			if err != nil {
				return di, err
			}
			di.imm = int64(h)
			break
		}
		idx, err := d.mapIndex(i)
		if err != nil {
			return di, err
		}
		// A map pointer is an opaque handle: an LD_IMM64 of it.
		di.imm = int64(MapHandle(idx))
	case kindMapValue:
		idx, err := d.mapIndex(i)
		if err != nil {
			return di, err
		}
		di.imm = int64(idx)
		di.off = int32(i.MapValueOffset())
		if di.off < 0 {
			return di, fmt.Errorf("map value offset %d is too large", i.MapValueOffset())
		}
	case kindPacket:
		if d.ctx != ctxSocketFilter && d.ctx != ctxMemory && d.ctx != ctxTC {
			return di, fmt.Errorf("%w: legacy packet load %q needs a socket filter or tc (or raw memory) context, not %s", ErrContext, i.String(), d.typ)
		}
	}
	return di, nil
}

// refused is the error for a valid instruction that decodes to no op.
func refused(i insn.Instruction) error {
	switch {
	case i.IsKfuncCall():
		return fmt.Errorf("call to kfunc with BTF id %d: kernel functions are not available in userspace", i.Imm)
	case i.IsAddrSpaceCast():
		// addr_space_cast (offset 1, Linux 6.9): there are no arenas here.
		return fmt.Errorf("%s: BPF arenas are not supported", i)
	case i.OpCode == insn.OpLdImm64:
		return fmt.Errorf("lddw with src %d (%s) is not supported in userspace", i.Src, pseudoName(insn.PseudoSrc(i.Src)))
	}
	return fmt.Errorf("unknown opcode 0x%02x", uint8(i.OpCode))
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
		switch opInfos[in.op].reach {
		case reachNone:
			// r10 is no argument of calls; the other fields hold no register.
		case reachValues:
			esc = in.dst == 10 || in.src == 10
		case reachLoad:
			esc = in.dst == 10 || in.src == 10 && !base(in.off, in.sz)
		case reachStoreImm:
			esc = in.dst == 10 && !base(in.off, in.sz)
		case reachStore:
			esc = in.src == 10 || in.dst == 10 && !base(in.off, in.sz)
		case reachAll:
			// A tail-call target runs in this frame; a callee's stack
			// region reaches up through the whole main frame.
			esc = true
		default: // there is no other rule (TestOpsHandled)
			esc = true
		}
		if esc {
			return StackSize
		}
	}
	// Rounded up to whole 8-byte slots, at least one: the fast path's
	// bounds checks assume a stack region of at least 8 bytes.
	return uint32(min(max((depth+7)&^7, 8), StackSize))
}
