package engine

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// DefaultMaxInstructions is the instruction budget of a run when
// Options.MaxInstructions is 0.
const DefaultMaxInstructions = 1 << 27

// contextKind is the kind of context a program takes in r1.
type contextKind uint8

const (
	ctxMemory contextKind = iota // r1 = buffer, r2 = length
	ctxSocketFilter
	ctxKprobe
	ctxXDP
	ctxTC
	ctxTracepoint    // the raw tracepoint record (trace.go)
	ctxRawTracepoint // the u64 argument array (trace.go)
	ctxPerfEvent     // struct bpf_perf_event_data (trace.go)
)

func (k contextKind) String() string {
	return [...]string{"raw memory", "socket filter (__sk_buff)", "kprobe (pt_regs)", "XDP (xdp_md)", "tc (__sk_buff)",
		"tracepoint (record)", "raw tracepoint (u64 args)", "perf event (bpf_perf_event_data)"}[k]
}

// MemoryRegion is a range of simulated kernel or user memory that the
// probe_read helpers can read.
type MemoryRegion struct {
	Addr uint64
	Data []byte
}

// Options configures a VM. A nil *Options means the defaults.
type Options struct {
	// MaxInstructions is the instruction budget of one run, counting
	// every executed instruction across calls and tail calls. 0 means
	// DefaultMaxInstructions.
	MaxInstructions uint64
	// Helpers is the helper registry. nil means DefaultHelpers(). The VM
	// keeps the registry (see VM.Helpers); replacing an entry after New
	// takes effect at the next call, but a helper number the program
	// calls must be present at New.
	Helpers *Registry
	// Maps supplies existing maps by name; spec maps not found here are
	// created with maps.New(spec, MapOptions).
	Maps map[string]maps.Map
	// MapOptions is passed to maps.New for the maps the VM creates.
	MapOptions *maps.Options
	// CPU is the CPU number the program runs on: the result of
	// get_smp_processor_id, the per-CPU map slot, and the perf event
	// array index for BPF_F_CURRENT_CPU.
	CPU int
	// Now returns bpf_ktime_get_ns. nil means a monotonic clock.
	Now func() uint64
	// Rand returns bpf_get_prandom_u32. nil means math/rand/v2.
	Rand func() uint32
	// PIDTGID is the result of get_current_pid_tgid (tgid << 32 | pid).
	PIDTGID uint64
	// UIDGID is the result of get_current_uid_gid (gid << 32 | uid).
	UIDGID uint64
	// Comm is the task name get_current_comm copies (at most 15 bytes).
	Comm string
	// TraceOutput receives bpf_trace_printk output. nil discards it.
	TraceOutput io.Writer
	// XDPMaxMetadata is the most metadata bytes bpf_xdp_adjust_meta
	// accepts. 0 means 255, as Linux 6.18 (the u8
	// skb_shared_info.meta_len); 32 behaves as older kernels such as 6.1,
	// whose xdp_metalen_invalid refuses more with EACCES.
	XDPMaxMetadata int
	// KernelVersion is the Linux version whose helper semantics to follow
	// where they changed, as KERNEL_VERSION(major, minor, 0) encodes it
	// (major<<16 | minor<<8); 0 means 6.18. Before 6.13 bpf_csum_diff
	// returns csum_partial's unfolded 32-bit sum and refuses sizes that
	// are not multiples of 4 or exceed 512 bytes; before 6.3
	// bpf_skb_adjust_room refuses the BPF_F_ADJ_ROOM_DECAP_L3 flags;
	// before 6.2 bpf_skb_vlan_pop of an offloaded tag clears only
	// vlan_present, leaving vlan_tci and vlan_proto, and vlan_present is
	// a 1-byte field for narrow reads (see RunTC). Before 6.12 (6.1 seen;
	// the change lies between) bpf_skb_vlan_push that writes the
	// offloaded tag into the packet leaves the network header after it,
	// rather than 14 bytes in, which bpf_skb_load_bytes_relative,
	// bpf_skb_change_tail's limit and bpf_skb_adjust_room see.
	KernelVersion uint32
	// KernelMemory and UserMemory are what probe_read_kernel and
	// probe_read_user (and the legacy probe_read, which reads kernel
	// memory) can read. A KernelMemory region whose Addr is the address
	// of its Data (package interp/kmem builds such regions) is host
	// memory the program may also load from directly, read-only, as
	// tracing programs (TracePoint, RawTracepoint, Tracing, LSM,
	// PerfEvent) load through BTF pointers.
	KernelMemory, UserMemory []MemoryRegion
	// Kfuncs implements the kernel functions (kfuncs) programs call, by
	// name. A call of a kfunc not here is a load error wrapping
	// ErrUnknownKfunc that names it. A kfunc is called as a helper is:
	// r1..r5 are its arguments, r0 its result.
	Kfuncs map[string]Helper
	// Trace, when set, is called before every executed instruction. It
	// slows runs down; use it for debugging (purebpf run --trace).
	Trace Tracer
	// Coverage, when set, counts the instructions every run executes
	// and maps them to C source lines (see Coverage). The program must
	// be registered with it (Coverage.Add; collections do it). Like
	// Trace, it makes runs step one instruction at a time.
	Coverage *Coverage
}

