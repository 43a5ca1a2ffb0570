//go:build amd64 && unix

package jit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// Hash map lookups in machine code (fastpath_hash_amd64.go): the same
// results, values and regions as interp's helper, with the map changing
// between and during runs.

// hashKeyProg is an XDP program that copies the key in array "keys" to
// the stack (at r10-64), looks it up in map "h", and then, on a hit,
// reads the value's first 4 bytes (r0 = them + 1), writes 0x5a to its
// byte 4, calls fnTestGC (which leaves to Go), and writes 0x77 to its last
// byte and then (when past is set) one byte past its end through the
// pointer it kept; on a miss r0 = 0.
func hashKeyProg(keySize, valueSize int, past bool) insn.Instructions {
	is := insn.Instructions{insn.LoadMapValue(insn.R6, "keys", 0)}
	for off := 0; off < keySize; off++ {
		is = append(is, insn.LoadMem(insn.R1, insn.R6, int16(off), insn.B), insn.StoreMem(insn.R10, int16(off-64), insn.R1, insn.B))
	}
	is = append(is, lookupHit(-64)...)
	is = append(is,
		insn.LoadMem(insn.R8, insn.R7, 0, insn.W),
		insn.Add.Imm(insn.R8, 1),
		insn.StoreImm(insn.R7, 4, 0x5a, insn.B),
		insn.Mov.Imm(insn.R1, 0),
		insn.Call(fnTestGC),
		insn.StoreImm(insn.R7, int16(valueSize-1), 0x77, insn.B),
	)
	if past {
		is = append(is, insn.StoreImm(insn.R7, int16(valueSize), 0x77, insn.B))
	}
	return append(is, insn.Mov.Reg(insn.R0, insn.R8), insn.Exit())
}

// lookupHit is r0 = map_lookup_elem(h, r10+off); on NULL the program
// ends (r0 = 0), else it goes on with r7 = r0.
func lookupHit(off int32) []insn.Instruction {
	return []insn.Instruction{
		insn.LoadMapPtr(insn.R1, "h"),
		insn.Mov.Reg(insn.R2, insn.R10),
		insn.Add.Imm(insn.R2, off),
		insn.Call(int32(insn.FnMapLookupElem)),
		insn.JNE.Imm(insn.R0, 0, "hit"),
		insn.Exit(),
		insn.Mov.Reg(insn.R7, insn.R0).WithLabel("hit"),
	}
}

// newRunner compiles spec with opts and returns a Runner of it; both end
// with the test.
func newRunner(tb testing.TB, spec *prog.Spec, opts *Options) *Runner {
	tb.Helper()
	vm, err := New(spec, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { vm.Close() })
	rn, err := vm.NewRunner()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rn.Close() })
	return rn
}

// hashKey is key number n of size bytes: n's bytes, then a pattern, so
// that keys of one size differ in their first and their last word.
func hashKey(n, size int) []byte {
	k := make([]byte, size)
	for i := range k {
		k[i] = byte(0x31 * (i + 1))
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(n)*0x9e3779b9+uint64(n))
	copy(k, b[:])
	if size > 8 {
		k[size-1] ^= byte(n)
	}
	return k
}

func TestFastHashLookup(t *testing.T) {
	for _, typ := range []prog.MapType{prog.Hash, prog.PerCPUHash} {
		for _, ks := range []int{4, 8, 13, 40, 64} {
			t.Run(fmt.Sprintf("%v/key%d", typ, ks), func(t *testing.T) { testFastHashLookup(t, typ, ks) })
		}
	}
}

