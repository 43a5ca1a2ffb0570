package insn_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

// encodingCase is one instruction form: its text as String prints it, its
// encoding written by hand from RFC 9669 (opcode, dst|src<<4, offset and
// imm little-endian, second slot for lddw) and a builder that makes it.
type encodingCase struct {
	text  string
	hex   string
	build insn.Instruction
}

// The padding around every case, so that jumps and calls have targets: three
// exits before and three after.
const exitHex = "95 00 0000 00000000"

func (c encodingCase) raw() []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(c.hex, " ", ""))
	if err != nil {
		panic(c.text + ": bad hex in test table: " + err.Error())
	}
	return b
}

// program is the case's instruction between the exits.
func (c encodingCase) program() []byte {
	pad := encodingCase{hex: strings.Repeat(exitHex, 3)}.raw()
	return append(append(append([]byte{}, pad...), c.raw()...), pad...)
}

func (c encodingCase) source() string {
	return "exit\nexit\nexit\n" + c.text + "\nexit\nexit\nexit\n"
}

var (
	r0, r1, r2, r10 = insn.R0, insn.R1, insn.R2, insn.R10
)

func withImm(i insn.Instruction, imm int64) insn.Instruction { i.Imm = imm; return i }
func withOff(i insn.Instruction, off int16) insn.Instruction { i.Offset = off; return i }