// VM is a loaded program ready to run in userspace. A VM is safe for
// concurrent use by several goroutines: each run takes its own machine
// state (stack, registers, region table), the idle one the VM keeps or one
// from a pool. Maps are shared.
type VM struct {
	spec    *prog.Spec
	prog    *program
	ctx     contextKind
	opts    Options
	budget  uint64
	helpers *Registry
	maps    []maps.Map
	names   []string
	// facts are what helpers need of each map's spec, read once (a
	// MapSpec call copies the whole spec).
	facts []mapFacts
	// cache holds one idle Env, taken and returned with an atomic swap;
	// pool holds the others when runs overlap.
	cache atomic.Pointer[Env]
	pool  sync.Pool
	id    uint32
	// compiled is the machine code of the program (a *jit.VM) when the
	// JIT compiled it (Compiled, SetCompiled).
	compiled atomic.Pointer[any]
	// cover counts the program's executed instructions when
	// Options.Coverage is set (coverage.go).
	cover *coveredProgram
	// kfuncs are the kfuncs the program calls, in the order of their
	// call numbers (kfunc.go); probeMem says that loads that fault read
	// 0, as the kernel's BPF_PROBE_MEM loads do (trace.go).
	kfuncs   []kfunc
	probeMem bool
}

// New checks and loads spec. Errors are *LoadError values wrapping
// ErrLoad. The program type selects the context: prog.UnspecifiedProgram
// runs on raw memory (RunMemory), prog.SocketFilter on a packet
// (RunSocketFilter), prog.Kprobe on registers (RunKprobe).
func New(spec *prog.Spec, opts *Options) (*VM, error) {
	if spec == nil {
		return nil, loadErr(-1, "nil spec")
	}
	vm := &VM{spec: spec, id: vmIDs.Add(1)}
	if opts != nil {
		vm.opts = *opts
	}
	switch spec.Type {
	case prog.UnspecifiedProgram:
		vm.ctx = ctxMemory
	case prog.SocketFilter:
		vm.ctx = ctxSocketFilter
	case prog.Kprobe:
		vm.ctx = ctxKprobe
	case prog.XDP:
		vm.ctx = ctxXDP
	case prog.SchedCLS, prog.SchedACT:
		vm.ctx = ctxTC
	default:
		if !vm.traceContext(spec.Type) {
			return nil, loadErr(-1, "%w: program type %s has no userspace context (want UnspecifiedProgram, SocketFilter, Kprobe, XDP, SchedCLS, SchedACT, TracePoint, RawTracepoint, Tracing, LSM or PerfEvent)", ErrContext, spec.Type)
		}
	}
	vm.budget = vm.opts.MaxInstructions
	if vm.budget == 0 {
		vm.budget = DefaultMaxInstructions
	}
	vm.helpers = vm.opts.Helpers
	if vm.helpers == nil {
		vm.helpers = DefaultHelpers()
	}
	if err := vm.setupMaps(); err != nil {
		return nil, err
	}
	d := decoder{ctx: vm.ctx, typ: spec.Type, helpers: vm.helpers, mapIndex: vm.mapIndex, kfunc: vm.kfuncIndex}
	p, err := d.decode(spec.Instructions)
	if err != nil {
		return nil, err
	}
	vm.prog = p
	if vm.opts.Coverage != nil {
		if vm.cover, err = vm.opts.Coverage.attach(spec, p); err != nil {
			return nil, loadErr(-1, "%w", err)
		}
	}
	vm.pool.New = func() any { return newEnv(vm) }
	return vm, nil
}

