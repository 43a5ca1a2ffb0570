package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

func TestLoadsAndStores(t *testing.T) {
	mem := []byte{0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88}
	le := binary.LittleEndian
	cases := []struct {
		name string
		is   insn.Instructions
		want uint64
	}{
		{"ldxb", insn.Instructions{insn.LoadMem(r0, r1, 1, insn.B), insn.Exit()}, 0x82},
		{"ldxh", insn.Instructions{insn.LoadMem(r0, r1, 2, insn.H), insn.Exit()}, uint64(le.Uint16(mem[2:]))},
		{"ldxw", insn.Instructions{insn.LoadMem(r0, r1, 4, insn.W), insn.Exit()}, uint64(le.Uint32(mem[4:]))},
		{"ldxdw", insn.Instructions{insn.LoadMem(r0, r1, 0, insn.DW), insn.Exit()}, le.Uint64(mem)},
		{"ldxsb", insn.Instructions{insn.LoadMemSX(r0, r1, 1, insn.B), insn.Exit()}, uint64(int64(int8(mem[1])))},
		{"ldxsh", insn.Instructions{insn.LoadMemSX(r0, r1, 2, insn.H), insn.Exit()}, uint64(int64(int16(le.Uint16(mem[2:]))))},
		{"ldxsw", insn.Instructions{insn.LoadMemSX(r0, r1, 4, insn.W), insn.Exit()}, uint64(int64(int32(le.Uint32(mem[4:]))))},
		{"stdw imm sign-extends", insn.Instructions{insn.StoreImm(r10, -8, -2, insn.DW), insn.LoadMem(r0, r10, -8, insn.DW), insn.Exit()}, ^uint64(1)},
		{"stb truncates", insn.Instructions{insn.StoreImm(r10, -8, 0, insn.DW), insn.StoreImm(r10, -8, 0x1ff, insn.B), insn.LoadMem(r0, r10, -8, insn.DW), insn.Exit()}, 0xff},
		{"stxh", insn.Instructions{insn.StoreImm(r10, -8, 0, insn.DW), insn.Mov.Imm(r2, 0x12345), insn.StoreMem(r10, -8, r2, insn.H), insn.LoadMem(r0, r10, -8, insn.DW), insn.Exit()}, 0x2345},
		{"stxw into mem", insn.Instructions{insn.Mov.Imm(r2, -1), insn.StoreMem(r1, 0, r2, insn.W), insn.LoadMem(r0, r1, 0, insn.DW), insn.Exit()}, le.Uint64(mem) | 0xffffffff},
		{"load-acquire", insn.Instructions{insn.LoadAcquire(r0, r1, 0, insn.W), insn.Exit()}, uint64(le.Uint32(mem))},
		{"store-release", insn.Instructions{insn.Mov.Imm(r2, 7), insn.StoreRelease(r10, -8, r2, insn.DW), insn.LoadMem(r0, r10, -8, insn.DW), insn.Exit()}, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := append([]byte(nil), mem...)
			if got := run(t, m, c.is...); got != c.want {
				t.Errorf("r0 = %#x, want %#x", got, c.want)
			}
		})
	}
}

