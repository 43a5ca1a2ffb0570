package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

var innerArr = prog.MapSpec{Name: "inner", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2}

// outerVM returns a VM whose program is is, with the array of maps
// "outer" (4 slots of innerArr maps) and the plain array "plain".
func outerVM(t *testing.T, inner prog.MapSpec, is ...insn.Instruction) (*VM, *maps.OfMaps) {
	t.Helper()
	ms := []*prog.MapSpec{
		{Name: "outer", Type: prog.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 4, InnerMap: &inner},
		{Name: "plain", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1},
	}
	vm := specVM(t, 0, ms, nil, is...)
	return vm, vm.Map("outer").(*maps.OfMaps)
}

// lookupOuter looks up key k of "outer" into r6 (the inner map handle),
// going to "null" when the slot is empty.
func lookupOuter(k int32) insn.Instructions {
	return insn.Instructions{
		insn.StoreImm(r10, -4, k, insn.W),
		insn.LoadMapPtr(r1, "outer"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "null"),
		insn.Mov.Reg(r6, r0),
	}
}

func tail(is ...insn.Instruction) insn.Instructions {
	return append(insn.Instructions(is),
		insn.Mov.Imm(r0, 1), insn.Exit(),
		insn.Mov.Imm(r0, 100).WithLabel("null"), insn.Exit(),
		insn.Mov.Imm(r0, 200).WithLabel("fail"), insn.Exit())
}

// TestMapInMapHelpers: a lookup in an array of maps gives the inner map,
// which the program looks up (adding 1 through the value), updates and
// deletes from; an empty slot is NULL. The inner maps are not the VM's.
func TestMapInMapHelpers(t *testing.T) {
	is := append(lookupOuter(1), tail(
		insn.StoreImm(r10, -8, 0, insn.W),
		insn.Mov.Reg(r1, r6), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "fail"),
		insn.LoadMem(r1, r0, 0, insn.DW), insn.Add.Imm(r1, 1), insn.StoreMem(r0, 0, r1, insn.DW),
		insn.StoreImm(r10, -8, 1, insn.W), insn.StoreImm(r10, -16, 42, insn.DW),
		insn.Mov.Reg(r1, r6), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8), insn.Mov.Reg(r3, r10), insn.Add.Imm(r3, -16), insn.Mov.Imm(r4, 0),
		call(insn.FnMapUpdateElem),
		insn.JNE.Imm(r0, 0, "fail"),
		// An array's delete is -EINVAL, as in the kernel: r7 keeps it.
		insn.Mov.Reg(r1, r6), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8),
		call(insn.FnMapDeleteElem),
		insn.Mov.Reg(r7, r0),
		insn.StoreMem(r10, -24, r7, insn.DW),
		insn.JNE.Imm(r7, int32(-int32(syscall.EINVAL)), "fail"),
	)...)
	vm, outer := outerVM(t, innerArr, is...)
	if r, err := vm.RunMemory(nil); err != nil || r != 100 {
		t.Fatalf("empty slot: %d, %v; want 100 (NULL)", r, err)
	}
	a, err := maps.New(innerArr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := outer.Set(uint32(1), a, prog.UpdateAny); err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		if r, err := vm.RunMemory(nil); err != nil || r != 1 {
			t.Fatalf("run %d: %d, %v; want 1", k, r, err)
		}
	}
	var v uint64
	if err := a.Lookup(uint32(0), &v); err != nil || v != 3 {
		t.Errorf("inner[0] = %d, %v; want 3", v, err)
	}
	if err := a.Lookup(uint32(1), &v); err != nil || v != 42 {
		t.Errorf("inner[1] = %d, %v; want 42", v, err)
	}
	if err := outer.Delete(uint32(1)); err != nil {
		t.Fatal(err)
	}
	if r, err := vm.RunMemory(nil); err != nil || r != 100 {
		t.Fatalf("deleted slot: %d, %v; want 100 (NULL)", r, err)
	}
}

