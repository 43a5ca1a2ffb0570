//go:build amd64 && unix

package jit

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// FuzzDiffHash is FuzzDiff for hash map lookups made in machine code
// (fastpath_hash_amd64.go): its input picks a map (HASH or PERCPU_HASH,
// keys of 4, 8, 13, 40 or 64 bytes, 12-byte values) and the keys it
// holds, and an XDP program of lookups of keys the input makes up (most
// near the map's keys, differing in their first or last byte), each
// followed by reads or writes through the result at offsets in and out of
// the value, possibly kept in a register across later lookups, the map's
// own updates and deletes (which leave to Go and change the index) and a
// helper that collects garbage. The program runs in interp, in the JIT VM
// and in a JIT Runner, each from the same map contents: results, errors
// (by sentinel and pc) and the maps afterwards must be equal.
func FuzzDiffHash(f *testing.F) {
	f.Add([]byte{0, 3, 1, 2, 3, 0, 1, 0, 2, 1, 3, 4, 1, 5, 2, 6, 0, 7})
	f.Add([]byte{1, 8, 9, 10, 11, 12, 13, 14, 15, 0, 9, 1, 3, 2, 5, 3, 9, 4, 1, 5, 4})
	f.Add([]byte{2, 5, 0, 0, 1, 1, 2, 2, 0, 3, 6, 0, 6, 1, 7, 2, 2, 3, 0, 0})
	f.Add([]byte{3, 2, 200, 201, 4, 200, 5, 201, 0, 200, 1, 201, 2, 200, 3, 201})
	f.Add([]byte{4, 6, 1, 2, 3, 4, 5, 6, 0, 1, 4, 2, 6, 3, 8, 7, 1, 2, 0, 6})
	f.Add([]byte{7, 4, 1, 2, 3, 4, 2, 1, 6, 2, 7, 3, 0, 4, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 || len(data) > 400 {
			return
		}
		diffHash(t, data)
	})
}

// fuzzHashKey is the key the fuzz input's byte v names: byte 0 is v&15,
// the last byte v>>4, the rest a fixed pattern.
func fuzzHashKey(v, size int) []byte {
	k := make([]byte, size)
	for i := range k {
		k[i] = byte(0x5a + i)
	}
	k[0] = byte(v & 15)
	k[size-1] ^= byte(v >> 4)
	return k
}

// storeKey emits the stores of key at r10-64.
func storeKey(key []byte) []insn.Instruction {
	var is []insn.Instruction
	off := 0
	for ; off+4 <= len(key); off += 4 {
		v := int32(uint32(key[off]) | uint32(key[off+1])<<8 | uint32(key[off+2])<<16 | uint32(key[off+3])<<24)
		is = append(is, insn.StoreImm(insn.R10, int16(off-64), v, insn.W))
	}
	for ; off < len(key); off++ {
		is = append(is, insn.StoreImm(insn.R10, int16(off-64), int32(key[off]), insn.B))
	}
	return is
}

