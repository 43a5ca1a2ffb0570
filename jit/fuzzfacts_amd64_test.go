//go:build amd64 && unix

package jit

import (
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// FuzzValueFacts holds the accesses the JIT makes without a region check
// (valuefacts.go) to interp's verdicts. Its input becomes a program built
// around what the analysis reasons about: lookups in an array and a hash
// map with 12-byte values (some keys miss), NULL checks of either width
// and polarity, copies, constant moves (some far), 32-bit writes,
// spills and reloads, helper calls, joins and loops, and loads and stores
// of every size at offsets around each value's bounds and through map
// value loads. It runs as a raw-memory program and as an XDP program (the
// code's own lookups) in interp and in the JIT: results, errors and maps
// must agree. A proof the analysis should not have made lets the JIT
// touch bytes interp refuses, which shows as a difference.
func FuzzValueFacts(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{2, 0, 3, 9, 9, 9, 4, 6, 1, 7, 2, 9, 11, 12, 0, 3, 9, 1})
	f.Add([]byte{3, 1, 5, 13, 8, 2, 10, 14, 9, 3, 1, 6, 12, 9, 0, 15, 7})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 300 {
			return
		}
		diffFacts(t, data)
	})
}

func diffFacts(t *testing.T, data []byte) {
	xdp := data[0]&1 != 0
	r := &reader{b: data[1:]}
	w := newWorld(t,
		prog.MapSpec{Name: "arr", Type: prog.Array, KeySize: 4, ValueSize: 12, MaxEntries: 3},
		prog.MapSpec{Name: "h", Type: prog.Hash, KeySize: 4, ValueSize: 12, MaxEntries: 8},
		arrayOne("one"))
	names := []string{"arr", "h", "one"}
	is := factProgram(r)
	spec := w.spec("facts", names, is...)
	if xdp {
		spec.Type = prog.XDP
	}
	vm, err := New(spec, &Options{Interp: &interp.Options{MaxInstructions: 1 << 14, Helpers: w.registry(true), Maps: w.maps,
		Now: func() uint64 { return 1 }, Rand: func() uint32 { return 4 }}})
	if err != nil {
		t.Fatalf("%v\n%s", err, is)
	}
	defer vm.Close()
	reset := func() {
		for k := range uint32(3) {
			w.maps["arr"].Update(k, [12]byte{byte(k), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, prog.UpdateAny)
		}
		for _, k := range []uint32{0, 2, 5} {
			w.maps["h"].Update(k, [12]byte{byte(k), 9}, prog.UpdateAny)
		}
		w.maps["one"].Update(uint32(0), uint64(11), prog.UpdateAny)
	}
	snapshot := func() (s [3*12 + 3*12 + 8]byte) {
		for k := range uint32(3) {
			var v [12]byte
			w.maps["arr"].Lookup(k, &v)
			copy(s[12*k:], v[:])
		}
		for j, k := range []uint32{0, 2, 5} {
			var v [12]byte
			w.maps["h"].Lookup(k, &v)
			copy(s[36+12*j:], v[:])
		}
		var o [8]byte
		w.maps["one"].Lookup(uint32(0), &o)
		copy(s[72:], o[:])
		return s
	}
	run := func(engineRun func() (uint64, error)) (uint64, [80]byte, error) {
		reset()
		ret, err := engineRun()
		return ret, snapshot(), err
	}
	frame := udp4Frame()
	want, wmaps, werr := run(func() (uint64, error) {
		// In the Env the JIT's runs use, so that both see the same
		// stack and context addresses (an access just outside a value
		// may fall in the stack of one Env and not the other's).
		if xdp {
			ret, _, err := engine.RunXDPIn(vm.ivm, vm.slot.Load().env, frame, nil)
			return uint64(ret), err
		}
		return interpInSlot(vm, nil)
	})
	got, gmaps, gerr := run(func() (uint64, error) {
		if xdp {
			ret, _, err := vm.RunXDP(frame, nil)
			return uint64(ret), err
		}
		return vm.RunMemory(nil)
	})
	if errors.Is(werr, interp.ErrBudgetExhausted) && errors.Is(gerr, interp.ErrBudgetExhausted) {
		return
	}
	if got != want || !sameErr(gerr, werr) || gmaps != wmaps {
		t.Fatalf("jit = %#x, %v, maps %x\ninterp = %#x, %v, maps %x\n%s", got, gerr, gmaps, want, werr, wmaps, is)
	}
}

// factProgram builds FuzzValueFacts' program from r.
func factProgram(r *reader) insn.Instructions {
	g := &gen{r: r}
	ptr := func() insn.Register { return []insn.Register{insn.R0, insn.R6, insn.R7}[r.next()%3] }
	size := func() insn.Size { return []insn.Size{insn.B, insn.H, insn.W, insn.DW}[r.next()%4] }
	off := func() int16 { return int16(r.next()%24) - 8 }
	lookup := func() {
		g.emit(insn.StoreImm(insn.R10, -4, int32(r.next()%7), insn.W),
			insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -4),
			insn.LoadMapPtr(insn.R1, []string{"arr", "h"}[r.next()%2]),
			insn.Call(int32(insn.FnMapLookupElem)))
	}
	g.emit(insn.Mov.Imm(insn.R6, 0), insn.Mov.Imm(insn.R7, 0), insn.Mov.Imm(insn.R9, 0), insn.Mov.Imm(insn.R1, 0))
	lookup()
	var pending []string // labels of forward jumps, bound later
	for n := 0; n < 24 && !r.done(); n++ {
		if len(pending) > 0 && r.next()%3 == 0 {
			g.emit(insn.Mov.Imm(insn.R8, 0).WithLabel(pending[0]))
			pending = pending[1:]
		}
		switch r.next() % 17 {
		case 0:
			lookup()
		case 1, 2: // a NULL check of either polarity and width
			l := g.label()
			p := ptr()
			ops := []insn.Instruction{insn.JEq.Imm(p, 0, l), insn.JNE.Imm(p, 0, l), insn.JEq.Imm32(p, 0, l), insn.JNE.Imm32(p, 0, l)}
			g.emit(ops[r.next()%4])
			pending = append(pending, l)
		case 3:
			g.emit(insn.Mov.Reg(ptr(), ptr()))
		case 4:
			imm := int32(r.next()%16) - 8
			if r.next()%8 == 0 {
				imm = int32(r.next()) << 24 // far
			}
			g.emit([]insn.ALUOp{insn.Add, insn.Sub}[r.next()%2].Imm(ptr(), imm))
		case 5:
			g.emit(insn.Add.Imm32(ptr(), 0))
		case 6, 7:
			g.emit(insn.LoadMem(insn.R1, ptr(), off(), size()))
		case 8, 9:
			g.emit(insn.StoreMem(ptr(), off(), insn.R9, size()))
		case 10:
			g.emit(insn.StoreImm(ptr(), off(), 0x5a, size()))
		case 11:
			g.emit(insn.StoreMem(insn.R10, -16, ptr(), insn.DW), insn.LoadMem(ptr(), insn.R10, -16, insn.DW))
		case 12:
			g.emit(insn.Call(int32(insn.FnKtimeGetNs)))
		case 13:
			g.emit(insn.LoadMapValue(ptr(), "one", uint32(r.next()%8)))
		case 14: // a loop moving a pointer
			l := g.label()
			p := ptr()
			g.emit(insn.Mov.Imm(insn.R8, int32(r.next()%3)),
				insn.LoadMem(insn.R1, p, off(), size()).WithLabel(l),
				insn.Add.Imm(p, int32(r.next()%5)),
				insn.Sub.Imm(insn.R8, 1),
				insn.JSGT.Imm(insn.R8, 0, l))
		case 15:
			g.emit(insn.Add.Reg(insn.R9, insn.R1))
		case 16:
			ops := []insn.AtomicOp{insn.AtomicAdd, insn.AtomicFetchAdd, insn.AtomicXchg}
			g.emit(insn.Atomic(ops[r.next()%3], []insn.Size{insn.W, insn.DW}[r.next()%2], ptr(), off(), insn.R9))
		}
	}
	for _, l := range pending {
		g.emit(insn.Mov.Imm(insn.R8, 0).WithLabel(l))
	}
	g.emit(insn.Mov.Reg(insn.R0, insn.R9), insn.Exit())
	return g.is
}
