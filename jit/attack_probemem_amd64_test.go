//go:build amd64 && unix

package jit

import (
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/kmem"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackProbeMemEdges runs BPF_PROBE_MEM loads (Tracing programs)
// at the edges of the JIT's miss path in interp, the JIT and a JIT
// Runner: a load whose destination is its base, a sign-extending load, a
// load-acquire (which never reads 0), loads straddling the end of a kmem
// object, a load right before a jump target, the last instruction
// before exit and in a bpf-to-bpf callee, at addresses that are host
// memory next to the objects and the context. Results and errors must
// agree; a faulting load reads 0 and never host bytes.
func TestAttackProbeMemEdges(t *testing.T) {
	var m kmem.Memory
	obj := m.Bytes([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	a := obj.Addr()
	addrs := []uint64{0, 1, a, a + 8, a + 9, a + 15, a + 16, a - 1, a - 8, a + 4096, 1 << 63, ^uint64(0), ^uint64(0) - 3}
	cases := map[string]Instructions{
		"dst is base": {
			LoadMem(R1, R1, 0, DW),
			LoadMem(R1, R1, 0, DW),
			Mov.Reg(R0, R1),
			Exit(),
		},
		"sign-extending": {
			LoadMem(R2, R1, 0, DW),
			Mov.Imm(R0, -1),
			LoadMemSX(R0, R2, 6, W),
			Exit(),
		},
		"load-acquire": {
			LoadMem(R2, R1, 0, DW),
			Mov.Imm(R0, -1),
			LoadAcquire(R0, R2, 0, DW),
			Exit(),
		},
		"before a jump target": {
			LoadMem(R2, R1, 0, DW),
			Mov.Imm(R0, 5),
			JEq.Imm(R0, 7, "t"),
			LoadMem(R0, R2, 0, B),
			Add.Imm(R0, 100).WithLabel("t"),
			Exit(),
		},
		"last before exit in a callee": {
			LoadMem(R1, R1, 0, DW),
			Mov.Imm(R0, -1),
			CallLocal("f"),
			Add.Imm(R0, 1),
			Exit(),
			Mov.Imm(R0, 3).WithLabel("f"),
			LoadMem(R0, R1, -2, H),
			Exit(),
		},
		"context neighbours": {
			Mov.Reg(R2, R1),
			LoadMem(R3, R1, 0, DW),
			Sub.Reg(R3, R2), // r3 = addr - ctx: the target as an offset from ctx
			Add.Reg(R2, R3),
			LoadMem(R0, R2, 0, DW),
			LoadMem(R4, R1, -8, DW),
			Add.Reg(R0, R4),
			LoadMem(R4, R1, 96, DW),
			Add.Reg(R0, R4),
			Exit(),
		},
		"stack neighbours": {
			LoadMem(R2, R1, 0, DW),
			StoreImm(R10, -8, 77, DW),
			LoadMem(R0, R10, -8, DW),
			LoadMem(R3, R10, 0, DW),
			Add.Reg(R0, R3),
			LoadMem(R3, R10, -520, DW),
			Add.Reg(R0, R3),
			LoadMem(R3, R2, 0, W),
			Add.Reg(R0, R3),
			Exit(),
		},
		"loop of misses": {
			LoadMem(R2, R1, 0, DW),
			Mov.Imm(R0, 0),
			Mov.Imm(R6, 64),
			LoadMem(R3, R2, 0, B).WithLabel("l"),
			Add.Reg(R0, R3),
			Add.Imm(R2, 1),
			Add.Imm(R6, -1),
			JNE.Imm(R6, 0, "l"),
			Exit(),
		},
	}
	opts := &interp.Options{KernelMemory: m.Regions()}
	for name, is := range cases {
		t.Run(name, func(t *testing.T) {
			spec := &prog.Spec{Name: "pm", Type: prog.Tracing, License: "GPL", Instructions: is}
			ivm, vm, _, rn := attackEngines(t, spec, opts)
			for _, addr := range addrs {
				args := []uint64{addr}
				want, werr := ivm.RunRawTracepoint(args)
				got, gerr := vm.RunRawTracepoint(args)
				if got != want || !sameErr(gerr, werr) || errText(gerr) != errText(werr) {
					t.Errorf("addr %#x (object at %#x): jit %#x, %v; interp %#x, %v", addr, a, got, gerr, want, werr)
				}
				for k := range 2 {
					rg, rerr := rn.RunRawTracepoint(args)
					if rg != want || !sameErr(rerr, werr) || errText(rerr) != errText(werr) {
						t.Errorf("addr %#x, Runner run %d: %#x, %v; interp %#x, %v", addr, k, rg, rerr, want, werr)
					}
				}
			}
		})
	}
}

// TestAttackProbeMemSimulated runs PROBE_MEM loads and probe_read_kernel
// against KernelMemory regions that are simulated (Addr is not the
// address of Data: a kernel address the host does not map) and
// host-backed ones given twice, overlapping and empty, in interp, the JIT
// and a JIT Runner: the same results, and no load of a simulated address
// may touch the host (it would fault).
func TestAttackProbeMemSimulated(t *testing.T) {
	sim := make([]byte, 64)
	for k := range sim {
		sim[k] = byte(k + 1)
	}
	host := []byte{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6}
	ha := addrOf(host)
	regions := []interp.MemoryRegion{
		{Addr: 0xffff888000001000, Data: sim},
		{Addr: 0xffff888000001020, Data: sim[:8]}, // overlaps the first
		{Addr: ha, Data: host},
		{Addr: ha + 4, Data: host[4:8]},
		{Addr: 0xffff888000002000, Data: nil},
		{Addr: ^uint64(0) - 7, Data: sim[:8]}, // ends at the top of the address space
	}
	is := Instructions{
		LoadMem(R6, R1, 0, DW), // the address
		LoadMem(R0, R6, 0, DW),
		Mov.Reg(R7, R0),
		Mov.Reg(R1, R10),
		Add.Imm(R1, -16),
		Mov.Imm(R2, 16),
		Mov.Reg(R3, R6),
		FnProbeReadKernel.Call(),
		LSh.Imm(R0, 32),
		Xor.Reg(R7, R0),
		LoadMem(R0, R10, -16, DW),
		Xor.Reg(R7, R0),
		LoadMem(R0, R10, -8, DW),
		Add.Reg(R7, R0),
		Mov.Reg(R0, R7),
		Exit(),
	}
	opts := &interp.Options{KernelMemory: regions}
	spec := &prog.Spec{Name: "sim", Type: prog.Tracing, License: "GPL", Instructions: is}
	ivm, vm, _, rn := attackEngines(t, spec, opts)
	for _, a := range []uint64{0xffff888000001000, 0xffff888000001008, 0xffff888000001020, 0xffff888000001038, 0xffff888000001040,
		0xffff888000000ff8, 0xffff888000002000, ha, ha + 4, ha + 8, ha + 12, ha - 8, ^uint64(0) - 7, ^uint64(0) - 15, ^uint64(0)} {
		args := []uint64{a}
		want, werr := ivm.RunRawTracepoint(args)
		got, gerr := vm.RunRawTracepoint(args)
		rg, rerr := rn.RunRawTracepoint(args)
		if got != want || rg != want || !sameErr(gerr, werr) || !sameErr(rerr, werr) {
			t.Errorf("addr %#x: interp %#x, %v; jit %#x, %v; Runner %#x, %v", a, want, werr, got, gerr, rg, rerr)
		}
	}
}

// TestAttackProbeMemTailCall makes BPF_PROBE_MEM loads miss in a
// tail-call target (whose code is not the caller's: the miss must resume
// in the target's code, after the target's load) and in a subprogram of
// the target, in interp, the JIT and a JIT Runner.
func TestAttackProbeMemTailCall(t *testing.T) {
	w := newWorld(t, progArray("jumps"))
	target := w.spec("target", nil,
		LoadMem(R1, R1, 0, DW), // the address
		Mov.Reg(R6, R1),
		LoadMem(R1, R1, 0, DW), // misses for a bogus address: r1 = 0
		Mov.Reg(R0, R1),
		Add.Imm(R0, 5),
		CallLocal("f"),
		Exit(),
		LoadMem(R2, R6, 8, W).WithLabel("f"),
		LoadMem(R6, R6, 16, DW),
		Add.Reg(R0, R2),
		Add.Reg(R0, R6),
		Exit(),
	)
	target.Type, target.License = prog.Tracing, "GPL"
	main := w.spec("main", []string{"jumps"}, seq(
		Mov.Reg(R6, R1),
		LoadMem(R7, R1, 0, DW),
		LoadMem(R7, R7, 0, DW), // a miss in the caller first
		tailCall("jumps", 0),
		Mov.Imm(R0, 99),
		Exit(),
	)...)
	main.Type, main.License = prog.Tracing, "GPL"
	// tailCall's r1 must be the context: the sequence above keeps it.
	var m kmem.Memory
	obj := m.Bytes([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24})
	opts := func() *Options {
		return &Options{Interp: &interp.Options{Helpers: w.registry(true), KernelMemory: m.Regions()}}
	}
	tvm := w.jit(target, opts())
	defer tvm.Close()
	w.set("jumps", 0, tvm)
	vm := w.jit(main, opts())
	defer vm.Close()
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	iopts := &interp.Options{Helpers: w.registry(true), KernelMemory: m.Regions(), Maps: w.maps}
	ivm, err := interp.New(main, iopts)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []uint64{obj.Addr(), obj.Addr() + 8, obj.Addr() + 16, obj.Addr() + 20, 0x1000, 0, ^uint64(0) - 3} {
		args := []uint64{a}
		want, werr := ivm.RunRawTracepoint(args)
		got, gerr := vm.RunRawTracepoint(args)
		rg, rerr := rn.RunRawTracepoint(args)
		if got != want || rg != want || !sameErr(gerr, werr) || !sameErr(rerr, werr) {
			t.Errorf("addr %#x: interp %#x, %v; jit %#x, %v; Runner %#x, %v", a, want, werr, got, gerr, rg, rerr)
		}
		if want == 99 {
			t.Errorf("addr %#x: the tail call did not happen", a)
		}
	}
}
