//go:build amd64 && unix

package jit

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// The sandbox promise for the fast paths of bound runs
// (fastpath_amd64.go): map value loads, array lookups and xdp_md reads
// that the code makes itself grant exactly what interp's helpers and
// LD_IMM64 grant, in the same order, and everything else gives interp's
// result and error.

// fastWorld is a world with the maps the fast-path tests use: arr (an
// array of 4 values of 12 bytes, 16 apart), glob (one 16-byte value, as
// a global-data section), pcpu (a per-CPU array) and hash.
func fastWorld(t *testing.T) *world {
	return newWorld(t,
		prog.MapSpec{Name: "arr", Type: prog.Array, KeySize: 4, ValueSize: 12, MaxEntries: 4},
		prog.MapSpec{Name: "glob", Type: prog.Array, KeySize: 4, ValueSize: 16, MaxEntries: 1},
		prog.MapSpec{Name: "pcpu", Type: prog.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 2},
		prog.MapSpec{Name: "hash", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		prog.MapSpec{Name: "ro", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: 1 << 7}, // BPF_F_RDONLY_PROG
	)
}

var fastMaps = []string{"arr", "glob", "pcpu", "hash", "ro"}

// lookup is r0 = map_lookup_elem(m, &idx), with the key at r10-4.
func lookup(m string, idx int32) []insn.Instruction {
	return []insn.Instruction{
		insn.StoreImm(insn.R10, -4, idx, insn.W),
		insn.LoadMapPtr(insn.R1, m),
		insn.Mov.Reg(insn.R2, insn.R10),
		insn.Add.Imm(insn.R2, -4),
		insn.Call(int32(insn.FnMapLookupElem)),
	}
}

// sameXDP runs is as an XDP program on a small frame in jit (a Runner)
// and in interp and fails the test unless the results, output packets
// and errors are the same; it returns the jit run's exits to Go (other
// than its end) and its error.
func sameXDP(t *testing.T, w *world, opts *interp.Options, is insn.Instructions) (uint64, error) {
	t.Helper()
	return sameRun(t, w, prog.XDP, opts, is)
}

// sameRun is sameXDP for XDP or tc (prog.SchedCLS) programs; a tc run
// also compares the context's fields it leaves (interp.TCMeta).
func sameRun(t *testing.T, w *world, typ prog.Type, opts *interp.Options, is insn.Instructions) (uint64, error) {
	t.Helper()
	spec := w.spec("fast", fastMaps, is...)
	spec.Type = typ
	var o *Options
	if opts != nil {
		oi := *opts
		oi.Helpers = w.registry(true)
		o = &Options{Interp: &oi}
	}
	vm := w.jit(spec, o)
	defer vm.Close()
	frame := udp4Frame()
	var counts [16]uint64
	exitCounts.Store(&counts)
	var meta, imeta interp.TCMeta
	run := func(p interface {
		RunXDP([]byte, *interp.XDPMeta) (uint32, []byte, error)
		RunTC([]byte, *interp.TCMeta) (uint32, []byte, error)
	}, m *interp.TCMeta) (uint32, []byte, error) {
		if typ == prog.XDP {
			return p.RunXDP(frame, nil)
		}
		*m = interp.TCMeta{Mark: 7, Priority: 3, TCIndex: 2}
		return p.RunTC(frame, m)
	}
	// The VM's runs, not a Runner's: a Runner keeps a packet buffer of
	// its own (engine.KeepPackets), and the programs here compare packet
	// addresses, which must be the same page in both engines.
	ret, out, err := run(vm, &meta)
	exitCounts.Store(nil)
	iret, iout, ierr := run(vm.Interp(), &imeta)
	if meta != imeta {
		t.Errorf("context fields: jit %+v, interp %+v", meta, imeta)
	}
	// The engines' Envs hold the context (and stack) at different
	// addresses: compare the errors without them.
	if hexAddr.ReplaceAllString(fmt.Sprint(err), "ADDR") != hexAddr.ReplaceAllString(fmt.Sprint(ierr), "ADDR") || ret != iret || !bytes.Equal(out, iout) {
		t.Errorf("jit: %d, %v; interp: %d, %v", ret, err, iret, ierr)
	}
	var n uint64
	for reason, c := range counts {
		if reason != exitDone && reason != exitAbort {
			n += c
		}
	}
	return n, err
}

// ret is parts, then r0 = 2 (XDP_PASS, TC_ACT_SHOT), exit.
func ret(parts ...any) insn.Instructions {
	return seq(append(parts, insn.Mov.Imm(insn.R0, 2), insn.Exit())...)
}

func TestFastArrayLookup(t *testing.T) {
	w := fastWorld(t)
	for _, c := range []struct {
		name  string
		is    insn.Instructions
		fails bool   // the run fails (in both engines)
		exits uint64 // exits to Go: a failing access is one (exitMiss)
	}{
		// An index out of range is NULL, without a region.
		{"index max_entries", seq(lookup("arr", 4), insn.Exit()), false, 0},
		{"index -1", seq(lookup("arr", -1), insn.Exit()), false, 0},
		{"null deref", ret(lookup("arr", 4), insn.LoadMem(insn.R1, insn.R0, 0, insn.W)), true, 1},
		// The element is granted exactly: its 12 bytes, not the padding
		// to the next one nor the next one.
		{"last element", ret(lookup("arr", 3), insn.StoreImm(insn.R0, 8, 7, insn.W), insn.LoadMem(insn.R1, insn.R0, 8, insn.W)), false, 0},
		{"past the value", ret(lookup("arr", 3), insn.LoadMem(insn.R1, insn.R0, 12, insn.W)), true, 1},
		{"straddles the value's end", ret(lookup("arr", 0), insn.LoadMem(insn.R1, insn.R0, 8, insn.DW)), true, 1},
		{"next element", ret(lookup("arr", 0), insn.StoreImm(insn.R0, 16, 1, insn.W)), true, 1},
		{"before the value", ret(lookup("arr", 1), insn.LoadMem(insn.R1, insn.R0, -4, insn.W)), true, 1},
		{"past the storage", ret(lookup("arr", 3), insn.LoadMem(insn.R1, insn.R0, 16, insn.B)), true, 1},
		// Two lookups grant two elements.
		{"two elements", ret(lookup("arr", 0), insn.Mov.Reg(insn.R6, insn.R0), lookup("arr", 1),
			insn.LoadMem(insn.R1, insn.R6, 0, insn.W), insn.LoadMem(insn.R1, insn.R0, 4, insn.W)), false, 0},
		// A key that is not on the stack leaves to Go, which checks it.
		{"key in a map value", ret(insn.LoadMapValue(insn.R2, "glob", 0), insn.LoadMapPtr(insn.R1, "arr"),
			insn.Call(int32(insn.FnMapLookupElem)), insn.LoadMem(insn.R1, insn.R0, 0, insn.W)), false, 1},
		{"key past the stack", ret(insn.LoadMapPtr(insn.R1, "arr"), insn.Mov.Reg(insn.R2, insn.R10),
			insn.Add.Imm(insn.R2, -2), insn.Call(int32(insn.FnMapLookupElem))), true, 1},
		{"key at a wild address", ret(insn.LoadMapPtr(insn.R1, "arr"), insn.LoadImm64(insn.R2, 0x10000),
			insn.Call(int32(insn.FnMapLookupElem))), true, 1},
		// Not a map: Go's error.
		{"forged map", ret(insn.StoreImm(insn.R10, -4, 0, insn.W), insn.LoadImm64(insn.R1, 0x7fff0000),
			insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -4), insn.Call(int32(insn.FnMapLookupElem))), true, 1},
		// A per-CPU array, and a hash map (machine code too).
		{"per-CPU", ret(lookup("pcpu", 1), insn.StoreImm(insn.R0, 0, 3, insn.DW), insn.LoadMem(insn.R1, insn.R0, 8, insn.B)), true, 1},
		{"hash miss", seq(lookup("hash", 1), insn.Exit()), false, 0}, // fastpath_hash_amd64.go
	} {
		t.Run(c.name, func(t *testing.T) {
			exits, err := sameXDP(t, w, nil, c.is)
			if (err != nil) != c.fails {
				t.Errorf("error %v, want failure %v", err, c.fails)
			}
			if exits != c.exits {
				t.Errorf("%d exits to Go, want %d", exits, c.exits)
			}
		})
	}
}

