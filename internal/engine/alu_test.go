package engine

import (
	"math/bits"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

func TestALUSemantics(t *testing.T) {
	var big uint64 = 0xfedcba9876543210
	bigI := int64(big)
	cases := []struct {
		name string
		is   insn.Instructions
		want uint64
	}{
		{"div64 by zero is 0", bin(insn.Div, false, 77, 0), 0},
		{"div32 by zero is 0", bin(insn.Div, true, 77, 0), 0},
		{"div32 by 1<<32 is by zero", bin(insn.Div, true, 77, 1<<32), 0},
		{"sdiv64 by zero is 0", bin(insn.SDiv, false, 77, 0), 0},
		{"sdiv32 by zero is 0", bin(insn.SDiv, true, 77, 0), 0},
		{"mod64 by zero leaves dst", bin(insn.Mod, false, big, 0), big},
		{"mod32 by zero truncates dst", bin(insn.Mod, true, big, 0), big & 0xffffffff},
		{"smod64 by zero leaves dst", bin(insn.SMod, false, big, 0), big},
		{"smod32 by zero truncates dst", bin(insn.SMod, true, big, 0), big & 0xffffffff},
		{"modK64 by zero leaves dst", binK(insn.Mod, false, big, 0), big},
		{"divK32 by zero", binK(insn.Div, true, big, 0), 0},
		{"INT64_MIN s/ -1", bin(insn.SDiv, false, minI64, ^uint64(0)), minI64},
		{"INT64_MIN s% -1", bin(insn.SMod, false, minI64, ^uint64(0)), 0},
		{"INT32_MIN s/ -1", bin(insn.SDiv, true, 0x80000000, 0xffffffff), 0x80000000},
		{"INT32_MIN s% -1", bin(insn.SMod, true, 0x80000000, 0xffffffff), 0},
		{"sdivK64 INT_MIN/-1", binK(insn.SDiv, false, minI64, -1), minI64},
		{"sdiv64 truncates toward zero", bin(insn.SDiv, false, uint64(-7&0xffffffffffffffff), 2), uint64(^uint64(0) - 2)},
		{"smod64 sign of dividend", bin(insn.SMod, false, uint64(0xfffffffffffffff9), 2), ^uint64(0)},
		{"smod32 sign of dividend", bin(insn.SMod, true, 0xfffffff9, 2), 0xffffffff},
		{"divK64 imm sign-extends", binK(insn.Div, false, ^uint64(0), -1), 1},
		{"divK32 imm is u32", binK(insn.Div, true, 0xffffffff, -1), 1},
		{"lsh64 count masked", bin(insn.LSh, false, 1, 65), 2},
		{"lsh32 count masked", bin(insn.LSh, true, 1, 33), 2},
		{"rsh64 count masked", bin(insn.RSh, false, 8, 67), 1},
		{"rsh32 count masked, zero-extends", bin(insn.RSh, true, 0xffffffff00000010, 36), 1},
		{"arsh64", bin(insn.ArSh, false, minI64, 63), ^uint64(0)},
		{"arsh32 zero-extends", bin(insn.ArSh, true, 0x80000000, 31), 0xffffffff},
		{"arsh32 count masked", binK(insn.ArSh, true, 0x80000000, 63), 0xffffffff},
		{"add32 zero-extends", bin(insn.Add, true, 0xffffffffffffffff, 1), 0},
		{"sub32 wraps", bin(insn.Sub, true, 0, 1), 0xffffffff},
		{"mul32", bin(insn.Mul, true, 0x1_0000_0003, 0x1_0000_0005), 15},
		{"mov32 zero-extends", bin(insn.Mov, true, 0, big), big & 0xffffffff},
		{"movK64 sign-extends", binK(insn.Mov, false, 0, -2), ^uint64(1)},
		{"movK32 zero-extends", binK(insn.Mov, true, 0, -2), 0xfffffffe},
		{"addK64 sign-extends imm", binK(insn.Add, false, 10, -3), 7},
		{"xor/or/and32", insn.Instructions{insn.LoadImm64(r0, -1), insn.Xor.Imm32(r0, 0x0f0f0f0f), insn.Or.Imm32(r0, 1), insn.And.Imm32(r0, 0xff), insn.Exit()}, 0xf1},
		{"movsx8 64", bin(insn.MovSX8, false, 0, 0x180), ^uint64(0x7f)},
		{"movsx16 64", bin(insn.MovSX16, false, 0, 0x18000), ^uint64(0x7fff)},
		{"movsx32 64", bin(insn.MovSX32, false, 0, 0x180000000), ^uint64(0x7fffffff)},
		{"movsx8 32 zero-extends", bin(insn.MovSX8, true, 0, 0x80), 0xffffff80},
		{"movsx16 32 zero-extends", bin(insn.MovSX16, true, 0, 0x8000), 0xffff8000},
		{"neg64", insn.Instructions{insn.Mov.Imm(r0, 5), insn.Neg(r0), insn.Exit()}, ^uint64(4)},
		{"neg32", insn.Instructions{insn.Mov.Imm(r0, 5), insn.Neg32(r0), insn.Exit()}, 0xfffffffb},
		{"le16 truncates", insn.Instructions{insn.LoadImm64(r0, bigI), insn.ToLE(r0, 16), insn.Exit()}, big & 0xffff},
		{"le32 truncates", insn.Instructions{insn.LoadImm64(r0, bigI), insn.ToLE(r0, 32), insn.Exit()}, big & 0xffffffff},
		{"le64", insn.Instructions{insn.LoadImm64(r0, bigI), insn.ToLE(r0, 64), insn.Exit()}, big},
		{"be16", insn.Instructions{insn.LoadImm64(r0, bigI), insn.ToBE(r0, 16), insn.Exit()}, uint64(bits.ReverseBytes16(uint16(big)))},
		{"be32", insn.Instructions{insn.LoadImm64(r0, bigI), insn.ToBE(r0, 32), insn.Exit()}, uint64(bits.ReverseBytes32(uint32(big)))},
		{"be64", insn.Instructions{insn.LoadImm64(r0, bigI), insn.ToBE(r0, 64), insn.Exit()}, bits.ReverseBytes64(big)},
		{"bswap16", insn.Instructions{insn.LoadImm64(r0, bigI), insn.BSwap(r0, 16), insn.Exit()}, uint64(bits.ReverseBytes16(uint16(big)))},
		{"bswap32", insn.Instructions{insn.LoadImm64(r0, bigI), insn.BSwap(r0, 32), insn.Exit()}, uint64(bits.ReverseBytes32(uint32(big)))},
		{"bswap64", insn.Instructions{insn.LoadImm64(r0, bigI), insn.BSwap(r0, 64), insn.Exit()}, bits.ReverseBytes64(big)},
		{"lddw", insn.Instructions{insn.LoadImm64(r0, bigI), insn.Exit()}, big},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := run(t, nil, c.is...); got != c.want {
				t.Errorf("r0 = %#x, want %#x", got, c.want)
			}
		})
	}
}

