// Package insn is the eBPF instruction set: opcodes, registers, one
// Instruction type for every form the Linux kernel accepts, builders that
// read like the code a person means, symbolic labels, the binary encoding
// and the text syntax used by llvm-objdump, bpftool and the kernel's docs.
//
// The reference is RFC 9669 (BPF Instruction Set Architecture) plus the
// extensions the kernel accepts: the legacy packet loads LD_ABS and LD_IND,
// the LD_IMM64 pseudo sources, may_goto (Linux 6.9), load-acquire and
// store-release (Linux 6.15), and callx (the conformance suite's indirect
// call, opcode 0x8d, register in dst).
//
// # Building
//
// Builders return an Instruction; a program is an Instructions slice:
//
//	prog := insn.Instructions{
//		insn.Mov.Imm(insn.R0, 0),
//		insn.JGT.Imm(insn.R1, 5, "out"),
//		insn.Mov.Imm(insn.R0, 1),
//		insn.Exit().WithLabel("out"),
//	}
//
// ALU operations are values of ALUOp with the methods Imm, Reg (64-bit) and
// Imm32, Reg32 (32-bit); conditional jumps are values of JumpOp with the
// same four methods, taking the target label last.
//
// # Labels and references
//
// An instruction may carry a Label, which names it, and a Ref, which names
// what it points at: the label a jump or local call targets, or the map an
// LD_IMM64 map load refers to. Jump and call references are resolved into
// offsets by Resolve (and so by Marshal and Validate). Map references are
// left for the loader: package prog resolves them to kernel map fds and
// package interp to userspace maps, through Instruction.SetMapFD.
//
// # Encoding
//
// Instructions.Marshal and Unmarshal convert to and from the kernel's
// little-endian wire format. An LD_IMM64 is one Instruction that occupies
// two 8-byte slots; errors name the slot index. The round trip is exact.
//
// # Text
//
// Instructions.String prints one instruction per line and Parse reads the
// same syntax back.
//
// Package insn imports only the standard library.
package insn
