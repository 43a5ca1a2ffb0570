package classic

import (
	"errors"
	"fmt"

	"golang.org/x/net/bpf"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// Sentinel errors wrapped by *Error.
var (
	// ErrInvalid means the kernel would reject the classic program too.
	ErrInvalid = errors.New("invalid classic BPF program")
	// ErrUnsupported means the kernel accepts the instruction but it has no
	// eBPF equivalent for a socket filter (an ancillary load such as
	// SKF_AD_NLATTR).
	ErrUnsupported = errors.New("unsupported classic BPF instruction")
)

// Error is a problem with one classic instruction.
type Error struct {
	// Index is the index of the classic instruction, or -1 for an error
	// about the whole program (such as its length).
	Index int
	// Instruction is the offending instruction as x/net/bpf disassembles
	// it; nil when Index is -1.
	Instruction bpf.Instruction
	// Err is the cause; it wraps ErrInvalid or ErrUnsupported.
	Err error
}

func (e *Error) Error() string {
	if e.Index < 0 {
		return "classic: " + e.Err.Error()
	}
	return fmt.Sprintf("classic: instruction %d (%v): %v", e.Index, e.Instruction, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// MaxInstructions is the most instructions a classic program may have
// (BPF_MAXINSNS).
const MaxInstructions = 4096

// Ancillary load offsets (include/uapi/linux/filter.h). A load from
// AncillaryOffset + SKF_AD_* reads packet metadata; loads from NetOffset
// and LinkOffset onwards are relative to the network and link-layer
// headers.
const (
	AncillaryOffset = -0x1000   // SKF_AD_OFF
	NetOffset       = -0x100000 // SKF_NET_OFF
	LinkOffset      = -0x200000 // SKF_LL_OFF
)

// Ancillary data numbers (SKF_AD_*), relative to AncillaryOffset. They are
// the same numbers as x/net/bpf's Extension values except ExtLen.
const (
	adProtocol       = 0
	adPktType        = 4
	adIfindex        = 8
	adNlattr         = 12
	adNlattrNest     = 16
	adMark           = 20
	adQueue          = 24
	adHatype         = 28
	adRxhash         = 32
	adCPU            = 36
	adALUXorX        = 40
	adVlanTag        = 44
	adVlanTagPresent = 48
	adPayOffset      = 52
	adRandom         = 56
	adVlanTPID       = 60
	ancillaryLimit   = 64

	// ancillaryOffsetU32 is SKF_AD_OFF as the kernel compares it with the
	// unsigned k field.
	ancillaryOffsetU32 = 1<<32 + AncillaryOffset
)

// Offsets of struct __sk_buff fields (include/uapi/linux/bpf.h).
const (
	skbLen         = 0
	skbPktType     = 4
	skbMark        = 8
	skbQueue       = 12
	skbProtocol    = 16
	skbVlanPresent = 20
	skbVlanTCI     = 24
	skbVlanProto   = 28
	skbIfindex     = 40
	skbHash        = 68
)

// Supported reports whether the ancillary load AncillaryOffset + ext is
// translated (see the package documentation for the list).
func Supported(ext bpf.Extension) bool {
	switch ext {
	case bpf.ExtLen, adProtocol, adPktType, adIfindex, adMark, adQueue, adRxhash, adCPU,
		adALUXorX, adVlanTag, adVlanTagPresent, adRandom, adVlanTPID:
		return true
	}
	return false
}

// Translate assembles filter and translates it as TranslateRaw does.
func Translate(filter []bpf.Instruction) (insn.Instructions, error) {
	raw, err := assemble(filter)
	if err != nil {
		return nil, err
	}
	return TranslateRaw(raw)
}

func assemble(filter []bpf.Instruction) ([]bpf.RawInstruction, error) {
	raw := make([]bpf.RawInstruction, len(filter))
	for k, ins := range filter {
		if ins == nil {
			return nil, &Error{Index: k, Err: fmt.Errorf("%w: nil instruction", ErrInvalid)}
		}
		r, err := ins.Assemble()
		if err != nil {
			return nil, &Error{Index: k, Instruction: ins, Err: fmt.Errorf("%w: %v", ErrInvalid, err)}
		}
		raw[k] = r
	}
	return raw, nil
}

// TranslateRaw checks the classic program as the kernel does and
// translates it into eBPF for a socket filter (prog.SocketFilter). The
// result has its jump offsets resolved; it also keeps labels, so it can be
// disassembled readably.
func TranslateRaw(filter []bpf.RawInstruction) (insn.Instructions, error) {
	if err := Check(filter); err != nil {
		return nil, err
	}
	t := translator{filter: filter, chunks: make([]insn.Instructions, len(filter)), liveA: liveIn(filter, false)}
	live := reachable(filter)
	for pc := range filter {
		if !live[pc] {
			// The eBPF verifier rejects unreachable code, which classic
			// programs may contain: leave it out.
			continue
		}
		if err := t.instruction(pc); err != nil {
			return nil, err
		}
	}
	return t.link()
}

// reachable marks the instructions some path from the first one reaches.
// Jumps only go forward, so one pass suffices.
func reachable(filter []bpf.RawInstruction) []bool {
	live := make([]bool, len(filter))
	live[0] = true
	for pc, ri := range filter {
		if live[pc] {
			for _, s := range successors(ri, pc) {
				live[s] = true
			}
		}
	}
	return live
}

// prologue keeps the context where LD_ABS and LD_IND want it and clears
// A and X, as a classic program expects, when some path reads them before
// writing them.
func (t *translator) prologue() insn.Instructions {
	p := insn.Instructions{insn.Mov.Reg(regCtx, insn.R1)}
	if liveIn(t.filter, false)[0] {
		p = append(p, insn.Mov.Imm32(regA, 0))
	}
	if liveIn(t.filter, true)[0] {
		p = append(p, insn.Mov.Imm32(regX, 0))
	}
	return p
}

// Spec translates filter into a loadable socket filter spec called name,
// with license "GPL" (the translation calls no GPL-only helper, so any
// license works; change it if it matters to you).
func Spec(name string, filter []bpf.Instruction) (*prog.Spec, error) {
	is, err := Translate(filter)
	if err != nil {
		return nil, err
	}
	return &prog.Spec{Name: name, Type: prog.SocketFilter, License: "GPL", Instructions: is}, nil
}

// SpecRaw is Spec for raw instructions, such as "tcpdump -dd" output.
func SpecRaw(name string, filter []bpf.RawInstruction) (*prog.Spec, error) {
	is, err := TranslateRaw(filter)
	if err != nil {
		return nil, err
	}
	return &prog.Spec{Name: name, Type: prog.SocketFilter, License: "GPL", Instructions: is}, nil
}

// Register mapping, as in the kernel's conversion.
const (
	regA   = insn.R0
	regCtx = insn.R6
	regX   = insn.R7
	regTmp = insn.R8
)

// scratch returns the frame pointer offset of M[k].
func scratch(k uint32) int16 { return -4 * int16(memWords-k) }

type translator struct {
	filter []bpf.RawInstruction
	// chunks[pc] is the translation of classic instruction pc; jumps in it
	// refer to classic instructions through labels made by target.
	chunks []insn.Instructions
	local  int
	// liveA[pc] says whether A may be read before written from pc on.
	liveA []bool
}

// classic opcode fields (include/uapi/linux/bpf_common.h, filter.h).
const (
	clsLd   = 0x00
	clsLdx  = 0x01
	clsSt   = 0x02
	clsStx  = 0x03
	clsALU  = 0x04
	clsJmp  = 0x05
	clsRet  = 0x06
	clsMisc = 0x07

	szW = 0x00
	szH = 0x08
	szB = 0x10

	mdImm = 0x00
	mdAbs = 0x20
	mdInd = 0x40
	mdMem = 0x60
	mdLen = 0x80
	mdMsh = 0xa0

	opAdd  = 0x00
	opSub  = 0x10
	opMul  = 0x20
	opDiv  = 0x30
	opOr   = 0x40
	opAnd  = 0x50
	opLsh  = 0x60
	opRsh  = 0x70
	opNeg  = 0x80
	opMod  = 0x90
	opXor  = 0xa0
	srcK   = 0x00
	srcX   = 0x08
	jmpJa  = 0x00
	jmpJeq = 0x10
	jmpJgt = 0x20
	jmpJge = 0x30
	jmpSet = 0x40

	retK = 0x00
	retA = 0x10

	miscTax = 0x00
	miscTxa = 0x80

	memWords = 16
)

func label(pc int) string { return fmt.Sprintf("c%d", pc) }

func (t *translator) emit(pc int, is ...insn.Instruction) {
	t.chunks[pc] = append(t.chunks[pc], is...)
}

func (t *translator) errorf(pc int, sentinel error, format string, args ...any) error {
	return &Error{Index: pc, Instruction: t.filter[pc].Disassemble(), Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

func sizeOf(op uint16) insn.Size {
	switch op & 0x18 {
	case szH:
		return insn.H
	case szB:
		return insn.B
	}
	return insn.W
}

var aluOps = map[uint16]insn.ALUOp{
	opAdd: insn.Add, opSub: insn.Sub, opMul: insn.Mul, opDiv: insn.Div,
	opOr: insn.Or, opAnd: insn.And, opLsh: insn.LSh, opRsh: insn.RSh,
	opMod: insn.Mod, opXor: insn.Xor,
}

func (t *translator) instruction(pc int) error {
	ri := t.filter[pc]
	k := ri.K
	switch ri.Op & 0x07 {
	case clsLd:
		switch ri.Op & 0xe0 {
		case mdAbs:
			if k >= ancillaryOffsetU32 {
				return t.ancillary(pc, int32(k)-AncillaryOffset)
			}
			t.emit(pc, insn.LoadAbs(int32(k), sizeOf(ri.Op)))
		case mdInd:
			t.emit(pc, insn.LoadInd(regX, int32(k), sizeOf(ri.Op)))
		case mdLen:
			t.emit(pc, insn.LoadMem(regA, regCtx, skbLen, insn.W))
		case mdImm:
			t.emit(pc, insn.Mov.Imm32(regA, int32(k)))
		case mdMem:
			t.emit(pc, insn.LoadMem(regA, insn.R10, scratch(k), insn.W))
		}
	case clsLdx:
		switch ri.Op & 0xe0 {
		case mdLen:
			t.emit(pc, insn.LoadMem(regX, regCtx, skbLen, insn.W))
		case mdImm:
			t.emit(pc, insn.Mov.Imm32(regX, int32(k)))
		case mdMem:
			t.emit(pc, insn.LoadMem(regX, insn.R10, scratch(k), insn.W))
		case mdMsh:
			// X = 4 * (P[k] & 0xf). LD_ABS writes R0 and clobbers R1-R5,
			// so A waits in the callee-saved R8, unless no path reads it
			// again before writing it (as in tcpdump's port tests).
			keepA := pc+1 < len(t.filter) && t.liveA[pc+1]
			if keepA {
				t.emit(pc, insn.Mov.Reg(regTmp, regA))
			}
			t.emit(pc,
				insn.LoadAbs(int32(k), insn.B),
				insn.And.Imm32(regA, 0xf),
				insn.LSh.Imm32(regA, 2),
				insn.Mov.Reg(regX, regA),
			)
			if keepA {
				t.emit(pc, insn.Mov.Reg(regA, regTmp))
			}
		}
	case clsSt:
		t.emit(pc, insn.StoreMem(insn.R10, scratch(k), regA, insn.W))
	case clsStx:
		t.emit(pc, insn.StoreMem(insn.R10, scratch(k), regX, insn.W))
	case clsALU:
		op := ri.Op & 0xf0
		if op == opNeg {
			t.emit(pc, insn.Neg32(regA))
			break
		}
		alu := aluOps[op]
		if ri.Op&srcX == 0 {
			t.emit(pc, alu.Imm32(regA, int32(k)))
			break
		}
		if op == opDiv || op == opMod {
			// Division by X == 0 ends a classic filter with 0.
			t.local++
			ok := fmt.Sprintf("c%d.div%d", pc, t.local)
			t.emit(pc,
				insn.JNE.Imm32(regX, 0, ok),
				insn.Mov.Imm32(regA, 0),
				insn.Exit(),
				alu.Reg32(regA, regX).WithLabel(ok),
			)
			break
		}
		t.emit(pc, alu.Reg32(regA, regX))
	case clsJmp:
		t.jump(pc)
	case clsRet:
		if ri.Op&0x18 == retK {
			t.emit(pc, insn.Mov.Imm32(regA, int32(k)))
		}
		t.emit(pc, insn.Exit())
	case clsMisc:
		if ri.Op&0xf8 == miscTxa {
			t.emit(pc, insn.Mov.Reg32(regA, regX))
		} else {
			t.emit(pc, insn.Mov.Reg32(regX, regA))
		}
	}
	return nil
}

func (t *translator) jump(pc int) {
	ri := t.filter[pc]
	if ri.Op&0xf0 == jmpJa {
		t.emit(pc, insn.Ja(label(pc+1+int(ri.K))))
		return
	}
	tl, fl := label(pc+1+int(ri.Jt)), label(pc+1+int(ri.Jf))
	var op, inverse insn.JumpOp
	hasInverse := true
	switch ri.Op & 0xf0 {
	case jmpJeq:
		op, inverse = insn.JEq, insn.JNE
	case jmpJgt:
		op, inverse = insn.JGT, insn.JLE
	case jmpJge:
		op, inverse = insn.JGE, insn.JLT
	case jmpSet:
		op, hasInverse = insn.JSet, false
	}
	cond := func(op insn.JumpOp, target string) insn.Instruction {
		// A and X always hold 32-bit values: compare them as u32 with
		// JMP32, so constants of 2^31 and more need no special case.
		if ri.Op&srcX != 0 {
			return op.Reg32(regA, regX, target)
		}
		return op.Imm32(regA, int32(ri.K), target)
	}
	switch {
	case ri.Jt == ri.Jf:
		if ri.Jt != 0 {
			t.emit(pc, insn.Ja(tl))
		}
	case ri.Jt == 0 && hasInverse:
		t.emit(pc, cond(inverse, fl))
	case ri.Jf == 0:
		t.emit(pc, cond(op, tl))
	default:
		t.emit(pc, cond(op, tl), insn.Ja(fl))
	}
}

func (t *translator) ancillary(pc int, ad int32) error {
	field := func(off int16, toHost bool) {
		t.emit(pc, insn.LoadMem(regA, regCtx, off, insn.W))
		if toHost {
			t.emit(pc, insn.ToBE(regA, 16))
		}
	}
	switch ad {
	case adProtocol:
		field(skbProtocol, true)
	case adPktType:
		field(skbPktType, false)
	case adIfindex:
		field(skbIfindex, false)
	case adMark:
		field(skbMark, false)
	case adQueue:
		field(skbQueue, false)
	case adRxhash:
		field(skbHash, false)
	case adVlanTag:
		field(skbVlanTCI, false)
	case adVlanTagPresent:
		field(skbVlanPresent, false)
	case adVlanTPID:
		field(skbVlanProto, true)
	case adCPU:
		t.emit(pc, insn.FnGetSMPProcessorID.Call(), insn.Mov.Reg32(regA, regA))
	case adRandom:
		t.emit(pc, insn.FnGetPrandomU32.Call(), insn.Mov.Reg32(regA, regA))
	case adALUXorX:
		t.emit(pc, insn.Xor.Reg32(regA, regX))
	case adNlattr, adNlattrNest, adHatype, adPayOffset:
		return t.errorf(pc, ErrUnsupported, "ancillary load SKF_AD_OFF+%d (%s) has no eBPF socket filter equivalent", ad, adName(ad))
	default:
		// Check has already rejected unknown numbers.
		return t.errorf(pc, ErrInvalid, "unknown ancillary load SKF_AD_OFF+%d", ad)
	}
	return nil
}

func adName(ad int32) string {
	switch ad {
	case adNlattr:
		return "SKF_AD_NLATTR"
	case adNlattrNest:
		return "SKF_AD_NLATTR_NEST"
	case adHatype:
		return "SKF_AD_HATYPE"
	case adPayOffset:
		return "SKF_AD_PAY_OFFSET"
	}
	return "?"
}

// link joins the chunks, labelling the first eBPF instruction of every
// classic instruction that is a jump target. A classic instruction that
// translates to nothing (a conditional jump to the next instruction on
// both branches) hands its label on to the next one.
func (t *translator) link() (insn.Instructions, error) {
	n := 0
	for _, c := range t.chunks {
		n += len(c)
	}
	// canonical[pc] is the first classic instruction at or after pc that
	// has a non-empty translation. Every jump target is live and the
	// instructions that translate to nothing are jumps, so a live
	// non-empty one always follows a target.
	canonical := make([]int, len(t.chunks))
	next := len(t.chunks) - 1
	for pc := len(t.chunks) - 1; pc >= 0; pc-- {
		if len(t.chunks[pc]) > 0 {
			next = pc
		}
		canonical[pc] = next
	}
	byLabel := make(map[string]int, len(t.chunks))
	for pc := range t.chunks {
		byLabel[label(pc)] = pc
	}
	used := make([]bool, len(t.chunks))
	prologue := t.prologue()
	out := make(insn.Instructions, 0, len(prologue)+n)
	out = append(out, prologue...)
	for _, c := range t.chunks {
		for _, i := range c {
			if pc, ok := byLabel[i.Ref]; ok && i.IsJump() {
				i.Ref = label(canonical[pc])
				used[canonical[pc]] = true
			}
			out = append(out, i)
		}
	}
	k := len(prologue)
	for pc, c := range t.chunks {
		if len(c) > 0 && used[pc] {
			out[k].Label = label(pc)
		}
		k += len(c)
	}
	resolved, err := out.Resolve()
	if err != nil {
		return nil, &Error{Index: -1, Err: fmt.Errorf("%w: translation does not resolve: %v", ErrInvalid, err)}
	}
	return resolved, nil
}
