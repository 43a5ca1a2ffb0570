//go:build amd64 && unix

package jit

import (
	"errors"
	"fmt"
	"testing"
	"unsafe"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// The attacks of this file aim at the per-site region caches of checked
// accesses (state.sites): a slot keeps naming the region its site last
// hit while regions go away, the stack shrinks, the tables are rebuilt,
// another program's code runs or the next run has less memory. Each must
// end exactly as interp's run does: the same result and error, the same
// pc, the same bytes written.

// attackRun is one engine's run of an attack: it returns the result,
// the memory (or output packet) after the run, and the error.
type attackRun struct {
	name string
	run  func(in []byte) (uint64, []byte, error)
}

// sameAttackRuns runs each engine on a fresh copy of each of inputs in
// turn (a Runner's runs follow each other) and wants from all the same
// results, errors (but for addresses: the engines' buffers differ) and
// memory or output as the first engine's; wantErr says whether the last
// run must fail with a memory access error (so that the engines cannot
// agree on a wrong answer).
func sameAttackRuns(t *testing.T, engines []attackRun, wantErr bool, inputs ...[]byte) {
	t.Helper()
	type result struct {
		ret  uint64
		err  string
		data []byte
	}
	var want []result
	for _, e := range engines {
		var got []result
		var last error
		for _, in := range inputs {
			ret, data, err := e.run(append([]byte(nil), in...))
			got = append(got, result{ret, hexAddr.ReplaceAllString(errText(err), "ADDR"), append([]byte(nil), data...)})
			last = err
		}
		if wantErr != errors.Is(last, interp.ErrMemoryAccess) {
			t.Errorf("%s: last run: %v; want a memory access error: %t", e.name, last, wantErr)
		}
		if want == nil {
			want = got
			continue
		}
		for k := range got {
			if got[k].ret != want[k].ret || got[k].err != want[k].err || string(got[k].data) != string(want[k].data) {
				t.Errorf("%s run %d: %#x, %q, data %x; %s: %#x, %q, data %x", e.name, k, got[k].ret, got[k].err, got[k].data, engines[0].name, want[k].ret, want[k].err, want[k].data)
			}
		}
	}
}

// sameRuns is sameAttackRuns for a raw-memory program in interp, the JIT
// and a Runner of each, on mems.
func sameRuns(t *testing.T, spec *prog.Spec, opts *interp.Options, wantErr bool, mems ...[]byte) {
	t.Helper()
	ivm, vm, irn, rn := attackEngines(t, spec, opts)
	var engines []attackRun
	for _, e := range []struct {
		name string
		run  func([]byte) (uint64, error)
	}{{"interp", ivm.RunMemory}, {"jit", vm.RunMemory}, {"interp Runner", irn.RunMemory}, {"jit Runner", rn.RunMemory}} {
		engines = append(engines, attackRun{e.name, func(mem []byte) (uint64, []byte, error) {
			ret, err := e.run(mem)
			return ret, mem, err
		}})
	}
	sameAttackRuns(t, engines, wantErr, mems...)
}

// reserve16 reserves 16 bytes of ring buffer "rb" (r0) and exits when it
// cannot; it goes on at label "ok".
func reserve16() Instructions {
	return Instructions{
		LoadMapPtr(R1, "rb"),
		Mov.Imm(R2, 16),
		Mov.Imm(R3, 0),
		FnRingbufReserve.Call(),
		JNE.Imm(R0, 0, "ok"),
		Exit(),
	}
}

// padStores returns n one-byte stores to mem (r6), checked store sites
// that move the sites after them to other slots.
func padStores(n int) Instructions {
	var is Instructions
	for range n {
		is = append(is, StoreImm(R6, 0, 0, B))
	}
	return is
}

// TestAttackShortStackLims: a program whose only stack use is an atomic
// on r10-4 reaches 4 bytes of stack. Were its stack region 4 bytes long,
// the region check of an 8-byte access would compare with len-8+1, which
// must be 0, not the wrapped-around 2^64-3 that lets any 8-byte store
// through once the stack is the region a slot names (the 8-byte store
// site shares the atomic's slot, or not). The engine rounds the region up
// to 8 bytes and the search routine clamps the lims: each alone keeps
// the store out.
func TestAttackShortStackLims(t *testing.T) {
	victim := make([]byte, 64)
	target := int64(uintptr(unsafe.Pointer(&victim[8])))
	for _, pad := range []int{0, siteSlots - 1} {
		t.Run(fmt.Sprintf("pad %d", pad), func(t *testing.T) {
			is := seq(
				Mov.Reg(R6, R1),
				Mov.Imm(R2, 1),
				Atomic(AtomicAdd, W, R10, -4, R2), // store site 0: the stack
				padStores(pad),
				LoadImm64(R1, target),
				StoreImm(R1, 0, 0x41, DW), // store site pad+1: outside every region
				Mov.Imm(R0, 0),
				Exit(),
			)
			spec := &prog.Spec{Name: "shortstack", Type: prog.UnspecifiedProgram, Instructions: is}
			sameRuns(t, spec, nil, true, make([]byte, 8))
			if victim[8] != 0 {
				t.Fatalf("the program wrote host memory: %x", victim)
			}
		})
	}
}

// TestAttackSiteRingbufRevoked: one store site writes a ring buffer
// reservation, the program submits (or discards) it and loops back to the
// same site with the same pointer: the slot still names the table entry
// the reservation had, which must be empty or another region now.
func TestAttackSiteRingbufRevoked(t *testing.T) {
	rb := &prog.MapSpec{Name: "rb", Type: prog.RingBuf, MaxEntries: 4096}
	for _, fn := range []HelperFunc{FnRingbufSubmit, FnRingbufDiscard} {
		for _, load := range []bool{false, true} {
			access := StoreImm(R6, 8, 1, DW)
			if load {
				access = LoadMem(R0, R6, 8, DW)
			}
			t.Run(fmt.Sprintf("%v load %t", fn, load), func(t *testing.T) {
				is := seq(
					Mov.Reg(R9, R1),
					reserve16(),
					Mov.Reg(R6, R0).WithLabel("ok"),
					Mov.Imm(R7, 0),
					access.WithLabel("loop"),
					StoreImm(R9, 0, 1, B), // another region between
					JNE.Imm(R7, 0, "out"),
					Mov.Imm(R7, 1),
					Mov.Reg(R1, R6),
					Mov.Imm(R2, 0),
					fn.Call(),
					Ja("loop"),
					Mov.Imm(R0, 7).WithLabel("out"),
					Exit(),
				)
				spec := &prog.Spec{Name: "rbsite", Type: prog.UnspecifiedProgram, License: "GPL", Instructions: is, Maps: []*prog.MapSpec{rb}}
				sameRuns(t, spec, nil, true, make([]byte, 8), make([]byte, 8))
			})
		}
	}
}

// TestAttackSiteCalleeFrame: a subprogram's store site caches the stack
// region at call depth 2; after the calls return, the same site runs at
// depth 1 with the address of the frame that is gone.
func TestAttackSiteCalleeFrame(t *testing.T) {
	is := seq(
		Mov.Imm(R1, 0),
		CallLocal("g"),
		Mov.Reg(R1, R0), // h's frame at depth 2, gone
		CallLocal("h"),  // h at depth 1 stores there
		Mov.Imm(R0, 0),
		Exit(),
		// g calls h, which stores in its own frame and returns its address.
		Mov.Imm(R1, 0).WithLabel("g"),
		CallLocal("h"),
		Exit(),
		// h(p): p = its own frame when 0; *p = 7; returns p.
		JNE.Imm(R1, 0, "store").WithLabel("h"),
		Mov.Reg(R1, R10),
		Add.Imm(R1, -8),
		StoreImm(R1, 0, 7, DW).WithLabel("store"),
		Mov.Reg(R0, R1),
		Exit(),
	)
	spec := &prog.Spec{Name: "callee", Type: prog.UnspecifiedProgram, Instructions: is}
	sameRuns(t, spec, nil, true, make([]byte, 8), make([]byte, 8))
}

// TestAttackSiteAlternatingBases: one load site and one store site run in
// a loop with a pointer that moves between the memory, the stack, a map
// value and, last, an address outside every region (just past the
// memory, and a host address) in every order.
func TestAttackSiteAlternatingBases(t *testing.T) {
	victim := make([]byte, 64)
	host := int64(uintptr(unsafe.Pointer(&victim[0])))
	arr := &prog.MapSpec{Name: "arr", Type: prog.Array, KeySize: 4, ValueSize: 16, MaxEntries: 1}
	// r6 = mem, r7 = map value, r8 = stack (r10-16), r9 = a counter;
	// the pointer of iteration k is chosen by the k-th entry of order.
	for _, order := range [][]int{{0, 1, 2, 3}, {1, 0, 3}, {2, 1, 0, 2, 4}, {0, 0, 1, 1, 2, 2, 4}, {1, 2, 3}} {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			is := seq(
				Mov.Reg(R6, R1),
				LoadMapValue(R7, "arr", 0),
				Mov.Reg(R8, R10),
				Add.Imm(R8, -16),
				StoreImm(R10, -16, 0, DW),
				StoreImm(R10, -8, 0, DW),
				Mov.Imm(R9, 0),
			)
			is = append(is, Mov.Imm(R0, 0).WithLabel("loop"))
			for k, base := range order {
				next := fmt.Sprintf("n%d", k)
				is = append(is, JNE.Imm(R9, int32(k), next))
				switch base {
				case 0:
					is = append(is, Mov.Reg(R2, R6))
				case 1:
					is = append(is, Mov.Reg(R2, R7))
				case 2:
					is = append(is, Mov.Reg(R2, R8))
				case 3:
					is = append(is, Mov.Reg(R2, R6), Add.Imm(R2, 16)) // just past the memory
				case 4:
					is = append(is, LoadImm64(R2, host))
				}
				is = append(is, Ja("access"), Mov.Imm(R0, 0).WithLabel(next))
			}
			is = append(is,
				Ja("out"),
				LoadMem(R3, R2, 8, DW).WithLabel("access"),
				Add.Imm(R3, 1),
				StoreMem(R2, 8, R3, DW),
				Add.Imm(R9, 1),
				Ja("loop"),
				Exit().WithLabel("out"),
			)
			spec := &prog.Spec{Name: "alt", Type: prog.UnspecifiedProgram, Instructions: is, Maps: []*prog.MapSpec{arr}}
			last := order[len(order)-1]
			sameRuns(t, spec, nil, last >= 3, make([]byte, 16))
			if string(victim) != string(make([]byte, 64)) {
				t.Fatalf("the program wrote host memory: %x", victim)
			}
		})
	}
}

