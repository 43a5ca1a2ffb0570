//go:build linux

package classic

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// FuzzTranslate feeds arbitrary classic programs (8 bytes per instruction,
// as struct sock_filter) to the translator: it must never panic, and
// whatever it accepts must load in interp and, where x/net/bpf's VM can run
// the program, give the same verdict on the packet.
func FuzzTranslate(f *testing.F) {
	for _, tf := range tcpdumpFilters {
		var b []byte
		for _, r := range raw(tf.insns) {
			b = binary.LittleEndian.AppendUint16(b, r.Op)
			b = append(b, r.Jt, r.Jf)
			b = binary.LittleEndian.AppendUint32(b, r.K)
		}
		f.Add(b, corpus()[0])
	}
	f.Fuzz(func(t *testing.T, code, pkt []byte) {
		if len(code) > 8*64 {
			return
		}
		filter := make([]bpf.RawInstruction, len(code)/8)
		for k := range filter {
			c := code[8*k:]
			filter[k] = bpf.RawInstruction{Op: binary.LittleEndian.Uint16(c), Jt: c[2], Jf: c[3], K: binary.LittleEndian.Uint32(c[4:])}
		}
		is, err := TranslateRaw(filter)
		if err != nil {
			return
		}
		vm, err := interp.New(&prog.Spec{Name: "fuzz", Type: prog.SocketFilter, License: "GPL", Instructions: is}, nil)
		if err != nil {
			t.Fatalf("interp rejects the translation of %v: %v\n%s", filter, err, is)
		}
		got, err := vm.RunSocketFilter(pkt, &interpMeta)
		if err != nil {
			t.Fatalf("interp run: %v\n%s", err, is)
		}
		ins, ok := bpf.Disassemble(filter)
		if !ok || !plainForXNet(ins) || !roundTrips(ins, filter) {
			return
		}
		ref, err := bpf.NewVM(ins)
		if err != nil {
			return
		}
		want, err := ref.Run(pkt)
		if err != nil {
			return
		}
		if got != uint32(want) {
			t.Fatalf("interp %#x, x/net/bpf %#x on % x\nclassic %v\neBPF\n%s", got, want, pkt, ins, is)
		}
	})
}

// plainForXNet reports whether x/net/bpf's VM runs ins as the kernel
// does: no NegateA (which it does not implement), no shift by X (it gives
// 0 for counts of 32 or more where eBPF masks the count) and no negative
// offsets or ancillary loads other than the length.
func plainForXNet(ins []bpf.Instruction) bool {
	for _, i := range ins {
		switch i := i.(type) {
		case bpf.NegateA:
			return false
		case bpf.ALUOpX:
			if i.Op == bpf.ALUOpShiftLeft || i.Op == bpf.ALUOpShiftRight {
				return false
			}
		case bpf.LoadExtension:
			if i.Num != bpf.ExtLen {
				return false
			}
		case bpf.LoadAbsolute:
			if i.Off >= 1<<31 {
				return false
			}
		case bpf.LoadIndirect:
			if i.Off >= 1<<31 {
				return false
			}
		case bpf.LoadMemShift:
			if i.Off >= 1<<31 {
				return false
			}
		}
	}
	return true
}

// roundTrips reports whether x/net/bpf understood filter: its disassembly
// assembles back to the same instructions. It does not for some opcodes,
// e.g. it reads "ldx len" (0x81) as "ld len".
func roundTrips(ins []bpf.Instruction, filter []bpf.RawInstruction) bool {
	back, err := bpf.Assemble(ins)
	if err != nil || len(back) != len(filter) {
		return false
	}
	for k := range back {
		if back[k] != filter[k] {
			return false
		}
	}
	return true
}