func testFastHashLookup(t *testing.T, typ prog.MapType, ks int) {
	const vs = 12 // not a multiple of 8: the region ends inside a word
	w := newWorld(t,
		prog.MapSpec{Name: "keys", Type: prog.Array, KeySize: 4, ValueSize: uint32(ks), MaxEntries: 1},
		prog.MapSpec{Name: "h", Type: typ, KeySize: uint32(ks), ValueSize: vs, MaxEntries: 300},
	)
	h := w.maps["h"].(*maps.Hash)
	keys := w.maps["keys"].(*maps.Array)
	frame := udp4Frame()
	cpu := 0
	if typ == prog.PerCPUHash {
		cpu = 1 // CPU 1's values, not the first
	}
	vmFor := func(past bool) *VM {
		spec := w.spec("hash", []string{"keys", "h"}, hashKeyProg(ks, vs, past)...)
		spec.Type = prog.XDP
		return w.jit(spec, &Options{Interp: &interp.Options{Helpers: w.registry(true), CPU: cpu}})
	}
	vm, vmPast := vmFor(false), vmFor(true)
	defer vm.Close()
	defer vmPast.Close()
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	value := func(k []byte) []byte { return h.LookupRaw(k, cpu) }
	put := func(n int) {
		v := make([]byte, vs)
		binary.LittleEndian.PutUint32(v, uint32(n*3+1))
		if typ == prog.PerCPUHash {
			all := make([]byte, h.CPUs()*h.CPUStride())
			for c := range h.CPUs() {
				copy(all[c*h.CPUStride():], v)
				all[c*h.CPUStride()] += byte(c)
			}
			v = all
		}
		if err := h.Update(hashKey(n, ks), v, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	// check looks key n up in jit (the VM, the Runner, one past the
	// value's end) and in interp, which must agree on everything.
	check := func(n int) {
		t.Helper()
		k := hashKey(n, ks)
		if err := keys.Update(uint32(0), k, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		present := value(k) != nil
		var counts [16]uint64
		exitCounts.Store(&counts)
		ret, _, err := vm.RunXDP(frame, nil)
		rret, _, rerr := rn.RunXDP(frame, nil)
		exitCounts.Store(nil)
		var jv []byte
		if present {
			jv = append(jv, value(k)...)
			clear(value(k)[4:])
		}
		iret, _, ierr := vm.Interp().RunXDP(frame, nil)
		if err != nil || rerr != nil || ierr != nil || ret != iret || rret != iret {
			t.Fatalf("key %d: jit %d %v, Runner %d %v, interp %d %v", n, ret, err, rret, rerr, iret, ierr)
		}
		if present {
			if iv := value(k); !bytes.Equal(jv, iv) || iv[4] != 0x5a || iv[vs-1] != 0x77 {
				t.Fatalf("key %d: value after jit %x, after interp %x", n, jv, iv)
			}
			if want := binary.LittleEndian.Uint32(jv) + 1; ret != want {
				t.Fatalf("key %d: r0 %d, want %d", n, ret, want)
			}
		} else if ret != 0 {
			t.Fatalf("key %d (absent): r0 %d", n, ret)
		}
		// Two runs; the only exits are fnTestGC's on hits.
		var exits uint64
		for reason, c := range counts {
			if reason != exitDone && reason != exitAbort {
				exits += c
			}
		}
		// (Unless the search gives up, on a long probe sequence, very
		// rare at this load: then Go looks the key up, one more exit.)
		_, searched := h.ProbeIndex().Probe(k)
		if want := uint64(2); searched && ((present && (exits != want || counts[exitHelper] != want)) || (!present && exits != 0)) {
			t.Fatalf("key %d (present %v): exits %v", n, present, counts)
		}
		// One byte past the value: the same error in both engines.
		_, _, err = vmPast.RunXDP(frame, nil)
		_, _, ierr = vmPast.Interp().RunXDP(frame, nil)
		if hexAddr.ReplaceAllString(fmt.Sprint(err), "ADDR") != hexAddr.ReplaceAllString(fmt.Sprint(ierr), "ADDR") || (present && err == nil) {
			t.Fatalf("key %d: one past the value: jit %v, interp %v", n, err, ierr)
		}
	}
	for n := range 20 {
		check(n) // absent
	}
	// Grow the map (and its index) in steps, looking every key up.
	for _, upto := range []int{1, 5, 17, 70, 250} {
		for n := range upto {
			put(n)
		}
		for n := 0; n < upto+5; n += 1 + upto/40 {
			check(n)
		}
	}
	// Delete every other key, look all up, reinsert some.
	for n := 0; n < 250; n += 2 {
		if err := h.Delete(hashKey(n, ks)); err != nil {
			t.Fatal(err)
		}
	}
	for n := 0; n < 260; n += 7 {
		check(n)
	}
	for n := 0; n < 250; n += 6 {
		put(n + 1000)
		put(n)
	}
	for n := 0; n < 260; n += 5 {
		check(n)
		check(n + 1000)
	}
}

// TestFastHashConcurrentGC runs lookups from machine code that keep the
// value pointer across an exit to Go (a helper that collects garbage) and
// then write all of the value and read it back, while another goroutine
// replaces and deletes those keys, allocates values of the same size and
// collects garbage: a value a run was granted must stay its own memory
// (as the region interp's helper grants keeps it) however the map drops
// it, and nothing may crash.
func TestFastHashConcurrentGC(t *testing.T) {
	const vs = 64
	w := newWorld(t, prog.MapSpec{Name: "h", Type: prog.Hash, KeySize: 40, ValueSize: vs, MaxEntries: 512})
	h := w.maps["h"].(*maps.Hash)
	var calls atomic.Int64
	w.hook = func() {
		if calls.Add(1)%8 == 0 {
			runtime.GC()
		}
	}
	// The program: key = {get_prandom_u32() & 63, r1's id, 0...}; on a
	// hit write the run's pattern over the value, call fnTestGC, write
	// it again through the kept pointer and read it all back: r0 = 1 when
	// all matched, 2 when not, 0 on a miss.
	var is insn.Instructions
	is = append(is,
		insn.LoadMapValue(insn.R6, "id", 0),
		insn.LoadMem(insn.R6, insn.R6, 0, insn.DW),
		insn.Call(int32(insn.FnGetPrandomU32)),
		insn.Mov.Reg(insn.R8, insn.R0),
		insn.And.Imm(insn.R0, 63),
	)
	for off := int16(-40); off < 0; off += 8 {
		is = append(is, insn.StoreImm(insn.R10, off, 0, insn.DW))
	}
	is = append(is,
		insn.StoreMem(insn.R10, -40, insn.R0, insn.DW),
		insn.StoreMem(insn.R10, -32, insn.R6, insn.DW),
	)
	is = append(is, lookupHit(-40)...)
	for off := int16(0); off < vs; off += 8 {
		is = append(is, insn.StoreMem(insn.R7, off, insn.R8, insn.DW))
	}
	is = append(is, insn.Mov.Imm(insn.R1, 0), insn.Call(fnTestGC))
	for off := int16(0); off < vs; off += 8 {
		is = append(is, insn.LoadMem(insn.R1, insn.R7, off, insn.DW), insn.JNE.Reg(insn.R1, insn.R8, "bad"))
	}
	is = append(is, insn.Add.Imm(insn.R8, 1))
	for off := int16(0); off < vs; off += 8 {
		is = append(is, insn.StoreMem(insn.R7, off, insn.R8, insn.DW))
	}
	for off := int16(0); off < vs; off += 8 {
		is = append(is, insn.LoadMem(insn.R1, insn.R7, off, insn.DW), insn.JNE.Reg(insn.R1, insn.R8, "bad"))
	}
	is = append(is, insn.Mov.Imm(insn.R0, 1), insn.Exit(), insn.Mov.Imm(insn.R0, 2).WithLabel("bad"), insn.Exit())

	const runners = 2
	var vms [runners]*VM
	for g := range vms {
		// Each runner has its own keys (its id in the key), so that no
		// other run writes the values it checks.
		idName := fmt.Sprintf("id%d", g)
		w.maps[idName], _ = maps.New(prog.MapSpec{Name: "id", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}, nil)
		w.maps[idName].Update(uint32(0), uint64(g+1), prog.UpdateAny)
		spec := &prog.Spec{Name: "gc", Type: prog.XDP, Instructions: is}
		for _, n := range []string{"h", idName} {
			ms := w.maps[n].MapSpec()
			spec.Maps = append(spec.Maps, &ms)
		}
		mm := map[string]maps.Map{"h": h, "id": w.maps[idName]}
		vm, err := New(spec, &Options{Interp: &interp.Options{Helpers: w.registry(true), Maps: mm, Rand: rand.Uint32}})
		if err != nil {
			t.Fatal(err)
		}
		defer vm.Close()
		vms[g] = vm
	}
	key := func(n, g int) []byte {
		k := make([]byte, 40)
		binary.LittleEndian.PutUint64(k, uint64(n))
		binary.LittleEndian.PutUint64(k[8:], uint64(g+1))
		return k
	}
	d := 2 * time.Second
	if testing.Short() || raceEnabled {
		d = time.Second
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the map's writer
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		var junk [64][]byte
		v := make([]byte, vs)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := key(rng.IntN(64), rng.IntN(runners))
			if rng.IntN(3) == 0 {
				h.Delete(k)
			} else {
				v[0] = byte(i)
				h.Update(k, v, prog.UpdateAny)
			}
			// Values' size class, filled, to take freed values' place.
			b := make([]byte, vs)
			for j := range b {
				b[j] = 0xee
			}
			junk[i%len(junk)] = b
			if i%500 == 0 {
				runtime.GC()
			}
		}
	}()
	var hits [runners]atomic.Int64
	errs := make(chan error, runners)
	for g := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rn, err := vms[g].NewRunner()
			if err != nil {
				errs <- err
				return
			}
			defer rn.Close()
			frame := udp4Frame()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ret, _, err := rn.RunXDP(frame, nil)
				if err != nil || ret == 2 {
					errs <- fmt.Errorf("runner %d: r0 %d, %v", g, ret, err)
					return
				}
				if ret == 1 {
					hits[g].Add(1)
				}
			}
		}()
	}
	time.Sleep(d)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("hits %d and %d, GC helper calls %d", hits[0].Load(), hits[1].Load(), calls.Load())
	if hits[0].Load() == 0 || hits[1].Load() == 0 {
		t.Error("no lookup hit")
	}
}