func (vm *VM) setupMaps() error {
	seen := make(map[string]bool)
	for _, ms := range vm.spec.Maps {
		if ms == nil {
			return loadErr(-1, "nil map spec")
		}
		if seen[ms.Name] {
			return loadErr(-1, "two maps named %q", ms.Name)
		}
		seen[ms.Name] = true
		m, ok := vm.opts.Maps[ms.Name]
		if !ok {
			var err error
			if m, err = maps.New(*ms, vm.opts.MapOptions); err != nil {
				return loadErr(-1, "%w", err)
			}
		} else if m == nil {
			return loadErr(-1, "Options.Maps[%q] is nil", ms.Name)
		} else if got := m.MapSpec(); got.Type != ms.Type || got.KeySize != ms.KeySize || got.ValueSize != ms.ValueSize ||
			got.MaxEntries != ms.MaxEntries && !(ms.Type == prog.PerfEventArray && ms.MaxEntries == 0) { // 0: one per CPU, as libbpf sizes it
			return loadErr(-1, "Options.Maps[%q] is a %s map with key %d, value %d, %d entries; the spec wants %s, key %d, value %d, %d entries",
				ms.Name, got.Type, got.KeySize, got.ValueSize, got.MaxEntries, ms.Type, ms.KeySize, ms.ValueSize, ms.MaxEntries)
		}
		vm.maps = append(vm.maps, m)
		vm.names = append(vm.names, ms.Name)
		vm.facts = append(vm.facts, factsOf(m.MapSpec()))
	}
	return nil
}

// mapIndex resolves an LD_IMM64 map reference: by Ref (the map's name),
// or, for raw bytecode without names, by the fd/index in the immediate as
// an index into spec.Maps.
func (vm *VM) mapIndex(i insn.Instruction) (int, error) {
	idx := -1
	if i.Ref != "" {
		for k, n := range vm.names {
			if n == i.Ref {
				idx = k
			}
		}
		if idx < 0 {
			return 0, fmt.Errorf("map %q is not in the spec's Maps", i.Ref)
		}
	} else {
		fd := int(i.MapFD())
		if fd < 0 || fd >= len(vm.maps) {
			return 0, fmt.Errorf("lddw refers to map %d without a name, and the spec has %d maps", fd, len(vm.maps))
		}
		idx = fd
	}
	if s := insn.PseudoSrc(i.Src); s == insn.PseudoMapValue || s == insn.PseudoMapIdxValue {
		ms := vm.maps[idx].MapSpec()
		// array_map_direct_value_addr (kernel/bpf/arraymap.c): only
		// single-element plain arrays, offset inside the value.
		if ms.Type != prog.Array || ms.MaxEntries != 1 {
			return 0, fmt.Errorf("direct value access to map %q (%s, %d entries) needs an array map with one entry", vm.names[idx], ms.Type, ms.MaxEntries)
		}
		if i.MapValueOffset() >= ms.ValueSize {
			return 0, fmt.Errorf("offset %d into map %q is outside its %d-byte value", i.MapValueOffset(), vm.names[idx], ms.ValueSize)
		}
	}
	return idx, nil
}

// Load decodes raw little-endian bytecode and loads it as a raw-memory
// program (prog.UnspecifiedProgram) with no maps.
func Load(raw []byte, opts *Options) (*VM, error) {
	is, err := insn.Unmarshal(raw)
	if err != nil {
		return nil, &LoadError{Slot: slotOf(err), Err: err}
	}
	return New(&prog.Spec{Name: "raw", Type: prog.UnspecifiedProgram, Instructions: is}, opts)
}

