package jit

import (
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

// testFactSource gives map "arr" (index 0) 16-byte writable values, "ro"
// (index 1) 8-byte read-only ones and "mim" (index 2) no region (a map of
// maps); a map value load of "g" grants 64 bytes.
var testFactSource = factSource{
	mapIndex: func(i insn.Instruction) (int, bool) {
		switch i.Ref {
		case "arr":
			return 0, true
		case "ro":
			return 1, true
		case "mim":
			return 2, true
		}
		return 0, false
	},
	lookup: func(idx int) (int64, bool, bool) {
		switch idx {
		case 0:
			return 16, true, true
		case 1:
			return 8, false, true
		}
		return 0, false, false
	},
	storage: func(i insn.Instruction) (int64, int64, bool) {
		if i.Ref == "g" {
			return 64, int64(i.MapValueOffset()), true
		}
		return 0, 0, false
	},
}

// lookupOf is a map_lookup_elem of map m with a key on the stack.
func lookupOf(m string) insn.Instructions {
	return insn.Instructions{
		insn.StoreImm(insn.R10, -8, 0, insn.W),
		insn.Mov.Reg(insn.R2, insn.R10),
		insn.Add.Imm(insn.R2, -8),
		insn.LoadMapPtr(insn.R1, m),
		insn.Call(int32(insn.FnMapLookupElem)),
	}
}

func concat(parts ...insn.Instructions) insn.Instructions {
	var out insn.Instructions
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// mark labels an instruction "P" (proven) or "C" (checked) in its Label
// field's prefix; provenOf checks the analysis against the marks.
func mark(want string, i insn.Instruction) insn.Instruction {
	i.Label = want + i.Label
	return i
}

func TestValueFacts(t *testing.T) {
	r0, r1, r6 := insn.R0, insn.R1, insn.R6
	exit := insn.Instructions{insn.Mov.Imm(r0, 0), insn.Exit()}
	tests := []struct {
		name string
		is   insn.Instructions
	}{
		{"after null check", concat(lookupOf("arr"), insn.Instructions{
			mark("C", insn.LoadMem(r1, r0, 0, insn.DW)), // maybe NULL
			insn.JEq.Imm(r0, 0, "out"),
			mark("P", insn.LoadMem(r1, r0, 0, insn.DW)),
			mark("P", insn.LoadMem(r1, r0, 8, insn.DW)),
			mark("C", insn.LoadMem(r1, r0, 9, insn.DW)), // past the value
			mark("C", insn.LoadMem(r1, r0, -1, insn.B)),
			mark("P", insn.StoreMem(r0, 15, r1, insn.B)),
			mark("C", insn.StoreMem(r0, 16, r1, insn.B)),
			mark("P", insn.Atomic(insn.AtomicAdd, insn.DW, r0, 0, r1)),
			mark("C", insn.Atomic(insn.AtomicAdd, insn.DW, r0, 9, r1)), // past the value (and misaligned)
		}, exit)},
		{"jne and copies", concat(lookupOf("arr"), insn.Instructions{
			insn.Mov.Reg(r6, r0),
			insn.JNE.Imm(r0, 0, "ok"),
			mark("C", insn.LoadMem(r1, r6, 0, insn.DW)), // NULL here
			insn.Ja("out"),
			mark("P", insn.LoadMem(r1, r6, 0, insn.DW).WithLabel("ok")), // the copy is refined too
			insn.Add.Imm(r6, 8),
			mark("P", insn.LoadMem(r1, r6, 0, insn.DW)),
			mark("C", insn.LoadMem(r1, r6, 8, insn.DW)),
			insn.Sub.Imm(r6, 8),
			insn.Call(int32(insn.FnKtimeGetNs)), // r6 survives calls
			mark("P", insn.LoadMem(r1, r6, 8, insn.DW)),
			mark("C", insn.LoadMem(r1, r0, 8, insn.DW)), // r0 does not
			insn.Add.Imm32(r6, 0),                       // a 32-bit op forgets the pointer
			mark("C", insn.LoadMem(r1, r6, 0, insn.DW)),
		}, exit)},
		{"read-only values, other maps", concat(lookupOf("ro"), insn.Instructions{
			insn.JEq.Imm(r0, 0, "out"),
			mark("P", insn.LoadMem(r1, r0, 0, insn.DW)),
			mark("C", insn.StoreMem(r0, 0, r1, insn.DW)),
		}, lookupOf("mim"), insn.Instructions{
			insn.JEq.Imm(r0, 0, "out"),
			mark("C", insn.LoadMem(r1, r0, 0, insn.W)),
		}, exit)},
		{"32-bit null checks and joins", concat(lookupOf("arr"), insn.Instructions{
			insn.JEq.Imm32(r0, 0, "out"), // the upper half may be non-zero
			mark("C", insn.LoadMem(r1, r0, 0, insn.DW)),
			insn.JEq.Imm(r0, 0, "out"),
			insn.JGT.Imm(r1, 3, "join"),
			insn.Add.Imm(r0, 8),
			mark("C", insn.LoadMem(r1, r0, 0, insn.DW).WithLabel("join")), // r0+0 on one path, r0+8 on the other: joins keep only what agrees
		}, exit)},
		{"loops and spills", concat(lookupOf("arr"), insn.Instructions{
			insn.JEq.Imm(r0, 0, "out"),
			insn.StoreMem(insn.R10, -16, r0, insn.DW),
			mark("C", insn.LoadMem(r1, r0, 0, insn.DW).WithLabel("loop")), // r0 moves each time round
			insn.Add.Imm(r0, 1),
			insn.JLT.Imm(r1, 3, "loop"),
			insn.LoadMem(r6, insn.R10, -16, insn.DW),
			mark("C", insn.LoadMem(r1, r6, 0, insn.DW)), // reloaded: not tracked
		}, exit)},
		{"map value loads", insn.Instructions{
			insn.LoadMapValue(r1, "g", 60),
			mark("P", insn.LoadMem(r0, r1, 0, insn.W)),
			mark("C", insn.LoadMem(r0, r1, 1, insn.W)),
			mark("P", insn.LoadMem(r0, r1, -60, insn.DW)),
			mark("C", insn.LoadMem(r0, r1, -61, insn.B)),
			insn.LoadMapValue(r1, "other", 0),
			mark("C", insn.LoadMem(r0, r1, 0, insn.B)),
			insn.Exit(),
		}},
		{"subprograms start with nothing", concat(lookupOf("arr"), insn.Instructions{
			insn.JEq.Imm(r0, 0, "out"),
			insn.Mov.Reg(r6, r0),
			insn.CallLocal("sub"),
			mark("P", insn.LoadMem(r1, r6, 0, insn.DW)),
			mark("C", insn.LoadMem(r1, r0, 0, insn.DW)),
			insn.Mov.Imm(r0, 0).WithLabel("out"),
			insn.Exit(),
			mark("C", insn.LoadMem(r0, r6, 0, insn.DW).WithLabel("sub")),
			insn.Exit(),
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := tt.is
			// "out" labels the final mov of exit unless the test has one.
			has := false
			for _, i := range is {
				has = has || strings.HasSuffix(i.Label, "out")
			}
			if !has {
				is[len(is)-2] = is[len(is)-2].WithLabel("out")
			}
			var want []string
			for k := range is {
				want = append(want, "")
				if l := is[k].Label; l != "" && (l[0] == 'P' || l[0] == 'C') {
					want[k] = l[:1]
					is[k].Label = l[1:]
				}
			}
			res, err := is.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			f := analyzeValues(res, testFactSource)
			slots := res.SlotOffsets()
			for k, w := range want {
				if w == "" {
					continue
				}
				if got := f.proven[slots[k]]; got != (w == "P") {
					t.Errorf("instruction %d (%v): proven %v, want %v", k, res[k], got, w == "P")
				}
			}
		})
	}
}