// TestFastMapValue checks LD_IMM64 map value loads: the storage is
// granted when the load runs, not before, and not past its end.
func TestFastMapValue(t *testing.T) {
	w := fastWorld(t)
	for _, c := range []struct {
		name  string
		is    insn.Instructions
		fails bool
	}{
		{"read and write", ret(insn.LoadMapValue(insn.R1, "glob", 8), insn.StoreImm(insn.R1, 0, 5, insn.DW), insn.LoadMem(insn.R2, insn.R1, -8, insn.DW)), false},
		{"past the end", ret(insn.LoadMapValue(insn.R1, "glob", 0), insn.LoadMem(insn.R2, insn.R1, 16, insn.B)), true},
		{"before the start", ret(insn.LoadMapValue(insn.R1, "glob", 0), insn.LoadMem(insn.R2, insn.R1, -1, insn.B)), true},
		// A helper (Go) sees the map value too.
		{"helper reads it", ret(insn.LoadMapValue(insn.R2, "glob", 0), insn.LoadMapPtr(insn.R1, "hash"),
			insn.LoadMapValue(insn.R3, "glob", 8), insn.Mov.Imm(insn.R4, 0), insn.Call(int32(insn.FnMapUpdateElem)),
			lookup("hash", 0), insn.LoadMem(insn.R1, insn.R0, 0, insn.DW)), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := sameXDP(t, w, nil, c.is); (err != nil) != c.fails {
				t.Errorf("error %v, want failure %v", err, c.fails)
			}
		})
	}
}