// Bytes is Load with default options.
func Bytes(raw []byte) (*VM, error) { return Load(raw, nil) }

// Spec returns the spec the VM was loaded from.
func (vm *VM) Spec() *prog.Spec { return vm.spec }

// Instructions returns the resolved program (labels turned into offsets).
func (vm *VM) Instructions() insn.Instructions { return vm.prog.insns }

// Helpers returns the VM's helper registry.
func (vm *VM) Helpers() *Registry { return vm.helpers }

// Map returns the map called name, or nil.
func (vm *VM) Map(name string) maps.Map {
	for k, n := range vm.names {
		if n == name {
			return vm.maps[k]
		}
	}
	return nil
}

// MapIndex returns the index of the map called name in Maps (what
// MapHandle takes), or -1.
func (vm *VM) MapIndex(name string) int {
	for k, n := range vm.names {
		if n == name {
			return k
		}
	}
	return -1
}

// Maps returns the VM's maps in the order of spec.Maps; index k is the map
// MapHandle(k) refers to.
func (vm *VM) Maps() []maps.Map { return vm.maps }

// AcquireEnv takes a machine state from the VM (an idle one it keeps, or
// its pool when runs overlap) and prepares it with StartEnv. It is the
// first step of a run for the JIT; the interpreter's Run methods do it
// themselves.
func (vm *VM) AcquireEnv() *Env {
	e := vm.take()
	vm.StartEnv(e)
	return e
}

func (vm *VM) take() *Env {
	e := vm.cache.Swap(nil)
	if e == nil {
		e = vm.pool.Get().(*Env)
	}
	return e
}

// put gives an idle Env back: to the VM's one-Env cache, or its pool when
// the cache is taken.
func (vm *VM) put(e *Env) {
	if !vm.cache.CompareAndSwap(nil, e) {
		vm.pool.Put(e)
	}
}

// AcquireStack takes a machine state from the VM like AcquireEnv, but
// prepares only its stack: the main frame is zeroed where the program can
// reach it, and StackTop is valid. Machine code that runs without calling
// back into Go needs nothing else; before the Env is used for anything
// more (helpers, Bytes, Regions, Map, Bind*), the JIT calls BindEnv. The
// run ends with ReleaseEnv, or ReleaseStack if BindEnv was never called.
func (vm *VM) AcquireStack() *Env {
	e := vm.take()
	e.zeroStack(vm.prog)
	return e
}

// ReachableStack returns the bytes of e's main frame that the program
// can reach, which AcquireStack and StartEnv zero before every run; the
// rest of the frame stays zero. An engine that keeps e across runs
// (jit.Runner) zeroes them itself before each run.
func (vm *VM) ReachableStack(e *Env) []byte {
	return e.stack[len(e.stack)-int(vm.prog.stackDepth):]
}

// ReleaseStack gives back an Env from AcquireStack that was never passed
// to BindEnv (or was ended with EndEnv since): it holds no references to
// drop. A bound one goes back with ReleaseEnv.
func (vm *VM) ReleaseStack(e *Env) { vm.put(e) }

// BindEnv completes an Env from AcquireStack as StartEnv would, except
// that it leaves the stack's contents (which the program may have written
// by now) alone.
func (vm *VM) BindEnv(e *Env) {
	e.vm, e.cur, e.curVM = vm, vm.prog, vm
	e.resetState()
	e.tracer = vm.opts.Trace
}

// ReleaseEnv ends the run in e with EndEnv and gives e back to the VM. e
// must not be used afterwards.
func (vm *VM) ReleaseEnv(e *Env) {
	vm.EndEnv(e)
	vm.put(e)
}

// StartEnv prepares e, which must come from vm's AcquireEnv, for a run:
// one zeroed stack frame, no regions besides the stack, no context.
// Only the part of the frame the program can reach is zeroed (see
// program.stackDepth); the rest is still zero from earlier runs.
func (vm *VM) StartEnv(e *Env) {
	e.vm, e.cur, e.curVM = vm, vm.prog, vm
	e.reset()
	e.tracer = vm.opts.Trace
}

