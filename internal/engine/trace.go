package engine

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/purebpf/purebpf/prog"
)

// Tracing contexts: the record of a tracepoint program, the argument
// array of raw tracepoint, tp_btf, fentry/fexit and LSM programs, and the
// bpf_perf_event_data of perf_event programs. Each is a read-only region
// of the run, bound eagerly (they are small, or the caller's own bytes);
// an access outside it is a run error wrapping ErrContext that names the
// context offset, as the verifier's "invalid bpf_context access off=N"
// names it. The verifier's finer rules for these contexts, which need
// its tracking of r1 (reads aligned to their size; perf_event registers
// read 8 bytes at a time; tp_btf arguments by their BTF types), are not
// checked: a program the kernel refuses for them runs here.

// MaxTracepointRecord is the largest tracepoint record a program may be
// run on: PERF_MAX_TRACE_SIZE (include/linux/trace_events.h; 8192 in
// Linux 6.x), the bound tp_prog_is_valid_access puts on context offsets.
const MaxTracepointRecord = 8192

// TracepointHeader is the size of the common header every tracepoint
// record starts with (struct trace_entry: type, flags, preempt_count,
// pid), which the format files list as the common_* fields. Programs
// may not read it: tp_prog_is_valid_access refuses context offsets below
// 8 (Linux 4.7+), so a tracepoint run treats such a read as outside its
// context.
const TracepointHeader = 8

// MaxRawTracepointArgs is the most arguments a raw tracepoint (or a BPF
// trampoline program) takes: MAX_BPF_FUNC_ARGS, 12 (Linux 5.x and 6.x;
// raw tracepoints have been limited to 12 since Linux 4.17).
const MaxRawTracepointArgs = 12

// PerfEventData is struct bpf_perf_event_data (include/uapi/linux/
// bpf_perf_event.h, Linux 4.9+; addr since 4.19), the context of
// perf_event programs on x86-64: the sampled registers, the sample
// period and the sample's address (PERF_SAMPLE_ADDR).
type PerfEventData struct {
	Regs         PtRegs
	SamplePeriod uint64
	Addr         uint64
}

const perfEventDataSize = ptRegsSize + 16

// traceState is the part of an Env the tracing contexts use.
type traceState struct {
	args   [MaxRawTracepointArgs * 8]byte
	perf   [perfEventDataSize]byte
	record []byte // the tracepoint record of the run, the caller's
	size   uint64 // the context's size
}

// traceContext sets the context of a VM of tracing program type t and
// reports whether t is one. Tracing (tp_btf, fentry, fexit, fmod_ret,
// iter) and LSM programs receive BTF pointers in their arguments, and the
// kernel turns their loads through them into BPF_PROBE_MEM loads that
// read 0 instead of faulting (Linux 5.5+): so do this VM's (probeMem).
func (vm *VM) traceContext(t prog.Type) bool {
	switch t {
	case prog.TracePoint:
		vm.ctx = ctxTracepoint
	case prog.RawTracePoint, prog.RawTracePointWritable:
		vm.ctx = ctxRawTracepoint
	case prog.Tracing, prog.LSM:
		vm.ctx, vm.probeMem = ctxRawTracepoint, true
	case prog.PerfEvent:
		vm.ctx = ctxPerfEvent
	default:
		return false
	}
	return true
}

// checkTracepoint reports why a tracepoint run cannot take record.
func checkTracepoint(record []byte) error {
	if len(record) < TracepointHeader || len(record) > MaxTracepointRecord {
		return &RunError{Err: fmt.Errorf("%w: a tracepoint record must hold its %d-byte common header and at most %d bytes (PERF_MAX_TRACE_SIZE); this one has %d",
			ErrContext, TracepointHeader, MaxTracepointRecord, len(record))}
	}
	return nil
}

func checkRawTracepoint(args []uint64) error {
	if len(args) > MaxRawTracepointArgs {
		return &RunError{Err: fmt.Errorf("%w: %d raw tracepoint arguments; the kernel passes at most %d", ErrContext, len(args), MaxRawTracepointArgs)}
	}
	return nil
}

