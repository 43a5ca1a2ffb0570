//go:build linux

package perf

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

// openPerfReader opens a perf reader on events that the test closes when
// it ends (Close is idempotent, so tests may close it earlier).
func openPerfReader(t testing.TB, events *testMap, opts PerfReaderOptions) *PerfReader {
	t.Helper()
	r, err := NewPerfReader(events, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// openRingBufReader is openPerfReader for a ring buffer map.
func openRingBufReader(t testing.TB, events *testMap) *RingBufReader {
	t.Helper()
	r, err := NewRingBufReader(events)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func newPerfArray(t testing.TB) *testMap {
	return newMap(t, prog.PerfEventArray, 4, 4, uint32(runtime.NumCPU()))
}

// checkSample verifies an emitProg sample and returns its sequence number.
// A perf sample (exact false) carries padding so that the u32 size plus
// the data end on an 8-byte boundary; a ring buffer sample is exact.
func checkSample(t testing.TB, raw []byte, exact bool) uint64 {
	t.Helper()
	want := sampleSize
	if !exact {
		want = (4+sampleSize+7)&^7 - 4
	}
	if len(raw) != want {
		t.Fatalf("sample of %d bytes, want %d", len(raw), want)
	}
	for i := 8; i < sampleSize; i++ {
		if raw[i] != samplePattern(i) {
			t.Fatalf("sample byte %d = %#x, want %#x", i, raw[i], samplePattern(i))
		}
	}
	return binary.NativeEndian.Uint64(raw)
}

type reader interface {
	ReadInto(*Record) error
	SetDeadline(time.Time)
	Close() error
}

// drain reads until samples+lost reaches want or the reader stays idle
// for the grace period, and returns the sequence numbers seen and the
// lost count.
func drain(t testing.TB, r reader, want uint64, exact bool) (map[uint64]bool, uint64) {
	t.Helper()
	seen := map[uint64]bool{}
	var lost uint64
	var rec Record
	for uint64(len(seen))+lost < want {
		r.SetDeadline(time.Now().Add(2 * time.Second))
		if err := r.ReadInto(&rec); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			t.Fatal(err)
		}
		if rec.LostSamples > 0 {
			lost += rec.LostSamples
			continue
		}
		seq := checkSample(t, rec.RawSample, exact)
		if seen[seq] {
			t.Fatalf("sample %d received twice", seq)
		}
		seen[seq] = true
	}
	r.SetDeadline(time.Time{})
	return seen, lost
}

func TestPerfReaderBurst(t *testing.T) {
	testenv.RequireRoot(t)
	const n = 2000
	onThread(func(tid int) {
		events := newPerfArray(t)
		r := openPerfReader(t, events, PerfReaderOptions{Pages: 64})
		e := newEmitter(t, tid, events, false, 0)
		e.fire(n)
		seen, lost := drain(t, r, n, false)
		if lost != 0 || len(seen) != n {
			t.Fatalf("received %d samples, %d lost; want all %d", len(seen), lost, n)
		}
		for i := range uint64(n) {
			if !seen[i] {
				t.Fatalf("sample %d missing", i)
			}
		}
	})
}

func TestPerfReaderLost(t *testing.T) {
	testenv.RequireRoot(t)
	const n = 1000
	onThread(func(tid int) {
		events := newPerfArray(t)
		r := openPerfReader(t, events, PerfReaderOptions{Pages: 1})
		e := newEmitter(t, tid, events, false, 0)
		e.fire(n) // far more than one page holds, nothing read meanwhile
		// The kernel writes the LOST record before the next sample that
		// fits, so read, let room appear, and send one more.
		seen, lost := drain(t, r, n, false)
		e.fire(1)
		more, lost2 := drain(t, r, 1+lost2Want(lost, n, len(seen)), false)
		for k := range more {
			seen[k] = true
		}
		lost += lost2
		if lost == 0 {
			t.Fatalf("no loss reported although %d samples of %d bytes went to a 1-page ring", n, sampleSize)
		}
		if uint64(len(seen))+lost != n+1 {
			t.Fatalf("samples %d + lost %d = %d, want %d sent", len(seen), lost, uint64(len(seen))+lost, n+1)
		}
		if r.Lost() != lost {
			t.Fatalf("Lost() = %d, records said %d", r.Lost(), lost)
		}
	})
}

// lost2Want is how many lost samples are still unreported after a first
// drain that saw samples and lost of n sent.
func lost2Want(lost uint64, n, samples int) uint64 {
	return uint64(n) - lost - uint64(samples)
}

func TestPerfReaderSampleLargerThanRing(t *testing.T) {
	testenv.RequireRoot(t)
	const n = 10
	onThread(func(tid int) {
		events := newPerfArray(t)
		r := openPerfReader(t, events, PerfReaderOptions{Pages: 1})
		big := newEmitter(t, tid, events, false, 2*os.Getpagesize())
		big.fire(n)
		big.link.Close()
		small := newEmitter(t, tid, events, false, 0)
		small.fire(1)
		seen, lost := drain(t, r, n+1, false)
		if len(seen) != 1 || lost != n {
			t.Fatalf("got %d samples and %d lost, want 1 sample and %d lost (each oversized sample lost)", len(seen), lost, n)
		}
	})
}

func TestPerfReaderDeadlineCloseAllocs(t *testing.T) {
	testenv.RequireRoot(t)
	onThread(func(tid int) {
		events := newPerfArray(t)
		r := openPerfReader(t, events, PerfReaderOptions{Pages: 16})
		testDeadlineAndAllocs(t, r, newEmitter(t, tid, events, false, 0))
		testCloseUnblocks(t, r)
	})
}

func testDeadlineAndAllocs(t *testing.T, r reader, e *emitter) {
	t.Helper()
	start := time.Now()
	r.SetDeadline(start.Add(100 * time.Millisecond))
	var rec Record
	err := r.ReadInto(&rec)
	mustErrorIs(t, err, os.ErrDeadlineExceeded, "read past the deadline")
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("read returned after %v, before the deadline", d)
	}
	r.SetDeadline(time.Time{})

	const runs = 100
	e.fire(runs + 2)                         // AllocsPerRun makes one extra warm-up call
	if err := r.ReadInto(&rec); err != nil { // grows rec.RawSample
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(runs, func() {
		if err := r.ReadInto(&rec); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ReadInto allocates %.1f times per record", allocs)
	}
}

func testCloseUnblocks(t *testing.T, r reader) {
	t.Helper()
	// A deadline set while a read is blocked applies to that read.
	r.SetDeadline(time.Time{})
	blocked := make(chan error, 1)
	go func() {
		var rec Record
		blocked <- r.ReadInto(&rec)
	}()
	time.Sleep(50 * time.Millisecond)
	r.SetDeadline(time.Now().Add(50 * time.Millisecond))
	select {
	case err := <-blocked:
		mustErrorIs(t, err, os.ErrDeadlineExceeded, "deadline set during a blocked read")
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline set during a blocked read did not end it")
	}
	r.SetDeadline(time.Time{})

	done := make(chan error, 1)
	go func() {
		var rec Record
		done <- r.ReadInto(&rec)
	}()
	time.Sleep(50 * time.Millisecond)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		mustErrorIs(t, err, ErrClosed, "read blocked during Close")
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	var rec Record
	mustErrorIs(t, r.ReadInto(&rec), ErrClosed, "read after Close")
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestPerfReaderPauseResume(t *testing.T) {
	testenv.RequireRoot(t)
	onThread(func(tid int) {
		events := newPerfArray(t)
		r := openPerfReader(t, events, PerfReaderOptions{})
		e := newEmitter(t, tid, events, false, 0)
		if err := r.Pause(); err != nil {
			t.Fatal(err)
		}
		e.fire(10) // sequence numbers 0-9, all rejected by the kernel
		if err := r.Resume(); err != nil {
			t.Fatal(err)
		}
		e.fire(5) // 10-14
		seen, lost := drain(t, r, 6, false)
		if lost != 0 || len(seen) != 5 {
			t.Fatalf("after pause/resume got %d samples, %d lost; want 5, 0", len(seen), lost)
		}
		for i := uint64(10); i < 15; i++ {
			if !seen[i] {
				t.Fatalf("sample %d missing after resume (got %v)", i, seen)
			}
		}
		if failed := e.seq.lookupU64(t, 1); failed != 10 {
			t.Fatalf("program saw %d failed outputs while paused, want 10", failed)
		}
	})
}

func TestReaderWrongMapType(t *testing.T) {
	testenv.RequireRoot(t)
	hash := newMap(t, prog.Hash, 4, 4, 4)
	_, err := NewPerfReader(hash, PerfReaderOptions{})
	mustErrorIs(t, err, ErrMapType, "perf reader on a hash map")
	_, err = NewRingBufReader(newPerfArray(t))
	mustErrorIs(t, err, ErrMapType, "ring buffer reader on a perf event array")
	_, err = NewPerfReader(newPerfArray(t), PerfReaderOptions{Pages: 3})
	if err == nil {
		t.Fatal("Pages 3 accepted")
	}
	tiny := newMap(t, prog.PerfEventArray, 4, 4, 1)
	if runtime.NumCPU() > 1 {
		if _, err := NewPerfReader(tiny, PerfReaderOptions{}); err == nil {
			t.Fatal("perf event array with fewer entries than CPUs accepted")
		}
	}
}

func newRingBuf(t testing.TB, size uint32) *testMap {
	return newMap(t, prog.RingBuf, 0, 0, size)
}

func TestRingBufBurst(t *testing.T) {
	testenv.RequireRoot(t)
	const n = 2000
	onThread(func(tid int) {
		events := newRingBuf(t, 1<<18)
		r := openRingBufReader(t, events)
		e := newEmitter(t, tid, events, true, 0)
		e.fire(n)
		seen, _ := drain(t, r, n, true)
		if len(seen) != n {
			t.Fatalf("received %d samples, want %d", len(seen), n)
		}
		if failed := e.seq.lookupU64(t, 1); failed != 0 {
			t.Fatalf("%d outputs failed", failed)
		}
	})
}

func TestRingBufFull(t *testing.T) {
	testenv.RequireRoot(t)
	const n = 1000
	onThread(func(tid int) {
		events := newRingBuf(t, uint32(os.Getpagesize()))
		r := openRingBufReader(t, events)
		e := newEmitter(t, tid, events, true, 0)
		e.fire(n)
		failed := e.seq.lookupU64(t, 1)
		seen, _ := drain(t, r, n-failed, true)
		if failed == 0 {
			t.Fatalf("no output failed although %d samples went to a %d-byte ring", n, os.Getpagesize())
		}
		if uint64(len(seen))+failed != n {
			t.Fatalf("received %d + failed %d != %d sent", len(seen), failed, n)
		}
	})
}

func TestRingBufSampleLargerThanRing(t *testing.T) {
	testenv.RequireRoot(t)
	onThread(func(tid int) {
		events := newRingBuf(t, uint32(os.Getpagesize()))
		r := openRingBufReader(t, events)
		big := newEmitter(t, tid, events, true, 2*os.Getpagesize())
		big.fire(3)
		if failed := big.seq.lookupU64(t, 1); failed != 3 {
			t.Fatalf("%d of 3 oversized outputs failed, want all", failed)
		}
		r.SetDeadline(time.Now().Add(50 * time.Millisecond))
		var rec Record
		mustErrorIs(t, r.ReadInto(&rec), os.ErrDeadlineExceeded, "read of an empty ring")
	})
}

func TestRingBufDeadlineCloseAllocs(t *testing.T) {
	testenv.RequireRoot(t)
	onThread(func(tid int) {
		events := newRingBuf(t, 1<<16)
		r := openRingBufReader(t, events)
		testDeadlineAndAllocs(t, r, newEmitter(t, tid, events, true, 0))
		testCloseUnblocks(t, r)
	})
}

var _ = unix.Getpid

func TestPerfReaderWatermark(t *testing.T) {
	testenv.RequireRoot(t)
	onThread(func(tid int) {
		events := newPerfArray(t)
		const watermark = 2048
		r := openPerfReader(t, events, PerfReaderOptions{Pages: 1, Watermark: watermark})
		e := newEmitter(t, tid, events, false, 0)
		// A reader blocked before one 80-byte record arrives is not woken
		// (it stays below the watermark), but hands the record out when
		// the deadline passes.
		start := time.Now()
		r.SetDeadline(start.Add(300 * time.Millisecond))
		type result struct {
			rec Record
			err error
			at  time.Duration
		}
		first := make(chan result, 1)
		go func() {
			var rec Record
			err := r.ReadInto(&rec)
			first <- result{rec, err, time.Since(start)}
		}()
		time.Sleep(50 * time.Millisecond)
		e.fire(1)
		res := <-first
		if res.err != nil {
			t.Fatalf("record below the watermark not returned at the deadline: %v", res.err)
		}
		if res.at < 300*time.Millisecond {
			t.Fatalf("read returned after %v, before the deadline: woken below the watermark", res.at)
		}
		if seq := checkSample(t, res.rec.RawSample, false); seq != 0 {
			t.Fatalf("sequence %d, want 0", seq)
		}
		// Crossing the watermark wakes a blocked read well before the
		// deadline.
		r.SetDeadline(time.Now().Add(10 * time.Second))
		got := make(chan error, 1)
		go func() {
			var rec Record
			got <- r.ReadInto(&rec)
		}()
		time.Sleep(50 * time.Millisecond)
		e.fire(watermark/80 + 2)
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("crossing the watermark did not wake the reader")
		}
		if _, err := NewPerfReader(events, PerfReaderOptions{Pages: 1, Watermark: 1 << 20}); err == nil {
			t.Fatal("watermark above the ring size accepted")
		}
	})
}
