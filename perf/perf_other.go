//go:build !linux

package perf

import (
	"fmt"
	"runtime"
	"time"

	"github.com/purebpf/purebpf/link"
	"github.com/purebpf/purebpf/prog"
)

// errOS is the error of every attach and reader function on a system
// without Linux's perf events and BPF.
func errOS(what string) error {
	return fmt.Errorf("perf: %s need Linux, not %s: %w", what, runtime.GOOS, ErrNotSupported)
}

// Link is a program attached to a perf event. On this system none can be
// made.
type Link struct{}

// Attach reports how the program was attached.
func (l *Link) Attach() AttachMethod { return AttachAuto }

// Probe reports how the event was created.
func (l *Link) Probe() ProbeMethod { return ProbeAuto }

// TraceFSEvent returns "".
func (l *Link) TraceFSEvent() string { return "" }

// String describes the link.
func (l *Link) String() string { return "perf.Link(<none>)" }

// Close does nothing.
func (l *Link) Close() error { return nil }

// Pin returns an error wrapping ErrNotSupported on this system.
func (l *Link) Pin(path string) error { return errOS("perf links") }

// Unpin returns an error wrapping ErrNotSupported on this system.
func (l *Link) Unpin() error { return errOS("perf links") }

// Update returns an error wrapping ErrNotSupported on this system.
func (l *Link) Update(p *prog.Program) error { return errOS("perf links") }

// Info returns an error wrapping ErrNotSupported on this system.
func (l *Link) Info() (*link.Info, error) { return nil, errOS("perf links") }

// Tracepoint returns an error wrapping ErrNotSupported on this system.
func Tracepoint(group, name string, prog FDer, opts *TracepointOptions) (link.Link, error) {
	return nil, errOS("tracepoints")
}

// Kprobe returns an error wrapping ErrNotSupported on this system.
func Kprobe(symbol string, prog FDer, opts *KprobeOptions) (link.Link, error) {
	return nil, errOS("kprobes")
}

// Uprobe returns an error wrapping ErrNotSupported on this system.
func Uprobe(path, symbol string, prog FDer, opts *UprobeOptions) (link.Link, error) {
	return nil, errOS("uprobes")
}

// Uprobe returns an error wrapping ErrNotSupported on this system.
func (ex *Executable) Uprobe(symbol string, prog FDer, opts *UprobeOptions) (link.Link, error) {
	return nil, errOS("uprobes")
}

// TraceFS returns an error wrapping ErrNotSupported on this system.
func TraceFS() (string, error) { return "", errOS("tracefs") }

// PerfReader reads a perf event array. On this system none can be opened.
type PerfReader struct{}

// NewPerfReader returns an error wrapping ErrNotSupported on this system.
func NewPerfReader(m FDer, opts PerfReaderOptions) (*PerfReader, error) {
	return nil, errOS("perf event readers")
}

// Pause returns an error wrapping ErrNotSupported.
func (r *PerfReader) Pause() error { return errOS("perf event readers") }

// Resume returns an error wrapping ErrNotSupported.
func (r *PerfReader) Resume() error { return errOS("perf event readers") }

// SetDeadline does nothing.
func (r *PerfReader) SetDeadline(t time.Time) {}

// CPUs returns nil.
func (r *PerfReader) CPUs() []int { return nil }

// Lost returns 0.
func (r *PerfReader) Lost() uint64 { return 0 }

// Read returns an error wrapping ErrNotSupported.
func (r *PerfReader) Read() (Record, error) { return Record{}, errOS("perf event readers") }

// ReadInto returns an error wrapping ErrNotSupported.
func (r *PerfReader) ReadInto(rec *Record) error { return errOS("perf event readers") }

// Close does nothing.
func (r *PerfReader) Close() error { return nil }

// RingBufReader reads a BPF ring buffer. On this system none can be
// opened.
type RingBufReader struct{}

// NewRingBufReader returns an error wrapping ErrNotSupported on this
// system.
func NewRingBufReader(m FDer) (*RingBufReader, error) {
	return nil, errOS("ring buffer readers")
}

// Size returns 0.
func (r *RingBufReader) Size() int { return 0 }

// SetDeadline does nothing.
func (r *RingBufReader) SetDeadline(t time.Time) {}

// Read returns an error wrapping ErrNotSupported.
func (r *RingBufReader) Read() (Record, error) { return Record{}, errOS("ring buffer readers") }

// ReadInto returns an error wrapping ErrNotSupported.
func (r *RingBufReader) ReadInto(rec *Record) error { return errOS("ring buffer readers") }

// Close does nothing.
func (r *RingBufReader) Close() error { return nil }
