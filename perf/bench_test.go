//go:build linux

package perf

import (
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
)

// benchBatch is how many getpid calls each round makes before reading
// their samples back.
const benchBatch = 64

// benchmarkReader measures one 64-byte sample's trip: a getpid call runs
// the tracepoint program, which outputs the sample, and ReadInto returns
// it. It reports records per second and allocations per record.
func benchmarkReader(b *testing.B, ringbuf bool) {
	testenv.RequireRoot(b)
	onThread(func(tid int) {
		var (
			events *testMap
			r      reader
			err    error
		)
		if ringbuf {
			events = newRingBuf(b, 1<<20)
			r, err = NewRingBufReader(events)
		} else {
			events = newPerfArray(b)
			r, err = NewPerfReader(events, PerfReaderOptions{Pages: 256, WakeupEvents: benchBatch})
		}
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		e := newEmitter(b, tid, events, ringbuf, 0)
		var rec Record
		b.ReportAllocs()
		b.ResetTimer()
		for done := 0; done < b.N; {
			n := min(benchBatch, b.N-done)
			e.fire(n)
			for range n {
				if err := r.ReadInto(&rec); err != nil {
					b.Fatal(err)
				}
				if rec.LostSamples > 0 {
					b.Fatalf("%d samples lost", rec.LostSamples)
				}
			}
			done += n
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

func BenchmarkReader(b *testing.B) {
	b.Run("perf_array", func(b *testing.B) { benchmarkReader(b, false) })
	b.Run("ringbuf", func(b *testing.B) { benchmarkReader(b, true) })
}