// bindTrace installs the read-only regions of a tracing run: the
// host-backed kernel memory of Options.KernelMemory, then the context
// data (the last fixed region, which rebindTrace moves), and returns the
// context's address (r1).
func (e *Env) bindTrace(kind contextKind, data []byte) uint64 {
	e.ctxKind = kind
	for _, m := range e.vm.opts.KernelMemory {
		if len(m.Data) > 0 && m.Addr == addrOf(m.Data) {
			r := e.fixedRegion()
			r.Start, r.End, r.Perm, r.data, r.pending = m.Addr, m.Addr+uint64(len(m.Data)), PermRead, m.Data, false
		}
	}
	r := e.fixedRegion()
	r.pending = false
	e.setTraceRegion(r, data)
	return e.ctxAddr
}

// rebindTrace is bindTrace for an Env that a run of the same VM left
// bound (Runner): only the context region changes.
func (e *Env) rebindTrace(data []byte) uint64 {
	e.setTraceRegion(&e.regions[e.fixed-1], data)
	e.dropHot()
	return e.ctxAddr
}

func (e *Env) setTraceRegion(r *Region, data []byte) {
	a := addrOf(data)
	if len(data) == 0 {
		// No arguments: an empty region at the (unused) argument buffer,
		// so that r1 is still a valid context pointer.
		a = addrOf(e.tr.args[:])
	}
	e.ctxAddr, e.tr.size = a, uint64(len(data))
	if e.ctxKind == ctxTracepoint {
		// tp_prog_is_valid_access (kernel/trace/bpf_trace.c) refuses the
		// first 8 bytes: the common header is not the program's to read
		// (perf keeps a pointer to the registers there). They are outside
		// the region, so that reading them is a context error.
		a, data = a+TracepointHeader, data[TracepointHeader:]
	}
	r.Start, r.End, r.Perm, r.data = a, a+uint64(len(data)), PermRead, data
}

// traceData returns the context bytes of a tracing run on in, which
// check* accepted: the record itself, or e's buffer filled with the
// arguments or the perf event data.
func (e *Env) traceData(kind contextKind, record []byte, args []uint64, pd *PerfEventData) []byte {
	switch kind {
	case ctxTracepoint:
		e.tr.record = record
		return record
	case ctxRawTracepoint:
		b := e.tr.args[:8*len(args)]
		for k, v := range args {
			ne.PutUint64(b[8*k:], v)
		}
		return b
	}
	var d PerfEventData
	if pd != nil {
		d = *pd
	}
	r := &d.Regs
	vals := [...]uint64{r.R15, r.R14, r.R13, r.R12, r.BP, r.BX, r.R11, r.R10, r.R9, r.R8,
		r.AX, r.CX, r.DX, r.SI, r.DI, r.OrigAX, r.IP, r.CS, r.Flags, r.SP, r.SS, d.SamplePeriod, d.Addr}
	for k, v := range vals {
		ne.PutUint64(e.tr.perf[8*k:], v)
	}
	return e.tr.perf[:]
}

// traceMiss is the error of an access of n bytes at addr that hit no
// region in a tracing run: one that names the context offset when addr
// is context memory (the verifier rejects such programs: "invalid
// bpf_context access"), otherwise the ordinary out-of-bounds error. For
// a tracepoint, context memory is the PERF_MAX_TRACE_SIZE bytes from the
// record's start; for the other contexts, which live in the Env, it is
// the Env's own memory around them (no other object can be there), so
// that a faulting BTF-pointer load elsewhere is never taken for one.
func (e *Env) traceMiss(write bool, n int, addr uint64) error {
	lo, hi := e.ctxAddr, e.ctxAddr+MaxTracepointRecord
	if e.ctxKind != ctxTracepoint {
		base := uint64(uintptr(unsafe.Pointer(&e.tr)))
		lo, hi = base-traceEnvSlack, base+uint64(unsafe.Sizeof(e.tr))
	}
	if e.ctxAddr == 0 || addr < lo || addr >= hi {
		return accessErr(write, n, addr, "")
	}
	kind := "load"
	if write {
		kind = "store"
	}
	off := int64(addr - e.ctxAddr)
	why := fmt.Sprintf("outside the %d-byte context", e.tr.size)
	if e.ctxKind == ctxTracepoint && off >= 0 && off < TracepointHeader {
		why = "the common header is not readable (tp_prog_is_valid_access)"
	}
	return fmt.Errorf("%w: %s of %d bytes at %s context offset %d: %s", ErrContext, kind, n, e.ctxKind, off, why)
}

