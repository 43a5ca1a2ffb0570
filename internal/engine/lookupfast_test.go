package engine

import (
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// TestLookupArrayPath runs map_lookup_elem on arrays and per-CPU arrays
// with keys on the stack (in and out of range, at the stack's edge), in a
// map value and at a bad address, and with bad map handles, through
// lookupArray (the engine's own helper) and through a helper call (a
// registry whose lookup is a wrapper): results, errors and the granted
// value must agree.
func TestLookupArrayPath(t *testing.T) {
	ms := []*prog.MapSpec{
		{Name: "arr", Type: prog.Array, KeySize: 4, ValueSize: 12, MaxEntries: 4},
		{Name: "pc", Type: prog.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 3},
		{Name: "ro", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2, Flags: mapRdOnlyProg},
	}
	wrapped := DefaultHelpers()
	wrapped.Register(insn.FnMapLookupElem, func(e *Env, r1, r2, r3, r4, r5 uint64) (uint64, error) {
		return helperMapLookup(e, r1, r2, r3, r4, r5)
	})
	if wrapped.std&StdMapLookup != 0 || DefaultHelpers().std&StdMapLookup == 0 {
		t.Fatal("the wrapper counts as the engine's own lookup, or the default does not")
	}
	lookup := func(m string, key insn.Instructions) insn.Instructions {
		is := append(insn.Instructions{insn.Mov.Reg(r9, r1)}, key...) // r2 = the key's address
		return append(is,
			insn.LoadMapPtr(r1, m),
			insn.Call(int32(insn.FnMapLookupElem)),
			insn.JEq.Imm(r0, 0, "out"),
			insn.LoadMem(r3, r0, 0, insn.DW), // the value is readable
			insn.Add.Imm(r3, 1),
			insn.StoreMem(r0, 0, r3, insn.DW), // and writable, unless read-only
			insn.StoreMem(r9, 0, r3, insn.DW),
			insn.Mov.Imm(r0, 1),
			insn.Exit().WithLabel("out"),
		)
	}
	onStack := func(off int16, key int32) insn.Instructions {
		return insn.Instructions{insn.StoreImm(r10, off, key, insn.W), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, int32(off))}
	}
	cases := map[string]insn.Instructions{}
	for _, m := range []string{"arr", "pc", "ro"} {
		for _, key := range []int32{0, 1, 2, 3, 4, -1} {
			cases[fmt.Sprintf("%s/key %d", m, key)] = lookup(m, onStack(-8, key))
		}
		cases[m+"/top"] = lookup(m, onStack(-4, 1))
		cases[m+"/past top"] = lookup(m, insn.Instructions{insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -2)})
		cases[m+"/in memory"] = lookup(m, insn.Instructions{insn.StoreImm(r1, 8, 1, insn.W), insn.Mov.Reg(r2, r1), insn.Add.Imm(r2, 8)})
		cases[m+"/bad address"] = lookup(m, insn.Instructions{insn.Mov.Imm(r2, 64)})
	}
	cases["bad handle"] = insn.Instructions{
		insn.StoreImm(r10, -8, 0, insn.W), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8),
		insn.LoadImm64(r1, int64(MapHandle(7))), insn.Call(int32(insn.FnMapLookupElem)), insn.Exit(),
	}
	for name, is := range cases {
		var res [2]string
		for k, reg := range []*Registry{DefaultHelpers(), wrapped} {
			vm, err := New(&prog.Spec{Name: "t", Instructions: is, Maps: ms}, &Options{Helpers: reg, CPU: 1})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			mem := make([]byte, 16)
			var out string
			for range 2 { // the second run sees the first one's count
				r0, err := vm.RunMemory(mem)
				out += fmt.Sprintf("r0 %d, err %v, mem % x; ", r0, err, mem)
			}
			res[k] = hexAddr.ReplaceAllString(out, "0x?")
		}
		if res[0] != res[1] {
			t.Errorf("%s:\nengine's lookup %s\nhelper call     %s", name, res[0], res[1])
		}
	}
}
