//go:build amd64 && unix

package jit

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestALUEdgeCases checks the rules x86 does not give for free, against
// values computed by hand from RFC 9669.
func TestALUEdgeCases(t *testing.T) {
	const minI64 = math.MinInt64
	cases := []struct {
		name string
		is   Instructions
		want uint64
	}{
		{"div64 by zero reg", Instructions{Mov.Imm(R0, 7), Mov.Imm(R1, 0), Div.Reg(R0, R1), Exit()}, 0},
		{"div32 by zero imm", Instructions{Mov.Imm(R0, 7), Div.Imm32(R0, 0), Exit()}, 0},
		{"mod64 by zero keeps dst", Instructions{LoadImm64(R3, -5), Mov.Imm(R1, 0), Mod.Reg(R3, R1), Mov.Reg(R0, R3), Exit()}, uint64(1<<64 - 5)},
		{"mod32 by zero truncates", Instructions{LoadImm64(R3, 0x1_0000_0009), Mov.Imm(R1, 0), Mod.Reg32(R3, R1), Mov.Reg(R0, R3), Exit()}, 9},
		{"mod32 by zero divisor high bits ignored", Instructions{LoadImm64(R3, 0x1_0000_0009), LoadImm64(R1, 0x1_0000_0000), Mod.Reg32(R3, R1), Mov.Reg(R0, R3), Exit()}, 9},
		{"sdiv64 INT_MIN/-1", Instructions{LoadImm64(R4, minI64), Mov.Imm(R1, -1), SDiv.Reg(R4, R1), Mov.Reg(R0, R4), Exit()}, 1 << 63},
		{"smod64 INT_MIN%-1", Instructions{LoadImm64(R4, minI64), SMod.Imm(R4, -1), Mov.Reg(R0, R4), Exit()}, 0},
		{"sdiv32 INT_MIN/-1", Instructions{Mov.Imm32(R0, math.MinInt32), SDiv.Imm32(R0, -1), Exit()}, 0x8000_0000},
		{"sdiv64 -7/2", Instructions{Mov.Imm(R9, -7), SDiv.Imm(R9, 2), Mov.Reg(R0, R9), Exit()}, uint64(1<<64 - 3)},
		{"smod32 -7%2", Instructions{Mov.Imm(R0, -7), SMod.Imm32(R0, 2), Exit()}, 0xffff_ffff},
		{"div keeps r0 when dst is not r0", Instructions{Mov.Imm(R0, 42), Mov.Imm(R2, 100), Mov.Imm(R3, 7), Div.Reg(R2, R3), Add.Reg(R0, R2), Exit()}, 42 + 14},
		{"mod of r0 by r0", Instructions{Mov.Imm(R0, 9), Mod.Reg(R0, R0), Exit()}, 0},
		{"lsh64 count masked", Instructions{Mov.Imm(R0, 1), Mov.Imm(R1, 65), LSh.Reg(R0, R1), Exit()}, 2},
		{"lsh32 count masked", Instructions{Mov.Imm(R0, 1), Mov.Imm(R1, 33), LSh.Reg32(R0, R1), Exit()}, 2},
		{"rsh32 by 0 zero-extends", Instructions{LoadImm64(R0, -1), Mov.Imm(R1, 32), RSh.Reg32(R0, R1), Exit()}, 0xffff_ffff},
		{"arsh32 imm by 0 zero-extends", Instructions{LoadImm64(R0, -1), ArSh.Imm32(R0, 0), Exit()}, 0xffff_ffff},
		{"arsh64", Instructions{Mov.Imm(R0, -16), ArSh.Imm(R0, 2), Exit()}, uint64(1<<64 - 4)},
		{"arsh32 sign", Instructions{Mov.Imm32(R0, -16), ArSh.Imm32(R0, 2), Exit()}, 0xffff_fffc},
		{"add32 zero-extends", Instructions{LoadImm64(R0, -1), Add.Imm32(R0, 1), Exit()}, 0},
		{"mov32 reg zero-extends", Instructions{LoadImm64(R5, -1), Mov.Reg32(R5, R5), Mov.Reg(R0, R5), Exit()}, 0xffff_ffff},
		{"mov64 imm sign-extends", Instructions{Mov.Imm(R0, -1), Exit()}, math.MaxUint64},
		{"mov32 imm does not", Instructions{Mov.Imm32(R0, -1), Exit()}, 0xffff_ffff},
		{"movsx8 64", Instructions{Mov.Imm(R1, 0x180), MovSX8.Reg(R0, R1), Exit()}, uint64(1<<64 - 0x80)},
		{"movsx16 32", Instructions{Mov.Imm(R6, 0x8000), MovSX16.Reg32(R0, R6), Exit()}, 0xffff_8000},
		{"movsx32 64", Instructions{Mov.Imm32(R7, -2), MovSX32.Reg(R0, R7), Exit()}, uint64(1<<64 - 2)},
		{"neg32", Instructions{Mov.Imm(R0, 1), Neg32(R0), Exit()}, 0xffff_ffff},
		{"be16", Instructions{LoadImm64(R0, 0x1122334455667788), ToBE(R0, 16), Exit()}, 0x8877},
		{"be32", Instructions{LoadImm64(R0, 0x1122334455667788), ToBE(R0, 32), Exit()}, 0x88776655},
		{"be64", Instructions{LoadImm64(R0, 0x1122334455667788), ToBE(R0, 64), Exit()}, 0x8877665544332211},
		{"le16", Instructions{LoadImm64(R0, 0x1122334455667788), ToLE(R0, 16), Exit()}, 0x7788},
		{"le32", Instructions{LoadImm64(R0, 0x1122334455667788), ToLE(R0, 32), Exit()}, 0x55667788},
		{"bswap16 r13-mapped r7", Instructions{LoadImm64(R7, 0x1122334455667788), BSwap(R7, 16), Mov.Reg(R0, R7), Exit()}, 0x8877},
		{"mul32 wraps", Instructions{Mov.Imm32(R0, 0x10000), Mul.Imm32(R0, 0x10001), Exit()}, 0x10000},
		{"jset32 ignores high bits", Instructions{LoadImm64(R1, 0x1_0000_0000), Mov.Imm(R0, 1), JSet.Imm32(R1, -1, "out"), Mov.Imm(R0, 2), Exit().WithLabel("out")}, 2},
		{"jsgt64 imm sign-extends", Instructions{Mov.Imm(R1, -1), Mov.Imm(R0, 1), JSGT.Imm(R1, -2, "out"), Mov.Imm(R0, 2), Exit().WithLabel("out")}, 1},
		{"jgt64 imm unsigned", Instructions{Mov.Imm(R1, 5), Mov.Imm(R0, 1), JGT.Imm(R1, -2, "out"), Mov.Imm(R0, 2), Exit().WithLabel("out")}, 2},
	}
	for _, c := range cases {
		got, err := runBoth(t, c.is, nil, nil)
		if err != nil || got != c.want {
			t.Errorf("%s: got %#x, %v; want %#x", c.name, got, err, c.want)
		}
	}
}