func TestAtomics(t *testing.T) {
	const init64 = 0x0123456789abcdef
	type tc struct {
		op     insn.AtomicOp
		size   insn.Size
		src    uint64
		r0     uint64
		mem    uint64 // expected memory afterwards
		srcOut uint64 // expected src afterwards
		r0Out  uint64
	}
	w := func(v uint64) uint64 { return v & 0xffffffff }
	cases := []tc{
		{insn.AtomicAdd, insn.DW, 1, 0, init64 + 1, 1, 0},
		{insn.AtomicFetchAdd, insn.DW, 1, 0, init64 + 1, init64, 0},
		{insn.AtomicOr, insn.DW, 0xf0, 0, init64 | 0xf0, 0xf0, 0},
		{insn.AtomicFetchOr, insn.DW, 0xf0, 0, init64 | 0xf0, init64, 0},
		{insn.AtomicAnd, insn.DW, 0xff, 0, init64 & 0xff, 0xff, 0},
		{insn.AtomicFetchAnd, insn.DW, 0xff, 0, init64 & 0xff, init64, 0},
		{insn.AtomicXor, insn.DW, 0xff, 0, init64 ^ 0xff, 0xff, 0},
		{insn.AtomicFetchXor, insn.DW, 0xff, 0, init64 ^ 0xff, init64, 0},
		{insn.AtomicXchg, insn.DW, 42, 0, 42, init64, 0},
		{insn.AtomicCmpXchg, insn.DW, 42, init64, 42, 42, init64},
		{insn.AtomicCmpXchg, insn.DW, 42, 5, init64, 42, init64},
		// 32-bit: only the low word changes; fetched values zero-extend.
		{insn.AtomicAdd, insn.W, 1, 0, init64&^0xffffffff | w(init64+1), 1, 0},
		{insn.AtomicFetchAdd, insn.W, 1, 0, init64&^0xffffffff | w(init64+1), w(init64), 0},
		{insn.AtomicFetchOr, insn.W, 0x10, 0, init64 | 0x10, w(init64), 0},
		{insn.AtomicFetchAnd, insn.W, 0xf, 0, init64&^0xffffffff | w(init64)&0xf, w(init64), 0},
		{insn.AtomicFetchXor, insn.W, 0xf, 0, init64 ^ 0xf, w(init64), 0},
		{insn.AtomicXchg, insn.W, 0xffffffff_00000007, 0, init64&^0xffffffff | 7, w(init64), 0},
		// cmpxchg32 compares the low half of r0 and zero-extends r0.
		{insn.AtomicCmpXchg, insn.W, 9, 0xdead_0000_0000 | w(init64), init64&^0xffffffff | 9, 9, w(init64)},
		{insn.AtomicCmpXchg, insn.W, 9, 1, init64, 9, w(init64)},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%#x/%d/%#x", int32(c.op), c.size.Bytes(), c.r0), func(t *testing.T) {
			is := insn.Instructions{
				insn.LoadImm64(r2, init64), insn.StoreMem(r10, -8, r2, insn.DW),
				insn.LoadImm64(r3, int64(c.src)), insn.LoadImm64(r0, int64(c.r0)),
				insn.Atomic(c.op, c.size, r10, -8, r3),
				insn.StoreMem(r1, 0, r0, insn.DW), insn.StoreMem(r1, 8, r3, insn.DW),
				insn.LoadMem(r0, r10, -8, insn.DW), insn.Exit(),
			}
			out := make([]byte, 16)
			got := run(t, out, is...)
			if got != c.mem {
				t.Errorf("memory = %#x, want %#x", got, c.mem)
			}
			if s := binary.LittleEndian.Uint64(out[8:]); s != c.srcOut {
				t.Errorf("src = %#x, want %#x", s, c.srcOut)
			}
			if r := binary.LittleEndian.Uint64(out); r != c.r0Out && (c.op == insn.AtomicCmpXchg) {
				t.Errorf("r0 = %#x, want %#x", r, c.r0Out)
			}
		})
	}
	re := runErr(t, ErrMemoryAccess, nil, insn.Mov.Imm(r2, 1), insn.Atomic(insn.AtomicAdd, insn.DW, r10, -15, r2), insn.Mov.Imm(r0, 0), insn.Exit())
	if !strings.Contains(re.Error(), "misaligned") || re.PC != 1 {
		t.Errorf("misaligned atomic: %v", re)
	}
}