// TestAttackSiteShorterMemory: a Runner's run on 32 bytes reads and writes
// its last word through one site each; the next run, on the first 16
// bytes of the same buffer (the same start: the same table entry, now
// shorter), does the same.
func TestAttackSiteShorterMemory(t *testing.T) {
	is := Instructions{
		LoadMem(R0, R1, 24, DW),
		StoreImm(R1, 24, 5, DW),
		Exit(),
	}
	spec := &prog.Spec{Name: "shorter", Type: prog.UnspecifiedProgram, Instructions: is}
	ivm, vm, irn, rn := attackEngines(t, spec, nil)
	for _, e := range []struct {
		name string
		run  func([]byte) (uint64, error)
	}{{"interp", ivm.RunMemory}, {"jit", vm.RunMemory}, {"interp Runner", irn.RunMemory}, {"jit Runner", rn.RunMemory}} {
		buf := make([]byte, 40)
		for k := range 3 {
			if _, err := e.run(buf[:32]); err != nil {
				t.Fatalf("%s: 32 bytes: %v", e.name, err)
			}
			buf[24] = 0
			_, err := e.run(buf[:16])
			var re *interp.RunError
			if !errors.As(err, &re) || re.PC != 0 || !errors.Is(err, interp.ErrMemoryAccess) {
				t.Fatalf("%s round %d: 16 bytes: %v; want a memory access error at pc 0", e.name, k, err)
			}
			if buf[24] != 0 {
				t.Fatalf("%s round %d: the run on 16 bytes wrote byte 24", e.name, k)
			}
		}
	}
}