// TestMapInMapRingbuf: ringbuf_output through an inner ring buffer.
func TestMapInMapRingbuf(t *testing.T) {
	rs := prog.MapSpec{Name: "rb", Type: prog.RingBuf, MaxEntries: 4096}
	is := append(lookupOuter(0), tail(
		insn.StoreImm(r10, -16, 0x1234, insn.DW),
		insn.Mov.Reg(r1, r6), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -16), insn.Mov.Imm(r3, 8), insn.Mov.Imm(r4, 0),
		call(insn.FnRingbufOutput),
		insn.JNE.Imm(r0, 0, "fail"),
	)...)
	vm, outer := outerVM(t, rs, is...)
	rb, err := maps.New(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := outer.Set(uint32(0), rb, prog.UpdateAny); err != nil {
		t.Fatal(err)
	}
	if r, err := vm.RunMemory(nil); err != nil || r != 1 {
		t.Fatalf("run: %d, %v", r, err)
	}
	rec, err := rb.(*maps.RingBuf).Read()
	if err != nil || len(rec) != 8 || binary.NativeEndian.Uint64(rec) != 0x1234 {
		t.Fatalf("record % x, %v", rec, err)
	}
}

// TestMapInMapOuterWrites: programs cannot update or delete entries of a
// map of maps (the verifier allows only map_lookup_elem): -EINVAL.
func TestMapInMapOuterWrites(t *testing.T) {
	for _, fn := range []insn.HelperFunc{insn.FnMapUpdateElem, insn.FnMapDeleteElem} {
		vm, outer := outerVM(t, innerArr,
			insn.StoreImm(r10, -4, 0, insn.W), insn.StoreImm(r10, -8, 0, insn.W),
			insn.LoadMapPtr(r1, "outer"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), insn.Mov.Reg(r3, r10), insn.Add.Imm(r3, -8), insn.Mov.Imm(r4, 0),
			call(fn), insn.Exit())
		a, _ := maps.New(innerArr, nil)
		if err := outer.Set(uint32(0), a, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		if r, err := vm.RunMemory(nil); err != nil || r != Errno(syscall.EINVAL) {
			t.Errorf("%v on the outer map: %#x, %v; want -EINVAL", fn, r, err)
		}
		if m, err := outer.Inner(uint32(0)); err != nil || m != a {
			t.Errorf("%v changed the outer map: %v, %v", fn, m, err)
		}
	}
}

// TestMapInMapSandbox: an inner map handle is no memory (loads and stores
// through it fail), a forged handle is not a map, and a handle does not
// outlive its run: not in the same VM's next run, not in another VM.
func TestMapInMapSandbox(t *testing.T) {
	a, _ := maps.New(innerArr, nil)
	set := func(o *maps.OfMaps) {
		t.Helper()
		if err := o.Set(uint32(0), a, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		what string
		op   insn.Instruction
	}{
		{"store", insn.StoreImm(r6, 0, 1, insn.DW)},
		{"load", insn.LoadMem(r0, r6, 0, insn.DW)},
		{"store at -8", insn.StoreImm(r6, -8, 1, insn.DW)},
		{"atomic add", insn.Atomic(insn.AtomicAdd, insn.DW, r6, 0, r7)},
	} {
		vm, outer := outerVM(t, innerArr, append(lookupOuter(0), tail(c.op)...)...)
		set(outer)
		if _, err := vm.RunMemory(nil); !errors.Is(err, ErrMemoryAccess) {
			t.Errorf("%s through an inner map handle: %v, want ErrMemoryAccess", c.what, err)
		}
	}

	// Forged handles: where the first inner handle would be (no lookup
	// made it), and the one after the only one made.
	for _, c := range []struct {
		what   string
		lookup bool
		handle uint64
	}{
		{"no lookup", false, innerHandleBase},
		{"next", true, innerHandleBase + mapHandleStride},
		{"misaligned", true, innerHandleBase + 8},
		{"between VM maps and inner", true, mapHandleBase + 1<<30},
	} {
		var is insn.Instructions
		if c.lookup {
			is = append(is, lookupOuter(0)...)
		}
		is = append(is,
			insn.StoreImm(r10, -8, 0, insn.W),
			insn.LoadImm64(r1, int64(c.handle)), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8),
			call(insn.FnMapLookupElem))
		vm, outer := outerVM(t, innerArr, tail(is...)...)
		set(outer)
		if _, err := vm.RunMemory(nil); !errors.Is(err, ErrMemoryAccess) {
			t.Errorf("forged handle %s (%#x): %v, want ErrMemoryAccess", c.what, c.handle, err)
		}
	}

	// A handle from an earlier run, of this VM and of another.
	leak, outer := outerVM(t, innerArr, append(lookupOuter(0), tail(insn.Mov.Reg(r0, r6), insn.Exit())...)...)
	set(outer)
	h, err := leak.RunMemory(nil)
	if err != nil || h != innerHandleBase {
		t.Fatalf("leak run: %#x, %v", h, err)
	}
	use := func(is ...insn.Instruction) insn.Instructions {
		return tail(append(insn.Instructions(is),
			insn.StoreImm(r10, -8, 0, insn.W),
			insn.LoadImm64(r1, int64(h)), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8),
			call(insn.FnMapLookupElem))...)
	}
	other, outer2 := outerVM(t, innerArr, use()...)
	set(outer2)
	if _, err := other.RunMemory(nil); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("another VM's handle: %v, want ErrMemoryAccess", err)
	}
	// Within one run the handle is the one the run's own lookup made.
	again, outer3 := outerVM(t, innerArr, append(lookupOuter(0), use(insn.Mov.Reg(r1, r1))...)...)
	set(outer3)
	if r, err := again.RunMemory(nil); err != nil || r != 1 {
		t.Errorf("a handle of this run: %d, %v", r, err)
	}
	second, outer4 := outerVM(t, innerArr, use()...)
	set(outer4)
	if _, err := leak.RunMemory(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := second.RunMemory(nil); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("a handle of an ended run: %v, want ErrMemoryAccess", err)
	}
	// A Runner (which may keep its Env bound) drops the handles too.
	rn, err := leak.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	for k := range 3 {
		if r, err := rn.RunMemory(nil); err != nil || r != innerHandleBase {
			t.Fatalf("runner run %d: %#x, %v", k, r, err)
		}
		if len(rn.env.inner) != 0 {
			t.Fatalf("runner run %d left %d inner handles", k, len(rn.env.inner))
		}
	}
}