func TestOutOfBounds(t *testing.T) {
	mem := make([]byte, 16)
	addr := addrOf(mem)
	cases := []struct {
		name string
		is   insn.Instructions
		pc   int
		msg  string
	}{
		{"load past mem", insn.Instructions{insn.LoadMem(r0, r1, 9, insn.DW), insn.Exit()}, 0, fmt.Sprintf("interp: pc 0: memory access violation: out-of-bounds load of 8 bytes at %#x", addr+9)},
		{"load before mem", insn.Instructions{insn.LoadMem(r0, r1, -1, insn.B), insn.Exit()}, 0, fmt.Sprintf("out-of-bounds load of 1 bytes at %#x", addr-1)},
		{"store past mem", insn.Instructions{insn.Mov.Imm(r0, 0), insn.StoreImm(r1, 16, 1, insn.B), insn.Exit()}, 1, fmt.Sprintf("out-of-bounds store of 1 bytes at %#x", addr+16)},
		{"null", insn.Instructions{insn.Mov.Imm(r1, 0), insn.LoadMem(r0, r1, 0, insn.W), insn.Exit()}, 1, "out-of-bounds load of 4 bytes at 0x0"},
		{"above stack top", insn.Instructions{insn.LoadMem(r0, r10, 0, insn.B), insn.Exit()}, 0, "out-of-bounds load"},
		{"straddles stack top", insn.Instructions{insn.LoadMem(r0, r10, -4, insn.DW), insn.Exit()}, 0, "out-of-bounds load of 8"},
		{"below frame", insn.Instructions{insn.LoadMem(r0, r10, -513, insn.B), insn.Exit()}, 0, "out-of-bounds load of 1"},
		{"atomic outside", insn.Instructions{insn.Mov.Imm(r2, 1), insn.Atomic(insn.AtomicAdd, insn.DW, r10, 8, r2), insn.Exit()}, 1, "out-of-bounds store of 8"},
		{"wraparound", insn.Instructions{insn.LoadImm64(r1, -1), insn.LoadMem(r0, r1, 0, insn.DW), insn.Exit()}, 2, "out-of-bounds load of 8 bytes at 0xffffffffffffffff"},
		{"map handle", insn.Instructions{insn.LoadImm64(r1, int64(MapHandle(0))), insn.LoadMem(r0, r1, 0, insn.B), insn.Exit()}, 2, "out-of-bounds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := mustVM(t, c.is, nil).RunMemory(mem)
			var re *RunError
			if !errors.As(err, &re) || !errors.Is(err, ErrMemoryAccess) {
				t.Fatalf("err = %v, want a *RunError wrapping ErrMemoryAccess", err)
			}
			if re.PC != c.pc || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err = %q (pc %d), want pc %d and %q", err, re.PC, c.pc, c.msg)
			}
		})
	}
	// The lowest byte of the frame and the last byte of mem are fine.
	if got := run(t, mem, insn.StoreImm(r10, -512, 3, insn.B), insn.LoadMem(r0, r10, -512, insn.B), insn.StoreImm(r1, 15, 4, insn.B), insn.LoadMem(r2, r1, 15, insn.B), insn.Add.Reg(r0, r2), insn.Exit()); got != 7 {
		t.Errorf("edge accesses: r0 = %d, want 7", got)
	}
}

func TestBudget(t *testing.T) {
	is := insn.Instructions{insn.Mov.Imm(r0, 0), insn.Add.Imm(r0, 1).WithLabel("loop"), insn.Ja("loop")}
	vm := mustVM(t, is, &Options{MaxInstructions: 1000})
	_, err := vm.RunMemory(nil)
	var re *RunError
	if !errors.Is(err, ErrBudgetExhausted) || !errors.As(err, &re) {
		t.Fatalf("err = %v, want ErrBudgetExhausted", err)
	}
	// Instruction 1 is the mov, then even ones are adds (pc 1) and odd
	// ones jumps (pc 2): the 1001st, which exceeds the budget, is a ja.
	if re.PC != 2 {
		t.Errorf("pc = %d, want 2", re.PC)
	}
	// Exactly the budget is fine.
	vm = mustVM(t, insn.Instructions{insn.Mov.Imm(r0, 1), insn.Mov.Imm(r0, 2), insn.Exit()}, &Options{MaxInstructions: 3})
	if r0, err := vm.RunMemory(nil); err != nil || r0 != 2 {
		t.Errorf("budget 3 for 3 instructions: %d, %v", r0, err)
	}
	_, st, _ := vm.RunMemoryStats(nil)
	if st.Instructions != 3 {
		t.Errorf("Stats.Instructions = %d, want 3", st.Instructions)
	}
}