func TestJumps(t *testing.T) {
	// taken reports whether the jump op is taken for (a, b), evaluated by
	// an independent Go expression of the rule.
	type jc struct {
		op    insn.JumpOp
		taken func(a, b uint64, is32 bool) bool
	}
	u := func(a uint64, is32 bool) uint64 {
		if is32 {
			return uint64(uint32(a))
		}
		return a
	}
	s := func(a uint64, is32 bool) int64 {
		if is32 {
			return int64(int32(a))
		}
		return int64(a)
	}
	ops := []jc{
		{insn.JEq, func(a, b uint64, w bool) bool { return u(a, w) == u(b, w) }},
		{insn.JNE, func(a, b uint64, w bool) bool { return u(a, w) != u(b, w) }},
		{insn.JGT, func(a, b uint64, w bool) bool { return u(a, w) > u(b, w) }},
		{insn.JGE, func(a, b uint64, w bool) bool { return u(a, w) >= u(b, w) }},
		{insn.JLT, func(a, b uint64, w bool) bool { return u(a, w) < u(b, w) }},
		{insn.JLE, func(a, b uint64, w bool) bool { return u(a, w) <= u(b, w) }},
		{insn.JSet, func(a, b uint64, w bool) bool { return u(a, w)&u(b, w) != 0 }},
		{insn.JSGT, func(a, b uint64, w bool) bool { return s(a, w) > s(b, w) }},
		{insn.JSGE, func(a, b uint64, w bool) bool { return s(a, w) >= s(b, w) }},
		{insn.JSLT, func(a, b uint64, w bool) bool { return s(a, w) < s(b, w) }},
		{insn.JSLE, func(a, b uint64, w bool) bool { return s(a, w) <= s(b, w) }},
	}
	vals := []uint64{0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0x1_0000_0001, minI64, ^uint64(0), ^uint64(1)}
	for _, o := range ops {
		for _, is32 := range []bool{false, true} {
			for _, kform := range []bool{false, true} {
				var j insn.Instruction
				switch {
				case kform && is32:
					j = o.op.Imm32(r1, 0, "yes")
				case kform:
					j = o.op.Imm(r1, 0, "yes")
				case is32:
					j = o.op.Reg32(r1, r2, "yes")
				default:
					j = o.op.Reg(r1, r2, "yes")
				}
				for _, a := range vals {
					for _, b := range vals {
						jj := j
						if kform {
							if int64(b) != int64(int32(b)) {
								continue
							}
							jj.Imm = int64(int32(b))
						}
						is := insn.Instructions{
							insn.LoadImm64(r1, int64(a)), insn.LoadImm64(r2, int64(b)), insn.Mov.Imm(r0, 0), jj,
							insn.Exit(), insn.Mov.Imm(r0, 1).WithLabel("yes"), insn.Exit(),
						}
						want := uint64(0)
						if o.taken(a, b, is32) {
							want = 1
						}
						if got := run(t, nil, is...); got != want {
							t.Fatalf("%s a=%#x b=%#x: r0 = %d, want %d", jj, a, b, got, want)
						}
					}
				}
			}
		}
	}
}

func TestGotolAndJa(t *testing.T) {
	is := insn.Instructions{
		insn.Mov.Imm(r0, 1),
		insn.Gotol("end"),
		insn.Mov.Imm(r0, 2),
		insn.Ja("end"),
		insn.Exit().WithLabel("end"),
	}
	if got := run(t, nil, is...); got != 1 {
		t.Fatalf("r0 = %d, want 1", got)
	}
}
