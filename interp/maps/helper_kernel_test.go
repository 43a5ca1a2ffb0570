//go:build linux

package maps

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

// helperProg loads a socket filter that reads 16 bytes from the packet
// (key u32, flags u32, value u64), calls helper on the map with them and
// returns the helper's result:
//
//	update: helper(map, &key, &value, flags)
//	delete: helper(map, &key)
//	push:   helper(map, &value, flags)
//	pop, peek: helper(map, &value)
func helperProg(t *testing.T, mapFD int, helper insn.HelperFunc) int {
	t.Helper()
	ld := insn.LoadMapPtr(insn.R1, "m")
	ld.SetMapFD(int32(mapFD))
	is := insn.Instructions{
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.Mov.Imm(insn.R2, 0),
		insn.Mov.Reg(insn.R3, insn.R10),
		insn.Add.Imm(insn.R3, -16),
		insn.Mov.Imm(insn.R4, 16),
		insn.Call(int32(insn.FnSKBLoadBytes)),
		insn.JNE.Imm(insn.R0, 0, "out"),
		ld,
	}
	switch helper {
	case insn.FnMapUpdateElem:
		is = append(is,
			insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -16),
			insn.Mov.Reg(insn.R3, insn.R10), insn.Add.Imm(insn.R3, -8),
			insn.LoadMem(insn.R4, insn.R10, -12, insn.W))
	case insn.FnMapDeleteElem:
		is = append(is, insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -16))
	case insn.FnMapPushElem:
		is = append(is,
			insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -8),
			insn.LoadMem(insn.R3, insn.R10, -12, insn.W))
	case insn.FnMapPopElem, insn.FnMapPeekElem:
		is = append(is, insn.Mov.Reg(insn.R2, insn.R10), insn.Add.Imm(insn.R2, -8))
	}
	is = append(is, insn.Call(int32(helper)), insn.Exit().WithLabel("out"))
	return loadSocketFilter(t, is)
}

// runHelper runs prog with key, flags and value in the packet (after the
// 14-byte Ethernet header that test runs pull) and returns its result.
func runHelper(t *testing.T, progFD int, key, flags uint32, value uint64) int32 {
	t.Helper()
	data := make([]byte, 64)
	binary.NativeEndian.PutUint32(data[14:], key)
	binary.NativeEndian.PutUint32(data[18:], flags)
	binary.NativeEndian.PutUint64(data[22:], value)
	a := testRunAttr{ProgFD: uint32(progFD), DataSizeIn: uint32(len(data)), DataIn: uint64(uintptr(unsafe.Pointer(&data[0]))), Repeat: 1}
	if _, err := bpf(cmdProgTestRun, unsafe.Pointer(&a), unsafe.Sizeof(a)); err != nil {
		t.Fatalf("test run: %v", err)
	}
	return int32(a.Retval)
}

// pinCPU0 runs the calling goroutine's thread on CPU 0 only, so that
// programs test-run from it see CPU 0, and returns a function undoing it.
func pinCPU0(t *testing.T) func() {
	runtime.LockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		t.Fatal(err)
	}
	set.Set(0)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	return func() {
		_ = unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}
}

