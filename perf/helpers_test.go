//go:build linux

package perf

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/link"
	"github.com/purebpf/purebpf/prog"
)

// testMap is a kernel map made with the prog package.
type testMap struct{ *prog.Map }

func newMap(t testing.TB, typ prog.MapType, keySize, valueSize, maxEntries uint32) *testMap {
	t.Helper()
	m, err := prog.NewMap(&prog.MapSpec{
		Name: "perf_test", Type: typ, KeySize: keySize, ValueSize: valueSize, MaxEntries: maxEntries,
	})
	if err != nil {
		t.Fatalf("creating %v map: %v", typ, err)
	}
	t.Cleanup(func() { m.Close() })
	return &testMap{m}
}

// lookupU64 reads the u64 value under u32 key k of an array map.
func (m *testMap) lookupU64(t testing.TB, k uint32) uint64 {
	t.Helper()
	var v uint64
	if err := m.Lookup(k, &v); err != nil {
		t.Fatalf("map lookup: %v", err)
	}
	return v
}

// loadProg loads insns with prog.NewProgram, binding map references by
// name to the given maps.
func loadProg(t testing.TB, typ prog.Type, insns insn.Instructions, maps map[string]*testMap) *prog.Program {
	t.Helper()
	spec := &prog.Spec{Name: "perf_test", Type: typ, License: "GPL", Instructions: insns}
	opts := &prog.ProgramOptions{Maps: map[string]*prog.Map{}}
	for name, m := range maps {
		ms := m.MapSpec()
		ms.Name = name
		spec.Maps = append(spec.Maps, &ms)
		opts.Maps[name] = m.Map
	}
	p, err := prog.NewProgram(spec, opts)
	if err != nil {
		t.Fatalf("loading %v program: %v", typ, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// countProg counts, in element 0 of the u64 array "counts", the calls
// made by thread tid.
func countProg(tid int) insn.Instructions {
	return insn.Instructions{
		insn.FnGetCurrentPIDTGID.Call(),
		insn.JNE.Imm32(insn.R0, int32(tid), "out"),
		insn.StoreImm(insn.RFP, -4, 0, insn.W),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -4),
		insn.LoadMapPtr(insn.R1, "counts"),
		insn.FnMapLookupElem.Call(),
		insn.JEq.Imm(insn.R0, 0, "out"),
		insn.Mov.Imm(insn.R1, 1),
		insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1),
		insn.Mov.Imm(insn.R0, 0).WithLabel("out"),
		insn.Exit(),
	}
}

// emitter is an attached emitProg with its maps.
type emitter struct {
	events *testMap // perf event array or ring buffer
	seq    *testMap // [0] next sequence number, [1] failed outputs
	link   link.Link
}

// newEmitter loads emitProg for thread tid and attaches it to
// syscalls/sys_enter_getpid. events must already exist.
func newEmitter(t testing.TB, tid int, events *testMap, ringbuf bool, size int) *emitter {
	t.Helper()
	e := &emitter{events: events, seq: newMap(t, prog.Array, 4, 8, 2)}
	maps := map[string]*testMap{"events": events, "seq": e.seq}
	if size > sampleSize {
		maps["big"] = newMap(t, prog.Array, 4, uint32(size), 1)
	}
	p := loadProg(t, prog.TracePoint, emitProg(tid, ringbuf, size), maps)
	l, err := Tracepoint("syscalls", "sys_enter_getpid", p, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	e.link = l
	return e
}

// fire makes n getpid calls; the caller must be on the emitter's thread.
func (e *emitter) fire(n int) {
	for range n {
		unix.Getpid()
	}
}

// sampleSize is the size of the samples emitProg sends.
const sampleSize = 64

// samplePattern fills bytes 8..63 of every sample: byte i is i^0xa5.
func samplePattern(i int) byte { return byte(i) ^ 0xa5 }

// emitProg sends, for each call made by thread tid, a sampleSize-byte
// sample: a u64 sequence number taken from element 0 of the array "seq",
// then samplePattern bytes. With ringbuf it uses bpf_ringbuf_output on
// the map "events", else bpf_perf_event_output with BPF_F_CURRENT_CPU.
// size overrides the output size (0 means sampleSize); a larger size reads
// from the map value "big" instead of the stack.
func emitProg(tid int, ringbuf bool, size int) insn.Instructions {
	if size == 0 {
		size = sampleSize
	}
	is := insn.Instructions{
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.FnGetCurrentPIDTGID.Call(),
		insn.JNE.Imm32(insn.R0, int32(tid), "out"),
		insn.StoreImm(insn.RFP, -4, 0, insn.W),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -4),
		insn.LoadMapPtr(insn.R1, "seq"),
		insn.FnMapLookupElem.Call(),
		insn.JEq.Imm(insn.R0, 0, "out"),
		insn.Mov.Imm(insn.R1, 1),
		insn.Atomic(insn.AtomicFetchAdd, insn.DW, insn.R0, 0, insn.R1),
		insn.StoreMem(insn.RFP, -sampleSize, insn.R1, insn.DW),
	}
	for i := 8; i < sampleSize; i++ {
		is = append(is, insn.StoreImm(insn.RFP, int16(-sampleSize+i), int32(samplePattern(i)), insn.B))
	}
	data := []insn.Instruction{insn.Mov.Reg(insn.R7, insn.RFP), insn.Add.Imm(insn.R7, -sampleSize)}
	if size > sampleSize {
		data = []insn.Instruction{insn.LoadMapValue(insn.R7, "big", 0)}
	}
	is = append(is, data...)
	if ringbuf {
		is = append(is,
			insn.LoadMapPtr(insn.R1, "events"),
			insn.Mov.Reg(insn.R2, insn.R7),
			insn.Mov.Imm(insn.R3, int32(size)),
			insn.Mov.Imm(insn.R4, 0),
			insn.FnRingbufOutput.Call(),
		)
	} else {
		is = append(is,
			insn.Mov.Reg(insn.R1, insn.R6),
			insn.LoadMapPtr(insn.R2, "events"),
			insn.LoadImm64(insn.R3, insn.CurrentCPU),
			insn.Mov.Reg(insn.R4, insn.R7),
			insn.Mov.Imm(insn.R5, int32(size)),
			insn.FnPerfEventOutput.Call(),
		)
	}
	// Count failed outputs in element 1 of "seq".
	return append(is,
		insn.JEq.Imm(insn.R0, 0, "out"),
		insn.StoreImm(insn.RFP, -4, 1, insn.W),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -4),
		insn.LoadMapPtr(insn.R1, "seq"),
		insn.FnMapLookupElem.Call(),
		insn.JEq.Imm(insn.R0, 0, "out"),
		insn.Mov.Imm(insn.R1, 1),
		insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1),
		insn.Mov.Imm(insn.R0, 0).WithLabel("out"),
		insn.Exit(),
	)
}