// BenchmarkHashLookup is a Runner's XDP run of a program that looks a
// 40-byte key up in a hash map of 1024 keys (a hit) and returns a word of
// the value (and, for the difference, the same run with the stack key
// read instead): before fastpath_hash_amd64.go, the lookup left the
// machine code for Go.
func BenchmarkHashLookup(b *testing.B) {
	for _, c := range []struct {
		ks     int
		lookup bool
	}{{8, true}, {40, true}, {40, false}} {
		name := fmt.Sprintf("key%d", c.ks)
		if !c.lookup {
			name += "-nolookup" // the run without the lookup, for the difference
		}
		ks := c.ks
		b.Run(name, func(b *testing.B) {
			m, err := maps.New(prog.MapSpec{Name: "h", Type: prog.Hash, KeySize: uint32(ks), ValueSize: 16, MaxEntries: 1024}, nil)
			if err != nil {
				b.Fatal(err)
			}
			for n := range 1024 {
				m.Update(hashKey(n, ks), make([]byte, 16), prog.UpdateAny)
			}
			k := hashKey(77, ks)
			var is insn.Instructions
			for off := 0; off+8 <= ks; off += 8 {
				is = append(is, insn.LoadImm64(insn.R1, int64(binary.LittleEndian.Uint64(k[off:]))),
					insn.StoreMem(insn.R10, int16(off-ks), insn.R1, insn.DW))
			}
			if c.lookup {
				is = append(is,
					insn.LoadMapPtr(insn.R1, "h"),
					insn.Mov.Reg(insn.R2, insn.R10),
					insn.Add.Imm(insn.R2, int32(-ks)),
					insn.Call(int32(insn.FnMapLookupElem)))
			} else {
				is = append(is, insn.Mov.Reg(insn.R0, insn.R10), insn.Add.Imm(insn.R0, int32(-ks)))
			}
			is = append(is,
				insn.JEq.Imm(insn.R0, 0, "out"),
				insn.LoadMem(insn.R0, insn.R0, 0, insn.W),
				insn.Add.Imm(insn.R0, 2),
				insn.Exit().WithLabel("out"),
			)
			ms := m.MapSpec()
			spec := &prog.Spec{Name: "bench", Type: prog.XDP, Instructions: is, Maps: []*prog.MapSpec{&ms}}
			rn := newRunner(b, spec, &Options{Interp: &interp.Options{Maps: map[string]maps.Map{"h": m}}})
			frame := udp4Frame()
			if ret, _, err := rn.RunXDP(frame, nil); err != nil || (c.lookup && ret != 2) {
				b.Fatalf("r0 %d, %v", ret, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				rn.RunXDP(frame, nil)
			}
		})
	}
}
