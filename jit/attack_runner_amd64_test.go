//go:build amd64 && unix

package jit

import (
	"fmt"
	"math/rand/v2"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// attackRunnerProgs are raw-memory programs whose runs leave state a
// later run could see if a Runner's short paths kept it: stack slots
// read before they are written (main frame of 8 and of 16 bytes, a
// callee's frame), may_goto allowances used up, and loads relative to
// the end of mem (which fault on empty memory).
var attackRunnerProgs = map[string]Instructions{
	"slot": {
		LoadMem(R0, R10, -8, DW),
		Mov.Reg(R3, R1),
		Or.Imm(R3, 1),
		StoreMem(R10, -8, R3, DW),
		JEq.Imm(R2, 0, "out"),
		LoadMem(R3, R1, 0, B),
		Add.Reg(R0, R3),
		Add.Imm(R3, 1),
		StoreMem(R1, 0, R3, B),
		Exit().WithLabel("out"),
	},
	"two slots": {
		LoadMem(R0, R10, -16, DW),
		LoadMem(R3, R10, -8, DW),
		Add.Reg(R0, R3),
		StoreImm(R10, -16, 99, DW),
		StoreMem(R10, -8, R1, DW),
		Exit(),
	},
	"callee frame": {
		Mov.Imm(R6, 0),
		CallLocal("f"),
		Add.Reg(R6, R0),
		CallLocal("f"),
		Add.Reg(R0, R6),
		Exit(),
		LoadMem(R0, R10, -8, DW).WithLabel("f"),
		LoadMem(R3, R10, -512, DW),
		Add.Reg(R0, R3),
		StoreImm(R10, -8, 5, DW),
		StoreImm(R10, -512, 7, DW),
		Exit(),
	},
	"may_goto": {
		Mov.Imm(R0, 0),
		JEq.Imm(R2, 0, "out"),
		LoadMem(R6, R1, 0, B), // the iterations to try: mem[0] * 1000
		Mul.Imm(R6, 1000),
		MayGoto("out").WithLabel("l"),
		Add.Imm(R0, 1),
		Add.Imm(R6, -1),
		JNE.Imm(R6, 0, "l"),
		Exit().WithLabel("out"),
	},
	"end of mem": {
		Mov.Reg(R3, R1),
		Add.Reg(R3, R2),
		LoadMem(R0, R3, -1, B),
		StoreImm(R3, -1, 0x55, B),
		Exit(),
	},
}

// TestAttackRunnerState runs each attackRunnerProgs program on random
// sequences of memory (the same buffer, a shorter one at the same
// address, another buffer, empty, nil) through a JIT Runner, an interp
// Runner, VM.RunMemory of both engines and a fresh JIT VM, each on its
// own buffers: results, errors and the memory after the run must agree,
// and the programs whose results do not depend on history must give
// their fixed results.
func TestAttackRunnerState(t *testing.T) {
	for name, is := range attackRunnerProgs {
		t.Run(name, func(t *testing.T) {
			spec := &prog.Spec{Name: "state", Type: prog.UnspecifiedProgram, Instructions: is}
			opts := &interp.Options{MaxInstructions: 1 << 24}
			ivm, vm, irn, jrn := attackEngines(t, spec, opts)
			type memRunner interface {
				RunMemory([]byte) (uint64, error)
			}
			engines := []struct {
				name string
				r    memRunner
			}{{"jit Runner", jrn}, {"interp Runner", irn}, {"jit VM", vm}, {"interp VM", ivm}}
			// One buffer per engine, so that addresses repeat per engine
			// as a Runner's short path needs.
			bufs := make([][]byte, len(engines))
			alt := make([][]byte, len(engines))
			for k := range engines {
				bufs[k] = make([]byte, 64)
				alt[k] = make([]byte, 64)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			for step := range 300 {
				kind := rng.IntN(6)
				val := byte(rng.IntN(12))
				if name == "may_goto" {
					// mem[0] = 0 loops until the budget ends, where the
					// engines name different pcs (the JIT the back edge;
					// the fuzzers leave budget errors out for that).
					val++
				}
				var want uint64
				var werr error
				var wmem []byte
				for k, e := range engines {
					var mem []byte
					switch kind {
					case 0, 1:
						mem = bufs[k]
					case 2:
						mem = bufs[k][:1+int(val)]
					case 3:
						mem = alt[k][:8]
					case 4:
						mem = bufs[k][:0]
					case 5:
						mem = nil
					}
					if len(mem) > 0 {
						mem[0] = val
						mem[len(mem)-1] = val
					}
					before := fmt.Sprintf("% x", mem)
					got, err := e.r.RunMemory(mem)
					after := fmt.Sprintf("% x", mem)
					if k == 0 {
						want, werr, wmem = got, err, []byte(after)
						continue
					}
					if got != want || !sameErr(err, werr) || errText(err) != errText(werr) || after != string(wmem) {
						t.Fatalf("step %d (kind %d, val %d): %s = %#x, %v, mem %s; %s = %#x, %v, mem %s (before %s)", step, kind, val, e.name, got, err, after, engines[0].name, want, werr, wmem, before)
					}
				}
				// Results that do not depend on history: the stack
				// reads see zeros, so these are fixed functions of the
				// input.
				switch name {
				case "two slots", "callee frame":
					if want != 0 || werr != nil {
						t.Fatalf("step %d: %s returned %#x, %v; a stack slot of an earlier run is visible", step, name, want, werr)
					}
				case "slot":
					if werr != nil || (kind < 4 && want != uint64(val)) || (kind >= 4 && want != 0) {
						t.Fatalf("step %d (kind %d, val %d): slot returned %#x, %v", step, kind, val, want, werr)
					}
				case "may_goto":
					if werr != nil || (kind < 4 && val != 0 && want != uint64(val)*1000) {
						t.Fatalf("step %d (kind %d, val %d): may_goto returned %d, %v", step, kind, val, want, werr)
					}
				}
			}
		})
	}
}

// TestAttackRunnerMayGoto checks that every Runner run starts with the
// full may_goto allowance (MaxLoops fall-throughs per frame), whatever
// the run before it used up: mem[0] * 1e6 iterations, cut at MaxLoops.
func TestAttackRunnerMayGoto(t *testing.T) {
	is := Instructions{
		Mov.Imm(R0, 0),
		LoadMem(R6, R1, 0, B),
		Mul.Imm(R6, 1000000),
		MayGoto("out").WithLabel("l"),
		Add.Imm(R0, 1),
		Add.Imm(R6, -1),
		JNE.Imm(R6, 0, "l"),
		Exit().WithLabel("out"),
	}
	spec := &prog.Spec{Name: "maygoto", Type: prog.UnspecifiedProgram, Instructions: is}
	opts := &interp.Options{MaxInstructions: 1 << 26}
	_, _, irn, jrn := attackEngines(t, spec, opts)
	for name, rn := range map[string]interface{ RunMemory([]byte) (uint64, error) }{"jit Runner": jrn, "interp Runner": irn} {
		mem := make([]byte, 8)
		for k, v := range []byte{9, 9, 8, 9, 1, 9} {
			mem[0] = v
			want := min(uint64(v)*1000000, interp.MaxLoops)
			if got, err := rn.RunMemory(mem); got != want || err != nil {
				t.Fatalf("%s run %d (mem[0] = %d): %d, %v; want %d", name, k, v, got, err, want)
			}
		}
	}
}

// TestAttackRunnerSocketFilterCB checks that a socket filter's cb[]
// stores, which a Runner's short path (run.quickSKB, Env.rerun) keeps the
// context for, never reach the next run: each run reads cb[0..4] before
// storing to them and must see its own meta's values (zeros for nil).
func TestAttackRunnerSocketFilterCB(t *testing.T) {
	is := Instructions{Mov.Imm(R0, 0)}
	for k := int16(0); k < 5; k++ {
		is = append(is,
			LoadMem(R2, R1, 48+4*k, W),
			Mul.Imm(R0, 3),
			Add.Reg(R0, R2),
			StoreImm(R1, 48+4*k, 0x5555, W),
		)
	}
	is = append(is, Exit())
	spec := &prog.Spec{Name: "cb", Type: prog.SocketFilter, License: "GPL", Instructions: is}
	vm, err := New(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	jrn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer jrn.Close()
	irn, err := vm.Interp().NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer irn.Close()
	pkt := make([]byte, 60)
	for k, m := range []*interp.SKBMeta{nil, nil, {CB: [5]uint32{1, 2, 3, 4, 5}}, nil, {CB: [5]uint32{0, 0, 0, 0, 9}}, nil, nil} {
		want := uint32(0)
		if m != nil {
			for _, v := range m.CB {
				want = want*3 + v
			}
		}
		for name, rn := range map[string]interface {
			RunSocketFilter([]byte, *interp.SKBMeta) (uint32, error)
		}{"jit Runner": jrn, "interp Runner": irn} {
			if got, err := rn.RunSocketFilter(pkt, m); got != want || err != nil {
				t.Fatalf("%s run %d: %#x, %v; want %#x", name, k, got, err, want)
			}
		}
	}
}
