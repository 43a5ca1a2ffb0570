package jit

import (
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
)

// RunTracepoint runs a tracepoint program on record (the raw tracepoint
// record, common header first), like interp.VM.RunTracepoint.
func (vm *VM) RunTracepoint(record []byte) (uint64, error) {
	return vm.trace(engine.TraceTracepoint, record, nil, nil)
}

// RunRawTracepoint runs a raw tracepoint, tp_btf, fentry/fexit or LSM
// program on its u64 argument array, like interp.VM.RunRawTracepoint.
func (vm *VM) RunRawTracepoint(args []uint64) (uint64, error) {
	return vm.trace(engine.TraceRawTracepoint, nil, args, nil)
}

// RunPerfEvent runs a perf_event program on a bpf_perf_event_data made
// from data, like interp.VM.RunPerfEvent.
func (vm *VM) RunPerfEvent(data *interp.PerfEventData) (uint64, error) {
	return vm.trace(engine.TracePerfEvent, nil, nil, data)
}

// RunTracepoint is VM.RunTracepoint in the Runner's own state.
func (rn *Runner) RunTracepoint(record []byte) (uint64, error) {
	return rn.runnerTrace(engine.TraceTracepoint, record, nil, nil)
}

// RunRawTracepoint is VM.RunRawTracepoint in the Runner's own state.
func (rn *Runner) RunRawTracepoint(args []uint64) (uint64, error) {
	return rn.runnerTrace(engine.TraceRawTracepoint, nil, args, nil)
}

// RunPerfEvent is VM.RunPerfEvent in the Runner's own state.
func (rn *Runner) RunPerfEvent(data *interp.PerfEventData) (uint64, error) {
	return rn.runnerTrace(engine.TracePerfEvent, nil, nil, data)
}

// traceInterp runs a tracing program in interp (Options.Fallback, or no
// back end on this platform).
func (vm *VM) traceInterp(k engine.TraceKind, record []byte, args []uint64, pd *interp.PerfEventData) (uint64, error) {
	switch k {
	case engine.TraceTracepoint:
		return vm.ivm.RunTracepoint(record)
	case engine.TraceRawTracepoint:
		return vm.ivm.RunRawTracepoint(args)
	}
	return vm.ivm.RunPerfEvent(pd)
}

// traceRunner is traceInterp on an interp.Runner.
func traceRunner(ir *interp.Runner, k engine.TraceKind, record []byte, args []uint64, pd *interp.PerfEventData) (uint64, error) {
	switch k {
	case engine.TraceTracepoint:
		return ir.RunTracepoint(record)
	case engine.TraceRawTracepoint:
		return ir.RunRawTracepoint(args)
	}
	return ir.RunPerfEvent(pd)
}