// TestMemoryErrors checks that out-of-region accesses fail with interp's
// exact error, naming the pc, in checked mode, and that the memory is left
// as interp leaves it.
func TestMemoryErrors(t *testing.T) {
	mem := make([]byte, 16)
	cases := []struct {
		name string
		is   Instructions
	}{
		{"load past memory", Instructions{LoadMem(R0, R1, 16, B), Exit()}},
		{"load straddling end", Instructions{LoadMem(R0, R1, 12, DW), Exit()}},
		{"store before memory", Instructions{StoreImm(R1, -1, 1, B), Exit()}},
		{"load below stack", Instructions{LoadMem(R0, R10, -520, DW), Exit()}},
		{"store above stack", Instructions{Mov.Reg(R2, R10), StoreMem(R2, 0, R1, W), Exit()}},
		{"null", Instructions{Mov.Imm(R3, 0), LoadMem(R0, R3, 0, H), Exit()}},
		{"map handle", Instructions{LoadImm64(R3, int64(engine.MapHandle(0))), LoadMem(R0, R3, 0, DW), Exit()}},
		{"atomic misaligned", Instructions{Mov.Imm(R2, 1), Atomic(AtomicAdd, DW, R1, 4, R2), Exit()}},
		{"atomic out of bounds", Instructions{Mov.Imm(R2, 1), Atomic(AtomicFetchAdd, W, R1, 16, R2), Exit()}},
		{"store-release past end", Instructions{StoreRelease(R1, 15, R1, H), Exit()}},
		{"second access fails", Instructions{StoreImm(R1, 0, 7, DW), LoadMem(R0, R1, 8, DW), LoadMem(R0, R1, 9, DW), Exit()}},
	}
	for _, c := range cases {
		_, err := runBoth(t, c.is, mem, nil)
		var re *interp.RunError
		if !errors.Is(err, interp.ErrMemoryAccess) || !errors.As(err, &re) {
			t.Errorf("%s: err = %v, want a RunError wrapping ErrMemoryAccess", c.name, err)
		}
	}
}