// EndEnv ends the run in e: it discards ring buffer reservations the
// program did not submit and drops the run's references to buffers and
// map values, so that an idle Env keeps no memory alive.
func (vm *VM) EndEnv(e *Env) {
	if len(e.reserved) > 0 {
		e.releaseAll()
	}
	if e.xdp.page != nil {
		e.endXDP()
	}
	if e.tc.b != nil {
		e.endTC()
	}
	e.dropHot()
	e.fc.ctx, e.fc.ctxLo = nil, 0
	e.cur, e.curVM = nil, nil
	e.packet, e.mem, e.fc.pkt = nil, nil, nil
	e.skbMeta, e.kregs, e.ctxRegion = nil, nil, -1
	e.tr.record = nil
	if len(e.inner) > 0 {
		e.endInner()
	}
	for k := 1; k < len(e.regions); k++ { // region 0 is the Env's own stack
		e.regions[k].data, e.regions[k].check = nil, nil
	}
	e.regions = e.regions[:1]
}

func (vm *VM) wantCtx(k contextKind) error {
	if vm.ctx != k {
		return &RunError{PC: 0, Err: fmt.Errorf("%w: program %q of type %s takes a %s context, not %s", ErrContext, vm.spec.Name, vm.spec.Type, vm.ctx, k)}
	}
	return nil
}

// BindMemory installs mem as a readable and writable region and returns
// the r1 and r2 a raw-memory program starts with: mem's address and
// length (both 0 for an empty mem).
func (e *Env) bindMemory(mem []byte) (r1, r2 uint64) {
	e.ctxKind = ctxMemory
	e.mem = mem
	if len(mem) > 0 {
		r := e.fixedRegion()
		r.Start, r.End, r.Perm = addrOf(mem), addrOf(mem)+uint64(len(mem)), PermRead|PermWrite
		r.data = mem
		e.dropHot()
		e.fc.hot, e.fc.hotLo = mem, addrOf(mem) // the fast path's first guess
	}
	e.fc.pkt = mem // what LD_ABS and LD_IND read
	e.fixed = len(e.regions)
	e.ctxAddr = addrOf(mem)
	return addrOf(mem), uint64(len(mem))
}

// rebindable reports whether an Env that a raw-memory run left bound
// (Env.rebindableRun) can take mem with rebindMemory: the memory region is
// there exactly when mem is not empty.
func (e *Env) rebindable(mem []byte) bool {
	return e.ctxKind == ctxMemory && (len(mem) > 0) == (e.fixed == 2)
}

// rebindMemory is bindMemory for an Env that a raw-memory run left bound
// (see Runner): it points the memory region at mem and clears the hot
// region, without rebuilding the region table.
func (e *Env) rebindMemory(mem []byte) (r1, r2 uint64) {
	a := addrOf(mem)
	e.mem, e.fc.pkt = mem, mem
	e.dropHot()
	e.fc.hot, e.fc.hotLo = mem, a
	if len(mem) > 0 {
		r := &e.regions[1]
		r.Start, r.End, r.data = a, a+uint64(len(mem)), mem
	}
	e.ctxAddr = a
	return a, uint64(len(mem))
}

// run runs the program in e, which StartEnv and a Bind method prepared,
// with r1 and r2, and releases e.
func (vm *VM) run(e *Env, r1, r2 uint64) (uint64, error) {
	ret, err := vm.exec(e, r1, r2)
	vm.ReleaseEnv(e)
	return ret, err
}

// exec runs the program in the prepared e with r1 and r2, leaving e bound.
func (vm *VM) exec(e *Env, r1, r2 uint64) (uint64, error) {
	return e.exec(vm.prog, r1, r2)
}

// runMemory is one raw-memory run in e, which stays with the caller:
// StartEnv, BindMemory, the program, EndEnv.
func (vm *VM) runMemory(e *Env, mem []byte) (uint64, error) {
	vm.StartEnv(e)
	r1, r2 := e.bindMemory(mem)
	ret, err := vm.exec(e, r1, r2)
	vm.EndEnv(e)
	return ret, err
}