// TestMapInMapManyInner: the handle table holds each inner map once, so
// a run that looks up the same slot many times keeps one entry.
func TestMapInMapManyInner(t *testing.T) {
	is := tail(
		insn.Mov.Imm(r7, 0),
		insn.StoreImm(r10, -4, 0, insn.W).WithLabel("loop"),
		insn.LoadMapPtr(r1, "outer"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "null"),
		insn.Add.Imm(r7, 1),
		insn.JLT.Imm(r7, 10000, "loop"),
	)
	vm, outer := outerVM(t, innerArr, is...)
	a, _ := maps.New(innerArr, nil)
	if err := outer.Set(uint32(0), a, prog.UpdateAny); err != nil {
		t.Fatal(err)
	}
	e := vm.AcquireEnv()
	defer vm.ReleaseEnv(e)
	vm.StartEnv(e)
	if _, err := e.innerLookup(outer, []byte{0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if h, err := e.innerLookup(outer, []byte{0, 0, 0, 0}); err != nil || h != innerHandleBase {
			t.Fatalf("lookup: %#x, %v", h, err)
		}
	}
	if len(e.inner) != 1 {
		t.Errorf("%d table entries for one inner map", len(e.inner))
	}
	if r, err := vm.RunMemory(nil); err != nil || r != 1 {
		t.Fatalf("run: %d, %v", r, err)
	}
}

// FuzzInnerHandle: a program that holds a real inner map handle (r6)
// passes r6+delta to a map helper, or loads or stores at r6+off. Only
// delta 0 reaches the inner map; any other value fails with a
// sentinel-wrapped run error (or the helper's errno for a VM map it
// happens to name), never a panic, and the inner map changes only
// through the real handle.
func FuzzInnerHandle(f *testing.F) {
	f.Add(uint64(0), int16(0), uint8(0))
	f.Add(uint64(mapHandleStride), int16(8), uint8(1))
	back := uint64(innerHandleBase - mapHandleBase) // to the VM's map 0
	f.Add(-back, int16(-8), uint8(2))
	f.Add(uint64(1), int16(0), uint8(3))
	f.Fuzz(func(t *testing.T, delta uint64, off int16, op uint8) {
		var body insn.Instructions
		switch op % 5 {
		case 0, 1, 2:
			fn := []insn.HelperFunc{insn.FnMapLookupElem, insn.FnMapUpdateElem, insn.FnMapDeleteElem}[op%5]
			body = insn.Instructions{
				insn.StoreImm(r10, -8, 0, insn.W), insn.StoreImm(r10, -16, 5, insn.DW),
				insn.LoadImm64(r1, int64(delta)), insn.Add.Reg(r1, r6),
				insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8), insn.Mov.Reg(r3, r10), insn.Add.Imm(r3, -16), insn.Mov.Imm(r4, 0),
				call(fn),
			}
		case 3:
			body = insn.Instructions{insn.StoreImm(r6, off, 9, insn.DW)}
		case 4:
			body = insn.Instructions{insn.LoadMem(r0, r6, off, insn.DW)}
		}
		vm, outer := outerVM(t, innerArr, append(lookupOuter(0), tail(body...)...)...)
		a, _ := maps.New(innerArr, nil)
		if err := outer.Set(uint32(0), a, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		_, err := vm.RunMemory(nil)
		if err != nil && !errors.Is(err, ErrMemoryAccess) && !errors.Is(err, ErrHelper) {
			t.Fatalf("run error %v wraps no expected sentinel", err)
		}
		if op%5 >= 3 && err == nil {
			t.Fatalf("access at handle%+d succeeded", off)
		}
		var v uint64
		if err := a.Lookup(uint32(0), &v); err != nil {
			t.Fatal(err)
		}
		if v != 0 && !(op%5 == 1 && delta == 0) {
			t.Fatalf("inner[0] = %d after op %d with delta %#x", v, op%5, delta)
		}
	})
}

// BenchmarkMapInMapLookupLoop is BenchmarkHelperCallLoop through an array
// of maps: 100 times an outer lookup, then the inner array's element.
func BenchmarkMapInMapLookupLoop(b *testing.B) {
	inner := prog.MapSpec{Name: "a", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}
	ms := []*prog.MapSpec{{Name: "outer", Type: prog.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1, InnerMap: &inner}}
	vm := specVM(b, 0, ms, nil,
		insn.Mov.Imm(r6, 100), insn.Mov.Imm(r7, 0),
		insn.StoreImm(r10, -4, 0, insn.W), insn.StoreImm(r10, -8, 2, insn.W),
		insn.LoadMapPtr(r1, "outer").WithLabel("loop"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "out"),
		insn.Mov.Reg(r1, r0), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "out"),
		insn.LoadMem(r1, r0, 0, insn.DW), insn.Add.Reg(r7, r1),
		insn.Sub.Imm(r6, 1), insn.JNE.Imm(r6, 0, "loop"),
		insn.Mov.Reg(r0, r7),
		insn.Exit().WithLabel("out"),
	)
	a, _ := maps.New(inner, nil)
	if err := a.Update(uint32(2), uint64(5), prog.UpdateAny); err != nil {
		b.Fatal(err)
	}
	if err := vm.Map("outer").(*maps.OfMaps).Set(uint32(0), a, prog.UpdateAny); err != nil {
		b.Fatal(err)
	}
	bench(b, vm, nil, 500)
}

