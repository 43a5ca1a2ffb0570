package engine

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// loadFunc is "dst = func(label) ll": the address of the subprogram at label.
func loadFunc(dst insn.Register, label string) insn.Instruction {
	return insn.Instruction{OpCode: insn.OpLdImm64, Dst: dst, Src: insn.Register(insn.PseudoFunc), Ref: label}
}

// LoopSumProgram is a bpf_loop(n, cb, &sum, flags) program: cb adds each
// index to the u64 at its context and stops (returns 1) at index stop.
// It returns (sum << 8) | bpf_loop's result (the low 32 bits). Shared with
// interp's kernel comparison (CallbackPrograms).
func loopSumProgram(n, stop int32, flags int32) insn.Instructions {
	return insn.Instructions{
		insn.StoreImm(r10, -8, 0, insn.DW),
		insn.Mov.Imm(r1, n),
		loadFunc(r2, "cb"),
		insn.Mov.Reg(r3, r10),
		insn.Add.Imm(r3, -8),
		insn.Mov.Imm(r4, flags),
		insn.Call(int32(insn.FnLoop)),
		insn.LoadMem(r1, r10, -8, insn.DW),
		insn.LSh.Imm(r1, 8),
		insn.Mov.Reg32(r0, r0),
		insn.Or.Reg(r0, r1),
		insn.Exit(),
		// cb(index r1, ctx r2)
		insn.LoadMem(r3, r2, 0, insn.DW).WithLabel("cb"),
		insn.Add.Reg(r3, r1),
		insn.StoreMem(r2, 0, r3, insn.DW),
		insn.Mov.Imm(r0, 0),
		insn.JEq.Imm(r1, stop, "stop"),
		insn.Exit(),
		insn.Mov.Imm(r0, 1).WithLabel("stop"),
		insn.Exit(),
	}
}

func loopSumWant(n, stop int64, flags int32) uint64 {
	if flags != 0 {
		return uint64(uint32(Errno(syscall.EINVAL)))
	}
	if n > 1<<23 { // as the kernel's inlined bpf_loop returns it (callback.go)
		return uint64(uint32(Errno(syscall.E2BIG)))
	}
	sum, it := int64(0), int64(0)
	for i := int64(0); i < n; i++ {
		sum += i
		it++
		if i == stop {
			break
		}
	}
	return uint64(sum)<<8 | uint64(it)
}

func TestLoopSum(t *testing.T) {
	for _, c := range []struct {
		n, stop int32
		flags   int32
	}{
		{0, -1, 0}, {1, -1, 0}, {5, -1, 0}, {100, -1, 0}, {100, 10, 0}, {100, 0, 0}, {100, 99, 0},
		{5, -1, 1}, {1<<23 + 1, -1, 0},
	} {
		got := run(t, nil, loopSumProgram(c.n, c.stop, c.flags)...)
		if want := loopSumWant(int64(c.n), int64(c.stop), c.flags); got != want {
			t.Errorf("bpf_loop(%d), stop at %d, flags %d: 0x%x, want 0x%x", c.n, c.stop, c.flags, got, want)
		}
	}
}