// TestAttackSiteTailCall: program a stores into a ring buffer reservation
// through its store site 0, keeps the pointer in mem, submits it and
// tail-calls b, whose store site 0 shares a's slot and stores through the
// kept pointer: the slot names the table entry the reservation had.
func TestAttackSiteTailCall(t *testing.T) {
	w := newWorld(t, progArray("jmp"), prog.MapSpec{Name: "rb", Type: prog.RingBuf, MaxEntries: 4096})
	a := w.jit(w.spec("a", []string{"jmp", "rb"}, seq(
		Mov.Reg(R9, R1),
		reserve16(),
		StoreImm(R0, 0, 1, DW).WithLabel("ok"), // store site 0
		StoreMem(R9, 0, R0, DW),
		Mov.Reg(R1, R0),
		Mov.Imm(R2, 0),
		FnRingbufSubmit.Call(),
		Mov.Reg(R1, R9),
		tailCall("jmp", 0),
		Mov.Imm(R0, 1),
		Exit(),
	)...), nil)
	defer a.Close()
	b := w.jit(w.spec("b", nil,
		LoadMem(R2, R1, 0, DW),
		StoreImm(R2, 0, 2, DW), // store site 0
		Mov.Imm(R0, 2),
		Exit(),
	), nil)
	defer b.Close()
	w.set("jmp", 0, b.Interp())
	mem := make([]byte, 8)
	iv, ierr := a.Interp().RunMemory(append([]byte(nil), mem...))
	if !errors.Is(ierr, interp.ErrMemoryAccess) {
		t.Fatalf("interp: %d, %v; want a memory access error", iv, ierr)
	}
	for name, run := range map[string]func([]byte) (uint64, error){"jit": a.RunMemory, "interp": a.Interp().RunMemory} {
		v, err := run(append([]byte(nil), mem...))
		if hexAddr.ReplaceAllString(errText(err), "") != hexAddr.ReplaceAllString(errText(ierr), "") || v != iv {
			t.Errorf("%s: %d, %v; interp %d, %v", name, v, err, iv, ierr)
		}
	}
	rn, err := a.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	for range 3 {
		v, err := rn.RunMemory(append([]byte(nil), mem...))
		if hexAddr.ReplaceAllString(errText(err), "") != hexAddr.ReplaceAllString(errText(ierr), "") || v != iv {
			t.Errorf("Runner: %d, %v; interp %d, %v", v, err, iv, ierr)
		}
	}
}

