package engine

import (
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// TestEnvAPI drives a run environment the way the JIT does.
func TestEnvAPI(t *testing.T) {
	ms := []*prog.MapSpec{
		{Name: "h", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 2},
		{Name: "g", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1},
	}
	vm := specVM(t, 0, ms, nil, insn.Mov.Imm(r0, 0), insn.Exit())
	if err := vm.Map("h").Update(uint32(1), uint64(99), prog.UpdateAny); err != nil {
		t.Fatal(err)
	}
	e := vm.AcquireEnv()
	defer vm.ReleaseEnv(e)
	mem := make([]byte, 32)
	r1, r2 := e.bindMemory(mem)
	regs := e.regions
	if r1 != addrOf(mem) || r2 != 32 || len(regs) != 2 || regs[1].Start != r1 || regs[1].End != r1+32 || regs[1].Perm != PermRead|PermWrite {
		t.Fatalf("BindMemory: r1 %#x r2 %d regions %+v", r1, r2, regs)
	}
	if regs[0].End != e.stackTop() || regs[0].End-regs[0].Start != 8 { // the program reaches no stack: one zeroed slot
		t.Errorf("stack region %+v, top %#x", regs[0], e.stackTop())
	}
	// Keys on the stack, helper calls through Env.Call with map handles.
	key, err := e.Bytes(e.stackTop()-4, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	ne.PutUint32(key, 1)
	if vm.MapIndex("h") != 0 || vm.MapIndex("g") != 1 || vm.MapIndex("x") != -1 {
		t.Fatal("MapIndex")
	}
	v, err := e.call(int64(insn.FnMapLookupElem), false, MapHandle(vm.MapIndex("h")), e.stackTop()-4, 0, 0, 0)
	if err != nil || v == 0 {
		t.Fatalf("lookup: %#x, %v", v, err)
	}
	b, err := e.Bytes(v, 8, false)
	if err != nil || ne.Uint64(b) != 99 {
		t.Errorf("value: %x, %v", b, err)
	}
	if _, err := e.call(9999, false, 0, 0, 0, 0, 0); !errors.Is(err, ErrUnknownHelper) {
		t.Errorf("unknown helper: %v", err)
	}
	a, err := e.mapValue(1, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Bytes(a, 4, true); err != nil {
		t.Errorf("map value storage: %v", err)
	}
	if _, err := e.Bytes(a, 5, true); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("past the map value: %v", err)
	}
	if _, err := e.mapValue(0, 0); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("direct value of a hash: %v", err)
	}
	if b, err := e.Bytes(0, 0, false); err != nil || b != nil {
		t.Errorf("zero-length access: %v", err)
	}
	if _, err := e.Bytes(r1, -1, false); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("negative size: %v", err)
	}
	if m, err := e.Map(MapHandle(1)); err != nil || m != vm.Map("g") {
		t.Errorf("Env.Map: %v", err)
	}
	for _, h := range []uint64{MapHandle(2), MapHandle(0) + 8, 0, r1} {
		if _, err := e.Map(h); !errors.Is(err, ErrMemoryAccess) {
			t.Errorf("Env.Map(%#x): %v", h, err)
		}
	}
	if e.vm != vm || e.Context() != r1 || len(e.Packet()) != 32 || e.Options() == nil {
		t.Errorf("Env accessors")
	}
}

func TestTrace(t *testing.T) {
	type step struct {
		pc int
		r0 uint64
	}
	var steps []step
	opts := &Options{Trace: func(pc int, ins insn.Instruction, regs *[11]uint64) {
		steps = append(steps, step{pc, regs[0]})
		if pc >= 0 && ins.OpCode == 0 {
			t.Errorf("pc %d: empty instruction", pc)
		}
	}, MaxInstructions: 100}
	vm := mustVM(t, insn.Instructions{insn.LoadImm64(r0, 5), insn.Add.Imm(r0, 1), insn.Exit()}, opts)
	if r, err := vm.RunMemory(nil); err != nil || r != 6 {
		t.Fatal(r, err)
	}
	want := []step{{0, 0}, {2, 5}, {3, 6}, {-1, 6}}
	if len(steps) != len(want) {
		t.Fatalf("steps %v, want %v", steps, want)
	}
	for k := range want {
		if steps[k] != want[k] {
			t.Errorf("steps %v, want %v", steps, want)
		}
	}
	// The budget still applies with a tracer.
	steps = nil
	vm = mustVM(t, insn.Instructions{insn.Ja("l").WithLabel("l")}, &Options{Trace: opts.Trace, MaxInstructions: 10})
	if _, err := vm.RunMemory(nil); !errors.Is(err, ErrBudgetExhausted) || len(steps) != 10 {
		t.Errorf("budget with tracer: %v after %d steps", err, len(steps))
	}
}
