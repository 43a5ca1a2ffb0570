package interp

import (
	"encoding/binary"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// bench runs vm on mem b.N times and reports ns per executed instruction.
func bench(b *testing.B, vm *VM, mem []byte, want uint64) {
	b.Helper()
	r0, st, err := vm.RunMemoryStats(mem)
	if err != nil || r0 != want {
		b.Fatalf("r0 = %#x, %v; want %#x", r0, err, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := vm.RunMemory(mem); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(uint64(b.N)*st.Instructions), "ns/insn")
	b.ReportMetric(float64(st.Instructions), "insns/run")
}

func BenchmarkALULoop(b *testing.B) {
	// 1000 iterations of a mix of 64- and 32-bit ALU operations.
	vm := mustVM(b, insn.Instructions{
		insn.Mov.Imm(r0, 1), insn.Mov.Imm(r1, 1000), insn.Mov.Imm(r2, 3),
		insn.Add.Reg(r0, r1).WithLabel("loop"),
		insn.Mul.Imm(r0, 31),
		insn.Xor.Reg(r0, r2),
		insn.LSh.Imm(r2, 1),
		insn.Or.Imm32(r2, 1),
		insn.RSh.Imm(r0, 1),
		insn.Sub.Imm(r1, 1),
		insn.JNE.Imm(r1, 0, "loop"),
		insn.Exit(),
	}, nil)
	// Expected r0 computed in Go.
	r0, r1, r2 := uint64(1), uint64(1000), uint64(3)
	for r1 != 0 {
		r0 += r1
		r0 *= 31
		r0 ^= r2
		r2 <<= 1
		r2 = uint64(uint32(r2) | 1)
		r0 >>= 1
		r1--
	}
	bench(b, vm, nil, r0)
}

func BenchmarkStackHash(b *testing.B) {
	// Fill 64 dwords of the stack, then hash them 8 times with dword loads.
	var is insn.Instructions
	is = append(is,
		insn.Mov.Imm(r1, 0), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -512),
		insn.StoreMem(r2, 0, r1, insn.DW).WithLabel("fill"), insn.Add.Imm(r1, 0x1234567), insn.Add.Imm(r2, 8),
		insn.JNE.Reg(r2, r10, "fill"),
		insn.Mov.Imm(r0, 0), insn.Mov.Imm(r4, 8),
		insn.Mov.Reg(r2, r10).WithLabel("round"), insn.Add.Imm(r2, -512),
		insn.LoadMem(r3, r2, 0, insn.DW).WithLabel("hash"), insn.Xor.Reg(r0, r3), insn.Mul.Imm(r0, 0x01000193), insn.Add.Imm(r2, 8),
		insn.JNE.Reg(r2, r10, "hash"),
		insn.Sub.Imm(r4, 1), insn.JNE.Imm(r4, 0, "round"),
		insn.Exit())
	vm := mustVM(b, is, nil)
	var h uint64
	for round := 0; round < 8; round++ {
		for k := uint64(0); k < 64; k++ {
			h ^= k * 0x1234567
			h *= 0x01000193
		}
	}
	bench(b, vm, nil, h)
}

func BenchmarkFNV1a(b *testing.B) {
	// 32-bit FNV-1a over r2 bytes at r1.
	vm := mustVM(b, insn.Instructions{
		insn.Mov.Imm32(r0, -2128831035), // 0x811c9dc5
		insn.Mov.Reg(r3, r1), insn.Add.Reg(r3, r2),
		insn.JEq.Reg(r1, r3, "out"),
		insn.LoadMem(r4, r1, 0, insn.B).WithLabel("loop"),
		insn.Xor.Reg32(r0, r4),
		insn.Mul.Imm32(r0, 0x01000193),
		insn.Add.Imm(r1, 1),
		insn.JNE.Reg(r1, r3, "loop"),
		insn.Exit().WithLabel("out"),
	}, nil)
	buf := make([]byte, 256)
	for k := range buf {
		buf[k] = byte(k * 7)
	}
	h := uint32(0x811c9dc5)
	for _, c := range buf {
		h ^= uint32(c)
		h *= 0x01000193
	}
	bench(b, vm, buf, uint64(h))
}

// udpPacket builds Ethernet + IPv4 + UDP headers to port dport.
func udpPacket(dport uint16) []byte {
	p := make([]byte, 14+20+8+16)
	binary.BigEndian.PutUint16(p[12:], 0x0800)
	p[14] = 0x45
	p[14+9] = 17
	binary.BigEndian.PutUint16(p[14+20+2:], dport)
	return p
}

// parserProg returns dport for Ethernet/IPv4/UDP packets, 0 otherwise,
// reading raw memory with bounds checks like a real XDP-style parser.
func parserProg() insn.Instructions {
	return insn.Instructions{
		insn.Mov.Imm(r0, 0),
		insn.JLT.Imm(r2, 14+20+8, "out"),
		insn.LoadMem(r3, r1, 12, insn.H), insn.ToBE(r3, 16),
		insn.JNE.Imm(r3, 0x0800, "out"),
		insn.LoadMem(r3, r1, 14, insn.B),
		insn.Mov.Reg(r4, r3), insn.RSh.Imm(r4, 4), insn.JNE.Imm(r4, 4, "out"),
		insn.And.Imm(r3, 0xf), insn.LSh.Imm(r3, 2), insn.JLT.Imm(r3, 20, "out"),
		insn.LoadMem(r4, r1, 14+9, insn.B), insn.JNE.Imm(r4, 17, "out"),
		insn.LoadMem(r4, r1, 14+6, insn.H), insn.And.Imm(r4, 0xff3f), insn.JNE.Imm(r4, 0, "out"), // fragments
		insn.Add.Imm(r3, 14), insn.Mov.Reg(r5, r3), insn.Add.Imm(r5, 8), insn.JGT.Reg(r5, r2, "out"),
		insn.Add.Reg(r3, r1),
		insn.LoadMem(r0, r3, 2, insn.H), insn.ToBE(r0, 16),
		insn.Exit().WithLabel("out"),
	}
}

func BenchmarkHeaderParser(b *testing.B) {
	bench(b, mustVM(b, parserProg(), nil), udpPacket(53), 53)
}

func BenchmarkDivModLoop(b *testing.B) {
	vm := mustVM(b, insn.Instructions{
		insn.Mov.Imm(r0, 0), insn.Mov.Imm(r1, 1000),
		insn.LoadImm64(r2, 0x7fffffffffff).WithLabel("loop"),
		insn.Div.Reg(r2, r1),
		insn.Add.Reg(r0, r2),
		insn.Mov.Reg(r3, r0), insn.Mod.Reg(r3, r1), insn.Add.Reg(r0, r3),
		insn.SDiv.Imm(r0, 3),
		insn.Sub.Imm(r1, 1),
		insn.JNE.Imm(r1, 0, "loop"),
		insn.Exit(),
	}, nil)
	r0 := uint64(0)
	for r1 := uint64(1000); r1 != 0; r1-- {
		r0 += 0x7fffffffffff / r1
		r0 += r0 % r1
		r0 = uint64(int64(r0) / 3)
	}
	bench(b, vm, nil, r0)
}

func BenchmarkHelperCallLoop(b *testing.B) {
	// 100 map lookups of an array element, adding the values.
	ms := []*prog.MapSpec{{Name: "a", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}}
	vm := specVM(b, 0, ms, nil,
		insn.Mov.Imm(r6, 100), insn.Mov.Imm(r7, 0),
		insn.StoreImm(r10, -4, 2, insn.W),
		insn.LoadMapPtr(r1, "a").WithLabel("loop"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "out"),
		insn.LoadMem(r1, r0, 0, insn.DW), insn.Add.Reg(r7, r1),
		insn.Sub.Imm(r6, 1), insn.JNE.Imm(r6, 0, "loop"),
		insn.Mov.Reg(r0, r7),
		insn.Exit().WithLabel("out"),
	)
	if err := vm.Map("a").Update(uint32(2), uint64(5), prog.UpdateAny); err != nil {
		b.Fatal(err)
	}
	bench(b, vm, nil, 500)
}

func BenchmarkPrandomLoop(b *testing.B) {
	vm := mustVM(b, insn.Instructions{
		insn.Mov.Imm(r6, 100), insn.Mov.Imm(r7, 0),
		call(insn.FnGetPrandomU32).WithLabel("loop"), insn.Add.Reg(r7, r0),
		insn.Sub.Imm(r6, 1), insn.JNE.Imm(r6, 0, "loop"),
		insn.Mov.Reg(r0, r7), insn.Exit(),
	}, &Options{Rand: func() uint32 { return 3 }})
	bench(b, vm, nil, 300)
}

func BenchmarkSocketFilter(b *testing.B) {
	vm := sfVM(b, nil,
		insn.LoadAbs(12, insn.H), insn.JNE.Imm(r0, 0x0800, "drop"),
		insn.LoadAbs(14+9, insn.B), insn.JNE.Imm(r0, 17, "drop"),
		insn.LoadAbs(14+20+2, insn.H), insn.JNE.Imm(r0, 53, "drop"),
		insn.LoadMem(r0, r1, 0, insn.W), insn.Exit(),
		insn.Mov.Imm(r0, 0).WithLabel("drop"), insn.Exit())
	pkt := udpPacket(53)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if r0, err := vm.RunSocketFilter(pkt, nil); err != nil || r0 != uint64(len(pkt)) {
			b.Fatal(r0, err)
		}
	}
}
