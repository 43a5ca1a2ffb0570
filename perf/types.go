package perf

import "fmt"

// ProbeMethod selects how a kprobe or uprobe event is created.
type ProbeMethod int

const (
	// ProbeAuto uses the PMU when the kernel has it, else tracefs.
	ProbeAuto ProbeMethod = iota
	// ProbePMU uses the kprobe or uprobe PMU (perf_event_open with the
	// PMU's dynamic type, Linux 4.17+).
	ProbePMU
	// ProbeTraceFS creates a kprobe_events / uprobe_events entry in
	// tracefs and opens its tracepoint id.
	ProbeTraceFS
	// probeTracepoint marks links made by Tracepoint.
	probeTracepoint
)

// String names the method.
func (m ProbeMethod) String() string {
	switch m {
	case ProbeAuto:
		return "auto"
	case ProbePMU:
		return "pmu"
	case ProbeTraceFS:
		return "tracefs"
	case probeTracepoint:
		return "tracepoint"
	}
	return fmt.Sprintf("ProbeMethod(%d)", int(m))
}

// AttachMethod selects how the program is bound to the perf event.
type AttachMethod int

const (
	// AttachAuto tries BPF_LINK_CREATE first and falls back to ioctl on
	// kernels that lack it.
	AttachAuto AttachMethod = iota
	// AttachBPFLink uses BPF_LINK_CREATE with BPF_PERF_EVENT (Linux 5.15+).
	AttachBPFLink
	// AttachIoctl uses PERF_EVENT_IOC_SET_BPF (Linux 4.1+).
	AttachIoctl
)

// String names the method.
func (m AttachMethod) String() string {
	switch m {
	case AttachAuto:
		return "auto"
	case AttachBPFLink:
		return "bpf_link"
	case AttachIoctl:
		return "ioctl"
	}
	return fmt.Sprintf("AttachMethod(%d)", int(m))
}

// Record is one record read from a PerfReader or RingBufReader.
type Record struct {
	// CPU is the CPU whose ring held the record (PerfReader), or -1
	// (RingBufReader).
	CPU int
	// RawSample is the data a program sent. For a perf event array it is
	// the PERF_SAMPLE_RAW payload: the data followed by 0 to 7 bytes of
	// padding that make its length plus 4 a multiple of 8. The kernel skips
	// over the padding without writing it, so its content is undefined
	// (kernel/events/core.c, perf_output_sample). For a ring buffer it is
	// exactly the length the program reserved or output.
	RawSample []byte
	// LostSamples is non-zero for a PERF_RECORD_LOST record: the number
	// of samples the kernel dropped on CPU because the ring was full.
	// RawSample is then empty.
	LostSamples uint64
}

// PerfReaderOptions configures a PerfReader.
type PerfReaderOptions struct {
	// Pages is the size of each per-CPU data ring in pages; a power of
	// two. 0 means 8.
	Pages int
	// WakeupEvents wakes a blocked Read after this many samples. 0 means
	// 1 (every sample). Ignored when Watermark is set.
	WakeupEvents int
	// Watermark wakes a blocked Read once this many bytes are in a ring.
	// Data below the watermark is still returned when a deadline expires.
	Watermark int
}

// TracepointOptions tunes Tracepoint. A nil *TracepointOptions means the
// defaults.
type TracepointOptions struct {
	// Attach selects the attachment method; AttachAuto by default.
	Attach AttachMethod
	// Cookie is returned by bpf_get_attach_cookie (needs a BPF link,
	// Linux 5.15+).
	Cookie uint64
}

// KprobeOptions tunes Kprobe. A nil *KprobeOptions means the defaults: a
// kprobe at the symbol's entry.
type KprobeOptions struct {
	// Offset is added to the symbol's address (kprobes only).
	Offset uint64
	// Return makes a kretprobe, run when the function returns.
	Return bool
	// Probe forces the PMU or the tracefs path; ProbeAuto by default.
	Probe ProbeMethod
	// Attach selects the attachment method; AttachAuto by default.
	Attach AttachMethod
	// Cookie is returned by bpf_get_attach_cookie (BPF link only).
	Cookie uint64
}

// UprobeOptions tunes Uprobe. A nil *UprobeOptions means the defaults: a
// uprobe at the symbol's entry in every process.
type UprobeOptions struct {
	// Offset is added to the symbol's file offset, or is the file offset
	// itself when the symbol is "".
	Offset uint64
	// PID limits the probe to one process; 0 means every process.
	PID int
	// Return makes a uretprobe. Never use it on Go functions: Go moves
	// stacks and the replaced return address breaks the runtime.
	Return bool
	// Probe forces the PMU or the tracefs path; ProbeAuto by default.
	Probe ProbeMethod
	// Attach selects the attachment method; AttachAuto by default.
	Attach AttachMethod
	// Cookie is returned by bpf_get_attach_cookie (BPF link only).
	Cookie uint64
}