// TestDifferentialHelpers runs random helper calls (update, delete, push,
// pop, peek) from real programs on CPU 0 against kernel maps, and the Raw
// methods with cpu 0 against userspace maps, comparing every return code
// and, through bpf(2), the maps' contents.
func TestDifferentialHelpers(t *testing.T) {
	testenv.RequireRoot(t)
	cpus := possibleCPUs(t)
	for _, spec := range []prog.MapSpec{
		{Name: "array", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 16},
		{Name: "percpu_array", Type: prog.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 16},
		{Name: "hash", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 12},
		{Name: "percpu_hash", Type: prog.PerCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 12},
		{Name: "queue", Type: prog.Queue, ValueSize: 8, MaxEntries: 6},
		{Name: "stack", Type: prog.Stack, ValueSize: 8, MaxEntries: 6},
	} {
		t.Run(spec.Name, func(t *testing.T) {
			// Pin in the subtest: it runs on its own goroutine.
			defer pinCPU0(t)()
			km, err := kcreate(spec)
			if err != nil {
				t.Fatalf("kernel create: %v", err)
			}
			defer km.Close()
			um, err := New(spec, &Options{CPUs: cpus})
			if err != nil {
				t.Fatal(err)
			}
			queue := spec.KeySize == 0
			// Updates twice as often as deletes, so hash maps fill up.
			helpers := []insn.HelperFunc{insn.FnMapUpdateElem, insn.FnMapUpdateElem, insn.FnMapDeleteElem}
			if queue {
				helpers = []insn.HelperFunc{insn.FnMapPushElem, insn.FnMapPopElem, insn.FnMapPeekElem}
			}
			progs := map[insn.HelperFunc]int{}
			for _, h := range helpers {
				if _, ok := progs[h]; !ok {
					progs[h] = helperProg(t, km.fd, h)
					defer unix.Close(progs[h])
				}
			}
			seed := uint64(0)
			for _, c := range spec.Name {
				seed = seed*131 + uint64(c)
			}
			d := &differ{t: t, km: km, um: um, cpus: cpus, rng: rand.New(rand.NewPCG(seed, 2))}
			seen := map[string]int{}
			for d.step = 0; d.step < 2000; d.step++ {
				h := helpers[d.rng.IntN(len(helpers))]
				key := uint32(d.rng.IntN(20))
				flags := []uint32{0, 0, 1, 2, 2, 3, 4}[d.rng.IntN(7)]
				value := d.rng.Uint64()
				kret := runHelper(t, progs[h], key, flags, value)
				k, v := u32(key), u64(value)
				var uerr error
				out := make([]byte, 8)
				switch h {
				case insn.FnMapUpdateElem:
					uerr = um.UpdateRaw(k, v, prog.UpdateFlags(flags), 0)
				case insn.FnMapDeleteElem:
					uerr = um.DeleteRaw(k)
				case insn.FnMapPushElem:
					uerr = um.(QueueMap).PushRaw(v, prog.UpdateFlags(flags))
				case insn.FnMapPopElem:
					uerr = um.(QueueMap).PopRaw(out)
				case insn.FnMapPeekElem:
					uerr = um.(QueueMap).PeekRaw(out)
				}
				seen[fmt.Sprintf("helper %d=%d", h, -kret)]++
				if syscall.Errno(-kret) != errnoOf(uerr) {
					t.Fatalf("step %d helper %d key %d flags %d: kernel %d, userspace %v", d.step, h, key, flags, kret, uerr)
				}
				if d.step%50 == 0 && !queue {
					d.compareAll()
				}
			}
			t.Logf("outcomes: %v", seen)
			want := []string{"helper 2=0", "helper 2=7", "helper 2=22", "helper 3=22"}
			switch {
			case queue:
				want = []string{"helper 87=0", "helper 87=7", "helper 87=22", "helper 88=0", "helper 88=2", "helper 89=0", "helper 89=2"}
			case spec.Type == prog.Hash || spec.Type == prog.PerCPUHash:
				want = []string{"helper 2=0", "helper 2=2", "helper 2=7", "helper 2=17", "helper 2=22", "helper 3=0", "helper 3=2"}
			}
			for _, w := range want {
				if seen[w] == 0 {
					t.Errorf("the random sequence never produced %q; the comparison is too weak", w)
				}
			}
			if queue {
				// Drain through bpf(2) and compare the order.
				for {
					kv, uv := make([]byte, 8), make([]byte, 8)
					if !d.same("drain", d.km.lookupAndDelete(nil, kv), d.um.LookupAndDelete(nil, uv)) {
						break
					}
					if !bytes.Equal(kv, uv) {
						t.Fatalf("drain: kernel %x, userspace %x", kv, uv)
					}
				}
				return
			}
			d.compareAll()
		})
	}
}
