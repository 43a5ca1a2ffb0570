//go:build amd64 && unix

package jit

import (
	"encoding/binary"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// traceBench is a tp_btf-style program that follows a pointer argument
// into kernel memory (task->real_parent->pid, as profilers read it) and
// the kernel memory it reads.
func traceBench(tb testing.TB) (*prog.Spec, *interp.Options, []uint64) {
	mem := make([]byte, 128)
	binary.NativeEndian.PutUint64(mem[32:], addrOfSlice(mem[64:]))
	binary.NativeEndian.PutUint32(mem[64+8:], 42)
	spec := &prog.Spec{Name: "ppid", Type: prog.Tracing, Instructions: Instructions{
		LoadMem(R2, R1, 0, DW),
		LoadMem(R3, R1, 8, DW),
		LoadMem(R2, R2, 32, DW),
		LoadMem(R0, R2, 8, W),
		Add.Reg(R0, R3),
		Exit(),
	}}
	return spec, &interp.Options{KernelMemory: []interp.MemoryRegion{{Addr: addrOfSlice(mem), Data: mem}}}, []uint64{addrOfSlice(mem), 1}
}

// BenchmarkTrace runs traceBench through Runners of both engines.
func BenchmarkTrace(b *testing.B) {
	spec, opts, args := traceBench(b)
	ivm, err := interp.New(spec, opts)
	if err != nil {
		b.Fatal(err)
	}
	vm, err := New(spec, &Options{Interp: opts})
	if err != nil {
		b.Fatal(err)
	}
	defer vm.Close()
	irn, _ := ivm.NewRunner()
	defer irn.Close()
	jrn, _ := vm.NewRunner()
	defer jrn.Close()
	for name, r := range map[string]tracer{"interp": irn, "jit": jrn} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if v, err := r.RunRawTracepoint(args); v != 43 || err != nil {
					b.Fatal(v, err)
				}
			}
		})
	}
}

// Tracing runs allocate nothing.
func TestTraceRunnerAllocs(t *testing.T) {
	spec, opts, args := traceBench(t)
	vm, err := New(spec, &Options{Interp: opts})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	rn, _ := vm.NewRunner()
	defer rn.Close()
	ivm, _ := interp.New(spec, opts)
	irn, _ := ivm.NewRunner()
	defer irn.Close()
	for name, r := range map[string]tracer{"jit": rn, "interp": irn, "jit VM": vm} {
		if n := testing.AllocsPerRun(100, func() { r.RunRawTracepoint(args) }); n != 0 {
			t.Errorf("%s: %v allocations per tracing run", name, n)
		}
	}
}
