//go:build amd64 && unix

package jit

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// tracer is what interp and jit VMs and Runners have for tracing runs.
type tracer interface {
	RunTracepoint([]byte) (uint64, error)
	RunRawTracepoint([]uint64) (uint64, error)
	RunPerfEvent(*interp.PerfEventData) (uint64, error)
}

// traceBoth runs run on interp's and jit's VM and Runners (each Runner
// twice) and wants the same result and error from all.
func traceBoth(t *testing.T, spec *prog.Spec, opts *interp.Options, run func(r tracer) (uint64, error)) (uint64, error) {
	t.Helper()
	ivm, err := interp.New(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	want, werr := run(ivm)
	vm, err := New(spec, &Options{Interp: opts})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	irn, _ := ivm.NewRunner()
	defer irn.Close()
	jrn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer jrn.Close()
	for k := range 2 {
		for name, r := range map[string]tracer{"jit": vm, "interp Runner": irn, "jit Runner": jrn} {
			if got, err := run(r); got != want || normErr(err, nil) != normErr(werr, nil) {
				t.Errorf("%s, run %d = %#x, %v; interp = %#x, %v\n%s", name, k, got, err, want, werr, spec.Instructions)
			}
		}
	}
	return want, werr
}

func TestTraceContexts(t *testing.T) {
	sum := func(typ prog.Type, offs ...int16) *prog.Spec {
		is := Instructions{Mov.Imm(R0, 0)}
		for _, o := range offs {
			is = append(is, LoadMem(R2, R1, o, DW), Add.Reg(R0, R2))
		}
		return &prog.Spec{Name: "sum", Type: typ, Instructions: append(is, Exit())}
	}
	rec := make([]byte, 24)
	binary.LittleEndian.PutUint64(rec[8:], 40)
	binary.LittleEndian.PutUint64(rec[16:], 2)
	if got, err := traceBoth(t, sum(prog.TracePoint, 8, 16), nil, func(r tracer) (uint64, error) { return r.RunTracepoint(rec) }); got != 42 || err != nil {
		t.Errorf("tracepoint = %d, %v; want 42", got, err)
	}
	for _, typ := range []prog.Type{prog.RawTracePoint, prog.Tracing, prog.LSM} {
		if got, err := traceBoth(t, sum(typ, 0, 16), nil, func(r tracer) (uint64, error) { return r.RunRawTracepoint([]uint64{40, 7, 2}) }); got != 42 || err != nil {
			t.Errorf("%s = %d, %v; want 42", typ, got, err)
		}
	}
	pd := &interp.PerfEventData{Regs: interp.PtRegs{DI: 30, IP: 10}, SamplePeriod: 1, Addr: 1}
	// di at 14*8, ip at 16*8, sample_period at 168, addr at 176
	if got, err := traceBoth(t, sum(prog.PerfEvent, 14*8, 16*8, 168, 176), nil, func(r tracer) (uint64, error) { return r.RunPerfEvent(pd) }); got != 42 || err != nil {
		t.Errorf("perf_event = %d, %v; want 42", got, err)
	}
	// Reads past the end name the context offset, in every engine.
	for _, c := range []struct {
		spec *prog.Spec
		run  func(r tracer) (uint64, error)
		want string
	}{
		{sum(prog.TracePoint, 24), func(r tracer) (uint64, error) { return r.RunTracepoint(rec) }, "tracepoint (record) context offset 24"},
		// The common header is not readable (tp_prog_is_valid_access).
		{sum(prog.TracePoint, 0), func(r tracer) (uint64, error) { return r.RunTracepoint(rec) }, "tracepoint (record) context offset 0"},
		{sum(prog.RawTracePoint, 24), func(r tracer) (uint64, error) { return r.RunRawTracepoint([]uint64{1, 2, 3}) }, "context offset 24: outside the 24-byte context"},
		{sum(prog.PerfEvent, 184), func(r tracer) (uint64, error) { return r.RunPerfEvent(nil) }, "context offset 184"},
		{sum(prog.Tracing, -8), func(r tracer) (uint64, error) { return r.RunRawTracepoint([]uint64{1}) }, "context offset -8"},
	} {
		_, err := traceBoth(t, c.spec, nil, c.run)
		if !errors.Is(err, interp.ErrContext) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrContext naming %q", c.spec.Type, err, c.want)
		}
	}
	// Bad input: a record without its header, too many arguments,
	// another program type's context.
	if _, err := traceBoth(t, sum(prog.TracePoint), nil, func(r tracer) (uint64, error) { return r.RunTracepoint(make([]byte, 7)) }); !errors.Is(err, interp.ErrContext) {
		t.Errorf("7-byte record: %v", err)
	}
	if _, err := traceBoth(t, sum(prog.RawTracePoint), nil, func(r tracer) (uint64, error) { return r.RunRawTracepoint(make([]uint64, 13)) }); !errors.Is(err, interp.ErrContext) {
		t.Errorf("13 arguments: %v", err)
	}
	if _, err := traceBoth(t, sum(prog.RawTracePoint), nil, func(r tracer) (uint64, error) { return r.RunPerfEvent(nil) }); !errors.Is(err, interp.ErrContext) {
		t.Errorf("perf event data for a raw tracepoint: %v", err)
	}
	// The context is read-only.
	st := &prog.Spec{Name: "st", Type: prog.RawTracePoint, Instructions: Instructions{StoreImm(R1, 0, 1, DW), Mov.Imm(R0, 0), Exit()}}
	if _, err := traceBoth(t, st, nil, func(r tracer) (uint64, error) { return r.RunRawTracepoint([]uint64{1}) }); !errors.Is(err, interp.ErrMemoryAccess) {
		t.Errorf("store to the context: %v", err)
	}
}

