package optab

import "github.com/purebpf/purebpf/insn"

// Op is one engine op: a row of Ops.
type Op struct {
	// Name is the op's name; the engine's constant is "op" + Name and
	// its String method returns Name.
	Name string
	// Kind says what the op does, for the analyses (Kinds).
	Kind Kind
	// Enc lists the instructions the decoder turns into this op. An op
	// with none is made by the decoder in another way, which Made says
	// (the second slot of lddw; fused ops).
	Enc  []Enc
	Made string
	// Doc is the comment of the engine's constant.
	Doc string
	// Slots is how many slots the op spans, where a basic block goes on
	// after it (lddw: 2); 0 means 1.
	Slots int
	// Budget is how many instructions the op counts as against a run's
	// budget; 0 means 1 (the second slot of lddw, never executed, sets
	// NoBudget). A fused op standing for n instructions in n slots sets
	// Slots and Budget to n.
	Budget   int
	NoBudget bool
}

// Host is a constraint on the host's byte order: the byte-order
// instructions decode to a swap or a truncation depending on it.
type Host uint8

// Host byte orders.
const (
	AnyHost Host = iota
	LittleEndian
	BigEndian
)

// Target says which field holds a jump's distance; the decoder makes it
// an absolute slot in dinsn.off.
type Target uint8

// Jump targets.
const (
	NoTarget  Target = iota
	OffTarget        // the offset field (jumps, may_goto)
	ImmTarget        // the immediate (gotol, bpf-to-bpf calls)
)

// Enc is one instruction encoding of an op: the opcode byte and the
// values other fields must have to select this op rather than another
// with the same opcode (a variant). Build it with ALU, Jmp or Mem and the
// methods that add constraints.
type Enc struct {
	Opcode insn.OpCode
	// Constraints: a field with its Has flag set must equal the value.
	HasOff, HasImm, HasSrc bool
	Off                    int16
	Imm                    int32
	Src                    uint8
	Host                   Host
	Target                 Target
	// ImmU32 zero-extends the immediate (JMP32 compares with imm's low
	// 32 bits).
	ImmU32 bool
	// Size is the access size in bytes of loads, stores, atomics and
	// LD_ABS/LD_IND (dinsn.sz), 0 for the rest.
	Size uint8
}

// ALU is an ALU or ALU64 encoding. op's offset byte (insn.SDiv, MovSX8)
// is a constraint: every ALU encoding fixes the offset field.
func ALU(class insn.Class, op insn.ALUOp, src insn.Source) Enc {
	return Enc{Opcode: insn.OpCode(class) | insn.OpCode(op.Code()) | insn.OpCode(src), HasOff: true, Off: op.Offset()}
}

// Jmp is a JMP or JMP32 encoding with its target in the offset field
// (Calls and Exit clear it); JMP32 conditional jumps with an immediate
// compare with its low 32 bits.
func Jmp(class insn.Class, op insn.JumpOp, src insn.Source) Enc {
	e := Enc{Opcode: insn.OpCode(class) | insn.OpCode(op) | insn.OpCode(src), Target: OffTarget}
	if class == insn.ClassJmp32 && src == insn.SourceK && op != insn.JA {
		e.ImmU32 = true
	}
	return e
}

// Mem is a load or store encoding: class, mode and size.
func Mem(class insn.Class, mode insn.Mode, size insn.Size) Enc {
	e := Enc{Opcode: insn.OpCode(class) | insn.OpCode(mode) | insn.OpCode(size)}
	if !(class == insn.ClassLd && mode == insn.ModeImm) {
		e.Size = uint8(size.Bytes())
	}
	return e
}

// WithOff, WithImm and WithSrc add a constraint.
func (e Enc) WithOff(v int16) Enc { e.HasOff, e.Off = true, v; return e }

func (e Enc) WithImm(v int32) Enc { e.HasImm, e.Imm = true, v; return e }

func (e Enc) WithSrc(v uint8) Enc { e.HasSrc, e.Src = true, v; return e }

// On constrains the host byte order.
func (e Enc) On(h Host) Enc { e.Host = h; return e }

// To sets the field holding the jump distance.
func (e Enc) To(t Target) Enc { e.Target = t; return e }

// The src field of a call (BPF_PSEUDO_CALL).
const (
	srcHelper = 0 // helper by number
	srcLocal  = 1 // bpf-to-bpf call
)

// Shorthands for the table.
const (
	a64, a32 = insn.ClassALU64, insn.ClassALU
	j64, j32 = insn.ClassJmp, insn.ClassJmp32
	x, k     = insn.SourceX, insn.SourceK
	le, be   = LittleEndian, BigEndian
)