// traceEnvSlack is how many bytes of the Env before its tracing context
// buffers count as context memory for traceMiss: less than the Env
// fields before them (the __sk_buff and pt_regs buffers alone are 360
// bytes).
const traceEnvSlack = 256

// probeMemFault reports whether a load that failed with err reads 0
// instead, as a BPF_PROBE_MEM load does (the JITs' exception table,
// arch/x86/net/bpf_jit_comp.c): in a program whose loads through BTF
// pointers the kernel converts (VM.probeMem), a load-acquire excepted,
// that hit no region and is not a context access. No host memory is
// read.
func (e *Env) probeMemFault(in *dinsn, err error) bool {
	return in.op != opLoadAcq && ProbeMemFault(e.curVM, err)
}

// ProbeMemFault reports whether an LDX of vm's program (not a
// load-acquire) that failed with err, which Env.Bytes returned, reads 0
// instead (see Env.probeMemFault). The JIT asks it on a miss.
func ProbeMemFault(vm *VM, err error) bool {
	return vm.probeMem && errors.Is(err, ErrMemoryAccess) && !errors.Is(err, ErrContext)
}

// kernelAddr reports whether addr lies in a host-backed region of
// Options.KernelMemory or in one of the run's regions (the stack, the
// context, map values), which are kernel memory in the kernel: the legacy
// probe_read and probe_read_str read such an address as kernel memory
// although, being a host address, it is below TASK_SIZE (libbpf-bootstrap
// reads a tracepoint record's __data_loc string so).
func (e *Env) kernelAddr(addr uint64) bool {
	for _, m := range e.vm.opts.KernelMemory {
		if m.Addr == addrOf(m.Data) && addr-m.Addr < uint64(len(m.Data)) {
			return true
		}
	}
	_, err := e.find(addr, 1, false)
	return err == nil
}

// runTrace is a tracing run of vm on the VM's own Env.
func (vm *VM) runTrace(kind contextKind, record []byte, args []uint64, pd *PerfEventData) (uint64, error) {
	if err := vm.wantCtx(kind); err != nil {
		return 0, err
	}
	if err := checkTrace(kind, record, args); err != nil {
		return 0, err
	}
	e := vm.AcquireEnv()
	r1 := e.bindTrace(kind, e.traceData(kind, record, args, pd))
	return vm.run(e, r1, 0)
}

func checkTrace(kind contextKind, record []byte, args []uint64) error {
	switch kind {
	case ctxTracepoint:
		return checkTracepoint(record)
	case ctxRawTracepoint:
		return checkRawTracepoint(args)
	}
	return nil
}

// RunTracepoint runs a tracepoint program (prog.TracePoint) on record,
// the raw bytes of a tracepoint's record as the format file in
// /sys/kernel/tracing/events/<category>/<name>/format lays them out: the
// 8-byte common header, then the event's fields. r1 points at
// record itself, read-only (it is not copied), which must hold at least the
// header and at most MaxTracepointRecord bytes.
func (vm *VM) RunTracepoint(record []byte) (uint64, error) {
	return vm.runTrace(ctxTracepoint, record, nil, nil)
}

// RunRawTracepoint runs a program whose context is an array of u64
// arguments (struct bpf_raw_tracepoint_args): raw_tp and
// raw_tracepoint programs (prog.RawTracePoint, Linux 4.17+), and the BPF
// trampoline programs (prog.Tracing: tp_btf, fentry, fexit, fmod_ret;
// prog.LSM), whose BPF_PROG macros read the same array (fexit's return
// value is the argument after the function's own). At most
// MaxRawTracepointArgs arguments.
//
// Tracing and LSM programs load through the BTF pointers among their
// arguments directly, as the kernel lets them (Linux 5.5+): such loads
// read Options.KernelMemory regions that package interp/kmem built, and a
// load that hits no region reads 0, as the kernel's BPF_PROBE_MEM loads
// do.
func (vm *VM) RunRawTracepoint(args []uint64) (uint64, error) {
	return vm.runTrace(ctxRawTracepoint, nil, args, nil)
}