// A Tracing program loads through a pointer argument into host-backed
// kernel memory; a load through a pointer to nothing reads 0 in interp
// (BPF_PROBE_MEM), and is a run error in a raw tracepoint.
func TestTraceKernelMemoryLoads(t *testing.T) {
	kmem := make([]byte, 64)
	binary.LittleEndian.PutUint32(kmem[20:], 42)
	opts := &interp.Options{KernelMemory: []interp.MemoryRegion{{Addr: addrOfSlice(kmem), Data: kmem}}}
	spec := &prog.Spec{Name: "deref", Type: prog.Tracing, Instructions: Instructions{
		LoadMem(R2, R1, 0, DW), LoadMem(R0, R2, 20, W), Exit(),
	}}
	if got, err := traceBoth(t, spec, opts, func(r tracer) (uint64, error) { return r.RunRawTracepoint([]uint64{addrOfSlice(kmem)}) }); got != 42 || err != nil {
		t.Errorf("load through a BTF pointer = %d, %v; want 42", got, err)
	}
	// A store into kernel memory is refused.
	stSpec := &prog.Spec{Name: "st", Type: prog.Tracing, Instructions: Instructions{
		LoadMem(R2, R1, 0, DW), StoreImm(R2, 20, 1, W), Mov.Imm(R0, 0), Exit(),
	}}
	if _, err := traceBoth(t, stSpec, opts, func(r tracer) (uint64, error) { return r.RunRawTracepoint([]uint64{addrOfSlice(kmem)}) }); !errors.Is(err, interp.ErrMemoryAccess) {
		t.Errorf("store into kernel memory: %v", err)
	}
	// Loads through pointers to nothing read 0 (BPF_PROBE_MEM), the
	// program going on after them: NULL, a guessed address, one past
	// kernel memory, a signed load; r3 keeps its value.
	probe := &prog.Spec{Name: "probe", Type: prog.Tracing, Instructions: Instructions{
		Mov.Imm(R3, 7),
		LoadMem(R2, R1, 0, DW), LoadMem(R0, R2, 0, DW), Add.Reg(R3, R0),
		LoadMem(R2, R1, 8, DW), LoadMemSX(R0, R2, 0, W), Add.Reg(R3, R0),
		LoadMem(R2, R1, 16, DW), LoadMem(R0, R2, 60, DW), Add.Reg(R3, R0),
		LoadMem(R2, R1, 16, DW), LoadMem(R0, R2, 20, W), Add.Reg(R3, R0),
		Mov.Reg(R0, R3), Exit(),
	}}
	for _, args := range [][]uint64{{0, 0x1000, addrOfSlice(kmem)}, {0xffff888000000000, 1 << 47, addrOfSlice(kmem)}} {
		if got, err := traceBoth(t, probe, opts, func(r tracer) (uint64, error) { return r.RunRawTracepoint(args) }); got != 49 || err != nil {
			t.Errorf("probe loads %#x = %d, %v; want 49", args, got, err)
		}
	}
	raw := &prog.Spec{Name: "deref", Type: prog.RawTracePoint, Instructions: spec.Instructions}
	if _, err := traceBoth(t, raw, opts, func(r tracer) (uint64, error) { return r.RunRawTracepoint([]uint64{0x1000}) }); !errors.Is(err, interp.ErrMemoryAccess) {
		t.Errorf("raw tracepoint load through a bad pointer: %v", err)
	}
}

