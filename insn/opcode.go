package insn

// OpCode is the first byte of an instruction slot. Its low three bits are
// the Class; the rest depends on the class (RFC 9669 section 3).
type OpCode uint8

// Class is the instruction class, the low three bits of an OpCode.
type Class uint8

// The instruction classes.
const (
	ClassLd    Class = 0x00 // non-standard loads: LD_IMM64, LD_ABS, LD_IND
	ClassLdX   Class = 0x01 // loads into a register
	ClassSt    Class = 0x02 // stores of an immediate
	ClassStX   Class = 0x03 // stores of a register, atomics
	ClassALU   Class = 0x04 // 32-bit arithmetic
	ClassJmp   Class = 0x05 // 64-bit jumps, calls, exit
	ClassJmp32 Class = 0x06 // 32-bit jumps, gotol
	ClassALU64 Class = 0x07 // 64-bit arithmetic
)

// Source says where the second operand of an ALU or jump comes from.
type Source uint8

// Operand sources.
const (
	SourceK Source = 0x00 // the 32-bit immediate
	SourceX Source = 0x08 // the src register
)

// Size is the width of a memory access.
type Size uint8

// Access sizes.
const (
	W  Size = 0x00 // 32 bits
	H  Size = 0x08 // 16 bits
	B  Size = 0x10 // 8 bits
	DW Size = 0x18 // 64 bits
)

// Bytes returns the access width in bytes.
func (s Size) Bytes() int {
	switch s {
	case B:
		return 1
	case H:
		return 2
	case W:
		return 4
	default:
		return 8
	}
}

// Mode is the addressing mode of a load or store.
type Mode uint8

// Addressing modes.
const (
	ModeImm    Mode = 0x00 // LD_IMM64
	ModeAbs    Mode = 0x20 // legacy packet load at a constant offset
	ModeInd    Mode = 0x40 // legacy packet load at a register offset
	ModeMem    Mode = 0x60 // regular load or store
	ModeMemSX  Mode = 0x80 // sign-extending load
	ModeAtomic Mode = 0xc0 // atomic operation
)

// Class returns the instruction class.
func (op OpCode) Class() Class { return Class(op & 0x07) }

// Source returns the operand source of an ALU or jump opcode.
func (op OpCode) Source() Source { return Source(op & 0x08) }

// Size returns the access size of a load or store opcode.
func (op OpCode) Size() Size { return Size(op & 0x18) }

// Mode returns the addressing mode of a load or store opcode.
func (op OpCode) Mode() Mode { return Mode(op & 0xe0) }

// Code returns the operation code of an ALU or jump opcode (its high four
// bits).
func (op OpCode) Code() uint8 { return uint8(op & 0xf0) }

// Opcode values of frequently tested forms.
const (
	OpLdImm64 OpCode = OpCode(ClassLd) | OpCode(ModeImm) | OpCode(DW) // 0x18
	OpExit    OpCode = OpCode(ClassJmp) | 0x90                        // 0x95
	OpCall    OpCode = OpCode(ClassJmp) | 0x80                        // 0x85
	OpCallX   OpCode = OpCode(ClassJmp) | 0x80 | OpCode(SourceX)      // 0x8d
	OpJa      OpCode = OpCode(ClassJmp)                               // 0x05
	OpGotol   OpCode = OpCode(ClassJmp32)                             // 0x06
	OpMayGoto OpCode = OpCode(ClassJmp) | 0xe0                        // 0xe5
)

// ALUOp is an arithmetic operation. Its low byte is the operation code of
// the opcode; its high byte is the offset field that selects a variant
// (signed division and modulo use offset 1, sign-extending moves 8, 16 or
// 32).
type ALUOp uint16