// RunMemory runs a raw-memory program with r1 = the address of mem and
// r2 = len(mem). The program may read and write mem.
func (vm *VM) RunMemory(mem []byte) (uint64, error) {
	if err := vm.wantCtx(ctxMemory); err != nil {
		return 0, err
	}
	e := vm.take()
	ret, err := vm.runMemory(e, mem)
	vm.put(e)
	return ret, err
}

// RunSocketFilter runs a socket filter on pkt: r1 points at an
// __sk_buff-compatible context filled from meta (nil means zero metadata;
// len is len(pkt) unless meta.Len says otherwise). The program returns
// how many bytes of the packet to keep: a u32, as the kernel's
// bpf_prog_run returns it to sk_filter (the upper half of r0 is dropped).
func (vm *VM) RunSocketFilter(pkt []byte, meta *SKBMeta) (uint32, error) {
	if err := vm.wantCtx(ctxSocketFilter); err != nil {
		return 0, err
	}
	e := vm.AcquireEnv()
	r1 := e.bindSocketFilter(pkt, meta)
	ret, err := vm.run(e, r1, 0)
	return uint32(ret), err
}

// RunKprobe runs a kprobe program: r1 points at a read-only copy of regs
// laid out as x86-64 struct pt_regs.
func (vm *VM) RunKprobe(regs *PtRegs) (uint64, error) {
	if err := vm.wantCtx(ctxKprobe); err != nil {
		return 0, err
	}
	e := vm.AcquireEnv()
	r1 := e.bindKprobe(regs)
	return vm.run(e, r1, 0)
}

// RunXDP runs an XDP program on frame, as BPF_PROG_TEST_RUN does: r1
// points at an xdp_md context whose data and data_end hold 32-bit
// pointers to a copy of frame with XDPHeadroom bytes of headroom (and
// meta.Meta in front of it), in one page as the kernel's test run lays it
// out. Every access through those pointers is checked against the
// packet [data_meta, data_end). It returns the action (the u32 of r0)
// and the output as BPF_PROG_TEST_RUN gives it: data_meta to data_end,
// the metadata (none unless meta or bpf_xdp_adjust_meta made some) and
// the packet as the program left it, then the fragments of a
// multi-buffer frame (xdpfrags.go: frames longer than XDPMaxFrame, or
// meta.Frags). frame must hold at least an Ethernet header and at most
// XDPMaxFragsFrame bytes; meta may be nil. A run that fails has no
// output (nil).
func (vm *VM) RunXDP(frame []byte, meta *XDPMeta) (uint32, []byte, error) {
	if err := vm.wantCtx(ctxXDP); err != nil {
		return 0, nil, err
	}
	e := vm.AcquireEnv()
	var out []byte
	r1, err := e.bindXDP(frame, meta, &out)
	if err != nil {
		vm.ReleaseEnv(e)
		return 0, nil, err
	}
	ret, err := vm.run(e, r1, 0)
	if err != nil {
		return uint32(ret), nil, err // a failed run has no output
	}
	return uint32(ret), out, nil
}

// Stats counts the instructions of one run.
type Stats struct {
	// Instructions is the number of instructions executed, across calls
	// and tail calls.
	Instructions uint64
}

// RunMemoryStats is RunMemory that also reports how many instructions the
// run executed (for benchmarks and tools).
func (vm *VM) RunMemoryStats(mem []byte) (uint64, Stats, error) {
	if err := vm.wantCtx(ctxMemory); err != nil {
		return 0, Stats{}, err
	}
	e := vm.AcquireEnv()
	r1, r2 := e.bindMemory(mem)
	ret, err := e.exec(vm.prog, r1, r2)
	st := Stats{Instructions: e.executed}
	vm.ReleaseEnv(e)
	return ret, st, err
}

var vmIDs atomic.Uint32

// ID returns a number unique to the VM in this process. Program arrays
// report it as the program's ID (maps.ProgArray.Lookup).
func (vm *VM) ID() uint32 { return vm.id }
