package peers

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	cbtf "github.com/cilium/ebpf/btf"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/insn"
)

const (
	vmlinux   = "/sys/kernel/btf/vmlinux"
	coreObj   = "../../btf/testdata/core_vmlinux.bpf.o"
	coreProg  = "core_all"
	coreSec   = "raw_tracepoint/sys_enter"
	progInsns = 1000
)

func readVmlinux(b *testing.B) []byte {
	raw, err := os.ReadFile(vmlinux)
	if err != nil {
		b.Skipf("no kernel BTF: %v", err)
	}
	return raw
}

// Parse the host's vmlinux BTF from memory.
func BenchmarkParseVmlinux(b *testing.B) {
	raw := readVmlinux(b)
	b.Run("purebpf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := btf.Parse(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cilium", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cbtf.LoadSpecFromReader(bytes.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Parse the host's vmlinux BTF from the file (both read it into memory).
func BenchmarkLoadVmlinuxFile(b *testing.B) {
	readVmlinux(b)
	b.Run("purebpf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := btf.LoadSpec(vmlinux); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cilium", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cbtf.LoadSpec(vmlinux); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Find task_struct by name in a parsed vmlinux spec (the name index and
// the type are built on the first lookup, outside the timed loop).
func BenchmarkFindStruct(b *testing.B) {
	raw := readVmlinux(b)
	b.Run("purebpf", func(b *testing.B) {
		s, err := btf.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := btf.TypeByName[*btf.Struct](s, "task_struct"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cilium", func(b *testing.B) {
		s, err := cbtf.LoadSpecFromReader(bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			var st *cbtf.Struct
			if err := s.TypeByName("task_struct", &st); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// CO-RE-relocate a 1,000-instruction program (core_vmlinux.bpf.o's
// program, repeated) against the running kernel's cached BTF. purebpf
// computes each distinct relocation once per call, so the repeats cost
// it only the patching; BenchmarkCORERelocateOnce has no repeats.
func BenchmarkCORERelocate(b *testing.B) { benchCORE(b, progInsns) }

// CO-RE-relocate core_vmlinux.bpf.o's program once (27 relocations, all
// distinct).
func BenchmarkCORERelocateOnce(b *testing.B) { benchCORE(b, 1) }

func benchCORE(b *testing.B, progInsns int) {
	readVmlinux(b)
	b.Run("purebpf", func(b *testing.B) {
		f, err := elf.Open(coreObj)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		spec, ext, err := btf.LoadELFFile(f)
		if err != nil {
			b.Fatal(err)
		}
		code, err := f.Section(coreSec).Data()
		if err != nil {
			b.Fatal(err)
		}
		one, err := insn.Unmarshal(code)
		if err != nil {
			b.Fatal(err)
		}
		var prog insn.Instructions
		var relos []btf.CORERelocation
		for len(prog) < progInsns {
			base := uint32(prog.Slots() * 8)
			for _, r := range ext.CORERelos[coreSec] {
				r.InsnOff += base
				relos = append(relos, r)
			}
			prog = append(prog, one...)
		}
		if _, err := btf.KernelSpec(); err != nil {
			b.Fatal(err)
		}
		work := make(insn.Instructions, len(prog))
		b.ReportAllocs()
		for b.Loop() {
			copy(work, prog)
			if _, _, err := btf.CORERelocate(work, relos, spec, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(prog)), "insns")
		b.ReportMetric(float64(len(relos)), "relos")
	})
	b.Run("cilium", func(b *testing.B) {
		cs, err := ebpf.LoadCollectionSpec(coreObj)
		if err != nil {
			b.Fatal(err)
		}
		one := cs.Programs[coreProg].Instructions
		var prog asm.Instructions
		for len(prog) < progInsns {
			prog = append(prog, one...)
		}
		kernel, err := cbtf.LoadKernelSpec()
		if err != nil {
			b.Fatal(err)
		}
		work := make(asm.Instructions, len(prog))
		b.ReportAllocs()
		for b.Loop() {
			copy(work, prog)
			var relos []*cbtf.CORERelocation
			var at []*asm.Instruction
			for i := range work {
				if r := cbtf.CORERelocationMetadata(&work[i]); r != nil {
					relos = append(relos, r)
					at = append(at, &work[i])
				}
			}
			var builder cbtf.Builder
			fixups, err := cbtf.CORERelocate(relos, []*cbtf.Spec{kernel}, binary.LittleEndian, builder.Add)
			if err != nil {
				b.Fatal(err)
			}
			for i, f := range fixups {
				if err := f.Apply(at[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
