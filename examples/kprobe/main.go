//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/perf"
	"github.com/purebpf/purebpf/prog"
)

// config is what the flags select.
type config struct {
	Duration   time.Duration // 0: until Ctrl-C
	Output     string        // "perf" or "ringbuf"
	Tracepoint bool          // skip the kprobe
	Count      bool          // uprobe call counter mode
	Func       string        // count mode: function to count
	Lib        string        // count mode: library ("" finds libc)
	Top        int           // count mode: rows to print
}

func main() {
	var cfg config
	flag.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (default: until Ctrl-C)")
	flag.StringVar(&cfg.Output, "output", "perf", "event transport: perf (perf event array) or ringbuf (BPF ring buffer)")
	flag.BoolVar(&cfg.Tracepoint, "tracepoint", false, "use the syscalls/sys_enter_openat tracepoint instead of a kprobe")
	flag.BoolVar(&cfg.Count, "count", false, "count calls of -func in -lib per process with a uprobe")
	flag.StringVar(&cfg.Func, "func", "malloc", "count mode: function to count")
	flag.StringVar(&cfg.Lib, "lib", "", "count mode: ELF file holding -func (default: the system libc)")
	flag.IntVar(&cfg.Top, "top", 20, "count mode: number of processes to print")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	var err error
	if cfg.Count {
		err = runCount(ctx, cfg, os.Stdout, os.Stderr)
	} else {
		err = runOpensnoop(ctx, cfg, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// recordReader is what both perf readers offer.
type recordReader interface {
	ReadInto(*perf.Record) error
	Close() error
}

// runOpensnoop attaches the open tracer and prints events to out until ctx
// is done. Notes such as the kprobe fallback go to diag.
func runOpensnoop(ctx context.Context, cfg config, out, diag io.Writer) error {
	if cfg.Output != "perf" && cfg.Output != "ringbuf" {
		return fmt.Errorf("-output must be perf or ringbuf, not %q", cfg.Output)
	}
	spec, err := prog.LoadCollectionSpecFromReader(bytes.NewReader(opensnoopObject))
	if err != nil {
		return err
	}
	// const volatile bool use_ringbuf, fixed before load.
	if err := spec.Variables["use_ringbuf"].Set(cfg.Output == "ringbuf"); err != nil {
		return err
	}
	coll, err := prog.NewCollection(spec, nil)
	if err != nil {
		return err
	}
	defer coll.Close()

	link, err := attachOpen(cfg, coll, diag)
	if err != nil {
		return err
	}
	defer link.Close()

	var rd recordReader
	if cfg.Output == "ringbuf" {
		rd, err = perf.NewRingBufReader(coll.Maps["events_rb"])
	} else {
		rd, err = perf.NewPerfReader(coll.Maps["events"], perf.PerfReaderOptions{Pages: 16})
	}
	if err != nil {
		return err
	}
	// Close unblocks the reading loop when ctx ends.
	go func() {
		<-ctx.Done()
		rd.Close()
	}()
	defer rd.Close()

	start := time.Now()
	fmt.Fprintf(out, "%-9s %-7s %-16s %-34s %s\n", "TIME(s)", "PID", "COMM", "FLAGS", "FILENAME")
	var rec perf.Record
	for {
		if err := rd.ReadInto(&rec); err != nil {
			if errors.Is(err, perf.ErrClosed) {
				return nil
			}
			return err
		}
		if rec.LostSamples > 0 {
			fmt.Fprintf(out, "%-9.3f lost %d events on CPU %d\n", time.Since(start).Seconds(), rec.LostSamples, rec.CPU)
			continue
		}
		e, err := decodeEvent(rec.RawSample)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-9.3f %-7d %-16s %-34s %s\n", time.Since(start).Seconds(), e.pid, e.comm, openFlags(e.flags), e.filename)
	}
}

// attachOpen attaches the kprobe program, or the tracepoint one when asked
// or when the kernel has no kprobes.
func attachOpen(cfg config, coll *prog.Collection, diag io.Writer) (io.Closer, error) {
	if !cfg.Tracepoint {
		if runtime.GOARCH != "amd64" {
			fmt.Fprintf(diag, "kprobe mode reads x86-64 registers; using the syscalls/sys_enter_openat tracepoint on %s\n", runtime.GOARCH)
		} else {
			link, err := perf.Kprobe("sys_openat", coll.Programs["kprobe_openat"], nil)
			if err == nil {
				return link, nil
			}
			if !errors.Is(err, perf.ErrNotSupported) {
				return nil, err
			}
			fmt.Fprintln(diag, "this kernel has no kprobes (CONFIG_KPROBES off): using the syscalls/sys_enter_openat tracepoint")
		}
	}
	return perf.Tracepoint("syscalls", "sys_enter_openat", coll.Programs["tracepoint_openat"], nil)
}

type event struct {
	pid      uint32
	flags    uint32
	comm     string
	filename string
}

func decodeEvent(b []byte) (event, error) {
	if len(b) < eventSize {
		return event{}, fmt.Errorf("event of %d bytes, want %d", len(b), eventSize)
	}
	cstr := func(b []byte) string {
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return string(b)
	}
	return event{
		pid:      binary.NativeEndian.Uint32(b[offPID:]),
		flags:    binary.NativeEndian.Uint32(b[offFlags:]),
		comm:     cstr(b[offComm : offComm+commLen]),
		filename: cstr(b[offFilename : offFilename+filenameLen]),
	}, nil
}

// openFlags renders open(2) flags symbolically.
func openFlags(f uint32) string {
	var parts []string
	switch f & unix.O_ACCMODE {
	case unix.O_RDONLY:
		parts = append(parts, "O_RDONLY")
	case unix.O_WRONLY:
		parts = append(parts, "O_WRONLY")
	case unix.O_RDWR:
		parts = append(parts, "O_RDWR")
	}
	rest := f &^ unix.O_ACCMODE
	for _, fl := range []struct {
		bit  uint32
		name string
	}{
		{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"}, {unix.O_NOCTTY, "O_NOCTTY"},
		{unix.O_TRUNC, "O_TRUNC"}, {unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"},
		{unix.O_DIRECTORY, "O_DIRECTORY"}, {unix.O_NOFOLLOW, "O_NOFOLLOW"}, {unix.O_CLOEXEC, "O_CLOEXEC"},
		{unix.O_PATH, "O_PATH"}, {unix.O_LARGEFILE, "O_LARGEFILE"},
	} {
		if rest&fl.bit != 0 {
			parts = append(parts, fl.name)
			rest &^= fl.bit
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", rest))
	}
	return strings.Join(parts, "|")
}

// findLibc returns the first libc.so.6 in the usual places.
func findLibc() (string, error) {
	for _, p := range []string{
		"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6",
		"/lib64/libc.so.6", "/usr/lib64/libc.so.6", "/usr/lib/libc.so.6",
	} {
		if _, err := os.Stat(p); err == nil {
			return filepath.EvalSymlinks(p)
		}
	}
	return "", errors.New("no libc.so.6 found; pass -lib")
}

// runCount counts calls of cfg.Func per process until ctx is done, then
// prints the cfg.Top busiest processes.
func runCount(ctx context.Context, cfg config, out, diag io.Writer) error {
	lib := cfg.Lib
	if lib == "" {
		var err error
		if lib, err = findLibc(); err != nil {
			return err
		}
	}
	spec := countSpec(&prog.MapSpec{Name: countsMapName, Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 10240})
	p, err := prog.NewProgram(spec, nil)
	if err != nil {
		return err
	}
	defer p.Close()
	link, err := perf.Uprobe(lib, cfg.Func, p, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(diag, "counting calls of %s in %s; Ctrl-C or -duration to stop\n", cfg.Func, lib)
	<-ctx.Done()
	if err := link.Close(); err != nil {
		return err
	}
	counts, err := readCounts(p.Map(countsMapName))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-7s %-16s %s\n", "PID", "COMM", "CALLS")
	for i, c := range counts {
		if i == cfg.Top {
			break
		}
		fmt.Fprintf(out, "%-7d %-16s %d\n", c.pid, c.comm, c.calls)
	}
	return nil
}

type count struct {
	pid   uint32
	comm  string
	calls uint64
}

// readCounts walks the counts map, busiest process first.
func readCounts(m *prog.Map) ([]count, error) {
	var counts []count
	var key uint32
	var val uint64
	it := m.Iterate()
	for it.Next(&key, &val) {
		comm := "?"
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", key)); err == nil {
			comm = strings.TrimSpace(string(b))
		}
		counts = append(counts, count{key, comm, val})
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i].calls > counts[j].calls })
	return counts, nil
}