// TestMemoryAccess covers loads, stores and atomics that must succeed,
// including through r12/r13-mapped registers and pointers into the stack.
func TestMemoryAccess(t *testing.T) {
	mem := make([]byte, 32)
	binary.LittleEndian.PutUint64(mem, 0x8877665544332211)
	is := Instructions{
		Mov.Reg(R6, R1), Mov.Reg(R7, R10),
		LoadMem(R2, R6, 0, DW),
		StoreMem(R7, -8, R2, DW),
		LoadMemSX(R3, R7, -1, B), // 0x88 sign-extended
		LoadMemSX(R4, R7, -2, H), // 0x8877
		LoadMemSX(R5, R7, -4, W),
		Add.Reg(R3, R4), Add.Reg(R3, R5),
		StoreMem(R6, 8, R3, DW),
		Mov.Imm(R8, 5),
		Atomic(AtomicFetchAdd, DW, R6, 16, R8), // r8 = 0
		Atomic(AtomicFetchOr, W, R6, 16, R8),   // r8 = 5, [16] = 5
		Mov.Imm(R0, 5),
		Mov.Imm(R9, 9),
		Atomic(AtomicCmpXchg, W, R6, 16, R9), // [16] = 9, r0 = 5
		Atomic(AtomicXchg, DW, R7, -16, R9),  // stack
		Atomic(AtomicFetchXor, DW, R6, 24, R0),
		Atomic(AtomicAnd, W, R6, 20, R0),
		Atomic(AtomicFetchAnd, W, R6, 0, R0), // r0 is src of a fetch op
		Add.Reg(R0, R8),
		Exit(),
	}
	// Hand-computed: r3 = -0x78 + -0x7789 + int32(0x88776655), r0 = old
	// low word 0x44332211 + r8 (5).
	got, err := runBoth(t, is, mem, nil)
	if err != nil || got != 0x44332211+5 {
		t.Errorf("got %#x, %v", got, err)
	}
}

// TestLocalCalls checks frames: r6-r9 survive, r10 moves, each frame is
// zeroed, and the depth limit fails like interp.
func TestLocalCalls(t *testing.T) {
	is := Instructions{
		Mov.Imm(R6, 6), Mov.Imm(R1, 3),
		StoreImm(R10, -8, 77, DW),
		CallLocal("f"),
		LoadMem(R1, R10, -8, DW), // still 77
		Add.Reg(R0, R1),
		Add.Reg(R0, R6),
		Exit(),
		// f(n): returns n + f(n-1) with its own stack slot, zero at entry.
		LoadMem(R0, R10, -8, DW).WithLabel("f"),
		JNE.Imm(R0, 0, "bad"),
		StoreMem(R10, -8, R1, DW),
		Mov.Imm(R6, 100),
		JEq.Imm(R1, 0, "ret"),
		Sub.Imm(R1, 1),
		CallLocal("f"),
		LoadMem(R1, R10, -8, DW),
		Add.Reg(R0, R1),
		Exit(),
		Mov.Imm(R0, 0).WithLabel("ret"),
		Exit(),
		Mov.Imm(R0, 1000).WithLabel("bad"),
		Exit(),
	}
	got, err := runBoth(t, is, nil, nil)
	if err != nil || got != 3+2+1+77+6 {
		t.Errorf("got %d, %v", got, err)
	}
	deep := Instructions{
		Mov.Imm(R1, 20), CallLocal("g"), Exit(),
		Sub.Imm(R1, 1).WithLabel("g"), JEq.Imm(R1, 0, "out"), CallLocal("g"),
		Mov.Imm(R0, 1).WithLabel("out"), Exit(),
	}
	_, err = runBoth(t, deep, nil, nil)
	if !errors.Is(err, interp.ErrCallDepth) {
		t.Errorf("deep recursion: %v, want ErrCallDepth", err)
	}
}