// encodingCases covers every instruction form insn encodes.
var encodingCases = []encodingCase{
	// ALU64, immediate (RFC 9669 section 4.1, class 0x07, source K).
	{"r1 += 5", "07 01 0000 05000000", insn.Add.Imm(r1, 5)},
	{"r1 -= -7", "17 01 0000 f9ffffff", insn.Sub.Imm(r1, -7)},
	{"r1 *= 3", "27 01 0000 03000000", insn.Mul.Imm(r1, 3)},
	{"r1 /= 10", "37 01 0000 0a000000", insn.Div.Imm(r1, 10)},
	{"r1 s/= -3", "37 01 0100 fdffffff", insn.SDiv.Imm(r1, -3)},
	{"r1 |= 255", "47 01 0000 ff000000", insn.Or.Imm(r1, 255)},
	{"r1 &= 4095", "57 01 0000 ff0f0000", insn.And.Imm(r1, 4095)},
	{"r1 <<= 32", "67 01 0000 20000000", insn.LSh.Imm(r1, 32)},
	{"r1 >>= 1", "77 01 0000 01000000", insn.RSh.Imm(r1, 1)},
	{"r1 %= 7", "97 01 0000 07000000", insn.Mod.Imm(r1, 7)},
	{"r1 s%= 7", "97 01 0100 07000000", insn.SMod.Imm(r1, 7)},
	{"r1 ^= 2147483647", "a7 01 0000 ffffff7f", insn.Xor.Imm(r1, 2147483647)},
	{"r1 = -2147483648", "b7 01 0000 00000080", insn.Mov.Imm(r1, -2147483648)},
	{"r1 s>>= 63", "c7 01 0000 3f000000", insn.ArSh.Imm(r1, 63)},
	// ALU64, register (source X, 0x08).
	{"r1 += r2", "0f 21 0000 00000000", insn.Add.Reg(r1, r2)},
	{"r1 -= r2", "1f 21 0000 00000000", insn.Sub.Reg(r1, r2)},
	{"r1 *= r2", "2f 21 0000 00000000", insn.Mul.Reg(r1, r2)},
	{"r1 /= r2", "3f 21 0000 00000000", insn.Div.Reg(r1, r2)},
	{"r1 s/= r2", "3f 21 0100 00000000", insn.SDiv.Reg(r1, r2)},
	{"r1 |= r2", "4f 21 0000 00000000", insn.Or.Reg(r1, r2)},
	{"r1 &= r2", "5f 21 0000 00000000", insn.And.Reg(r1, r2)},
	{"r1 <<= r2", "6f 21 0000 00000000", insn.LSh.Reg(r1, r2)},
	{"r1 >>= r2", "7f 21 0000 00000000", insn.RSh.Reg(r1, r2)},
	{"r1 %= r2", "9f 21 0000 00000000", insn.Mod.Reg(r1, r2)},
	{"r1 s%= r2", "9f 21 0100 00000000", insn.SMod.Reg(r1, r2)},
	{"r1 ^= r2", "af 21 0000 00000000", insn.Xor.Reg(r1, r2)},
	{"r1 = r2", "bf 21 0000 00000000", insn.Mov.Reg(r1, r2)},
	{"r1 s>>= r2", "cf 21 0000 00000000", insn.ArSh.Reg(r1, r2)},
	{"r1 = (s8)r2", "bf 21 0800 00000000", insn.MovSX8.Reg(r1, r2)},
	{"r1 = addr_space_cast(r2, 0, 1)", "bf 21 0100 01000000", insn.AddrSpaceCast(r1, r2, 0, 1)},
	{"r3 = addr_space_cast(r3, 1, 0)", "bf 33 0100 00000100", insn.AddrSpaceCast(insn.R3, insn.R3, 1, 0)},
	{"r1 = (s16)r2", "bf 21 1000 00000000", insn.MovSX16.Reg(r1, r2)},
	{"r1 = (s32)r2", "bf 21 2000 00000000", insn.MovSX32.Reg(r1, r2)},
	{"r1 = -r1", "87 01 0000 00000000", insn.Neg(r1)},
	// ALU, 32-bit (class 0x04).
	{"w1 += 5", "04 01 0000 05000000", insn.Add.Imm32(r1, 5)},
	{"w1 -= 1", "14 01 0000 01000000", insn.Sub.Imm32(r1, 1)},
	{"w1 *= 3", "24 01 0000 03000000", insn.Mul.Imm32(r1, 3)},
	{"w1 /= 10", "34 01 0000 0a000000", insn.Div.Imm32(r1, 10)},
	{"w1 s/= -3", "34 01 0100 fdffffff", insn.SDiv.Imm32(r1, -3)},
	{"w1 |= 1", "44 01 0000 01000000", insn.Or.Imm32(r1, 1)},
	{"w1 &= 1", "54 01 0000 01000000", insn.And.Imm32(r1, 1)},
	{"w1 <<= 31", "64 01 0000 1f000000", insn.LSh.Imm32(r1, 31)},
	{"w1 >>= 31", "74 01 0000 1f000000", insn.RSh.Imm32(r1, 31)},
	{"w1 %= 7", "94 01 0000 07000000", insn.Mod.Imm32(r1, 7)},
	{"w1 s%= -7", "94 01 0100 f9ffffff", insn.SMod.Imm32(r1, -7)},
	{"w1 ^= -1", "a4 01 0000 ffffffff", insn.Xor.Imm32(r1, -1)},
	{"w1 = 1", "b4 01 0000 01000000", insn.Mov.Imm32(r1, 1)},
	{"w1 s>>= 31", "c4 01 0000 1f000000", insn.ArSh.Imm32(r1, 31)},
	{"w1 += w2", "0c 21 0000 00000000", insn.Add.Reg32(r1, r2)},
	{"w1 -= w2", "1c 21 0000 00000000", insn.Sub.Reg32(r1, r2)},
	{"w1 *= w2", "2c 21 0000 00000000", insn.Mul.Reg32(r1, r2)},
	{"w1 /= w2", "3c 21 0000 00000000", insn.Div.Reg32(r1, r2)},
	{"w1 s/= w2", "3c 21 0100 00000000", insn.SDiv.Reg32(r1, r2)},
	{"w1 |= w2", "4c 21 0000 00000000", insn.Or.Reg32(r1, r2)},
	{"w1 &= w2", "5c 21 0000 00000000", insn.And.Reg32(r1, r2)},
	{"w1 <<= w2", "6c 21 0000 00000000", insn.LSh.Reg32(r1, r2)},
	{"w1 >>= w2", "7c 21 0000 00000000", insn.RSh.Reg32(r1, r2)},
	{"w1 %= w2", "9c 21 0000 00000000", insn.Mod.Reg32(r1, r2)},
	{"w1 s%= w2", "9c 21 0100 00000000", insn.SMod.Reg32(r1, r2)},
	{"w1 ^= w2", "ac 21 0000 00000000", insn.Xor.Reg32(r1, r2)},
	{"w1 = w2", "bc 21 0000 00000000", insn.Mov.Reg32(r1, r2)},
	{"w1 s>>= w2", "cc 21 0000 00000000", insn.ArSh.Reg32(r1, r2)},
	{"w1 = (s8)w2", "bc 21 0800 00000000", insn.MovSX8.Reg32(r1, r2)},
	{"w1 = (s16)w2", "bc 21 1000 00000000", insn.MovSX16.Reg32(r1, r2)},
	{"w1 = -w1", "84 01 0000 00000000", insn.Neg32(r1)},
	// Byte swaps (section 4.2): le is ALU|K, be is ALU|X, bswap ALU64|K.
	{"r1 = le16 r1", "d4 01 0000 10000000", insn.ToLE(r1, 16)},
	{"r1 = le32 r1", "d4 01 0000 20000000", insn.ToLE(r1, 32)},
	{"r1 = le64 r1", "d4 01 0000 40000000", insn.ToLE(r1, 64)},
	{"r1 = be16 r1", "dc 01 0000 10000000", insn.ToBE(r1, 16)},
	{"r1 = be32 r1", "dc 01 0000 20000000", insn.ToBE(r1, 32)},
	{"r1 = be64 r1", "dc 01 0000 40000000", insn.ToBE(r1, 64)},
	{"r1 = bswap16 r1", "d7 01 0000 10000000", insn.BSwap(r1, 16)},
	{"r1 = bswap32 r1", "d7 01 0000 20000000", insn.BSwap(r1, 32)},
	{"r1 = bswap64 r1", "d7 01 0000 40000000", insn.BSwap(r1, 64)},
	// JMP, immediate (section 4.3).
	{"if r1 == 5 goto +1", "15 01 0100 05000000", withOff(insn.JEq.Imm(r1, 5, ""), 1)},
	{"if r1 > 5 goto +1", "25 01 0100 05000000", withOff(insn.JGT.Imm(r1, 5, ""), 1)},
	{"if r1 >= 5 goto +1", "35 01 0100 05000000", withOff(insn.JGE.Imm(r1, 5, ""), 1)},
	{"if r1 & 8 goto -3", "45 01 fdff 08000000", withOff(insn.JSet.Imm(r1, 8, ""), -3)},
	{"if r1 != 5 goto +0", "55 01 0000 05000000", insn.JNE.Imm(r1, 5, "")},
	{"if r1 s> -1 goto +1", "65 01 0100 ffffffff", withOff(insn.JSGT.Imm(r1, -1, ""), 1)},
	{"if r1 s>= -1 goto +1", "75 01 0100 ffffffff", withOff(insn.JSGE.Imm(r1, -1, ""), 1)},
	{"if r1 < 5 goto +1", "a5 01 0100 05000000", withOff(insn.JLT.Imm(r1, 5, ""), 1)},
	{"if r1 <= 5 goto +1", "b5 01 0100 05000000", withOff(insn.JLE.Imm(r1, 5, ""), 1)},
	{"if r1 s< -5 goto +1", "c5 01 0100 fbffffff", withOff(insn.JSLT.Imm(r1, -5, ""), 1)},
	{"if r1 s<= -5 goto +1", "d5 01 0100 fbffffff", withOff(insn.JSLE.Imm(r1, -5, ""), 1)},
	// JMP, register.
	{"if r1 == r2 goto +1", "1d 21 0100 00000000", withOff(insn.JEq.Reg(r1, r2, ""), 1)},
	{"if r1 > r2 goto +1", "2d 21 0100 00000000", withOff(insn.JGT.Reg(r1, r2, ""), 1)},
	{"if r1 >= r2 goto +1", "3d 21 0100 00000000", withOff(insn.JGE.Reg(r1, r2, ""), 1)},
	{"if r1 & r2 goto +1", "4d 21 0100 00000000", withOff(insn.JSet.Reg(r1, r2, ""), 1)},
	{"if r1 != r2 goto +1", "5d 21 0100 00000000", withOff(insn.JNE.Reg(r1, r2, ""), 1)},
	{"if r1 s> r2 goto +1", "6d 21 0100 00000000", withOff(insn.JSGT.Reg(r1, r2, ""), 1)},
	{"if r1 s>= r2 goto +1", "7d 21 0100 00000000", withOff(insn.JSGE.Reg(r1, r2, ""), 1)},
	{"if r1 < r2 goto +1", "ad 21 0100 00000000", withOff(insn.JLT.Reg(r1, r2, ""), 1)},
	{"if r1 <= r2 goto +1", "bd 21 0100 00000000", withOff(insn.JLE.Reg(r1, r2, ""), 1)},
	{"if r1 s< r2 goto +1", "cd 21 0100 00000000", withOff(insn.JSLT.Reg(r1, r2, ""), 1)},
	{"if r1 s<= r2 goto +1", "dd 21 0100 00000000", withOff(insn.JSLE.Reg(r1, r2, ""), 1)},
	// JMP32 (class 0x06).
	{"if w1 == 5 goto +1", "16 01 0100 05000000", withOff(insn.JEq.Imm32(r1, 5, ""), 1)},
	{"if w1 > 5 goto +1", "26 01 0100 05000000", withOff(insn.JGT.Imm32(r1, 5, ""), 1)},
	{"if w1 >= 5 goto +1", "36 01 0100 05000000", withOff(insn.JGE.Imm32(r1, 5, ""), 1)},
	{"if w1 & 8 goto +1", "46 01 0100 08000000", withOff(insn.JSet.Imm32(r1, 8, ""), 1)},
	{"if w1 != 5 goto +1", "56 01 0100 05000000", withOff(insn.JNE.Imm32(r1, 5, ""), 1)},
	{"if w1 s> -1 goto +1", "66 01 0100 ffffffff", withOff(insn.JSGT.Imm32(r1, -1, ""), 1)},
	{"if w1 s>= -1 goto +1", "76 01 0100 ffffffff", withOff(insn.JSGE.Imm32(r1, -1, ""), 1)},
	{"if w1 < 5 goto +1", "a6 01 0100 05000000", withOff(insn.JLT.Imm32(r1, 5, ""), 1)},
	{"if w1 <= 5 goto +1", "b6 01 0100 05000000", withOff(insn.JLE.Imm32(r1, 5, ""), 1)},
	{"if w1 s< -5 goto +1", "c6 01 0100 fbffffff", withOff(insn.JSLT.Imm32(r1, -5, ""), 1)},
	{"if w1 s<= -5 goto +1", "d6 01 0100 fbffffff", withOff(insn.JSLE.Imm32(r1, -5, ""), 1)},
	{"if w1 == w2 goto +1", "1e 21 0100 00000000", withOff(insn.JEq.Reg32(r1, r2, ""), 1)},
	{"if w1 > w2 goto +1", "2e 21 0100 00000000", withOff(insn.JGT.Reg32(r1, r2, ""), 1)},
	{"if w1 >= w2 goto +1", "3e 21 0100 00000000", withOff(insn.JGE.Reg32(r1, r2, ""), 1)},
	{"if w1 & w2 goto +1", "4e 21 0100 00000000", withOff(insn.JSet.Reg32(r1, r2, ""), 1)},
	{"if w1 != w2 goto +1", "5e 21 0100 00000000", withOff(insn.JNE.Reg32(r1, r2, ""), 1)},
	{"if w1 s> w2 goto +1", "6e 21 0100 00000000", withOff(insn.JSGT.Reg32(r1, r2, ""), 1)},
	{"if w1 s>= w2 goto +1", "7e 21 0100 00000000", withOff(insn.JSGE.Reg32(r1, r2, ""), 1)},
	{"if w1 < w2 goto +1", "ae 21 0100 00000000", withOff(insn.JLT.Reg32(r1, r2, ""), 1)},
	{"if w1 <= w2 goto +1", "be 21 0100 00000000", withOff(insn.JLE.Reg32(r1, r2, ""), 1)},
	{"if w1 s< w2 goto +1", "ce 21 0100 00000000", withOff(insn.JSLT.Reg32(r1, r2, ""), 1)},
	{"if w1 s<= w2 goto +1", "de 21 0100 00000000", withOff(insn.JSLE.Reg32(r1, r2, ""), 1)},
	// Unconditional jumps, calls, exit.
	{"goto +2", "05 00 0200 00000000", withOff(insn.Ja(""), 2)},
	{"goto -3", "05 00 fdff 00000000", withOff(insn.Ja(""), -3)},
	{"gotol +2", "06 00 0000 02000000", withImm(insn.Gotol(""), 2)},
	{"gotol -2", "06 00 0000 feffffff", withImm(insn.Gotol(""), -2)},
	{"may_goto +1", "e5 00 0100 00000000", withOff(insn.MayGoto(""), 1)},
	{"call map_lookup_elem", "85 00 0000 01000000", insn.Call(1)},
	{"call probe_read_kernel", "85 00 0000 71000000", insn.FnProbeReadKernel.Call()},
	{"call cgrp_storage_delete", "85 00 0000 d3000000", insn.FnCgrpStorageDelete.Call()},
	{"call 0", "85 00 0000 00000000", insn.Call(0)},
	{"call 212", "85 00 0000 d4000000", insn.Call(212)},
	{"call -1", "85 00 0000 ffffffff", insn.Call(-1)},
	{"call pc+1", "85 10 0000 01000000", withImm(insn.CallLocal(""), 1)},
	{"call pc-3", "85 10 0000 fdffffff", withImm(insn.CallLocal(""), -3)},
	{"call kfunc 123", "85 20 0000 7b000000", insn.CallBTF(123)},
	{"call kfunc 123, 2", "85 20 0200 7b000000", withOff(insn.CallBTF(123), 2)},
	{"callx r2", "8d 02 0000 00000000", insn.CallX(r2)},
	{"exit", "95 00 0000 00000000", insn.Exit()},
	// Loads and stores (section 5).
	{"r2 = *(u32 *)(r1 + 4)", "61 12 0400 00000000", insn.LoadMem(r2, r1, 4, insn.W)},
	{"r2 = *(u16 *)(r1 + 2)", "69 12 0200 00000000", insn.LoadMem(r2, r1, 2, insn.H)},
	{"r2 = *(u8 *)(r1 + 32767)", "71 12 ff7f 00000000", insn.LoadMem(r2, r1, 32767, insn.B)},
	{"r2 = *(u64 *)(r1 - 32768)", "79 12 0080 00000000", insn.LoadMem(r2, r1, -32768, insn.DW)},
	{"r2 = *(s32 *)(r1 + 4)", "81 12 0400 00000000", insn.LoadMemSX(r2, r1, 4, insn.W)},
	{"r2 = *(s16 *)(r1 + 2)", "89 12 0200 00000000", insn.LoadMemSX(r2, r1, 2, insn.H)},
	{"r2 = *(s8 *)(r10 - 1)", "91 a2 ffff 00000000", insn.LoadMemSX(r2, r10, -1, insn.B)},
	{"*(u32 *)(r10 - 4) = 5", "62 0a fcff 05000000", insn.StoreImm(r10, -4, 5, insn.W)},
	{"*(u16 *)(r1 + 2) = -1", "6a 01 0200 ffffffff", insn.StoreImm(r1, 2, -1, insn.H)},
	{"*(u8 *)(r1 + 0) = 255", "72 01 0000 ff000000", insn.StoreImm(r1, 0, 255, insn.B)},
	{"*(u64 *)(r10 - 8) = -2147483648", "7a 0a f8ff 00000080", insn.StoreImm(r10, -8, -2147483648, insn.DW)},
	{"*(u32 *)(r10 - 4) = r1", "63 1a fcff 00000000", insn.StoreMem(r10, -4, r1, insn.W)},
	{"*(u16 *)(r10 - 2) = r1", "6b 1a feff 00000000", insn.StoreMem(r10, -2, r1, insn.H)},
	{"*(u8 *)(r10 - 1) = r1", "73 1a ffff 00000000", insn.StoreMem(r10, -1, r1, insn.B)},
	{"*(u64 *)(r10 - 8) = r1", "7b 1a f8ff 00000000", insn.StoreMem(r10, -8, r1, insn.DW)},
	// Atomics (section 5.3), 64-bit then 32-bit.
	{"lock *(u64 *)(r10 - 8) += r1", "db 1a f8ff 00000000", insn.Atomic(insn.AtomicAdd, insn.DW, r10, -8, r1)},
	{"lock *(u64 *)(r10 - 8) |= r1", "db 1a f8ff 40000000", insn.Atomic(insn.AtomicOr, insn.DW, r10, -8, r1)},
	{"lock *(u64 *)(r10 - 8) &= r1", "db 1a f8ff 50000000", insn.Atomic(insn.AtomicAnd, insn.DW, r10, -8, r1)},
	{"lock *(u64 *)(r10 - 8) ^= r1", "db 1a f8ff a0000000", insn.Atomic(insn.AtomicXor, insn.DW, r10, -8, r1)},
	{"r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)", "db 1a f8ff 01000000", insn.Atomic(insn.AtomicFetchAdd, insn.DW, r10, -8, r1)},
	{"r1 = atomic_fetch_or((u64 *)(r10 - 8), r1)", "db 1a f8ff 41000000", insn.Atomic(insn.AtomicFetchOr, insn.DW, r10, -8, r1)},
	{"r1 = atomic_fetch_and((u64 *)(r10 - 8), r1)", "db 1a f8ff 51000000", insn.Atomic(insn.AtomicFetchAnd, insn.DW, r10, -8, r1)},
	{"r1 = atomic_fetch_xor((u64 *)(r10 - 8), r1)", "db 1a f8ff a1000000", insn.Atomic(insn.AtomicFetchXor, insn.DW, r10, -8, r1)},
	{"r1 = xchg_64(r10 - 8, r1)", "db 1a f8ff e1000000", insn.Atomic(insn.AtomicXchg, insn.DW, r10, -8, r1)},
	{"r0 = cmpxchg_64(r10 - 8, r0, r1)", "db 1a f8ff f1000000", insn.Atomic(insn.AtomicCmpXchg, insn.DW, r10, -8, r1)},
	{"lock *(u32 *)(r1 + 0) += w2", "c3 21 0000 00000000", insn.Atomic(insn.AtomicAdd, insn.W, r1, 0, r2)},
	{"lock *(u32 *)(r1 + 0) |= w2", "c3 21 0000 40000000", insn.Atomic(insn.AtomicOr, insn.W, r1, 0, r2)},
	{"lock *(u32 *)(r1 + 0) &= w2", "c3 21 0000 50000000", insn.Atomic(insn.AtomicAnd, insn.W, r1, 0, r2)},
	{"lock *(u32 *)(r1 + 0) ^= w2", "c3 21 0000 a0000000", insn.Atomic(insn.AtomicXor, insn.W, r1, 0, r2)},
	{"w1 = atomic_fetch_add((u32 *)(r10 - 8), w1)", "c3 1a f8ff 01000000", insn.Atomic(insn.AtomicFetchAdd, insn.W, r10, -8, r1)},
	{"w1 = atomic_fetch_or((u32 *)(r10 - 8), w1)", "c3 1a f8ff 41000000", insn.Atomic(insn.AtomicFetchOr, insn.W, r10, -8, r1)},
	{"w1 = atomic_fetch_and((u32 *)(r10 - 8), w1)", "c3 1a f8ff 51000000", insn.Atomic(insn.AtomicFetchAnd, insn.W, r10, -8, r1)},
	{"w1 = atomic_fetch_xor((u32 *)(r10 - 8), w1)", "c3 1a f8ff a1000000", insn.Atomic(insn.AtomicFetchXor, insn.W, r10, -8, r1)},
	{"w1 = xchg32_32(r10 - 8, w1)", "c3 1a f8ff e1000000", insn.Atomic(insn.AtomicXchg, insn.W, r10, -8, r1)},
	{"w0 = cmpxchg32_32(r10 - 8, w0, w1)", "c3 1a f8ff f1000000", insn.Atomic(insn.AtomicCmpXchg, insn.W, r10, -8, r1)},
	// Load-acquire and store-release (Linux 6.15): imm 0x100 and 0x110.
	{"r0 = load_acquire((u64 *)(r1 + 0))", "db 10 0000 00010000", insn.LoadAcquire(r0, r1, 0, insn.DW)},
	{"w0 = load_acquire((u32 *)(r1 + 4))", "c3 10 0400 00010000", insn.LoadAcquire(r0, r1, 4, insn.W)},
	{"w0 = load_acquire((u16 *)(r1 + 2))", "cb 10 0200 00010000", insn.LoadAcquire(r0, r1, 2, insn.H)},
	{"w0 = load_acquire((u8 *)(r1 - 1))", "d3 10 ffff 00010000", insn.LoadAcquire(r0, r1, -1, insn.B)},
	{"store_release((u64 *)(r1 + 8), r2)", "db 21 0800 10010000", insn.StoreRelease(r1, 8, r2, insn.DW)},
	{"store_release((u32 *)(r1 + 8), w2)", "c3 21 0800 10010000", insn.StoreRelease(r1, 8, r2, insn.W)},
	{"store_release((u16 *)(r1 + 8), w2)", "cb 21 0800 10010000", insn.StoreRelease(r1, 8, r2, insn.H)},
	{"store_release((u8 *)(r1 + 8), w2)", "d3 21 0800 10010000", insn.StoreRelease(r1, 8, r2, insn.B)},
	// LD_IMM64 (section 5.4) with every src, two slots.
	{"r1 = 0x123456789 ll", "18 01 0000 89674523 00 00 0000 01000000", insn.LoadImm64(r1, 0x123456789)},
	{"r1 = 0xffffffffffffffff ll", "18 01 0000 ffffffff 00 00 0000 ffffffff", insn.LoadImm64(r1, -1)},
	{"r1 = 0x0 ll", "18 01 0000 00000000 00 00 0000 00000000", insn.LoadImm64(r1, 0)},
	{"r1 = map_fd(5) ll", "18 11 0000 05000000 00 00 0000 00000000", insn.LoadPseudo(r1, insn.PseudoMapFD, 5)},
	{"r1 = map_value(5, 16) ll", "18 21 0000 05000000 00 00 0000 10000000", insn.LoadPseudo(r1, insn.PseudoMapValue, 16<<32|5)},
	{"r1 = btf_id(7, 3) ll", "18 31 0000 07000000 00 00 0000 03000000", insn.LoadPseudo(r1, insn.PseudoBTFID, 3<<32|7)},
	{"r1 = func(pc+1, 0) ll", "18 41 0000 01000000 00 00 0000 00000000", insn.LoadPseudo(r1, insn.PseudoFunc, 1)},
	{"r1 = map_idx(2) ll", "18 51 0000 02000000 00 00 0000 00000000", insn.LoadPseudo(r1, insn.PseudoMapIdx, 2)},
	{"r1 = map_idx_value(2, 8) ll", "18 61 0000 02000000 00 00 0000 08000000", insn.LoadPseudo(r1, insn.PseudoMapIdxValue, 8<<32|2)},
	// Legacy packet loads (section 5.5).
	{"r0 = *(u32 *)skb[12]", "20 00 0000 0c000000", insn.LoadAbs(12, insn.W)},
	{"r0 = *(u16 *)skb[12]", "28 00 0000 0c000000", insn.LoadAbs(12, insn.H)},
	{"r0 = *(u8 *)skb[-4]", "30 00 0000 fcffffff", insn.LoadAbs(-4, insn.B)},
	{"r0 = *(u32 *)skb[r1 - 4]", "40 10 0000 fcffffff", insn.LoadInd(r1, -4, insn.W)},
	{"r0 = *(u16 *)skb[r1 + 4]", "48 10 0000 04000000", insn.LoadInd(r1, 4, insn.H)},
	{"r0 = *(u8 *)skb[r1]", "50 10 0000 00000000", insn.LoadInd(r1, 0, insn.B)},
}

