// Package benchprogs builds the programs that the benchmarks of interp,
// jit and the kernel comparison share, so that every engine is measured on
// the same bytecode. Each Program has raw-memory conventions (r1 = memory,
// r2 = its length) and the input it is measured on.
//
// Package benchprogs imports insn and the standard library.
package benchprogs

import (
	"encoding/binary"

	. "github.com/purebpf/purebpf/insn"
)

// Program is one benchmark program.
type Program struct {
	Name string
	// Instructions is the program; it returns a value that depends on
	// all the work it did.
	Instructions Instructions
	// Memory is the input r1 points at (nil for none).
	Memory []byte
	// Helpers lists the helpers it calls.
	Helpers []HelperFunc
	// Kernel says whether the kernel's verifier accepts it as a socket
	// filter with the same bytes (it must not touch r1's memory).
	Kernel bool
}

// ALULoopIterations is the trip count of ALULoop.
const ALULoopIterations = 1000

// ALULoop is 1000 iterations of six dependent 64-bit ALU operations and a
// counted loop branch.
func ALULoop() Program {
	return Program{Name: "alu_loop", Kernel: true, Instructions: Instructions{
		Mov.Imm(R0, 0),
		Mov.Imm(R2, ALULoopIterations),
		Add.Reg(R0, R2).WithLabel("loop"),
		Mov.Reg(R3, R0),
		LSh.Imm(R3, 7),
		Xor.Reg(R0, R3),
		RSh.Imm(R3, 3),
		Sub.Reg(R0, R3),
		Sub.Imm(R2, 1),
		JNE.Imm(R2, 0, "loop"),
		Exit(),
	}}
}

// StackHash fills eight stack dwords, then hashes them 32 times over with
// dword loads through r10.
func StackHash() Program {
	is := Instructions{Mov.Imm(R0, 0x12345)}
	for k := int16(1); k <= 8; k++ {
		is = append(is, Mov.Imm(R3, int32(k)*0x01020304), StoreMem(R10, -8*k, R3, DW))
	}
	is = append(is, Mov.Imm(R2, 32), LoadImm64(R4, 0x100000001b3))
	for k := int16(1); k <= 8; k++ {
		l := LoadMem(R3, R10, -8*k, DW)
		if k == 1 {
			l = l.WithLabel("loop")
		}
		is = append(is, l, Xor.Reg(R0, R3), Mul.Reg(R0, R4))
	}
	is = append(is, Sub.Imm(R2, 1), JNE.Imm(R2, 0, "loop"), Exit())
	return Program{Name: "stack_hash", Kernel: true, Instructions: is}
}

// FNVBytes is FNV-1a over the 256-byte memory buffer, one byte load per
// iteration.
func FNVBytes() Program {
	mem := make([]byte, 256)
	for k := range mem {
		mem[k] = byte(k*7 + 3)
	}
	return Program{Name: "fnv_bytes", Memory: mem, Instructions: Instructions{
		LoadImm64(R0, -3750763034362895579), // 0xcbf29ce484222325
		LoadImm64(R4, 0x100000001b3),
		JEq.Imm(R2, 0, "out"),
		LoadMem(R3, R1, 0, B).WithLabel("loop"),
		Xor.Reg(R0, R3),
		Mul.Reg(R0, R4),
		Add.Imm(R1, 1),
		Sub.Imm(R2, 1),
		JNE.Imm(R2, 0, "loop"),
		Exit().WithLabel("out"),
	}}
}

// ParseUDP is a short branchy parser of an Ethernet/IPv4/UDP header: it
// returns the UDP destination port of an IPv4 UDP packet, or 0.
func ParseUDP() Program {
	pkt := make([]byte, 64)
	binary.BigEndian.PutUint16(pkt[12:], 0x0800) // IPv4
	pkt[14] = 0x45                               // version 4, IHL 5
	pkt[23] = 17                                 // UDP
	binary.BigEndian.PutUint16(pkt[34:], 5353)
	binary.BigEndian.PutUint16(pkt[36:], 53)
	return Program{Name: "parse_udp", Memory: pkt, Instructions: Instructions{
		Mov.Imm(R0, 0),
		JLT.Imm(R2, 42, "out"),
		LoadMem(R3, R1, 12, H),
		ToBE(R3, 16),
		JNE.Imm(R3, 0x0800, "out"),
		LoadMem(R3, R1, 14, B),
		Mov.Reg(R4, R3),
		RSh.Imm(R4, 4),
		JNE.Imm(R4, 4, "out"),
		And.Imm(R3, 0xf),
		JLT.Imm(R3, 5, "out"),
		LSh.Imm(R3, 2),
		LoadMem(R4, R1, 23, B),
		JNE.Imm(R4, 17, "out"),
		Mov.Reg(R5, R3),
		Add.Imm(R5, 14+8),
		JGT.Reg(R5, R2, "out"),
		Add.Reg(R3, R1),
		LoadMem(R0, R3, 14+2, H),
		ToBE(R0, 16),
		Exit().WithLabel("out"),
	}}
}

// DivModLoop is 1000 iterations of an unsigned division and a modulo by a
// changing divisor.
func DivModLoop() Program {
	return Program{Name: "divmod_loop", Kernel: true, Instructions: Instructions{
		Mov.Imm(R0, 0),
		Mov.Imm(R2, 1000),
		LoadImm64(R6, 0x7fffffffffff),
		Mov.Reg(R3, R6).WithLabel("loop"),
		Div.Reg(R3, R2),
		Add.Reg(R0, R3),
		Mov.Reg(R4, R6),
		Mod.Reg(R4, R2),
		Xor.Reg(R0, R4),
		Sub.Imm(R2, 1),
		JNE.Imm(R2, 0, "loop"),
		Exit(),
	}}
}

// HelperLoop calls bpf_get_prandom_u32 100 times and sums the results.
func HelperLoop() Program {
	return Program{Name: "helper_loop", Kernel: true, Helpers: []HelperFunc{FnGetPrandomU32}, Instructions: Instructions{
		Mov.Imm(R6, 0),
		Mov.Imm(R7, 100),
		Call(int32(FnGetPrandomU32)).WithLabel("loop"),
		Add.Reg(R6, R0),
		Sub.Imm(R7, 1),
		JNE.Imm(R7, 0, "loop"),
		Mov.Reg(R0, R6),
		Exit(),
	}}
}

// All returns every benchmark program.
func All() []Program {
	return []Program{ALULoop(), StackHash(), FNVBytes(), ParseUDP(), DivModLoop(), HelperLoop()}
}