// The arithmetic operations.
const (
	Add     ALUOp = 0x00
	Sub     ALUOp = 0x10
	Mul     ALUOp = 0x20
	Div     ALUOp = 0x30 // unsigned; division by zero gives 0
	SDiv    ALUOp = 0x30 | 1<<8
	Or      ALUOp = 0x40
	And     ALUOp = 0x50
	LSh     ALUOp = 0x60
	RSh     ALUOp = 0x70
	neg     ALUOp = 0x80 // use Neg or Neg32
	Mod     ALUOp = 0x90 // unsigned; modulo by zero leaves dst unchanged
	SMod    ALUOp = 0x90 | 1<<8
	Xor     ALUOp = 0xa0
	Mov     ALUOp = 0xb0
	MovSX8  ALUOp = 0xb0 | 8<<8
	MovSX16 ALUOp = 0xb0 | 16<<8
	MovSX32 ALUOp = 0xb0 | 32<<8
	ArSh    ALUOp = 0xc0
	end     ALUOp = 0xd0 // use ToLE, ToBE or BSwap
)

// Code returns the operation code, the high four bits of the opcode.
func (op ALUOp) Code() uint8 { return uint8(op) }

// Offset returns the offset field that selects the variant.
func (op ALUOp) Offset() int16 { return int16(op >> 8) }

// JumpOp is a jump operation: the high four bits of a JMP or JMP32 opcode.
type JumpOp uint8

// The jump operations. JA, Call, Exit and may_goto are built with Ja,
// Gotol, Call, CallLocal, CallBTF, CallX, Exit and MayGoto.
const (
	ja    JumpOp = 0x00
	JEq   JumpOp = 0x10
	JGT   JumpOp = 0x20
	JGE   JumpOp = 0x30
	JSet  JumpOp = 0x40
	JNE   JumpOp = 0x50
	JSGT  JumpOp = 0x60
	JSGE  JumpOp = 0x70
	call  JumpOp = 0x80
	exit  JumpOp = 0x90
	JLT   JumpOp = 0xa0
	JLE   JumpOp = 0xb0
	JSLT  JumpOp = 0xc0
	JSLE  JumpOp = 0xd0
	jcond JumpOp = 0xe0
)

// AtomicOp is the operation of a BPF_ATOMIC instruction, held in its
// immediate.
type AtomicOp int32

// The atomic operations. The Fetch variants return the old value in src;
// CmpXchg compares with R0 and returns the old value in R0.
const (
	AtomicAdd      AtomicOp = 0x00
	AtomicOr       AtomicOp = 0x40
	AtomicAnd      AtomicOp = 0x50
	AtomicXor      AtomicOp = 0xa0
	Fetch          AtomicOp = 0x01
	AtomicFetchAdd          = AtomicAdd | Fetch
	AtomicFetchOr           = AtomicOr | Fetch
	AtomicFetchAnd          = AtomicAnd | Fetch
	AtomicFetchXor          = AtomicXor | Fetch
	AtomicXchg     AtomicOp = 0xe0 | Fetch
	AtomicCmpXchg  AtomicOp = 0xf0 | Fetch
	// LoadAcquire and StoreRelease are ordered accesses (Linux 6.15).
	AtomicLoadAcquire  AtomicOp = 0x100
	AtomicStoreRelease AtomicOp = 0x110
)

// PseudoSrc is the src field of an LD_IMM64, which says what the 64-bit
// constant means (include/uapi/linux/bpf.h, BPF_PSEUDO_*).
type PseudoSrc uint8

// LD_IMM64 sources.
const (
	PseudoNone        PseudoSrc = 0 // a literal 64-bit value
	PseudoMapFD       PseudoSrc = 1 // imm is a map fd; dst = map pointer
	PseudoMapValue    PseudoSrc = 2 // imm is a map fd, next imm an offset into its value
	PseudoBTFID       PseudoSrc = 3 // imm is a BTF id of a kernel variable
	PseudoFunc        PseudoSrc = 4 // imm is an instruction offset of a function
	PseudoMapIdx      PseudoSrc = 5 // imm is an index into fd_array of a map
	PseudoMapIdxValue PseudoSrc = 6 // like MapIdx, next imm an offset into its value
	maxPseudoSrc                = PseudoMapIdxValue
)

// The src field of a call (BPF_PSEUDO_CALL and BPF_PSEUDO_KFUNC_CALL).
const (
	callHelper Register = 0 // helper by static number
	callLocal  Register = 1 // bpf-to-bpf call, imm is a relative offset
	callKfunc  Register = 2 // kernel function by BTF id
)