// TestEncodings checks every form four ways: the builder and Parse both
// encode to the hand-written bytes, Unmarshal decodes those bytes to what
// the builder made, and String prints the text back.
func TestEncodings(t *testing.T) {
	for _, c := range encodingCases {
		want := c.raw()
		got, err := insn.Instructions{c.build}.Marshal()
		if err != nil && !errors.Is(err, insn.ErrJumpOutOfRange) {
			t.Errorf("%s: builder: Marshal: %v", c.text, err)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Errorf("%s: builder encodes to %x, want %x", c.text, got, want)
		}
		prog, err := insn.Parse(c.source())
		if err != nil {
			t.Errorf("%s: Parse: %v", c.text, err)
			continue
		}
		got, err = prog.Marshal()
		if err != nil {
			t.Errorf("%s: Marshal: %v", c.text, err)
			continue
		}
		if !bytes.Equal(got, c.program()) {
			t.Errorf("%s: Parse encodes to\n%x, want\n%x", c.text, got, c.program())
		}
		if prog.String() != c.source() {
			t.Errorf("%s: String of the parsed program is %q", c.text, prog.String())
		}
		is, err := insn.Unmarshal(c.program())
		if err != nil {
			t.Errorf("%s: Unmarshal: %v", c.text, err)
			continue
		}
		if len(is) != 7 {
			t.Errorf("%s: Unmarshal gave %d instructions, want 7", c.text, len(is))
			continue
		}
		if is[3] != c.build {
			t.Errorf("%s: Unmarshal gave %+v, builder %+v", c.text, is[3], c.build)
		}
		if s := is[3].String(); s != c.text {
			t.Errorf("String() = %q, want %q", s, c.text)
		}
		if is.String() != c.source() {
			t.Errorf("%s: Instructions.String() = %q", c.text, is.String())
		}
	}
}