func TestLocalCalls(t *testing.T) {
	// main sets r6..r9, calls f, which clobbers them and writes its own
	// frame; main checks they survived and that its frame did too.
	is := insn.Instructions{
		insn.Mov.Imm(r6, 6), insn.Mov.Imm(r7, 7), insn.Mov.Imm(r8, 8), insn.Mov.Imm(r9, 9),
		insn.StoreImm(r10, -8, 100, insn.DW),
		insn.Mov.Reg(r1, r10),
		insn.Mov.Imm(r2, 5),
		insn.CallLocal("f"),
		// r0 = f's result + r6+r7+r8+r9 + our stack slot
		insn.Add.Reg(r0, r6), insn.Add.Reg(r0, r7), insn.Add.Reg(r0, r8), insn.Add.Reg(r0, r9),
		insn.LoadMem(r2, r10, -8, insn.DW), insn.Add.Reg(r0, r2),
		insn.Exit(),
		// f: fresh zeroed frame, r10 512 below the caller's, caller's
		// frame readable through the pointer passed in r1.
		insn.Mov.Imm(r6, 0).WithLabel("f"), insn.Mov.Imm(r7, 0), insn.Mov.Imm(r8, 0), insn.Mov.Imm(r9, 0),
		insn.LoadMem(r0, r10, -8, insn.DW),          // 0: fresh frame
		insn.Mov.Reg(r3, r1), insn.Sub.Reg(r3, r10), // caller r10 - our r10 = 512
		insn.Add.Reg(r0, r3),
		insn.LoadMem(r4, r1, -8, insn.DW), // caller's 100
		insn.Add.Reg(r0, r4),
		insn.Add.Reg(r0, r2),
		insn.StoreImm(r10, -8, 55, insn.DW),
		insn.Exit(),
	}
	want := uint64(0 + 512 + 100 + 5 + 6 + 7 + 8 + 9 + 100)
	if got := run(t, nil, is...); got != want {
		t.Errorf("r0 = %d, want %d", got, want)
	}
}

// chain returns a program whose main function calls f1, f1 calls f2, ...,
// down to depth frames in all.
func chain(depth int) insn.Instructions {
	var is insn.Instructions
	for k := 1; k < depth; k++ {
		i := insn.CallLocal(fmt.Sprintf("f%d", k))
		if k > 1 {
			i = i.WithLabel(fmt.Sprintf("f%d", k-1))
		}
		is = append(is, i, insn.Add.Imm(r0, 1), insn.Exit())
	}
	last := insn.Mov.Imm(r0, 0)
	if depth > 1 {
		last = last.WithLabel(fmt.Sprintf("f%d", depth-1))
	}
	return append(is, last, insn.Exit())
}

func TestCallDepth(t *testing.T) {
	if got := run(t, nil, chain(MaxCallFrames)...); got != MaxCallFrames-1 {
		t.Errorf("%d frames: r0 = %d, want %d", MaxCallFrames, got, MaxCallFrames-1)
	}
	re := runErr(t, ErrCallDepth, nil, chain(MaxCallFrames+1)...)
	if re.PC != 3*(MaxCallFrames-1) {
		t.Errorf("pc = %d, want %d (the 8th call)", re.PC, 3*(MaxCallFrames-1))
	}
	// Recursion without end hits the limit, not the budget.
	runErr(t, ErrCallDepth, nil, insn.CallLocal("self").WithLabel("self"), insn.Exit())
}