// TestFastTablesFull fills the region tables past their room: lookups
// and map value loads beyond it leave to Go, with the same result.
func TestFastTablesFull(t *testing.T) {
	w := fastWorld(t)
	var is insn.Instructions
	for k := 0; k < 3*maxRegions; k++ {
		is = append(is, lookup("arr", int32(k%4))...)
		is = append(is, insn.StoreMem(insn.R10, int16(-16-8*(k%16)), insn.R0, insn.DW))
		is = append(is, insn.LoadMapValue(insn.R1, "glob", uint32(k%16)))
	}
	for k := 0; k < 16; k++ {
		is = append(is, insn.LoadMem(insn.R1, insn.R10, int16(-16-8*k), insn.DW), insn.LoadMem(insn.R2, insn.R1, 4, insn.W))
	}
	is = append(is, insn.Mov.Imm(insn.R0, 2), insn.Exit())
	exits, err := sameXDP(t, w, nil, is)
	if err != nil {
		t.Fatal(err)
	}
	if exits == 0 {
		t.Errorf("no exits to Go: the tables have room for %d regions", maxRegions)
	}
}

// TestFastPerCPUOtherCPU runs a per-CPU lookup as CPU 1 (the world's
// maps have at least two CPUs): the element is CPU 1's.
func TestFastPerCPUOtherCPU(t *testing.T) {
	w := fastWorld(t)
	is := seq(lookup("pcpu", 1), insn.StoreImm(insn.R0, 0, 9, insn.DW), insn.Mov.Imm(insn.R0, 2), insn.Exit())
	if _, err := sameXDP(t, w, &interp.Options{CPU: 1}, is); err != nil {
		t.Fatal(err)
	}
}