// TestBudget checks that an endless loop stops with ErrBudgetExhausted in
// both modes and that may_goto exits loops as in interp.
func TestBudget(t *testing.T) {
	loop := Instructions{Mov.Imm(R0, 0), Add.Imm(R0, 1).WithLabel("l"), Ja("l"), Exit()}
	for _, unchecked := range []bool{false, true} {
		vm, err := New(&prog.Spec{Type: prog.UnspecifiedProgram, Instructions: loop}, &Options{Interp: &interp.Options{MaxInstructions: 10000}, Unchecked: unchecked})
		if err != nil {
			t.Fatal(err)
		}
		_, err = vm.RunMemory(nil)
		vm.Close()
		if !errors.Is(err, interp.ErrBudgetExhausted) {
			t.Errorf("unchecked=%v: %v, want ErrBudgetExhausted", unchecked, err)
		}
	}
	mayGoto := Instructions{Mov.Imm(R0, 0), MayGoto("out").WithLabel("l"), Add.Imm(R0, 1), Ja("l"), Exit().WithLabel("out")}
	got, err := runBoth(t, mayGoto, nil, &interp.Options{MaxInstructions: 1 << 30})
	if err != nil || got != maxLoops {
		t.Errorf("may_goto: %d, %v; want %d", got, err, maxLoops)
	}
}

// TestHelpersAndMaps runs helper calls, map lookups (which add regions the
// code then accesses directly) and map value loads.
func TestHelpersAndMaps(t *testing.T) {
	spec := &prog.Spec{
		Name: "maps", Type: prog.UnspecifiedProgram,
		Maps: []*prog.MapSpec{
			{Name: "h", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4},
			{Name: "a", Type: prog.Array, KeySize: 4, ValueSize: 16, MaxEntries: 1},
		},
		Instructions: Instructions{
			StoreImm(R10, -4, 1, W),
			StoreImm(R10, -16, 40, DW),
			LoadMapPtr(R1, "h"), Mov.Reg(R2, R10), Add.Imm(R2, -4), Mov.Reg(R3, R10), Add.Imm(R3, -16), Mov.Imm(R4, 0),
			Call(int32(FnMapUpdateElem)),
			LoadMapPtr(R1, "h"), Mov.Reg(R2, R10), Add.Imm(R2, -4),
			Call(int32(FnMapLookupElem)),
			JEq.Imm(R0, 0, "none"),
			Mov.Imm(R1, 2),
			Atomic(AtomicAdd, DW, R0, 0, R1), // value is now 42
			LoadMem(R6, R0, 0, DW),
			LoadMapValue(R7, "a", 8),
			StoreMem(R7, 0, R6, DW),
			LoadMem(R0, R7, 0, DW),
			LoadMem(R1, R7, 0x3000, B), // far past the value: error
			Exit(),
			Mov.Imm(R0, 1).WithLabel("none"),
			Exit(),
		},
	}
	ivm, err := interp.New(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := ivm.RunMemory(nil)
	vm, err := New(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	_, gerr := vm.RunMemory(nil)
	if normErr(gerr, nil) != normErr(werr, nil) || !errors.Is(gerr, interp.ErrMemoryAccess) {
		t.Errorf("jit: %v\ninterp: %v", gerr, werr)
	}
	var v [16]byte
	if err := vm.Map("a").Lookup(uint32(0), &v); err != nil || binary.LittleEndian.Uint64(v[8:]) != 42 {
		t.Errorf("array value % x, %v; want 42 at 8", v, err)
	}
}