// A Runner keeps its tracing binding between runs and rebinds only the
// context: runs with other argument counts, failed runs, runs that add
// regions (a map lookup) and probe loads in between give what fresh
// interp runs give.
func TestTraceRunnerRebind(t *testing.T) {
	kmem := make([]byte, 64)
	binary.LittleEndian.PutUint64(kmem[8:], 1000)
	opts := &interp.Options{KernelMemory: []interp.MemoryRegion{{Addr: addrOfSlice(kmem), Data: kmem}}}
	spec := &prog.Spec{Name: "mixed", Type: prog.Tracing, Maps: []*prog.MapSpec{{Name: "a", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}},
		Instructions: Instructions{
			Mov.Reg(R6, R1),
			LoadMem(R2, R6, 0, DW), // args[0]: a pointer, or 0
			LoadMem(R7, R2, 8, DW), // a probe load
			LoadMem(R3, R6, 8, DW), // args[1]: 1 asks for a map lookup, 2 for a read past the arguments
			JEq.Imm(R3, 1, "lookup"),
			JEq.Imm(R3, 2, "past"),
			Mov.Reg(R0, R7),
			Exit(),
			StoreImm(R10, -4, 0, W).WithLabel("lookup"),
			LoadMapPtr(R1, "a"),
			Mov.Reg(R2, R10),
			Add.Imm(R2, -4),
			FnMapLookupElem.Call(),
			JEq.Imm(R0, 0, "out"),
			LoadMem(R0, R0, 0, DW),
			Add.Reg(R0, R7),
			Exit().WithLabel("out"),
			LoadMem(R0, R6, 16, DW).WithLabel("past"),
			Exit(),
		}}
	ivm, err := interp.New(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := New(spec, &Options{Interp: opts})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	jrn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer jrn.Close()
	irn, _ := ivm.NewRunner()
	defer irn.Close()
	k := addrOfSlice(kmem)
	inputs := [][]uint64{{k, 0}, {k, 0, 5}, {0, 0}, {k, 2}, {k, 0}, {k, 1}, {k, 0}, {0, 2, 9}, {k, 0}, {k, 1, 1, 1}, {0x1000, 0}}
	for round := range 3 {
		for n, args := range inputs {
			want, werr := ivm.RunRawTracepoint(args)
			for name, r := range map[string]tracer{"jit Runner": jrn, "interp Runner": irn} {
				got, err := r.RunRawTracepoint(args)
				if got != want || normErr(err, nil) != normErr(werr, nil) {
					t.Fatalf("round %d, input %d %#x: %s = %d, %v; interp VM %d, %v", round, n, args, name, got, err, want, werr)
				}
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { jrn.RunRawTracepoint(inputs[0]) }); n != 0 {
		t.Errorf("%v allocations per kept run", n)
	}
}