// TestFastXDPContextReads reads xdp_md at every offset and size, and
// writes it: the direct reads are exactly the aligned 4-byte loads of its
// six fields, and everything else is interp's error.
func TestFastXDPContextReads(t *testing.T) {
	w := fastWorld(t)
	for off := int16(-4); off < 32; off++ {
		for _, sz := range []insn.Size{insn.B, insn.H, insn.W, insn.DW} {
			is := seq(insn.LoadMem(insn.R0, insn.R1, off, sz), insn.Exit())
			exits, err := sameXDP(t, w, nil, is)
			direct := sz == insn.W && off >= 0 && off < 24 && off%4 == 0
			if direct && (err != nil || exits != 0) {
				t.Errorf("load of %d bytes at %d: %v, %d exits, want a direct read", sz.Bytes(), off, err, exits)
			}
			if !direct && err == nil {
				t.Errorf("load of %d bytes at %d: no error", sz.Bytes(), off)
			}
			if _, err := sameXDP(t, w, nil, seq(insn.StoreImm(insn.R1, off, 1, sz), insn.Mov.Imm(insn.R0, 2), insn.Exit())); err == nil {
				t.Errorf("store of %d bytes at %d: no error", sz.Bytes(), off)
			}
		}
	}
}

// TestFastMapValueNotAcrossRuns: a map value's region lasts for the run
// that loaded its address. The first run leaves glob's address in arr;
// the second dereferences it before any map value load, which must fail
// as in interp (the region tables of the first run are not kept).
func TestFastMapValueNotAcrossRuns(t *testing.T) {
	is := seq(
		lookup("arr", 0),
		insn.JEq.Imm(insn.R0, 0, "out"),
		insn.Mov.Reg(insn.R6, insn.R0),
		insn.LoadMem(insn.R1, insn.R6, 0, insn.DW),
		insn.JEq.Imm(insn.R1, 0, "first"),
		insn.LoadMem(insn.R0, insn.R1, 0, insn.B),
		insn.Exit(),
		insn.LoadMapValue(insn.R2, "glob", 0).WithLabel("first"),
		insn.StoreMem(insn.R6, 0, insn.R2, insn.DW),
		insn.Mov.Imm(insn.R0, 2).WithLabel("out"),
		insn.Exit(),
	)
	secondRunFails(t, is, "read glob without loading its address")
}

// secondRunFails runs is as an XDP program twice, through a jit Runner
// and through interp: the first run must pass (XDP_PASS) and the second
// must fail (what), with the same error in both engines.
func secondRunFails(t *testing.T, is insn.Instructions, what string) {
	t.Helper()
	var errs [2]string
	for k, useJIT := range []bool{true, false} {
		w := fastWorld(t)
		spec := w.spec("fast", fastMaps, is...)
		spec.Type = prog.XDP
		vm := w.jit(spec, nil)
		var p interface {
			RunXDP([]byte, *interp.XDPMeta) (uint32, []byte, error)
		} = vm.Interp()
		if useJIT {
			rn, err := vm.NewRunner()
			if err != nil {
				t.Fatal(err)
			}
			defer rn.Close()
			p = rn
		}
		if ret, _, err := p.RunXDP(udp4Frame(), nil); err != nil || ret != 2 {
			t.Fatalf("jit %v: first run: %d, %v", useJIT, ret, err)
		}
		_, _, err := p.RunXDP(udp4Frame(), nil)
		if err == nil {
			t.Fatalf("jit %v: the second run %s", useJIT, what)
		}
		errs[k] = hexAddr.ReplaceAllString(err.Error(), "ADDR")
		vm.Close()
	}
	if errs[0] != errs[1] {
		t.Errorf("jit: %s; interp: %s", errs[0], errs[1])
	}
}

