//go:build amd64 && unix

package jit

import (
	"bytes"
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// xdpPrologue loads the packet pointers of xdp_md into r2 (data), r3
// (data_end) and r4 (data_meta) before the fuzzed code, which keeps r1 =
// the context for the XDP helpers.
var xdpPrologue = insn.Instructions{
	insn.LoadMem(insn.R2, insn.R1, 0, insn.W),
	insn.LoadMem(insn.R3, insn.R1, 4, insn.W),
	insn.LoadMem(insn.R4, insn.R1, 8, insn.W),
}

// FuzzXDP runs arbitrary bytecode as an XDP program, after xdpPrologue,
// on arbitrary frames in interp, the JIT and a JIT Runner, all in one Env
// (the same context address and, taken from the pool in turn, the same
// frame page): load errors, actions, run errors (by sentinel and pc) and
// output packets must agree, and no access may leave [data_meta,
// data_end) unnoticed (a run that goes out of bounds is an error in all
// three, or in none).
func FuzzXDP(f *testing.F) {
	seed := func(is ...insn.Instruction) []byte {
		raw, err := insn.Instructions(is).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		return raw
	}
	frame := []byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x08\x00\x45\x00\x00\x14")
	f.Add(seed(insn.LoadMem(insn.R0, insn.R2, 13, insn.B), insn.Exit()), frame)
	f.Add(seed(insn.StoreImm(insn.R2, 0, 7, insn.DW), insn.Mov.Imm(insn.R0, 3), insn.Exit()), frame)
	f.Add(seed(insn.LoadMem(insn.R0, insn.R3, -1, insn.B), insn.Exit()), frame)
	f.Add(seed(insn.Mov.Imm(insn.R2, -8), insn.FnXDPAdjustMeta.Call(), insn.LoadMem(insn.R2, insn.R1, 8, insn.W), insn.StoreImm(insn.R2, 4, 9, insn.W), insn.Exit()), frame)
	f.Add(seed(insn.Mov.Imm(insn.R2, -64), insn.FnXDPAdjustHead.Call(), insn.LoadMem(insn.R2, insn.R1, 0, insn.W), insn.LoadMem(insn.R0, insn.R2, 63, insn.B), insn.Exit()), frame)
	f.Add(seed(insn.Mov.Imm(insn.R2, 100), insn.FnXDPAdjustTail.Call(), insn.LoadMem(insn.R3, insn.R1, 4, insn.W), insn.LoadMem(insn.R0, insn.R3, -1, insn.B), insn.Exit()), frame)
	f.Add(seed(insn.Mov.Imm(insn.R1, 3), insn.Mov.Imm(insn.R2, 0), insn.FnRedirect.Call(), insn.Exit()), frame)
	f.Fuzz(func(t *testing.T, raw, frame []byte) {
		if len(raw) > 8*256 || len(frame) > 4000 {
			return
		}
		body, err := insn.Unmarshal(raw)
		if err != nil {
			return
		}
		is := append(append(insn.Instructions{}, xdpPrologue...), body...)
		opts := &interp.Options{MaxInstructions: 20000, Now: func() uint64 { return 1 }, Rand: func() uint32 { return 4 }}
		spec := &prog.Spec{Name: "fuzz", Type: prog.XDP, Instructions: is}
		ivm, vm := loadBoth(t, spec, opts)
		if vm == nil {
			return
		}
		defer vm.Close()
		in := append([]byte(nil), frame...)
		if engine.CheckXDPFrame(in, nil) != nil {
			_, _, ierr := ivm.RunXDP(in, nil)
			_, _, jerr := vm.RunXDP(in, nil)
			if !errors.Is(ierr, interp.ErrContext) || !errors.Is(jerr, interp.ErrContext) {
				t.Fatalf("frame of %d bytes: interp %v, jit %v; want ErrContext", len(in), ierr, jerr)
			}
			return
		}
		want, wout, werr := engine.RunXDPIn(vm.ivm, vm.slot.Load().env, in, nil)
		got, gout, gerr := vm.RunXDP(in, nil)
		if !bytes.Equal(in, frame) {
			t.Fatal("RunXDP changed its input")
		}
		// Before the Runner, which borrows the VM's own run state: the
		// VM's runs and the Runner's then use the same addresses, which
		// errors name.
		short := in[:max(14, len(in)/2)]
		sgot, sout, serr := vm.RunXDP(short, nil)
		rn, err := vm.NewRunner()
		if err != nil {
			t.Fatal(err)
		}
		defer rn.Close()
		// The Runner's later runs rebind its kept binding, and runs
		// after one that stayed in the machine code take quickXDP: on
		// the same frame, and on a shorter one in between (the packet's
		// table entry and the page's tail change).
		for k := range 4 {
			f, g, o, e := in, got, gout, gerr
			if k == 2 {
				f, g, o, e = short, sgot, sout, serr
			}
			rgot, rout, rerr := rn.RunXDP(f, nil)
			if rgot != g || !sameErr(rerr, e) || errText(rerr) != errText(e) || !bytes.Equal(rout, o) {
				t.Fatalf("Runner run %d (%d bytes) = %#x, %v, % x; VM.RunXDP = %#x, %v, % x\n%s", k, len(f), rgot, rerr, rout, g, e, o, is)
			}
		}
		if errors.Is(werr, interp.ErrBudgetExhausted) || errors.Is(gerr, interp.ErrBudgetExhausted) {
			return
		}
		if got != want || !sameErr(gerr, werr) || !bytes.Equal(gout, wout) {
			t.Fatalf("jit = %#x, %v, % x; interp = %#x, %v, % x\n%s", got, gerr, gout, want, werr, wout, is)
		}
	})
}
