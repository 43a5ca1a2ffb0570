//go:build amd64 && unix

package jit

import (
	"errors"
	"runtime"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// FuzzDiffCalls is FuzzDiff for what crosses programs and frames, which
// random bytecode almost never reaches: it turns its input into three
// programs (each a main part and up to two subprograms) that share a
// program array holding all three, an array map and a single-entry array
// used through direct value loads, and that make tail calls (from main
// parts and from subprograms, with indexes of 2^32 and above), bpf-to-bpf
// calls, call-heavy loops, map lookups and updates, helper calls (among
// them one that fails with each error sentinel, a plain error or ErrHalt)
// and callx, and call a helper that forces garbage collections. Program 0
// runs in interp, in the JIT VM and in a JIT Runner: results, errors (by
// sentinel and pc, see sameErr) and the maps afterwards must be equal.
//
// In chaos mode (the input's first byte is odd) the helper also closes
// program 1's JIT VM, and program 2's JIT VM is dropped (the array holds
// only its interp.VM), during the JIT runs: they must still agree with
// interp.
func FuzzDiffCalls(f *testing.F) {
	f.Add([]byte{0, 4, 0, 5, 1, 9, 3, 2, 8, 8, 6, 1, 7, 4, 2, 9, 4, 1, 5, 5, 5})
	f.Add([]byte{1, 5, 4, 1, 9, 8, 4, 2, 0, 7, 3, 6, 2, 2, 1, 9, 4, 0, 4, 2, 8})
	f.Add([]byte{0, 9, 5, 0, 8, 4, 12, 4, 2, 5, 1, 4, 4, 7, 3, 1, 6, 4, 5, 2, 11, 3})
	f.Add([]byte{2, 4, 4, 6, 1, 9, 0, 11, 5, 5, 3, 4, 4, 13, 2, 1, 1, 0})
	f.Add([]byte{2, 6, 6, 3, 14, 2, 7, 1, 15, 3, 1, 7, 6, 1, 2, 14, 3, 3, 15, 0, 2})
	f.Add([]byte{3, 9, 6, 2, 4, 2, 14, 1, 7, 4, 15, 5, 1, 6, 0, 1, 14, 0, 0, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 600 {
			return
		}
		diffCalls(t, data)
	})
}

// reader hands out the fuzz input byte by byte, then zeros.
type reader struct {
	b []byte
	n int
}

func (r *reader) next() int {
	if r.n >= len(r.b) {
		r.n++
		return 0
	}
	r.n++
	return int(r.b[r.n-1])
}

func (r *reader) done() bool { return r.n >= len(r.b) }

// gen builds one program from the input.
type gen struct {
	r      *reader
	is     insn.Instructions
	labels int
}

func (g *gen) label() string {
	g.labels++
	return "L" + string(rune('a'+g.labels%26)) + string(rune('a'+g.labels/26))
}

func (g *gen) emit(is ...insn.Instruction) { g.is = append(g.is, is...) }

func (g *gen) reg() insn.Register { return insn.Register(g.r.next() % 10) }

var fuzzALU = []insn.ALUOp{insn.Add, insn.Sub, insn.Mul, insn.Div, insn.Or, insn.And, insn.LSh, insn.RSh, insn.Mod, insn.Xor, insn.Mov, insn.ArSh}

// block emits n operations; sub names the subprograms it may call.
func (g *gen) block(n int, subs []string, depth int) {
	for range n {
		if g.r.done() {
			return
		}
		switch g.r.next() % 16 {
		case 0:
			op := fuzzALU[g.r.next()%len(fuzzALU)]
			g.emit(op.Imm(g.reg(), int32(int8(g.r.next()))))
		case 1:
			op := fuzzALU[g.r.next()%len(fuzzALU)]
			if g.r.next()%2 == 0 {
				g.emit(op.Reg(g.reg(), g.reg()))
			} else {
				g.emit(op.Reg32(g.reg(), g.reg()))
			}
		case 2:
			g.emit(insn.StoreMem(insn.R10, int16(-8*(1+g.r.next()%8)), g.reg(), insn.DW))
		case 3:
			g.emit(insn.LoadMem(g.reg(), insn.R10, int16(-8*(1+g.r.next()%8)), insn.DW))
		case 4: // tail call
			idx := []int64{0, 1, 2, 3, 1 << 32, 1<<32 + 1, -1, 2 - 1<<33}[g.r.next()%8]
			g.emit(insn.LoadMapPtr(insn.R2, "jmp"), insn.LoadImm64(insn.R3, idx), insn.Call(int32(insn.FnTailCall)))
		case 5: // bpf-to-bpf call
			if len(subs) > 0 {
				g.emit(insn.CallLocal(subs[g.r.next()%len(subs)]))
			}
		case 6: // r0 = lookup(arr, key); if r0 { r = *r0; *r0 += 1 }
			skip := g.label()
			dst := g.reg()
			g.emit(lookup("arr", int32(g.r.next()%5))...)
			g.emit(
				insn.JEq.Imm(insn.R0, 0, skip),
				insn.LoadMem(dst, insn.R0, 0, insn.DW),
				insn.Mov.Imm(insn.R1, 1),
				insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1),
				insn.Mov.Reg(insn.R0, dst).WithLabel(skip),
			)
		case 7: // direct value of "one"
			g.emit(insn.LoadMapValue(insn.R1, "one", 0), insn.LoadMem(insn.R0, insn.R1, 0, insn.DW),
				insn.Add.Imm(insn.R0, 3), insn.StoreMem(insn.R1, 0, insn.R0, insn.DW))
		case 8: // the GC (and chaos) helper
			g.emit(insn.Mov.Reg(insn.R1, g.reg()), insn.Call(fnTestGC))
		case 9: // a call-heavy loop
			if depth < 2 {
				top := g.label()
				cnt := insn.R6 + insn.Register(depth)
				g.emit(insn.Mov.Imm(cnt, int32(1+g.r.next()%24)))
				mark := len(g.is)
				g.block(1+g.r.next()%3, subs, depth+1)
				if len(g.is) == mark {
					g.emit(insn.Mov.Reg(insn.R0, insn.R0))
				}
				g.is[mark] = g.is[mark].WithLabel(top)
				if len(subs) > 0 {
					g.emit(insn.CallLocal(subs[g.r.next()%len(subs)]))
				}
				g.emit(insn.Sub.Imm(cnt, 1), insn.JNE.Imm(cnt, 0, top))
			}
		case 10: // a forward branch over the next operation
			skip := g.label()
			g.emit(insn.JGT.Imm(g.reg(), int32(int8(g.r.next())), skip))
			g.block(1, subs, depth+1)
			g.emit(insn.Mov.Reg(insn.R0, insn.R0).WithLabel(skip))
		case 11: // callx of a helper number: prandom, smp id, tail_call, unknown
			num := []int32{int32(insn.FnGetPrandomU32), int32(insn.FnGetSMPProcessorID), int32(insn.FnTailCall), 999}[g.r.next()%4]
			g.emit(insn.Mov.Imm(insn.R5, num), insn.CallX(insn.R5))
		case 12: // a helper, or one that fails with each sentinel (fnTestErr)
			if k := g.r.next() % 10; k < 3 {
				g.emit(insn.Call(int32([]insn.HelperFunc{insn.FnKtimeGetNs, insn.FnGetPrandomU32, fnTestCtxErr}[k])))
			} else {
				g.emit(insn.Mov.Imm(insn.R1, int32(g.r.next()%len(testErrs))), insn.Call(fnTestErr))
			}
		case 13: // arr[key] = reg
			g.emit(
				insn.StoreImm(insn.R10, -4, int32(g.r.next()%5), insn.W),
				insn.StoreMem(insn.R10, -16, g.reg(), insn.DW),
				insn.LoadMapPtr(insn.R1, "arr"),
				insn.Mov.Reg(insn.R2, insn.R10),
				insn.Add.Imm(insn.R2, -4),
				insn.Mov.Reg(insn.R3, insn.R10),
				insn.Add.Imm(insn.R3, -16),
				insn.Mov.Imm(insn.R4, 0),
				insn.Call(int32(insn.FnMapUpdateElem)),
			)
		case 14: // r0 = lookup(arr, key); if r0 { r = *(r0 + off) }, off maybe outside the value
			skip := g.label()
			off := []int16{0, 4, 8, 16, -8, -1, 7, 24}[g.r.next()%8]
			g.emit(lookup("arr", int32(g.r.next()%5))...)
			g.emit(
				insn.JEq.Imm(insn.R0, 0, skip),
				insn.LoadMem(g.reg(), insn.R0, off, insn.W),
				insn.Mov.Reg(insn.R0, insn.R0).WithLabel(skip),
			)
		case 15: // a direct value of "one" and a read at an offset, maybe past it
			off := []int16{0, 4, 8, -1, -8, 16}[g.r.next()%6]
			g.emit(insn.LoadMapValue(insn.R1, "one", 0), insn.LoadMem(g.reg(), insn.R1, off, insn.W))
		}
	}
}