// TestMapInMapConcurrentRuns: concurrent runs of one VM each have their
// own handle table (run with -race) while Go swaps the inner map.
func TestMapInMapConcurrentRuns(t *testing.T) {
	is := append(lookupOuter(0), tail(
		insn.StoreImm(r10, -8, 0, insn.W),
		insn.Mov.Reg(r1, r6), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "fail"),
		insn.Mov.Imm(r1, 1), insn.Atomic(insn.AtomicAdd, insn.DW, r0, 0, r1),
	)...)
	vm, outer := outerVM(t, innerArr, is...)
	a, _ := maps.New(innerArr, nil)
	b, _ := maps.New(innerArr, nil)
	if err := outer.Set(uint32(0), a, prog.UpdateAny); err != nil {
		t.Fatal(err)
	}
	const runs = 2000
	errs := make(chan error, 3)
	for range 2 {
		go func() {
			for range runs {
				if r, err := vm.RunMemory(nil); err != nil || r != 1 {
					errs <- fmt.Errorf("run: %d, %v", r, err)
					return
				}
			}
			errs <- nil
		}()
	}
	go func() {
		for k := range runs {
			m := a
			if k%2 == 1 {
				m = b
			}
			if err := outer.Set(uint32(0), m, prog.UpdateAny); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var va, vb uint64
	_ = a.Lookup(uint32(0), &va)
	_ = b.Lookup(uint32(0), &vb)
	if va+vb != 2*runs {
		t.Errorf("counts %d + %d, want %d", va, vb, 2*runs)
	}
}