// RunPerfEvent runs a perf_event program (prog.PerfEvent) on a read-only
// struct bpf_perf_event_data built from data (nil means all zero).
func (vm *VM) RunPerfEvent(data *PerfEventData) (uint64, error) {
	return vm.runTrace(ctxPerfEvent, nil, nil, data)
}

// runTrace is a tracing run in the Runner's Env.
func (r *Runner) runTrace(kind contextKind, record []byte, args []uint64, pd *PerfEventData) (uint64, error) {
	e, vm := r.env, r.vm
	if e == nil {
		return 0, fmt.Errorf("interp: Runner: %w", ErrClosed)
	}
	if vm.ctx != kind {
		return 0, vm.wantCtx(kind)
	}
	if err := checkTrace(kind, record, args); err != nil {
		return 0, err
	}
	var r1 uint64
	if r.bound {
		e.zeroStack(vm.prog)
		r1 = e.rebindTrace(e.traceData(kind, record, args, pd))
	} else {
		vm.StartEnv(e)
		r1 = e.bindTrace(kind, e.traceData(kind, record, args, pd))
	}
	ret, err := vm.exec(e, r1, 0)
	r.keep(err)
	return ret, err
}

// RunTracepoint is VM.RunTracepoint in the Runner's Env.
func (r *Runner) RunTracepoint(record []byte) (uint64, error) {
	return r.runTrace(ctxTracepoint, record, nil, nil)
}

// RunRawTracepoint is VM.RunRawTracepoint in the Runner's Env.
func (r *Runner) RunRawTracepoint(args []uint64) (uint64, error) {
	return r.runTrace(ctxRawTracepoint, nil, args, nil)
}

// RunPerfEvent is VM.RunPerfEvent in the Runner's Env.
func (r *Runner) RunPerfEvent(data *PerfEventData) (uint64, error) {
	return r.runTrace(ctxPerfEvent, nil, nil, data)
}

// TraceKind is the tracing context a VM's program takes, for the JIT.
type TraceKind uint8

// Tracing contexts (TraceKind).
const (
	NoTrace TraceKind = iota
	TraceTracepoint
	TraceRawTracepoint
	TracePerfEvent
)

var traceKinds = [...]contextKind{0, ctxTracepoint, ctxRawTracepoint, ctxPerfEvent}

// CheckTrace reports why a run of kind k cannot take its input (a
// tracepoint record, raw tracepoint arguments), or nil; the error is
// VM.RunTracepoint's or VM.RunRawTracepoint's.
func CheckTrace(vm *VM, k TraceKind, record []byte, args []uint64) error {
	if err := vm.wantCtx(traceKinds[k]); err != nil {
		return err
	}
	return checkTrace(traceKinds[k], record, args)
}

// RebindTrace is BindTrace for an Env that a tracing run of the same VM
// left bound (KeptBinding said so): only the context region changes.
func RebindTrace(e *Env, k TraceKind, record []byte, args []uint64, pd *PerfEventData) uint64 {
	return e.rebindTrace(e.traceData(traceKinds[k], record, args, pd))
}

// KeptBinding reports whether the run that just ended in e left its
// binding as BindTrace made it, apart from what RebindTrace sets again:
// no helper-made regions or ring buffer reservations and the bound VM
// running (the JIT, which tracks calls and tail calls itself, checks that
// it ended in the main frame of the program it started).
func KeptBinding(e *Env) bool {
	return len(e.regions) == e.fixed && len(e.reserved) == 0 && e.curVM == e.vm
}

// BindTrace installs the context of a tracing run of kind k (which
// CheckTrace accepted) and the host-backed kernel memory in e, and
// returns the context's address (r1).
func BindTrace(e *Env, k TraceKind, record []byte, args []uint64, pd *PerfEventData) uint64 {
	kind := traceKinds[k]
	return e.bindTrace(kind, e.traceData(kind, record, args, pd))
}