// program builds program number p: a main part and up to two
// subprograms, each ending with exit.
func (g *gen) program(p int) insn.Instructions {
	g.is = nil
	nsub := g.r.next() % 3
	var subs []string
	for k := range nsub {
		subs = append(subs, "sub"+string(rune('0'+k)))
	}
	g.block(1+g.r.next()%10, subs, 0)
	g.emit(insn.Add.Imm(insn.R0, int32(p)), insn.Exit())
	for _, s := range subs {
		mark := len(g.is)
		g.block(1+g.r.next()%6, subs, 1)
		g.emit(insn.Add.Imm(insn.R0, 1), insn.Exit())
		g.is[mark] = g.is[mark].WithLabel(s)
	}
	return g.is
}

func diffCalls(t *testing.T, data []byte) {
	if len(data) == 0 {
		return
	}
	chaos := data[0]%2 == 1
	// The programs run as XDP programs when bit 1 of the first byte is
	// set: bound runs, whose array lookups and map value loads the code
	// makes itself (fastpath_amd64.go).
	xdp := data[0]&2 != 0
	typ := prog.UnspecifiedProgram
	if xdp {
		typ = prog.XDP
	}
	frame := udp4Frame()
	r := &reader{b: data[1:]}
	g := &gen{r: r}
	var progs [3]insn.Instructions
	for p := range progs {
		progs[p] = g.program(p)
	}
	w := newWorld(t, progArray("jmp"),
		prog.MapSpec{Name: "arr", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		arrayOne("one"))
	names := []string{"jmp", "arr", "one"}
	opts := func() *Options {
		return &Options{Interp: &interp.Options{MaxInstructions: 1 << 16, Helpers: w.registry(true),
			Now: func() uint64 { return 1 }, Rand: func() uint32 { return 4 }}}
	}
	var vms [3]*VM
	for p := range vms {
		o := opts()
		o.Interp.Maps = w.maps
		spec := w.spec("p", names, progs[p]...)
		spec.Type = typ
		vm, err := New(spec, o)
		if err != nil {
			t.Fatalf("program %d: %v\n%s", p, err, progs[p])
		}
		defer vm.Close()
		vms[p] = vm
		w.set("jmp", uint32(p), vm.Interp())
	}
	reset := func() {
		for k := range uint32(4) {
			w.maps["arr"].Update(k, uint64(k)*7, prog.UpdateAny)
		}
		w.maps["one"].Update(uint32(0), uint64(11), prog.UpdateAny)
	}
	snapshot := func() [5]uint64 {
		var s [5]uint64
		for k := range uint32(4) {
			w.maps["arr"].Lookup(k, &s[k])
		}
		w.maps["one"].Lookup(uint32(0), &s[4])
		return s
	}
	gcs := 0
	w.hook = func() {
		if gcs < 2 { // a few per run keep the fuzzer fast
			runtime.GC()
			gcs++
		}
	}

	reset()
	gcs = 0
	want, werr := interpInSlot(vms[0], nil)
	if xdp {
		ret, _, err := engine.RunXDPIn(vms[0].ivm, vms[0].slot.Load().env, frame, nil)
		want, werr = uint64(ret), err
	}
	wmaps := snapshot()
	if chaos {
		// Close program 1 and drop program 2 during the JIT runs: the
		// program array holds their interp.VMs, which tail calls from
		// machine code still run (compiling program 1 again), as interp
		// does.
		vms[2] = nil
		w.hook = func() {
			vms[1].Close()
			if gcs < 2 {
				runtime.GC()
				gcs++
			}
		}
	}
	reset()
	gcs = 0
	runVM := func() (uint64, error) {
		if xdp {
			ret, _, err := vms[0].RunXDP(frame, nil)
			return uint64(ret), err
		}
		return vms[0].RunMemory(nil)
	}
	got, gerr := runVM()
	gmaps := snapshot()
	rn, err := vms[0].NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	reset()
	gcs = 0
	rgot, rerr := rn.RunMemory(nil)
	if xdp {
		ret, _, err := rn.RunXDP(frame, nil)
		rgot, rerr = uint64(ret), err
	}
	rmaps := snapshot()
	if rgot != got || !sameErr(rerr, gerr) || rmaps != gmaps {
		t.Fatalf("Runner = %#x, %v, maps %v; VM.RunMemory = %#x, %v, maps %v\n%s", rgot, rerr, rmaps, got, gerr, gmaps, dump(progs))
	}
	if errors.Is(werr, interp.ErrBudgetExhausted) || errors.Is(gerr, interp.ErrBudgetExhausted) {
		return
	}
	if got != want || !sameErr(gerr, werr) || gmaps != wmaps {
		t.Fatalf("jit = %#x, %v, maps %v; interp = %#x, %v, maps %v\n%s", got, gerr, gmaps, want, werr, wmaps, dump(progs))
	}
}

func dump(progs [3]insn.Instructions) string {
	s := ""
	for p, is := range progs {
		s += "program " + string(rune('0'+p)) + ":\n" + is.String() + "\n"
	}
	return s
}
