package engine

import (
	"fmt"
	"sync"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/conformance"
	"github.com/purebpf/purebpf/prog"
)

// unwind is the conformance suite's helper 5.
func unwind(_ *Env, r1, _, _, _, _ uint64) (uint64, error) {
	if r1 == 0 {
		return 0, ErrHalt
	}
	return r1, nil
}

func TestConformance(t *testing.T) {
	tests := conformance.Require(t)
	reg := DefaultHelpers()
	reg.Register(insn.FnKtimeGetNs, unwind)
	for _, c := range tests {
		t.Run(c.Name, func(t *testing.T) {
			vm, err := Load(c.Program, &Options{Helpers: reg})
			if err != nil {
				t.Fatalf("load: %v\n%s", err, c.Asm)
			}
			got, err := vm.RunMemory(append([]byte(nil), c.Memory...))
			if err != nil || got != c.Result {
				t.Fatalf("r0 = %#x, %v; want %#x\n%s", got, err, c.Result, c.Asm)
			}
			rn, _ := vm.NewRunner()
			defer rn.Close()
			for k := range 2 {
				if got, err := rn.RunMemory(append([]byte(nil), c.Memory...)); err != nil || got != c.Result {
					t.Fatalf("Runner run %d: r0 = %#x, %v; want %#x\n%s", k, got, err, c.Result, c.Asm)
				}
			}
		})
	}
}

func TestZeroAllocs(t *testing.T) {
	ms := []*prog.MapSpec{{Name: "a", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2}}
	is := insn.Instructions{
		insn.StoreImm(r10, -4, 1, insn.W),
		insn.LoadMapPtr(r1, "a"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "out"),
		insn.Mov.Imm(r1, 1), insn.Atomic(insn.AtomicAdd, insn.DW, r0, 0, r1),
		insn.CallLocal("f"),
		insn.Exit().WithLabel("out"),
		insn.Mov.Imm(r0, 1).WithLabel("f"), insn.Exit(),
	}
	vm := specVM(t, 0, ms, &Options{Rand: func() uint32 { return 4 }}, is...)
	mem := make([]byte, 64)
	vm.RunMemory(mem)
	if n := testing.AllocsPerRun(100, func() { vm.RunMemory(mem) }); n != 0 {
		t.Errorf("RunMemory allocates %.1f times per run", n)
	}
	sf := sfVM(t, nil, insn.LoadAbs(12, insn.H), insn.Exit())
	pkt := make([]byte, 64)
	meta := &SKBMeta{Mark: 1}
	if n := testing.AllocsPerRun(100, func() { sf.RunSocketFilter(pkt, meta) }); n != 0 {
		t.Errorf("RunSocketFilter allocates %.1f times per run", n)
	}
}

func TestConcurrentRuns(t *testing.T) {
	ms := []*prog.MapSpec{{Name: "a", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}}
	is := insn.Instructions{
		insn.StoreImm(r10, -4, 0, insn.W),
		insn.LoadMapPtr(r1, "a"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "out"),
		insn.Mov.Imm(r1, 1), insn.Atomic(insn.AtomicAdd, insn.DW, r0, 0, r1),
		// also use the stack heavily so that shared state would show
		insn.Mov.Reg(r6, r10),
		insn.StoreMem(r10, -16, r6, insn.DW), insn.LoadMem(r7, r10, -16, insn.DW),
		insn.Sub.Reg(r7, r6), insn.Mov.Reg(r0, r7),
		insn.Exit().WithLabel("out"),
	}
	vm := specVM(t, 0, ms, nil, is...)
	const G, N = 8, 500
	var wg sync.WaitGroup
	errs := make(chan error, G)
	for g := 0; g < G; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < N; k++ {
				if r, err := vm.RunMemory(nil); err != nil || r != 0 {
					errs <- fmt.Errorf("run: %d, %v", r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var v uint64
	if err := vm.Map("a").Lookup(uint32(0), &v); err != nil || v != G*N {
		t.Errorf("counter = %d, %v; want %d", v, err, G*N)
	}
}