// The callback's instructions count against the run's budget, exactly.
func TestLoopBudget(t *testing.T) {
	count := func(n int32) uint64 {
		_, st, err := mustVM(t, loopSumProgram(n, -1, 0), nil).RunMemoryStats(nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.Instructions
	}
	// Each call runs 6 instructions: ldx, add, stx, mov, jeq, exit.
	if a, b := count(5), count(15); b-a != 10*6 {
		t.Errorf("10 more iterations ran %d more instructions, want 60", b-a)
	}
	vm := mustVM(t, loopSumProgram(1<<20, -1, 0), &Options{MaxInstructions: 10000})
	_, st, err := vm.RunMemoryStats(nil)
	var re *RunError
	if !errors.Is(err, ErrBudgetExhausted) || !errors.As(err, &re) {
		t.Fatalf("1M iterations with a budget of 10000: %v", err)
	}
	if re.PC < 13 { // the callback starts at slot 13
		t.Errorf("budget error at pc %d, want a slot in the callback", re.PC)
	}
	if st.Instructions != 10000 {
		t.Errorf("executed %d instructions, want the budget 10000", st.Instructions)
	}
	// The same run traced steps through the same instructions.
	steps := 0
	vm = mustVM(t, loopSumProgram(7, 3, 0), &Options{Trace: func(pc int, _ insn.Instruction, _ *[11]uint64) {
		if pc >= 0 {
			steps++
		}
	}})
	r0, st, err := vm.RunMemoryStats(nil)
	if err != nil || r0 != loopSumWant(7, 3, 0) || uint64(steps) != st.Instructions {
		t.Errorf("traced: r0 0x%x, %v, %d steps, %d instructions", r0, err, steps, st.Instructions)
	}
}

// Callbacks save r6..r9 as calls do, and nest: a callback that calls
// bpf_loop with another callback.
func TestLoopNestedAndCalleeSaved(t *testing.T) {
	is := insn.Instructions{
		insn.Mov.Imm(r6, 6), insn.Mov.Imm(r7, 7), insn.Mov.Imm(r8, 8), insn.Mov.Imm(r9, 9),
		insn.StoreImm(r10, -8, 0, insn.DW),
		insn.Mov.Imm(r1, 3),
		loadFunc(r2, "outer"),
		insn.Mov.Reg(r3, r10),
		insn.Add.Imm(r3, -8),
		insn.Mov.Imm(r4, 0),
		insn.Call(int32(insn.FnLoop)),
		// r0 = count*1000 + r6+r7+r8+r9 (30 if kept) + 100*bpf_loop's result
		insn.LoadMem(r1, r10, -8, insn.DW),
		insn.Mul.Imm(r1, 1000),
		insn.Mul.Imm(r0, 100),
		insn.Add.Reg(r0, r1),
		insn.Add.Reg(r0, r6), insn.Add.Reg(r0, r7), insn.Add.Reg(r0, r8), insn.Add.Reg(r0, r9),
		insn.Exit(),
		// outer(index, ctx): bpf_loop(4, inner, ctx, 0), clobbering r6..r9
		insn.Mov.Reg(r6, r2).WithLabel("outer"), insn.Mov.Imm(r7, 0), insn.Mov.Imm(r8, 0), insn.Mov.Imm(r9, 0),
		insn.Mov.Imm(r1, 4),
		loadFunc(r2, "inner"),
		insn.Mov.Reg(r3, r6),
		insn.Mov.Imm(r4, 0),
		insn.Call(int32(insn.FnLoop)),
		insn.Mov.Imm(r0, 0),
		insn.Exit(),
		// inner(index, ctx): (*ctx)++
		insn.LoadMem(r3, r2, 0, insn.DW).WithLabel("inner"),
		insn.Add.Imm(r3, 1),
		insn.StoreMem(r2, 0, r3, insn.DW),
		insn.Mov.Imm(r0, 0),
		insn.Exit(),
	}
	got := run(t, nil, is...)
	if want := uint64(12*1000 + 3*100 + 30); got != want {
		t.Errorf("nested loops: %d, want %d\n%s", got, want, is)
	}
}

// A callback is a frame: calls inside it reach MAX_CALL_FRAMES sooner.
func TestLoopCallDepth(t *testing.T) {
	chain := func(calls int) insn.Instructions {
		is := insn.Instructions{
			insn.Mov.Imm(r1, 1), loadFunc(r2, "cb"), insn.Mov.Imm(r3, 0), insn.Mov.Imm(r4, 0),
			insn.Call(int32(insn.FnLoop)), insn.Exit(),
			insn.Mov.Imm(r0, 0).WithLabel("cb"),
		}
		for k := 0; k < calls; k++ {
			is = append(is, insn.CallLocal("f"+string(rune('a'+k))), insn.Exit(), insn.Mov.Imm(r0, 0).WithLabel("f"+string(rune('a'+k))))
		}
		return append(is, insn.Exit())
	}
	// main, the callback and 6 calls: 8 frames, the limit.
	if got := run(t, nil, chain(6)...); got != 1 {
		t.Errorf("8 frames: %d, want 1", got)
	}
	re := runErr(t, ErrCallDepth, nil, chain(7)...)
	if !strings.Contains(re.Error(), "limit is 8") {
		t.Errorf("9 frames: %v", re)
	}
}

// A callback handle is no address, and only the program's own function
// address loads make handles the helpers accept.
func TestCallbackHandleForged(t *testing.T) {
	call := func(handle insn.Instruction, funcLoad bool) insn.Instructions {
		mark := insn.Mov.Imm(r5, 0)
		if funcLoad {
			mark = loadFunc(r5, "cb") // makes cb, at slot 10, a callback
		}
		return insn.Instructions{
			insn.Mov.Imm(r1, 1), handle, insn.Mov.Imm(r3, 0), insn.Mov.Imm(r4, 0),
			insn.Call(int32(insn.FnLoop)), insn.Exit(),
			mark, insn.Mov.Imm(r5, 0),
			insn.Mov.Imm(r0, 0).WithLabel("cb"), insn.Exit(),
		}
	}
	if got := run(t, nil, call(loadFunc(r2, "cb"), false)...); got != 1 {
		t.Fatalf("a loaded handle: %d, want 1", got)
	}
	for _, c := range []struct {
		h        uint64
		funcLoad bool
	}{
		{CallbackHandle(10), false},    // the right value, but no function load names the slot
		{CallbackHandle(10) + 8, true}, // the next slot
		{CallbackHandle(10) + 1, true}, // misaligned
		{CallbackHandle(0), true},      // slot 0
		{MapHandle(0), true},           // a map handle
		{CallbackHandle(1 << 20), true},
		{0, true},
	} {
		is := call(insn.LoadImm64(r2, int64(c.h)), c.funcLoad)
		re := runErr(t, ErrMemoryAccess, nil, is...)
		if !strings.Contains(re.Error(), "not a callback") || re.PC != 5 {
			t.Errorf("handle 0x%x: %v", c.h, re)
		}
	}
	// Reading or writing through a handle fails as a wild access does.
	for _, is := range []insn.Instructions{
		{loadFunc(r1, "f"), insn.LoadMem(r0, r1, 0, insn.B), insn.Exit(), insn.Mov.Imm(r0, 0).WithLabel("f"), insn.Exit()},
		{loadFunc(r1, "f"), insn.StoreImm(r1, 0, 1, insn.DW), insn.Mov.Imm(r0, 0), insn.Exit(), insn.Mov.Imm(r0, 0).WithLabel("f"), insn.Exit()},
		{loadFunc(r1, "f"), insn.LoadMem(r0, r1, -8, insn.DW), insn.Exit(), insn.Mov.Imm(r0, 0).WithLabel("f"), insn.Exit()},
	} {
		runErr(t, ErrMemoryAccess, nil, is...)
	}
	// The handle of a callback is a map handle to no map helper.
	is := insn.Instructions{
		insn.StoreImm(r10, -8, 0, insn.W),
		loadFunc(r1, "f"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8),
		insn.Call(int32(insn.FnMapLookupElem)), insn.Exit(),
		insn.Mov.Imm(r0, 0).WithLabel("f"), insn.Exit(),
	}
	runErr(t, ErrMemoryAccess, nil, is...)
}

// A tail call inside a callback is an error (the verifier refuses it).
func TestLoopTailCallRefused(t *testing.T) {
	is := insn.Instructions{
		insn.Mov.Imm(r1, 1), loadFunc(r2, "cb"), insn.Mov.Imm(r3, 0), insn.Mov.Imm(r4, 0),
		insn.Call(int32(insn.FnLoop)), insn.Exit(),
		insn.Mov.Imm(r2, 0).WithLabel("cb"), insn.Mov.Imm(r3, 0), insn.Call(int32(insn.FnTailCall)),
		insn.Mov.Imm(r0, 0), insn.Exit(),
	}
	re := runErr(t, ErrHelper, nil, is...)
	if !strings.Contains(re.Error(), "tail call inside a callback") || re.PC != 9 {
		t.Errorf("tail call in a callback: %v", re)
	}
}

// A function address load must name a slot in the program; the upper
// half of its immediate is ignored, as the kernel ignores it.
func TestLoadFuncChecks(t *testing.T) {
	up := insn.Instructions{
		insn.Mov.Imm(r1, 3), insn.LoadPseudo(r2, insn.PseudoFunc, 7|5<<32), insn.Mov.Imm(r3, 0), insn.Mov.Imm(r4, 0),
		insn.Call(int32(insn.FnLoop)), insn.Exit(),
		insn.Mov.Imm(r0, 0), insn.Mov.Imm(r0, 0), insn.Mov.Imm(r0, 1), insn.Exit(),
	}
	if got := run(t, nil, up...); got != 1 {
		t.Errorf("upper immediate: %d, want 1 (the callback at slot 9 stops at once)", got)
	}
	for _, is := range []insn.Instructions{
		{insn.LoadPseudo(r1, insn.PseudoFunc, 100), insn.Exit()},
		{insn.LoadPseudo(r1, insn.PseudoFunc, 0), insn.Exit()}, // the second slot of itself
	} {
		var le *LoadError
		if _, err := New(&prog.Spec{Name: "t", Instructions: is}, nil); !errors.As(err, &le) || !errors.Is(err, ErrLoad) {
			t.Errorf("%s: %v", is, err)
		}
	}
}

// forEachProgram is bpf_for_each_map_elem(&m, cb, &sum, 0) returning
// (sum << 8) | the result; cb adds value*3 + key to sum, doubles the
// value, deletes keys divisible by 3 and stops at key stop.
func forEachProgram(stop int32) insn.Instructions {
	return insn.Instructions{
		insn.StoreImm(r10, -8, 0, insn.DW),
		insn.LoadMapPtr(r1, "m"),
		loadFunc(r2, "cb"),
		insn.Mov.Reg(r3, r10),
		insn.Add.Imm(r3, -8),
		insn.Mov.Imm(r4, 0),
		insn.Call(int32(insn.FnForEachMapElem)),
		insn.LoadMem(r1, r10, -8, insn.DW),
		insn.LSh.Imm(r1, 8),
		insn.Or.Reg(r0, r1),
		insn.Exit(),
		// cb(map r1, key r2, value r3, ctx r4)
		insn.Mov.Reg(r6, r1).WithLabel("cb"),
		insn.Mov.Reg(r7, r2),
		insn.LoadMem(r5, r3, 0, insn.DW),
		insn.Mul.Imm(r5, 3),
		insn.LoadMem(r0, r2, 0, insn.W),
		insn.Add.Reg(r5, r0),
		insn.LoadMem(r0, r4, 0, insn.DW),
		insn.Add.Reg(r0, r5),
		insn.StoreMem(r4, 0, r0, insn.DW),
		insn.LoadMem(r5, r3, 0, insn.DW),
		insn.LSh.Imm(r5, 1),
		insn.StoreMem(r3, 0, r5, insn.DW),
		insn.LoadMem(r8, r2, 0, insn.W),
		insn.Mov.Reg(r0, r8),
		insn.Mod.Imm(r0, 3),
		insn.JNE.Imm(r0, 0, "keep"),
		insn.Mov.Reg(r1, r6),
		insn.Mov.Reg(r2, r7),
		insn.Call(int32(insn.FnMapDeleteElem)),
		insn.Mov.Imm(r0, 0).WithLabel("keep"),
		insn.JNE.Imm(r8, stop, "out"),
		insn.Mov.Imm(r0, 1),
		insn.Exit().WithLabel("out"),
	}
}

func TestForEachMapElem(t *testing.T) {
	for _, typ := range []prog.MapType{prog.Hash, prog.Array, prog.LRUHash} {
		for _, stop := range []int32{-1, 4} {
			ms := []*prog.MapSpec{{Name: "m", Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 8}}
			vm := specVM(t, 0, ms, nil, forEachProgram(stop)...)
			keys := []uint32{0, 1, 2, 3, 4, 5, 6, 7}
			if typ != prog.Array {
				keys = []uint32{5, 3, 4, 6, 1} // iteration order: insertion
			}
			for _, k := range keys {
				if err := vm.Map("m").Update(k, uint64(k*10), prog.UpdateAny); err != nil {
					t.Fatal(err)
				}
			}
			sum, n := uint64(0), uint64(0)
			left := map[uint32]uint64{}
			for k, key := range keys {
				n++
				sum += uint64(key*10)*3 + uint64(key)
				if key%3 != 0 || typ == prog.Array {
					left[key] = uint64(key * 20)
				}
				if int32(key) == stop {
					for _, rest := range keys[k+1:] {
						left[rest] = uint64(rest * 10)
					}
					break
				}
			}
			got, err := vm.RunMemory(nil)
			if want := sum<<8 | n; err != nil || got != want {
				t.Errorf("%s, stop %d: 0x%x, %v; want 0x%x", typ, stop, got, err, want)
			}
			for k, want := range left {
				var v uint64
				if err := vm.Map("m").Lookup(k, &v); err != nil || v != want {
					t.Errorf("%s, stop %d: key %d = %d, %v; want %d", typ, stop, k, v, err, want)
				}
			}
			if typ != prog.Array {
				var v uint64
				if err := vm.Map("m").Lookup(uint32(3), &v); err == nil {
					t.Errorf("%s: key 3 not deleted", typ)
				}
			}
		}
	}
	// The key is read-only; other map types are a run error; flags -EINVAL.
	ms := []*prog.MapSpec{{Name: "m", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2}}
	is := forEachProgram(-1)
	is[11] = insn.StoreImm(r2, 0, 1, insn.W).WithLabel("cb")
	if _, err := specVM(t, 0, ms, nil, is...).RunMemory(nil); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("store to the key: %v", err)
	}
	is = forEachProgram(-1)
	is[5] = insn.Mov.Imm(r4, 2)
	if got, err := specVM(t, 0, ms, nil, is...).RunMemory(nil); err != nil || got != Errno(syscall.EINVAL) {
		t.Errorf("flags 2: 0x%x, %v", got, err)
	}
	qs := []*prog.MapSpec{{Name: "m", Type: prog.Queue, ValueSize: 8, MaxEntries: 2}}
	if _, err := specVM(t, 0, qs, nil, forEachProgram(-1)...).RunMemory(nil); !errors.Is(err, ErrHelper) || !strings.Contains(err.Error(), "cannot be iterated") {
		t.Errorf("queue: %v", err)
	}
}