func TestMayGoto(t *testing.T) {
	// Count how often may_goto falls through before it jumps.
	is := insn.Instructions{
		insn.Mov.Imm(r0, 0),
		insn.MayGoto("out").WithLabel("loop"),
		insn.Add.Imm(r0, 1),
		insn.Ja("loop"),
		insn.Exit().WithLabel("out"),
	}
	if got := run(t, nil, is...); got != MaxLoops {
		t.Errorf("may_goto fell through %d times, want %d", got, MaxLoops)
	}
	// Each frame has its own allowance: a callee's loop does not use the
	// caller's.
	is2 := insn.Instructions{
		insn.Mov.Imm(r6, 0),
		insn.MayGoto("call").WithLabel("loop"),
		insn.Add.Imm(r6, 1),
		insn.Ja("loop"),
		insn.CallLocal("f").WithLabel("call"),
		insn.Add.Reg(r0, r6),
		insn.Exit(),
		insn.Mov.Imm(r0, 0).WithLabel("f"),
		insn.MayGoto("fout").WithLabel("floop"),
		insn.Add.Imm(r0, 1),
		insn.Ja("floop"),
		insn.Exit().WithLabel("fout"),
	}
	if got := run(t, nil, is2...); got != 2*MaxLoops {
		t.Errorf("caller + callee fall-throughs = %d, want %d", got, 2*MaxLoops)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		spec *prog.Spec
		slot int
		want error
		msg  string
	}{
		{"kfunc", &prog.Spec{Instructions: insn.Instructions{insn.CallBTF(1234), insn.Exit()}}, 0, ErrLoad, "kfunc with BTF id 1234"},
		{"unknown helper", &prog.Spec{Instructions: insn.Instructions{insn.Call(9999), insn.Exit()}}, 0, ErrUnknownHelper, "unknown helper 9999"},
		{"missing exit", &prog.Spec{Instructions: insn.Instructions{insn.Mov.Imm(r0, 0)}}, 0, ErrLoad, "must be exit"},
		{"conditional last", &prog.Spec{Instructions: insn.Instructions{insn.Mov.Imm(r0, 0).WithLabel("a"), insn.JEq.Imm(r0, 0, "a")}}, 1, ErrLoad, "must be exit"},
		{"jump out of range", &prog.Spec{Instructions: insn.Instructions{{OpCode: insn.OpJa, Offset: 5}, insn.Exit()}}, 0, insn.ErrJumpOutOfRange, "jump out of range"},
		{"bad opcode", &prog.Spec{Instructions: insn.Instructions{{OpCode: 0xff}, insn.Exit()}}, 0, insn.ErrUnknownOpcode, "unknown opcode"},
		{"ld_abs in kprobe", &prog.Spec{Type: prog.Kprobe, Instructions: insn.Instructions{insn.LoadAbs(0, insn.B), insn.Exit()}}, 0, ErrContext, "socket filter"},
		{"ld_abs in xdp", &prog.Spec{Type: prog.XDP, Instructions: insn.Instructions{insn.LoadAbs(0, insn.B), insn.Exit()}}, 0, ErrContext, "socket filter"},
		{"unsupported type", &prog.Spec{Type: prog.CgroupSKB, Instructions: insn.Instructions{insn.Exit()}}, -1, ErrContext, "cgroup_skb"},
		{"empty", &prog.Spec{}, -1, ErrLoad, "no instructions"},
		{"unknown map", &prog.Spec{Instructions: insn.Instructions{insn.LoadMapPtr(r1, "m"), insn.Exit()}}, 0, ErrLoad, `map "m"`},
		{"lddw btf id", &prog.Spec{Instructions: insn.Instructions{insn.LoadPseudo(r1, insn.PseudoBTFID, 5), insn.Exit()}}, 0, ErrLoad, "BTF id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.spec, nil)
			var le *LoadError
			if !errors.As(err, &le) || !errors.Is(err, ErrLoad) || !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want a *LoadError wrapping %v", err, c.want)
			}
			if le.Slot != c.slot || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err = %q (slot %d), want slot %d and %q", err, le.Slot, c.slot, c.msg)
			}
		})
	}
	if _, err := Load([]byte{1, 2, 3}, nil); !errors.Is(err, ErrLoad) || !errors.Is(err, insn.ErrTruncated) {
		t.Errorf("Load of 3 bytes: %v", err)
	}
	if _, err := New(nil, nil); !errors.Is(err, ErrLoad) {
		t.Errorf("New(nil): %v", err)
	}
}

func TestContextMismatch(t *testing.T) {
	vm := mustVM(t, insn.Instructions{insn.Mov.Imm(r0, 0), insn.Exit()}, nil)
	if _, err := vm.RunSocketFilter(nil, nil); !errors.Is(err, ErrContext) {
		t.Errorf("RunSocketFilter on a raw program: %v", err)
	}
	if _, err := vm.RunKprobe(nil); !errors.Is(err, ErrContext) {
		t.Errorf("RunKprobe on a raw program: %v", err)
	}
}
