package interp

import "github.com/purebpf/purebpf/internal/engine"

// PerfEventData is struct bpf_perf_event_data, the context of perf_event
// programs (Linux 4.9+): the sampled x86-64 registers, the sample period
// and the sample's address.
type PerfEventData = engine.PerfEventData

// ErrUnknownKfunc is wrapped by the load error of a program that calls a
// kfunc Options.Kfuncs does not implement; the error names the kfunc.
var ErrUnknownKfunc = engine.ErrUnknownKfunc

// Tracing context limits.
const (
	// MaxTracepointRecord is PERF_MAX_TRACE_SIZE, the largest record
	// RunTracepoint takes.
	MaxTracepointRecord = engine.MaxTracepointRecord
	// TracepointHeader is the size of the common header (struct
	// trace_entry) every tracepoint record starts with.
	TracepointHeader = engine.TracepointHeader
	// MaxRawTracepointArgs is the most arguments RunRawTracepoint takes
	// (MAX_BPF_FUNC_ARGS, 12).
	MaxRawTracepointArgs = engine.MaxRawTracepointArgs
)

// RunTracepoint runs a tracepoint program (prog.TracePoint, SEC("tp/...")
// or SEC("tracepoint/...")) on record: the raw bytes of a tracepoint's
// record as its format file (/sys/kernel/tracing/events/CAT/NAME/format)
// lays them out, the 8-byte common header first. The program reads
// record itself (not a copy), read-only, from offset 8 on: the kernel's
// verifier refuses reads of the common header (and bpf_probe_read of the
// context is the way to it), so a read of it, as a read past the record's
// end, is a *RunError wrapping ErrContext that names the context offset.
func (vm *VM) RunTracepoint(record []byte) (uint64, error) { return vm.e.RunTracepoint(record) }

// RunRawTracepoint runs a program whose context is the u64 argument array
// of a raw tracepoint (prog.RawTracePoint, SEC("raw_tp/...")) or a BPF
// trampoline (prog.Tracing: SEC("tp_btf/..."), fentry, fexit, fmod_ret;
// prog.LSM), at most MaxRawTracepointArgs arguments. Tracing and LSM
// programs may load through the BTF pointers among their arguments (see
// package interp/kmem): such a load reads Options.KernelMemory, and a load
// that hits no memory reads 0, as the kernel's BPF_PROBE_MEM loads do
// (Linux 5.5+).
func (vm *VM) RunRawTracepoint(args []uint64) (uint64, error) { return vm.e.RunRawTracepoint(args) }

// RunPerfEvent runs a perf_event program (prog.PerfEvent) on a read-only
// struct bpf_perf_event_data made from data (nil: all zero).
func (vm *VM) RunPerfEvent(data *PerfEventData) (uint64, error) { return vm.e.RunPerfEvent(data) }

// RunTracepoint is VM.RunTracepoint in the Runner's state.
func (r *Runner) RunTracepoint(record []byte) (uint64, error) { return r.r.RunTracepoint(record) }

// RunRawTracepoint is VM.RunRawTracepoint in the Runner's state.
func (r *Runner) RunRawTracepoint(args []uint64) (uint64, error) {
	return r.r.RunRawTracepoint(args)
}

// RunPerfEvent is VM.RunPerfEvent in the Runner's state.
func (r *Runner) RunPerfEvent(data *PerfEventData) (uint64, error) { return r.r.RunPerfEvent(data) }