// A helper's ErrHalt and an LD_ABS past the packet inside a callback end
// the whole run with their r0; a failed callback leaves the VM usable.
func TestCallbackEndsRun(t *testing.T) {
	reg := DefaultHelpers()
	reg.Register(insn.HelperFunc(9000), func(*Env, uint64, uint64, uint64, uint64, uint64) (uint64, error) { return 77, ErrHalt })
	halt := insn.Instructions{
		insn.Mov.Imm(r1, 5), loadFunc(r2, "cb"), insn.Mov.Imm(r3, 0), insn.Mov.Imm(r4, 0),
		insn.Call(int32(insn.FnLoop)), insn.Mov.Imm(r0, 1), insn.Exit(),
		insn.JEq.Imm(r1, 2, "halt").WithLabel("cb"), insn.Mov.Imm(r0, 0), insn.Exit(),
		insn.Call(9000).WithLabel("halt"), insn.Mov.Imm(r0, 0), insn.Exit(),
	}
	vm := mustVM(t, halt, &Options{Helpers: reg})
	for range 2 {
		if got, st, err := vm.RunMemoryStats(nil); err != nil || got != 77 || st.Instructions != 5+2*3+2 {
			t.Errorf("halt in a callback: %d, %v, %d instructions", got, err, st.Instructions)
		}
	}
	pkt := insn.Instructions{
		insn.Mov.Imm(r1, 5), loadFunc(r2, "cb"), insn.Mov.Imm(r3, 0), insn.Mov.Imm(r4, 0),
		insn.Call(int32(insn.FnLoop)), insn.Mov.Imm(r0, 1), insn.Exit(),
		insn.LoadAbs(100, insn.B).WithLabel("cb"), insn.Mov.Imm(r0, 9), insn.Exit(),
	}
	vm = specVM(t, prog.SocketFilter, nil, nil, pkt...)
	if got, err := vm.RunSocketFilter(make([]byte, 20), nil); err != nil || got != 0 {
		t.Errorf("LD_ABS past the packet in a callback: %d, %v", got, err)
	}
	// A budget error in a callback, then a clean run of the same VM.
	vm = mustVM(t, loopSumProgram(1000, -1, 0), &Options{MaxInstructions: 3000})
	for range 2 {
		if _, err := vm.RunMemory(nil); !errors.Is(err, ErrBudgetExhausted) {
			t.Fatalf("budget: %v", err)
		}
	}
	vm = mustVM(t, loopSumProgram(100, -1, 0), &Options{MaxInstructions: 3000})
	for range 3 {
		if got, err := vm.RunMemory(nil); err != nil || got != loopSumWant(100, -1, 0) {
			t.Errorf("rerun: 0x%x, %v", got, err)
		}
	}
}

// BenchmarkLoopCallback is bpf_loop(1000) with a 6-instruction callback:
// the cost of a callback call is ns/op / 1000 less the instructions.
func BenchmarkLoopCallback(b *testing.B) {
	vm := mustVM(b, loopSumProgram(1000, -1, 0), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vm.RunMemory(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// A Runner's runs of a program with callbacks, failing and not, in turn,
// each give the answer a fresh VM does.
func TestLoopRunner(t *testing.T) {
	vm := mustVM(t, loopSumProgram(50, -1, 0), &Options{MaxInstructions: 200})
	ok := mustVM(t, loopSumProgram(20, 7, 0), &Options{MaxInstructions: 200})
	rf, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	rk, err := ok.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rk.Close()
	for range 3 {
		if _, err := rf.RunMemory(nil); !errors.Is(err, ErrBudgetExhausted) {
			t.Errorf("50 loops in 200 instructions: %v", err)
		}
		if got, err := rk.RunMemory(nil); err != nil || got != loopSumWant(20, 7, 0) {
			t.Errorf("runner: 0x%x, %v", got, err)
		}
	}
}
