package insn

// Names for the operation codes that the builders cover with their own
// functions (Neg, ToLE/ToBE/BSwap, Ja, Call, Exit, MayGoto), for code that
// decodes instructions: compare OpCode.Code() with them instead of
// writing the numbers.
const (
	// ALUNeg is BPF_NEG, the ALU/ALU64 operation dst = -dst.
	ALUNeg = neg
	// ALUEnd is BPF_END, the byte-order operation (le, be, bswap).
	ALUEnd = end
	// JA is BPF_JA, the unconditional jump (JMP) and gotol (JMP32).
	JA = ja
	// JCall is BPF_CALL: helper, bpf-to-bpf, kfunc and indirect calls.
	JCall = call
	// JExit is BPF_EXIT.
	JExit = exit
	// JCond is BPF_JCOND, the class of may_goto (Linux 6.9).
	JCond = jcond
)