// onThread runs f locked to one OS thread, itself pinned to one CPU so
// that all samples land in one perf ring, and passes it the thread id.
func onThread(f func(tid int)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err == nil {
		for cpu := 0; cpu < len(old)*64; cpu++ {
			if old.IsSet(cpu) {
				var one unix.CPUSet
				one.Set(cpu)
				if unix.SchedSetaffinity(0, &one) == nil {
					defer unix.SchedSetaffinity(0, &old)
				}
				break
			}
		}
	}
	f(unix.Gettid())
}

// kprobesAvailable reports whether the kernel can create kprobes.
func kprobesAvailable() bool {
	if _, err := os.Stat("/sys/bus/event_source/devices/kprobe/type"); err == nil {
		return true
	}
	tfs, err := TraceFS()
	if err != nil {
		return false
	}
	_, err = os.Stat(tfs + "/kprobe_events")
	return err == nil
}

// probeEventsContain reports whether tracefs file (kprobe_events or
// uprobe_events) lists an event named name.
func probeEventsContain(t testing.TB, file, name string) bool {
	t.Helper()
	tfs, err := TraceFS()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(tfs + "/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), name+" ")
}

// noLeftoverEvents fails if kprobe_events or uprobe_events still holds an
// event this process created.
func noLeftoverEvents(t testing.TB) {
	t.Helper()
	tfs, err := TraceFS()
	if err != nil {
		t.Fatal(err)
	}
	mine := fmt.Sprintf("_%d_", os.Getpid())
	for _, file := range []string{"kprobe_events", "uprobe_events"} {
		b, err := os.ReadFile(tfs + "/" + file)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, probeGroup+"/") && strings.Contains(line, mine) {
				t.Errorf("%s still holds %q", file, line)
			}
		}
	}
}

func mustErrorIs(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}