// TestFastTCContextReads reads __sk_buff at every offset and size, and
// reads fields after stores and narrow reads that change what the next
// read sees (tcNormalize, tcQuirk): direct reads give interp's values.
func TestFastTCContextReads(t *testing.T) {
	w := fastWorld(t)
	for off := int16(-4); off < 200; off++ {
		for _, sz := range []insn.Size{insn.B, insn.H, insn.W, insn.DW} {
			sameRun(t, w, prog.SchedCLS, nil, seq(insn.LoadMem(insn.R0, insn.R1, off, sz), insn.Exit()))
		}
	}
	const (
		skbLen, skbProtocol, skbMark, skbQueueMapping, skbTCIndex, skbData = 0, 16, 8, 12, 44, 76
	)
	for _, c := range []struct {
		name  string
		is    insn.Instructions
		exits uint64
	}{
		// Two reads, the first through Go (it writes the context's
		// bytes), the second direct.
		{"len twice", seq(insn.LoadMem(insn.R0, insn.R1, skbLen, insn.W), insn.LoadMem(insn.R2, insn.R1, skbData, insn.W),
			insn.Add.Reg(insn.R0, insn.R2), insn.Exit()), 1},
		{"tc_index stored then read", seq(insn.LoadMem(insn.R0, insn.R1, skbLen, insn.W),
			insn.StoreImm(insn.R1, skbTCIndex, 0x12345, insn.W), insn.LoadMem(insn.R0, insn.R1, skbTCIndex, insn.W), insn.Exit()), 3},
		{"queue_mapping stored then read", seq(insn.LoadMem(insn.R0, insn.R1, skbLen, insn.W),
			insn.StoreImm(insn.R1, skbQueueMapping, 0xffff, insn.W), insn.LoadMem(insn.R0, insn.R1, skbQueueMapping, insn.W),
			insn.LoadMem(insn.R2, insn.R1, skbQueueMapping, insn.W), insn.Add.Reg(insn.R0, insn.R2), insn.Exit()), 3},
		{"mark stored then read", seq(insn.StoreImm(insn.R1, skbMark, 99, insn.W), insn.LoadMem(insn.R0, insn.R1, skbMark, insn.W),
			insn.LoadMem(insn.R2, insn.R1, skbMark, insn.W), insn.Add.Reg(insn.R0, insn.R2), insn.Exit()), 2},
		{"narrow read then whole", seq(insn.LoadMem(insn.R0, insn.R1, skbProtocol+2, insn.H), insn.LoadMem(insn.R2, insn.R1, skbProtocol, insn.W),
			insn.Add.Reg(insn.R0, insn.R2), insn.LoadMem(insn.R2, insn.R1, skbProtocol, insn.W), insn.Add.Reg(insn.R0, insn.R2), insn.Exit()), 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			exits, err := sameRun(t, w, prog.SchedCLS, nil, c.is)
			if err != nil {
				t.Fatal(err)
			}
			if exits != c.exits {
				t.Errorf("%d exits to Go, want %d", exits, c.exits)
			}
		})
	}
}

// TestFastLookupReplaced: a registry whose map_lookup_elem is not the
// engine's, before or after the VM is compiled, is called for array
// lookups too.
func TestFastLookupReplaced(t *testing.T) {
	w := fastWorld(t)
	nothing := func(_ *interp.Env, _, _, _, _, _ uint64) (uint64, error) { return 77, nil }
	is := seq(lookup("arr", 1), insn.Exit())
	for _, after := range []bool{false, true} {
		reg := w.registry(true)
		if !after {
			reg.Register(insn.FnMapLookupElem, nothing)
		}
		spec := w.spec("fast", fastMaps, is...)
		spec.Type = prog.XDP
		vm := w.jit(spec, &Options{Interp: &interp.Options{Helpers: reg}})
		if after {
			reg.Register(insn.FnMapLookupElem, nothing)
		}
		rn, err := vm.NewRunner()
		if err != nil {
			t.Fatal(err)
		}
		if ret, _, err := rn.RunXDP(udp4Frame(), nil); err != nil || ret != 77 {
			t.Errorf("replaced after New %v: %d, %v, want the replacement's 77", after, ret, err)
		}
		rn.Close()
		vm.Close()
	}
}

// update is r0 = map_update_elem(m, &idx, r10-24, flags) with the key
// at r10-4 and the 16 bytes at r10-24 set to v and v+1.
func update(m string, idx int32, v int32, flags int32) []insn.Instruction {
	return []insn.Instruction{
		insn.StoreImm(insn.R10, -4, idx, insn.W),
		insn.StoreImm(insn.R10, -24, v, insn.DW),
		insn.StoreImm(insn.R10, -16, v+1, insn.DW),
		insn.LoadMapPtr(insn.R1, m),
		insn.Mov.Reg(insn.R2, insn.R10),
		insn.Add.Imm(insn.R2, -4),
		insn.Mov.Reg(insn.R3, insn.R10),
		insn.Add.Imm(insn.R3, -24),
		insn.Mov.Imm(insn.R4, flags),
		insn.Call(int32(insn.FnMapUpdateElem)),
	}
}

