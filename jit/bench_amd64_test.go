//go:build amd64 && unix

package jit

import (
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/benchprogs"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

func benchOpts() *interp.Options {
	seed := uint32(1)
	return &interp.Options{Rand: func() uint32 { seed = seed*1664525 + 1013904223; return seed }}
}

func benchSpec(p benchprogs.Program, typ prog.Type) *prog.Spec {
	return &prog.Spec{Name: p.Name, Type: typ, License: "GPL", Instructions: p.Instructions}
}

// BenchmarkPrograms runs the shared benchmark programs in interp and in
// the JIT, checked and unchecked, each through VM.RunMemory and through a
// Runner.
func BenchmarkPrograms(b *testing.B) {
	for _, p := range benchprogs.All() {
		spec := benchSpec(p, prog.UnspecifiedProgram)
		b.Run(p.Name+"/interp", func(b *testing.B) {
			vm, err := interp.New(spec, benchOpts())
			if err != nil {
				b.Fatal(err)
			}
			mem := append([]byte(nil), p.Memory...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := vm.RunMemory(mem); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(p.Name+"/interp_runner", func(b *testing.B) {
			vm, err := interp.New(spec, benchOpts())
			if err != nil {
				b.Fatal(err)
			}
			rn, err := vm.NewRunner()
			if err != nil {
				b.Fatal(err)
			}
			defer rn.Close()
			mem := append([]byte(nil), p.Memory...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rn.RunMemory(mem); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, mode := range []struct {
			name      string
			unchecked bool
		}{{"jit_checked", false}, {"jit_unchecked", true}} {
			b.Run(p.Name+"/"+mode.name, func(b *testing.B) {
				vm, err := New(spec, &Options{Interp: benchOpts(), Unchecked: mode.unchecked})
				if err != nil {
					b.Fatal(err)
				}
				defer vm.Close()
				mem := append([]byte(nil), p.Memory...)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := vm.RunMemory(mem); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(p.Name+"/"+mode.name+"_runner", func(b *testing.B) {
				rn := newRunner(b, spec, &Options{Interp: benchOpts(), Unchecked: mode.unchecked})
				mem := append([]byte(nil), p.Memory...)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := rn.RunMemory(mem); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkKernel runs the programs the verifier accepts as socket filters
// (those that do not read r1's memory) in the kernel's JIT through
// BPF_PROG_TEST_RUN with repeat; ns/op is the kernel's mean duration,
// which includes about 30 ns of per-run overhead. Needs root.
func BenchmarkKernel(b *testing.B) {
	if !isRoot() {
		b.Skip("needs root")
	}
	for _, p := range benchprogs.All() {
		if !p.Kernel {
			continue
		}
		b.Run(p.Name, func(b *testing.B) {
			kp, err := prog.NewProgram(benchSpec(p, prog.SocketFilter), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer kp.Close()
			pkt := make([]byte, 64)
			b.ResetTimer()
			res, err := kp.Run(&prog.RunOptions{Data: pkt, Repeat: uint32(b.N)})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(res.Duration.Nanoseconds()), "kernel-ns/op")
		})
	}
}

// BenchmarkEnterExit measures entering and leaving a two-instruction
// program from Go: through the public RunMemory (which also takes an Env
// and machine state from their pools), through a Runner (which owns
// them) and through the trampoline alone.
func BenchmarkEnterExit(b *testing.B) {
	is := insn.Instructions{insn.Mov.Imm(insn.R0, 1), insn.Exit()}
	vm, err := New(&prog.Spec{Type: prog.UnspecifiedProgram, Instructions: is}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer vm.Close()
	b.Run("RunMemory", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r, _ := vm.RunMemory(nil); r != 1 {
				b.Fatal(r)
			}
		}
	})
	b.Run("Runner", func(b *testing.B) {
		rn, err := vm.NewRunner()
		if err != nil {
			b.Fatal(err)
		}
		defer rn.Close()
		b.ReportAllocs()
		for b.Loop() {
			if r, _ := rn.RunMemory(nil); r != 1 {
				b.Fatal(r)
			}
		}
	})
	b.Run("enterMem", func(b *testing.B) {
		st := new(state)
		entry := vm.code.mem.addr()
		b.ReportAllocs()
		for b.Loop() {
			st.entry = entry
			enterMem(st, 0, 0, 0)
			if st.regs[0] != 1 {
				b.Fatal(st.regs[0])
			}
		}
	})
	b.Run("trampoline", func(b *testing.B) {
		st := new(state)
		entry := vm.code.mem.addr()
		b.ReportAllocs()
		for b.Loop() {
			st.entry = entry
			enter(st)
			if st.regs[0] != 1 {
				b.Fatal(st.regs[0])
			}
		}
	})
}