// TestAttackSiteXDPShrink: an XDP program reads a byte of its packet
// through one site, shrinks the packet (xdp_adjust_tail) or moves its
// start past the byte (xdp_adjust_head) and reads the same address
// through the same site again.
func TestAttackSiteXDPShrink(t *testing.T) {
	for _, c := range []struct {
		name  string
		fn    HelperFunc
		delta int32
	}{
		{"adjust_tail", FnXDPAdjustTail, -16},
		{"adjust_head", FnXDPAdjustHead, 14},
	} {
		t.Run(c.name, func(t *testing.T) {
			pick := Mov.Reg(R7, R2) // the first byte
			if c.fn == FnXDPAdjustTail {
				pick = Mov.Reg(R7, R3) // the last byte
			}
			is := Instructions{
				Mov.Reg(R6, R1),
				LoadMem(R2, R6, 0, W), // data
				LoadMem(R3, R6, 4, W), // data_end
				Add.Imm(R3, -1),
				pick,
				Mov.Imm(R8, 0),
				LoadMem(R0, R7, 0, B).WithLabel("loop"),
				JNE.Imm(R8, 0, "out"),
				Mov.Imm(R8, 1),
				Mov.Reg(R1, R6),
				Mov.Imm(R2, c.delta),
				c.fn.Call(),
				Ja("loop"),
				Mov.Imm(R0, 2).WithLabel("out"),
				Exit(),
			}
			frame := make([]byte, 64)
			for k := range frame {
				frame[k] = byte(k + 1)
			}
			sameXDPRuns(t, &prog.Spec{Name: c.name, Type: prog.XDP, License: "GPL", Instructions: is}, true, frame, frame)
		})
	}
}

// TestAttackSiteXDPShorterFrame: a Runner's XDP run reads and writes byte
// 40 of a 64-byte frame through one site each; its next run is on a
// 32-byte frame.
func TestAttackSiteXDPShorterFrame(t *testing.T) {
	is := Instructions{
		LoadMem(R2, R1, 0, W), // data
		LoadMem(R0, R2, 40, B),
		StoreImm(R2, 40, 9, B),
		Mov.Imm(R0, 2),
		Exit(),
	}
	spec := &prog.Spec{Name: "shorter", Type: prog.XDP, Instructions: is}
	sameXDPRuns(t, spec, true, make([]byte, 64), make([]byte, 32))
}

// sameXDPRuns is sameAttackRuns for an XDP program in interp, the JIT and
// a Runner of each, on frames, twice.
func sameXDPRuns(t *testing.T, spec *prog.Spec, wantErr bool, frames ...[]byte) {
	t.Helper()
	ivm, vm, irn, rn := attackEngines(t, spec, nil)
	var engines []attackRun
	for _, e := range []struct {
		name string
		run  func([]byte, *interp.XDPMeta) (uint32, []byte, error)
	}{{"interp", ivm.RunXDP}, {"jit", vm.RunXDP}, {"interp Runner", irn.RunXDP}, {"jit Runner", rn.RunXDP}} {
		engines = append(engines, attackRun{e.name, func(frame []byte) (uint64, []byte, error) {
			ret, out, err := e.run(frame, nil)
			return uint64(ret), out, err
		}})
	}
	sameAttackRuns(t, engines, wantErr, append(frames, frames...)...)
}
