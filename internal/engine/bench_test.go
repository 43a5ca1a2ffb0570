package engine

import (
	"encoding/binary"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/benchprogs"
	"github.com/purebpf/purebpf/prog"
)

// bench runs vm on mem b.N times and reports ns per executed instruction.
func bench(b *testing.B, vm *VM, mem []byte, want uint64) {
	b.Helper()
	benchRun(b, vm, mem, want, vm.RunMemory)
}

// benchRun is bench with the runs made by run (VM.RunMemory or a
// Runner's).
func benchRun(b *testing.B, vm *VM, mem []byte, want uint64, run func([]byte) (uint64, error)) {
	b.Helper()
	r0, st, err := vm.RunMemoryStats(mem)
	if err != nil || r0 != want {
		b.Fatalf("r0 = %#x, %v; want %#x", r0, err, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := run(mem); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(uint64(b.N)*st.Instructions), "ns/insn")
	b.ReportMetric(float64(st.Instructions), "insns/run")
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

// BenchmarkPrograms runs the programs every engine is measured on
// (internal/benchprogs: an ALU loop, a stack dword hash, a byte FNV-1a hash,
// a branchy UDP header parser, a div/mod loop and a helper-call loop) and
// reports ns per executed instruction, through VM.RunMemory and through a
// Runner. Their results are checked against the JIT and the kernel in
// jit's and prog's tests.
func BenchmarkPrograms(b *testing.B) {
	for _, p := range benchprogs.All() {
		for _, runner := range []bool{false, true} {
			name := p.Name
			if runner {
				name += "/runner"
			}
			b.Run(name, func(b *testing.B) {
				vm := mustVM(b, p.Instructions, &Options{Rand: func() uint32 { return 3 }})
				mem := append([]byte(nil), p.Memory...)
				want, _, err := vm.RunMemoryStats(mem)
				if err != nil {
					b.Fatal(err)
				}
				run := vm.RunMemory
				if runner {
					rn, _ := vm.NewRunner()
					defer rn.Close()
					run = rn.RunMemory
				}
				benchRun(b, vm, mem, want, run)
			})
		}
	}
}

// BenchmarkHelperCallLoop is 100 map lookups of an array element, adding
// the values: the helper path with a map and a returned value pointer.
func BenchmarkHelperCallLoop(b *testing.B) {
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
		if r0, err := vm.RunSocketFilter(pkt, nil); err != nil || r0 != uint32(len(pkt)) {
			b.Fatal(r0, err)
		}
	}
}