func op(name string, kind Kind, enc ...Enc) Op { return Op{Name: name, Kind: kind, Enc: enc} }

func (o Op) doc(s string) Op { o.Doc = s; return o }

// sizes is enc in every access size.
func sizes(enc func(insn.Size) Enc, sz ...insn.Size) []Enc {
	var out []Enc
	for _, s := range sz {
		out = append(out, enc(s))
	}
	return out
}

func atomicOp(a insn.AtomicOp) func(insn.Size) Enc {
	return func(s insn.Size) Enc { return Mem(insn.ClassStX, insn.ModeAtomic, s).WithImm(int32(a)) }
}

// Ops is the table of ops, one row per op. To add an op, add its row here
// (anywhere: nothing depends on the order of the rows, except that
// Invalid, the zero op, comes first) and run `go generate
// ./internal/engine`; then give it a case in exec.go (fast, or exec for
// what leaves the fast loop; TestOpsHandled checks). A row names the op,
// its kind (Kinds: what the analyses do with it) and the encodings it
// decodes from; an op the decoder makes otherwise, such as a fused op,
// has no encoding and says in Made how it is made. When encodings of one
// opcode overlap, the one with more constraints wins; Generate refuses
// overlaps that no constraint decides.
var Ops = []Op{
	{Name: "Invalid", Kind: Invalid, Made: "the decoder puts it in the second slot of lddw", NoBudget: true,
		Doc: "second slot of lddw; never executed"},

	// 64-bit ALU, register and immediate forms.
	op("Add64X", ALUKind, ALU(a64, insn.Add, x)),
	op("Add64K", ALUKind, ALU(a64, insn.Add, k)),
	op("Sub64X", ALUKind, ALU(a64, insn.Sub, x)),
	op("Sub64K", ALUKind, ALU(a64, insn.Sub, k)),
	op("Mul64X", ALUKind, ALU(a64, insn.Mul, x)),
	op("Mul64K", ALUKind, ALU(a64, insn.Mul, k)),
	op("Div64X", ALUKind, ALU(a64, insn.Div, x)),
	op("Div64K", ALUKind, ALU(a64, insn.Div, k)),
	op("SDiv64X", ALUKind, ALU(a64, insn.SDiv, x)),
	op("SDiv64K", ALUKind, ALU(a64, insn.SDiv, k)),
	op("Or64X", ALUKind, ALU(a64, insn.Or, x)),
	op("Or64K", ALUKind, ALU(a64, insn.Or, k)),
	op("And64X", ALUKind, ALU(a64, insn.And, x)),
	op("And64K", ALUKind, ALU(a64, insn.And, k)),
	op("Lsh64X", ALUKind, ALU(a64, insn.LSh, x)),
	op("Lsh64K", ALUKind, ALU(a64, insn.LSh, k)),
	op("Rsh64X", ALUKind, ALU(a64, insn.RSh, x)),
	op("Rsh64K", ALUKind, ALU(a64, insn.RSh, k)),
	op("Neg64", ALUKind, ALU(a64, insn.ALUNeg, k)),
	op("Mod64X", ALUKind, ALU(a64, insn.Mod, x)),
	op("Mod64K", ALUKind, ALU(a64, insn.Mod, k)),
	op("SMod64X", ALUKind, ALU(a64, insn.SMod, x)),
	op("SMod64K", ALUKind, ALU(a64, insn.SMod, k)),
	op("Xor64X", ALUKind, ALU(a64, insn.Xor, x)),
	op("Xor64K", ALUKind, ALU(a64, insn.Xor, k)),
	op("Mov64X", ALUKind, ALU(a64, insn.Mov, x)),
	op("Mov64K", ALUKind, ALU(a64, insn.Mov, k)),
	op("MovSX8_64", ALUKind, ALU(a64, insn.MovSX8, x)),
	op("MovSX16_64", ALUKind, ALU(a64, insn.MovSX16, x)),
	op("MovSX32_64", ALUKind, ALU(a64, insn.MovSX32, x)),
	op("Arsh64X", ALUKind, ALU(a64, insn.ArSh, x)),
	op("Arsh64K", ALUKind, ALU(a64, insn.ArSh, k)),
	// Byte order: bswap always swaps; le swaps on a big-endian host and
	// be on a little-endian one, and otherwise truncate.
	op("Bswap16", ALUKind, ALU(a64, insn.ALUEnd, k).WithImm(16),
		ALU(a32, insn.ALUEnd, x).WithImm(16).On(le), ALU(a32, insn.ALUEnd, k).WithImm(16).On(be)),
	op("Bswap32", ALUKind, ALU(a64, insn.ALUEnd, k).WithImm(32),
		ALU(a32, insn.ALUEnd, x).WithImm(32).On(le), ALU(a32, insn.ALUEnd, k).WithImm(32).On(be)),
	op("Bswap64", ALUKind, ALU(a64, insn.ALUEnd, k).WithImm(64),
		ALU(a32, insn.ALUEnd, x).WithImm(64).On(le), ALU(a32, insn.ALUEnd, k).WithImm(64).On(be)),

	// 32-bit ALU.
	op("Add32X", ALUKind, ALU(a32, insn.Add, x)),
	op("Add32K", ALUKind, ALU(a32, insn.Add, k)),
	op("Sub32X", ALUKind, ALU(a32, insn.Sub, x)),
	op("Sub32K", ALUKind, ALU(a32, insn.Sub, k)),
	op("Mul32X", ALUKind, ALU(a32, insn.Mul, x)),
	op("Mul32K", ALUKind, ALU(a32, insn.Mul, k)),
	op("Div32X", ALUKind, ALU(a32, insn.Div, x)),
	op("Div32K", ALUKind, ALU(a32, insn.Div, k)),
	op("SDiv32X", ALUKind, ALU(a32, insn.SDiv, x)),
	op("SDiv32K", ALUKind, ALU(a32, insn.SDiv, k)),
	op("Or32X", ALUKind, ALU(a32, insn.Or, x)),
	op("Or32K", ALUKind, ALU(a32, insn.Or, k)),
	op("And32X", ALUKind, ALU(a32, insn.And, x)),
	op("And32K", ALUKind, ALU(a32, insn.And, k)),
	op("Lsh32X", ALUKind, ALU(a32, insn.LSh, x)),
	op("Lsh32K", ALUKind, ALU(a32, insn.LSh, k)),
	op("Rsh32X", ALUKind, ALU(a32, insn.RSh, x)),
	op("Rsh32K", ALUKind, ALU(a32, insn.RSh, k)),
	op("Neg32", ALUKind, ALU(a32, insn.ALUNeg, k)),
	op("Mod32X", ALUKind, ALU(a32, insn.Mod, x)),
	op("Mod32K", ALUKind, ALU(a32, insn.Mod, k)),
	op("SMod32X", ALUKind, ALU(a32, insn.SMod, x)),
	op("SMod32K", ALUKind, ALU(a32, insn.SMod, k)),
	op("Xor32X", ALUKind, ALU(a32, insn.Xor, x)),
	op("Xor32K", ALUKind, ALU(a32, insn.Xor, k)),
	op("Mov32X", ALUKind, ALU(a32, insn.Mov, x)),
	op("Mov32K", ALUKind, ALU(a32, insn.Mov, k)),
	op("MovSX8_32", ALUKind, ALU(a32, insn.MovSX8, x)),
	op("MovSX16_32", ALUKind, ALU(a32, insn.MovSX16, x)),
	op("Arsh32X", ALUKind, ALU(a32, insn.ArSh, x)),
	op("Arsh32K", ALUKind, ALU(a32, insn.ArSh, k)),
	op("Trunc16", ALUKind, ALU(a32, insn.ALUEnd, k).WithImm(16).On(le), ALU(a32, insn.ALUEnd, x).WithImm(16).On(be)).
		doc("le16 on a little-endian host, be16 on a big-endian one"),
	op("Trunc32", ALUKind, ALU(a32, insn.ALUEnd, k).WithImm(32).On(le), ALU(a32, insn.ALUEnd, x).WithImm(32).On(be)).
		doc("le32 on a little-endian host, be32 on a big-endian one"),
	op("Nop", ALUKind, ALU(a32, insn.ALUEnd, k).WithImm(64).On(le), ALU(a32, insn.ALUEnd, x).WithImm(64).On(be)).
		doc("le64 on a little-endian host, be64 on a big-endian one"),

	// Jumps. off holds the absolute target slot.
	op("Ja", JaKind, Jmp(j64, insn.JA, k), Jmp(j32, insn.JA, k).To(ImmTarget)).doc("ja and gotol"),
	op("Jeq64X", JumpKind, Jmp(j64, insn.JEq, x)),
	op("Jeq64K", JumpKind, Jmp(j64, insn.JEq, k)),
	op("Jgt64X", JumpKind, Jmp(j64, insn.JGT, x)),
	op("Jgt64K", JumpKind, Jmp(j64, insn.JGT, k)),
	op("Jge64X", JumpKind, Jmp(j64, insn.JGE, x)),
	op("Jge64K", JumpKind, Jmp(j64, insn.JGE, k)),
	op("Jset64X", JumpKind, Jmp(j64, insn.JSet, x)),
	op("Jset64K", JumpKind, Jmp(j64, insn.JSet, k)),
	op("Jne64X", JumpKind, Jmp(j64, insn.JNE, x)),
	op("Jne64K", JumpKind, Jmp(j64, insn.JNE, k)),
	op("Jsgt64X", JumpKind, Jmp(j64, insn.JSGT, x)),
	op("Jsgt64K", JumpKind, Jmp(j64, insn.JSGT, k)),
	op("Jsge64X", JumpKind, Jmp(j64, insn.JSGE, x)),
	op("Jsge64K", JumpKind, Jmp(j64, insn.JSGE, k)),
	op("Jlt64X", JumpKind, Jmp(j64, insn.JLT, x)),
	op("Jlt64K", JumpKind, Jmp(j64, insn.JLT, k)),
	op("Jle64X", JumpKind, Jmp(j64, insn.JLE, x)),
	op("Jle64K", JumpKind, Jmp(j64, insn.JLE, k)),
	op("Jslt64X", JumpKind, Jmp(j64, insn.JSLT, x)),
	op("Jslt64K", JumpKind, Jmp(j64, insn.JSLT, k)),
	op("Jsle64X", JumpKind, Jmp(j64, insn.JSLE, x)),
	op("Jsle64K", JumpKind, Jmp(j64, insn.JSLE, k)),
	op("Jeq32X", JumpKind, Jmp(j32, insn.JEq, x)),
	op("Jeq32K", JumpKind, Jmp(j32, insn.JEq, k)),
	op("Jgt32X", JumpKind, Jmp(j32, insn.JGT, x)),
	op("Jgt32K", JumpKind, Jmp(j32, insn.JGT, k)),
	op("Jge32X", JumpKind, Jmp(j32, insn.JGE, x)),
	op("Jge32K", JumpKind, Jmp(j32, insn.JGE, k)),
	op("Jset32X", JumpKind, Jmp(j32, insn.JSet, x)),
	op("Jset32K", JumpKind, Jmp(j32, insn.JSet, k)),
	op("Jne32X", JumpKind, Jmp(j32, insn.JNE, x)),
	op("Jne32K", JumpKind, Jmp(j32, insn.JNE, k)),
	op("Jsgt32X", JumpKind, Jmp(j32, insn.JSGT, x)),
	op("Jsgt32K", JumpKind, Jmp(j32, insn.JSGT, k)),
	op("Jsge32X", JumpKind, Jmp(j32, insn.JSGE, x)),
	op("Jsge32K", JumpKind, Jmp(j32, insn.JSGE, k)),
	op("Jlt32X", JumpKind, Jmp(j32, insn.JLT, x)),
	op("Jlt32K", JumpKind, Jmp(j32, insn.JLT, k)),
	op("Jle32X", JumpKind, Jmp(j32, insn.JLE, x)),
	op("Jle32K", JumpKind, Jmp(j32, insn.JLE, k)),
	op("Jslt32X", JumpKind, Jmp(j32, insn.JSLT, x)),
	op("Jslt32K", JumpKind, Jmp(j32, insn.JSLT, k)),
	op("Jsle32X", JumpKind, Jmp(j32, insn.JSLE, x)),
	op("Jsle32K", JumpKind, Jmp(j32, insn.JSLE, k)),
	op("MayGoto", MayGotoKind, Jmp(j64, insn.JCond, k)),
	op("Call", CallKind, Jmp(j64, insn.JCall, k).WithSrc(srcHelper).To(NoTarget)).doc("helper, imm = number"),
	op("CallLocal", CallLocalKind, Jmp(j64, insn.JCall, k).WithSrc(srcLocal).To(ImmTarget)).doc("off = target slot"),
	op("CallX", CallXKind, Jmp(j64, insn.JCall, x).To(NoTarget)).doc("helper number in dst"),
	op("TailCall", TailCallKind, Jmp(j64, insn.JCall, k).WithSrc(srcHelper).WithImm(int32(insn.FnTailCall)).To(NoTarget)),
	op("Exit", ExitKind, Jmp(j64, insn.JExit, k).To(NoTarget)),

	// Memory.
	op("LdxB", LoadKind, Mem(insn.ClassLdX, insn.ModeMem, insn.B)),
	op("LdxH", LoadKind, Mem(insn.ClassLdX, insn.ModeMem, insn.H)),
	op("LdxW", LoadKind, Mem(insn.ClassLdX, insn.ModeMem, insn.W)),
	op("LdxDW", LoadKind, Mem(insn.ClassLdX, insn.ModeMem, insn.DW)),
	op("LdxSB", LoadKind, Mem(insn.ClassLdX, insn.ModeMemSX, insn.B)),
	op("LdxSH", LoadKind, Mem(insn.ClassLdX, insn.ModeMemSX, insn.H)),
	op("LdxSW", LoadKind, Mem(insn.ClassLdX, insn.ModeMemSX, insn.W)),
	op("StB", StoreImmKind, Mem(insn.ClassSt, insn.ModeMem, insn.B)),
	op("StH", StoreImmKind, Mem(insn.ClassSt, insn.ModeMem, insn.H)),
	op("StW", StoreImmKind, Mem(insn.ClassSt, insn.ModeMem, insn.W)),
	op("StDW", StoreImmKind, Mem(insn.ClassSt, insn.ModeMem, insn.DW)),
	op("StxB", StoreRegKind, Mem(insn.ClassStX, insn.ModeMem, insn.B)),
	op("StxH", StoreRegKind, Mem(insn.ClassStX, insn.ModeMem, insn.H)),
	op("StxW", StoreRegKind, Mem(insn.ClassStX, insn.ModeMem, insn.W)),
	op("StxDW", StoreRegKind, Mem(insn.ClassStX, insn.ModeMem, insn.DW)),
	op("AtomicW", AtomicKind, Mem(insn.ClassStX, insn.ModeAtomic, insn.W)).doc("imm = atomic op"),
	op("AtomicDW", AtomicKind, Mem(insn.ClassStX, insn.ModeAtomic, insn.DW)).doc("imm = atomic op"),
	op("LoadAcq", LoadAcqKind, sizes(atomicOp(insn.AtomicLoadAcquire), insn.B, insn.H, insn.W, insn.DW)...).doc("size in sz"),
	op("StoreRel", StoreRelKind, sizes(atomicOp(insn.AtomicStoreRelease), insn.B, insn.H, insn.W, insn.DW)...).doc("size in sz"),
	{Name: "LdImm64", Kind: LoadImmKind, Slots: 2, Doc: "imm = value (a map handle for a map fd or index, a callback handle for a function address)", Enc: []Enc{
		Mem(insn.ClassLd, insn.ModeImm, insn.DW).WithSrc(uint8(insn.PseudoNone)),
		Mem(insn.ClassLd, insn.ModeImm, insn.DW).WithSrc(uint8(insn.PseudoMapFD)),
		Mem(insn.ClassLd, insn.ModeImm, insn.DW).WithSrc(uint8(insn.PseudoMapIdx)),
		Mem(insn.ClassLd, insn.ModeImm, insn.DW).WithSrc(uint8(insn.PseudoFunc)),
	}},
	{Name: "LdMapVal", Kind: MapValueKind, Slots: 2, Doc: "imm = map index, off = value offset", Enc: []Enc{
		Mem(insn.ClassLd, insn.ModeImm, insn.DW).WithSrc(uint8(insn.PseudoMapValue)),
		Mem(insn.ClassLd, insn.ModeImm, insn.DW).WithSrc(uint8(insn.PseudoMapIdxValue)),
	}},
	// LD_ABS and LD_IND, one op per size (sz holds it too), so that the
	// run loop reads each without a switch on the size.
	op("LdAbsB", PacketKind, Mem(insn.ClassLd, insn.ModeAbs, insn.B)).doc("imm = offset"),
	op("LdAbsH", PacketKind, Mem(insn.ClassLd, insn.ModeAbs, insn.H)).doc("imm = offset"),
	op("LdAbsW", PacketKind, Mem(insn.ClassLd, insn.ModeAbs, insn.W)).doc("imm = offset"),
	op("LdIndB", PacketKind, Mem(insn.ClassLd, insn.ModeInd, insn.B)).doc("imm = offset, src = index register"),
	op("LdIndH", PacketKind, Mem(insn.ClassLd, insn.ModeInd, insn.H)).doc("imm = offset, src = index register"),
	op("LdIndW", PacketKind, Mem(insn.ClassLd, insn.ModeInd, insn.W)).doc("imm = offset, src = index register"),
}