// TestFastArrayUpdate checks map_update_elem of arrays in the code: the
// value lands in the element (read back through a lookup), and flags,
// indexes and pointers the code does not handle give interp's errno or
// error through Go.
func TestFastArrayUpdate(t *testing.T) {
	w := fastWorld(t)
	readBack := func(m string, idx int32, off int16, sz insn.Size) []insn.Instruction {
		return append(lookup(m, idx), insn.JEq.Imm(insn.R0, 0, "out"), insn.LoadMem(insn.R0, insn.R0, off, sz), insn.Exit().WithLabel("out"))
	}
	for _, c := range []struct {
		name  string
		is    insn.Instructions
		fails bool
		exits uint64
	}{
		{"any", seq(update("arr", 2, 41, 0), readBack("arr", 2, 8, insn.W)), false, 0},
		{"exist", seq(update("arr", 3, 43, 2), readBack("arr", 3, 0, insn.W)), false, 0},
		{"12 bytes only", seq(update("arr", 0, 45, 0), readBack("arr", 1, 0, insn.W)), false, 0},
		{"result", seq(update("arr", 2, 41, 0), insn.Exit()), false, 0},
		{"per-CPU", seq(update("pcpu", 1, 47, 0), readBack("pcpu", 1, 0, insn.DW)), false, 0},
		{"glob", seq(update("glob", 0, 49, 0), readBack("glob", 0, 8, insn.DW)), false, 0},
		{"noexist", seq(update("arr", 1, 1, 1), insn.Exit()), false, 1},
		{"lock", seq(update("arr", 1, 1, 4), insn.Exit()), false, 1},
		{"flags 3", seq(update("arr", 1, 1, 3), insn.Exit()), false, 1},
		{"index max_entries", seq(update("arr", 4, 1, 0), insn.Exit()), false, 1},
		{"hash", seq(update("hash", 1, 1, 0), insn.Exit()), false, 1},
		{"value past the stack", seq(update("arr", 1, 1, 0)[:8], insn.Add.Imm(insn.R3, 16), insn.Mov.Imm(insn.R4, 0),
			insn.Call(int32(insn.FnMapUpdateElem)), insn.Exit()), true, 1},
		{"value in a map value", seq(update("arr", 1, 1, 0)[:8], insn.LoadMapValue(insn.R3, "glob", 0), insn.Mov.Imm(insn.R4, 0),
			insn.Call(int32(insn.FnMapUpdateElem)), insn.Exit()), false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			exits, err := sameXDP(t, w, nil, c.is)
			if (err != nil) != c.fails {
				t.Errorf("error %v, want failure %v", err, c.fails)
			}
			if exits != c.exits {
				t.Errorf("%d exits to Go, want %d", exits, c.exits)
			}
		})
	}
}

// TestFastReadOnlyLookupStaysReadOnly: a lookup Go makes (of a
// BPF_F_RDONLY_PROG array, read-only) stays read-only when Go later adds
// the regions the code made, though the same storage may be granted
// read-write by a map value load the program has not run.
func TestFastReadOnlyLookupStaysReadOnly(t *testing.T) {
	w := fastWorld(t)
	is := seq(
		lookup("ro", 0),
		insn.Mov.Reg(insn.R6, insn.R0),
		lookup("arr", 1),
		insn.Call(int32(insn.FnKtimeGetNs)), // an exit: Go adds the code's regions
		insn.JEq.Imm(insn.R6, 0, "out"),
		insn.JNE.Imm(insn.R6, 12345, "store"),
		insn.LoadMapValue(insn.R1, "ro", 0),
		insn.StoreImm(insn.R6, 0, 1, insn.DW).WithLabel("store"),
		insn.Mov.Imm(insn.R0, 2).WithLabel("out"),
		insn.Exit(),
	)
	if _, err := sameXDP(t, w, nil, is); err == nil {
		t.Error("a store through a read-only map value passed")
	}
}
