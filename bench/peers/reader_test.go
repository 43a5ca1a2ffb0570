//go:build linux

package peers

import (
	"fmt"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	cperf "github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/perf"
	"github.com/purebpf/purebpf/prog"
)

// readerBatch is how many records each round produces before reading
// them back; the rings hold a whole round of 1 KiB samples.
const readerBatch = 128

// producer is a socket filter that sends one sample of size bytes (the
// value of the array "data") per run to "events", a perf event array or
// a ring buffer; BPF_PROG_TEST_RUN with a repeat count makes a round of
// samples in one system call, all on the calling CPU.
type producer struct {
	p      *prog.Program
	events *prog.Map
	size   int
}

func newProducer(b *testing.B, ringbuf bool, size int) *producer {
	if os.Geteuid() != 0 {
		b.Skip("reader benchmarks need root")
	}
	events := &prog.MapSpec{Name: "events", Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4}
	out := insn.Instructions{
		insn.Mov.Reg(insn.R1, insn.R6),
		insn.LoadMapPtr(insn.R2, "events"),
		insn.LoadImm64(insn.R3, insn.CurrentCPU),
		insn.LoadMapValue(insn.R4, "data", 0),
		insn.Mov.Imm(insn.R5, int32(size)),
		insn.FnPerfEventOutput.Call(),
	}
	if ringbuf {
		events = &prog.MapSpec{Name: "events", Type: prog.RingBuf, MaxEntries: 1 << 20}
		out = insn.Instructions{
			insn.LoadMapPtr(insn.R1, "events"),
			insn.LoadMapValue(insn.R2, "data", 0),
			insn.Mov.Imm(insn.R3, int32(size)),
			insn.Mov.Imm(insn.R4, 0),
			insn.FnRingbufOutput.Call(),
		}
	}
	code := append(insn.Instructions{insn.Mov.Reg(insn.R6, insn.R1)}, out...)
	code = append(code, insn.Exit()) // r0: the helper's result, 0 on success
	spec := &prog.Spec{Name: "producer", Type: prog.SocketFilter, License: "GPL", Instructions: code,
		Maps: []*prog.MapSpec{events, {Name: "data", Type: prog.Array, KeySize: 4, ValueSize: uint32(size), MaxEntries: 1}}}
	p, err := prog.NewProgram(spec, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	value := make([]byte, size)
	for i := range value {
		value[i] = byte(i)
	}
	if err := p.Map("data").Update(uint32(0), value, 0); err != nil {
		b.Fatal(err)
	}
	return &producer{p: p, events: p.Map("events"), size: size}
}

// fill makes n samples.
func (pr *producer) fill(b *testing.B, n int) {
	res, err := pr.p.Run(&prog.RunOptions{Data: make([]byte, 64), Repeat: uint32(n)})
	if err != nil {
		b.Fatal(err)
	}
	if res.Retval != 0 {
		b.Fatalf("output helper failed: %d", int32(res.Retval))
	}
}

// ciliumMap opens the producer's map as a cilium *ebpf.Map.
func ciliumMap(b *testing.B, m *prog.Map) *ebpf.Map {
	fd, err := unix.FcntlInt(uintptr(m.FD()), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		b.Fatal(err)
	}
	cm, err := ebpf.NewMapFromFD(fd)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cm.Close() })
	return cm
}

// readRounds runs b.N records through fill and read, timing only the
// reads, and reports records per second.
func readRounds(b *testing.B, pr *producer, read func() int) {
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(readerBatch, b.N-done)
		b.StopTimer()
		pr.fill(b, n)
		b.StartTimer()
		for range n {
			if got := read(); got < pr.size {
				b.Fatalf("record of %d bytes, want %d", got, pr.size)
			}
		}
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// Read a perf event array's records, 64-byte and 1 KiB samples, with
// ReadInto into one reused record.
func BenchmarkPerfEventArrayReader(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB/purebpf", size), func(b *testing.B) {
			pr := newProducer(b, false, size)
			rd, err := perf.NewPerfReader(pr.events, perf.PerfReaderOptions{Pages: 128})
			if err != nil {
				b.Fatal(err)
			}
			defer rd.Close()
			var rec perf.Record
			readRounds(b, pr, func() int {
				if err := rd.ReadInto(&rec); err != nil || rec.LostSamples != 0 {
					b.Fatalf("read: %v, %d lost", err, rec.LostSamples)
				}
				return len(rec.RawSample)
			})
		})
		b.Run(fmt.Sprintf("%dB/cilium", size), func(b *testing.B) {
			pr := newProducer(b, false, size)
			rd, err := cperf.NewReader(ciliumMap(b, pr.events), 128*os.Getpagesize())
			if err != nil {
				b.Fatal(err)
			}
			defer rd.Close()
			var rec cperf.Record
			readRounds(b, pr, func() int {
				if err := rd.ReadInto(&rec); err != nil || rec.LostSamples != 0 {
					b.Fatalf("read: %v, %d lost", err, rec.LostSamples)
				}
				return len(rec.RawSample)
			})
		})
	}
}

// Read a ring buffer's records, 64-byte and 1 KiB samples, with ReadInto
// into one reused record.
func BenchmarkRingBufReader(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB/purebpf", size), func(b *testing.B) {
			pr := newProducer(b, true, size)
			rd, err := perf.NewRingBufReader(pr.events)
			if err != nil {
				b.Fatal(err)
			}
			defer rd.Close()
			var rec perf.Record
			readRounds(b, pr, func() int {
				if err := rd.ReadInto(&rec); err != nil {
					b.Fatal(err)
				}
				return len(rec.RawSample)
			})
		})
		b.Run(fmt.Sprintf("%dB/cilium", size), func(b *testing.B) {
			pr := newProducer(b, true, size)
			rd, err := ringbuf.NewReader(ciliumMap(b, pr.events))
			if err != nil {
				b.Fatal(err)
			}
			defer rd.Close()
			var rec ringbuf.Record
			readRounds(b, pr, func() int {
				if err := rd.ReadInto(&rec); err != nil {
					b.Fatal(err)
				}
				return len(rec.RawSample)
			})
		})
	}
}
