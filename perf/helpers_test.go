package perf

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/sys"
)

// requireRoot skips without root, but fails when CI=true: CI must run
// every privileged test.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root (CI=true: privileged tests may not skip)")
	}
	t.Skip("needs root")
}

// testMap is a kernel map created directly through sys, so the tests do
// not depend on the prog package.
type testMap struct{ fd *sys.FD }

func (m *testMap) FD() int { return m.fd.Int() }

func newMap(t testing.TB, typ sys.MapType, keySize, valueSize, maxEntries uint32) *testMap {
	t.Helper()
	fd, err := sys.MapCreate(&sys.MapCreateAttr{
		MapType: typ, KeySize: keySize, ValueSize: valueSize, MaxEntries: maxEntries,
		MapName: sys.NewObjName("perf_test"),
	})
	if err != nil {
		t.Fatalf("creating %v map: %v", typ, err)
	}
	t.Cleanup(func() { fd.Close() })
	return &testMap{fd}
}

// lookupU64 reads the u64 value under u32 key k of an array map.
func (m *testMap) lookupU64(t testing.TB, k uint32) uint64 {
	t.Helper()
	var v uint64
	err := sys.MapLookupElem(&sys.MapElemAttr{
		MapFD: m.fd.Uint(),
		Key:   sys.NewPointer(unsafe.Pointer(&k)),
		Value: sys.NewPointer(unsafe.Pointer(&v)),
	})
	if err != nil {
		t.Fatalf("map lookup: %v", err)
	}
	return v
}

type testProg struct{ fd *sys.FD }

func (p *testProg) FD() int { return p.fd.Int() }

// loadProg loads insns, resolving map references by name.
func loadProg(t testing.TB, typ sys.ProgType, insns insn.Instructions, maps map[string]*testMap) *testProg {
	t.Helper()
	insns = append(insn.Instructions(nil), insns...)
	for i := range insns {
		if insns[i].IsMapReference() {
			m, ok := maps[insns[i].Ref]
			if !ok {
				t.Fatalf("instruction %d references unknown map %q", i, insns[i].Ref)
			}
			insns[i].SetMapFD(int32(m.FD()))
			insns[i].Ref = ""
		}
	}
	code, err := insns.Marshal()
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	lic := []byte("GPL\x00")
	log := make([]byte, 1<<16)
	attr := sys.ProgLoadAttr{
		ProgType: typ,
		InsnCnt:  uint32(len(code) / insn.SlotSize),
		Insns:    sys.NewSlicePointer(code),
		License:  sys.NewSlicePointer(lic),
		LogLevel: 1,
		LogSize:  uint32(len(log)),
		LogBuf:   sys.NewSlicePointer(log),
		ProgName: sys.NewObjName("perf_test"),
	}
	fd, err := sys.ProgLoad(&attr)
	runtime.KeepAlive(code)
	runtime.KeepAlive(lic)
	if err != nil {
		t.Fatalf("loading %v program: %v\n%s", typ, err, strings.TrimRight(unix.ByteSliceToString(log), "\n"))
	}
	t.Cleanup(func() { fd.Close() })
	return &testProg{fd}
}

// countProg counts, in element 0 of the u64 array "counts", the calls
// made by thread tid.
func countProg(tid int) insn.Instructions {
	return insn.Instructions{
		insn.Call(int32(insn.FnGetCurrentPIDTGID)),
		insn.JNE.Imm32(insn.R0, int32(tid), "out"),
		insn.StoreImm(insn.RFP, -4, 0, insn.W),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -4),
		insn.LoadMapPtr(insn.R1, "counts"),
		insn.Call(int32(insn.FnMapLookupElem)),
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
	link   *Link
}

// newEmitter loads emitProg for thread tid and attaches it to
// syscalls/sys_enter_getpid. events must already exist.
func newEmitter(t testing.TB, tid int, events *testMap, ringbuf bool, size int) *emitter {
	t.Helper()
	e := &emitter{events: events, seq: newMap(t, sys.MapTypeArray, 4, 8, 2)}
	maps := map[string]*testMap{"events": events, "seq": e.seq}
	if size > sampleSize {
		maps["big"] = newMap(t, sys.MapTypeArray, 4, uint32(size), 1)
	}
	prog := loadProg(t, sys.ProgTypeTracepoint, emitProg(tid, ringbuf, size), maps)
	l, err := Tracepoint(prog, TracepointOptions{Group: "syscalls", Name: "sys_enter_getpid"})
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
		insn.Call(int32(insn.FnGetCurrentPIDTGID)),
		insn.JNE.Imm32(insn.R0, int32(tid), "out"),
		insn.StoreImm(insn.RFP, -4, 0, insn.W),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -4),
		insn.LoadMapPtr(insn.R1, "seq"),
		insn.Call(int32(insn.FnMapLookupElem)),
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
			insn.Call(int32(insn.FnRingbufOutput)),
		)
	} else {
		is = append(is,
			insn.Mov.Reg(insn.R1, insn.R6),
			insn.LoadMapPtr(insn.R2, "events"),
			insn.LoadImm64(insn.R3, 0xffffffff), // BPF_F_CURRENT_CPU
			insn.Mov.Reg(insn.R4, insn.R7),
			insn.Mov.Imm(insn.R5, int32(size)),
			insn.Call(int32(insn.FnPerfEventOutput)),
		)
	}
	// Count failed outputs in element 1 of "seq".
	return append(is,
		insn.JEq.Imm(insn.R0, 0, "out"),
		insn.StoreImm(insn.RFP, -4, 1, insn.W),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -4),
		insn.LoadMapPtr(insn.R1, "seq"),
		insn.Call(int32(insn.FnMapLookupElem)),
		insn.JEq.Imm(insn.R0, 0, "out"),
		insn.Mov.Imm(insn.R1, 1),
		insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1),
		insn.Mov.Imm(insn.R0, 0).WithLabel("out"),
		insn.Exit(),
	)
}

// onThread runs f locked to one OS thread and passes it the thread id.
func onThread(f func(tid int)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
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

func mustErrorIs(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

var _ = fmt.Sprintf