func diffHash(t *testing.T, data []byte) {
	r := &reader{b: data[1:]}
	typ := []prog.MapType{prog.Hash, prog.PerCPUHash}[data[0]&1]
	ks := []int{4, 8, 13, 40, 64}[int(data[0]>>1)%5]
	const vs = 12
	w := newWorld(t, prog.MapSpec{Name: "h", Type: typ, KeySize: uint32(ks), ValueSize: vs, MaxEntries: 64})
	h := w.maps["h"].(*maps.Hash)
	// The map's keys.
	var initial [][]byte
	for range 1 + r.next()%24 {
		initial = append(initial, fuzzHashKey(r.next(), ks))
	}
	// The program.
	var is insn.Instructions
	labels := 0
	label := func() string { labels++; return fmt.Sprintf("l%d", labels) }
	is = append(is, insn.Mov.Imm(insn.R6, 0), insn.Mov.Imm(insn.R9, 0))
	lookupKey := func(v int) {
		is = append(is, storeKey(fuzzHashKey(v, ks))...)
		is = append(is, insn.LoadMapPtr(insn.R1, "h"), insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -64),
			insn.Call(int32(insn.FnMapLookupElem)))
	}
	for n := 0; n < 24 && !r.done(); n++ {
		switch r.next() % 8 {
		case 0, 1, 2: // lookup; read a word of the value, maybe out of it
			skip := label()
			lookupKey(r.next())
			// (Not 16 or more: the next allocation may hold another
			// value the run was granted, which both engines then
			// rightly read, but only where the heap put them side by
			// side in that engine's run.)
			off := []int16{0, 4, 8, 9, 12, -1, 13}[r.next()%7]
			is = append(is, insn.JEq.Imm(insn.R0, 0, skip), insn.LoadMem(insn.R1, insn.R0, off, insn.W),
				insn.Add.Reg(insn.R6, insn.R1), insn.Add.Imm(insn.R6, 1).WithLabel(skip))
		case 3: // lookup; keep the pointer in r9 and write through it
			lookupKey(r.next())
			is = append(is, insn.Mov.Reg(insn.R9, insn.R0))
			fallthrough
		case 4: // write through the kept pointer, maybe past the value
			skip := label()
			off := []int16{0, 4, 8, 11, 12, 15}[r.next()%6]
			is = append(is, insn.JEq.Imm(insn.R9, 0, skip), insn.StoreImm(insn.R9, off, int32(r.next()), insn.B),
				insn.Mov.Reg(insn.R6, insn.R6).WithLabel(skip))
		case 5: // the map's update of a key, from the program
			is = append(is, storeKey(fuzzHashKey(r.next(), ks))...)
			is = append(is, insn.StoreImm(insn.R10, -80, int32(r.next()), insn.DW), insn.StoreImm(insn.R10, -72, 0, insn.W),
				insn.LoadMapPtr(insn.R1, "h"), insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -64),
				insn.Mov.Reg(insn.R3, insn.R10), insn.Add.Imm(insn.R3, -80), insn.Mov.Imm(insn.R4, 0),
				insn.Call(int32(insn.FnMapUpdateElem)), insn.Add.Reg(insn.R6, insn.R0))
		case 6: // and delete
			is = append(is, storeKey(fuzzHashKey(r.next(), ks))...)
			is = append(is, insn.LoadMapPtr(insn.R1, "h"), insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -64),
				insn.Call(int32(insn.FnMapDeleteElem)), insn.Add.Reg(insn.R6, insn.R0))
		case 7: // the GC helper
			is = append(is, insn.Mov.Imm(insn.R1, 0), insn.Call(fnTestGC))
		}
	}
	is = append(is, insn.Mov.Reg(insn.R0, insn.R6), insn.Exit())
	gcs := 0
	w.hook = func() {
		if gcs < 2 { // a few per run keep the fuzzer fast
			runtime.GC()
			gcs++
		}
	}
	spec := w.spec("h", []string{"h"}, is...)
	spec.Type = prog.XDP
	vm := w.jit(spec, &Options{Interp: &interp.Options{Helpers: w.registry(true), CPU: 1}})
	defer vm.Close()
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	reset := func() {
		gcs = 0
		for _, k := range append([][]byte(nil), dumpKeys(h)...) {
			h.Delete(k)
		}
		v := make([]byte, h.CPUs()*h.CPUStride())
		if typ == prog.Hash {
			v = v[:vs]
		}
		for n, k := range initial {
			for i := range v {
				v[i] = byte(n + i)
			}
			if err := h.Update(k, v, prog.UpdateAny); err != nil {
				t.Fatal(err)
			}
		}
	}
	frame := udp4Frame()
	reset()
	want, _, werr := vm.Interp().RunXDP(frame, nil)
	wmap := dumpHash(t, h)
	for _, run := range []struct {
		name string
		f    func() (uint32, []byte, error)
	}{{"VM", func() (uint32, []byte, error) { return vm.RunXDP(frame, nil) }}, {"Runner", func() (uint32, []byte, error) { return rn.RunXDP(frame, nil) }}} {
		reset()
		got, _, err := run.f()
		if gmap := dumpHash(t, h); got != want || !sameErr(err, werr) || gmap != wmap {
			t.Fatalf("%s: %d, %v, map %s; interp %d, %v, map %s\n%s", run.name, got, err, gmap, want, werr, wmap, is)
		}
	}
}

// dumpKeys returns h's keys in iteration order.
func dumpKeys(h *maps.Hash) [][]byte {
	var out [][]byte
	var key []byte
	for {
		next := make([]byte, h.MapSpec().KeySize)
		var err error
		if key == nil {
			err = h.NextKey(nil, next)
		} else {
			err = h.NextKey(key, next)
		}
		if err != nil {
			return out
		}
		out = append(out, next)
		key = next
	}
}

// dumpHash renders h's keys in iteration order (insertion order, which
// must be the same) with every CPU's value.
func dumpHash(t *testing.T, h *maps.Hash) string {
	s := ""
	for _, k := range dumpKeys(h) {
		s += fmt.Sprintf("%x=", k)
		for c := range h.CPUs() {
			s += fmt.Sprintf("%x/", h.LookupRaw(k, c))
		}
		s += " "
	}
	return s
}
