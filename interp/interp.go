package interp

import (
	"syscall"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// The types of the run environment are the engine core's, which package
// jit shares: the same options, helpers, contexts and errors in both.
type (
	// Options configures a VM. A nil *Options means the defaults. See
	// the fields for what each sets: the budget (MaxInstructions), the
	// helper registry, the maps, the CPU, clocks, task identity, trace
	// output, the memory probe_read reads and a tracer.
	Options = engine.Options
	// MemoryRegion is a range of simulated kernel or user memory that
	// the probe_read helpers can read (Options.KernelMemory and
	// UserMemory).
	MemoryRegion = engine.MemoryRegion
	// Helper is a helper function as the program calls it: r1..r5 are
	// its arguments, the result goes to r0. Errors the kernel reports to
	// the program are negative errnos in the result (see Errno), not Go
	// errors. A Go error aborts the run (wrap ErrMemoryAccess for a bad
	// pointer argument), except ErrHalt, which ends it with r0 = the
	// result. env gives checked access to program memory and to the
	// run's context, maps and options.
	Helper = engine.Helper
	// Registry maps helper numbers to helpers. Register helpers before
	// the VMs that use it run; a Registry is not safe for concurrent
	// Register and runs.
	Registry = engine.Registry
	// Env is the state of one run, as helpers see it: Bytes checks a
	// pointer argument against the regions the program may access,
	// AddRegion grants it more (a map value a helper returns), Map
	// resolves a map handle, and Options, Context and Packet describe the
	// run.
	Env = engine.Env
	// Perm is the access a region grants (Env.AddRegion).
	Perm = engine.Perm
	// SKBMeta is the socket buffer metadata a socket filter's __sk_buff
	// shows (RunSocketFilter).
	SKBMeta = engine.SKBMeta
	// PtRegs is the x86-64 struct pt_regs a kprobe program gets
	// (RunKprobe).
	PtRegs = engine.PtRegs
	// XDPMeta is the part of an XDP program's xdp_md context besides
	// the packet: interfaces, receive queue and metadata bytes (RunXDP),
	// and where to report the redirect target (Redirect).
	XDPMeta = engine.XDPMeta
	// XDPTarget is where an XDP program redirected its frame with
	// bpf_redirect or bpf_redirect_map (XDPMeta.Redirect): an interface,
	// or a map and key (a device map entry's interface).
	XDPTarget = engine.XDPTarget
	// Tracer, set in Options.Trace, is called before every executed
	// instruction with its slot, the instruction and the registers, and
	// once more with pc -1 and a zero instruction when the program exits
	// normally. It may read the registers but must not keep the pointer.
	Tracer = engine.Tracer
	// Stats counts the instructions of one run (RunMemoryStats).
	Stats = engine.Stats
	// RunError is an error that stopped a run, at a program counter
	// (PC, the 8-byte slot). Err wraps one of the sentinel errors.
	RunError = engine.RunError
	// LoadError is an error New or Load found in a program before any
	// run, at Slot (-1 for the whole program). It wraps ErrLoad.
	LoadError = engine.LoadError
)

// Region permissions for Env.AddRegion.
const (
	PermRead  = engine.PermRead
	PermWrite = engine.PermWrite
)

// Limits, as the kernel sets them.
const (
	// DefaultMaxInstructions is the instruction budget of a run when
	// Options.MaxInstructions is 0.
	DefaultMaxInstructions = engine.DefaultMaxInstructions
	// StackSize is the size of one stack frame, MAX_BPF_STACK.
	StackSize = engine.StackSize
	// MaxCallFrames is the deepest bpf-to-bpf call nesting, counting the
	// main program's frame: MAX_CALL_FRAMES (8 since Linux 4.16).
	MaxCallFrames = engine.MaxCallFrames
	// MaxTailCalls is how many tail calls one run may make:
	// MAX_TAIL_CALL_CNT (33 since Linux 5.12).
	MaxTailCalls = engine.MaxTailCalls
	// MaxLoops is the number of times a may_goto falls through in one
	// frame before it jumps: BPF_MAX_LOOPS (Linux 6.9+).
	MaxLoops = engine.MaxLoops
	// MaxDynamicRegions bounds the regions helpers may add in one run
	// (map values, ring buffer reservations); a helper that would exceed
	// it aborts the run with an error wrapping ErrHelper.
	MaxDynamicRegions = engine.MaxDynamicRegions
)

// Sentinel errors. Errors returned by New, Load and the Run methods wrap
// one of them, so errors.Is tells the cause; package jit returns the same.
var (
	// ErrLoad is wrapped by every error New and Load report about a
	// program that cannot run: bad encodings, jumps out of range, missing
	// exit, unknown helpers, kfunc calls, unsupported LD_IMM64 sources.
	ErrLoad = engine.ErrLoad
	// ErrMemoryAccess is wrapped by a load, store, atomic or helper
	// argument outside the regions the program owns or against their
	// permissions.
	ErrMemoryAccess = engine.ErrMemoryAccess
	// ErrBudgetExhausted is wrapped when a run executes more than
	// Options.MaxInstructions instructions.
	ErrBudgetExhausted = engine.ErrBudgetExhausted
	// ErrCallDepth is wrapped when bpf-to-bpf calls nest deeper than
	// MaxCallFrames frames.
	ErrCallDepth = engine.ErrCallDepth
	// ErrUnknownHelper is wrapped when a program calls a helper number
	// that is not in the VM's registry (at load time for call, at run
	// time for callx).
	ErrUnknownHelper = engine.ErrUnknownHelper
	// ErrContext is wrapped when a program is run with a context its
	// program type does not take, or reads a context field the kernel's
	// verifier would reject for that program type.
	ErrContext = engine.ErrContext
	// ErrHelper is wrapped when a helper aborts a run with a Go error that
	// is not a memory access violation or a context error.
	ErrHelper = engine.ErrHelper
	// ErrHalt, returned (possibly wrapped) by a Helper, ends the run at
	// once without error; r0 becomes the helper's return value.
	ErrHalt = engine.ErrHalt
	// ErrClosed is wrapped when a Runner (or, in package jit, a VM or
	// Runner) is used after Close. It is os.ErrClosed.
	ErrClosed = engine.ErrClosed
)

// NewRegistry returns an empty helper registry.
func NewRegistry() *Registry { return engine.NewRegistry() }

// DefaultHelpers returns a new registry with the kernel-compatible helper
// set: map_lookup_elem, map_update_elem, map_delete_elem, map_push_elem,
// map_pop_elem, map_peek_elem, probe_read, probe_read_kernel,
// probe_read_user and their _str forms, ktime_get_ns, trace_printk,
// get_prandom_u32, get_smp_processor_id, get_current_pid_tgid,
// get_current_uid_gid, get_current_comm, perf_event_output,
// skb_load_bytes, ringbuf_output, ringbuf_reserve, ringbuf_submit,
// ringbuf_discard and ringbuf_query, the XDP and tc helpers, and loop
// and for_each_map_elem, which call the program's callbacks (LD_IMM64
// BPF_PSEUDO_FUNC) as bpf-to-bpf calls charged to the run's budget.
// tail_call (12) is built into the VM and cannot be replaced.
func DefaultHelpers() *Registry { return engine.DefaultHelpers() }

// Errno returns the helper result for errno: its negative value as the
// program sees it in r0.
func Errno(errno syscall.Errno) uint64 { return engine.Errno(errno) }

// Program is what both engines' loaded programs offer: *VM here and
// *jit.VM in package jit, so that a test can run the same checks in
// either.
type Program interface {
	// RunMemory runs a raw-memory program on mem.
	RunMemory(mem []byte) (uint64, error)
	// RunSocketFilter runs a socket filter on a packet; the verdict is
	// a u32, as in the kernel.
	RunSocketFilter(pkt []byte, meta *SKBMeta) (uint32, error)
	// RunKprobe runs a kprobe program on registers.
	RunKprobe(regs *PtRegs) (uint64, error)
	// RunXDP runs an XDP program on a frame; it returns the action and
	// the packet as the program left it.
	RunXDP(frame []byte, meta *XDPMeta) (uint32, []byte, error)
	// RunTC runs a sched_cls or sched_act program on a frame; it returns
	// the verdict and the packet as the program left it, and the
	// context's fields in *meta.
	RunTC(frame []byte, meta *TCMeta) (uint32, []byte, error)
	// Map returns the map called name, or nil.
	Map(name string) maps.Map
}

var _ Program = (*VM)(nil)

// VM is a loaded program ready to run in userspace. A VM is safe for
// concurrent use by several goroutines: each run takes its own machine
// state (stack, registers, region table), the idle one the VM keeps or one
// from a pool. Maps are shared.
type VM struct {
	e *engine.VM
}

func init() {
	// Program arrays hold *VM values; tail calls find their programs.
	engine.RegisterHandle(func(p any) *engine.VM {
		if v, ok := p.(*VM); ok && v != nil {
			return v.e
		}
		return nil
	})
}

func wrap(e *engine.VM, err error) (*VM, error) {
	if err != nil {
		return nil, err
	}
	return &VM{e: e}, nil
}

// New checks and loads spec. It does not verify the program as the
// kernel's verifier does (the kernel is the authority on what may load);
// it checks what the VM needs to run it safely: encodings, jump targets,
// that the program cannot run off its end, that every helper it calls is
// registered, and that its map references resolve. Errors are *LoadError
// values wrapping ErrLoad. The program type selects the context:
// prog.UnspecifiedProgram runs on raw memory (RunMemory),
// prog.SocketFilter on a packet (RunSocketFilter), prog.Kprobe on
// registers (RunKprobe).
func New(spec *prog.Spec, opts *Options) (*VM, error) { return wrap(engine.New(spec, opts)) }

// Load decodes raw little-endian bytecode and loads it as a raw-memory
// program (prog.UnspecifiedProgram) with no maps.
func Load(raw []byte, opts *Options) (*VM, error) { return wrap(engine.Load(raw, opts)) }

// LoadBytes loads raw little-endian bytecode as a raw-memory program with
// the default options: Load(raw, nil).
func LoadBytes(raw []byte) (*VM, error) { return Load(raw, nil) }

// Bytes is LoadBytes.
//
// Deprecated: the name does not say that it loads a VM; use LoadBytes.
func Bytes(raw []byte) (*VM, error) { return LoadBytes(raw) }

// RunMemory runs a raw-memory program with r1 = the address of mem and
// r2 = len(mem). The program may read and write mem.
func (vm *VM) RunMemory(mem []byte) (uint64, error) { return vm.e.RunMemory(mem) }

// RunSocketFilter runs a socket filter on pkt: r1 points at an
// __sk_buff-compatible context filled from meta (nil means zero metadata;
// len is len(pkt) unless meta.Len says otherwise). The program returns
// how many bytes of the packet to keep, a u32 as in the kernel (which
// drops the upper half of r0).
func (vm *VM) RunSocketFilter(pkt []byte, meta *SKBMeta) (uint32, error) {
	return vm.e.RunSocketFilter(pkt, meta)
}

// RunKprobe runs a kprobe program: r1 points at a read-only copy of regs
// laid out as x86-64 struct pt_regs.
func (vm *VM) RunKprobe(regs *PtRegs) (uint64, error) { return vm.e.RunKprobe(regs) }

// The XDP actions a program returns (enum xdp_action).
const (
	XDPAborted  = engine.XDPAborted
	XDPDrop     = engine.XDPDrop
	XDPPass     = engine.XDPPass
	XDPTX       = engine.XDPTX
	XDPRedirect = engine.XDPRedirect
)

// XDPHeadroom is the headroom in front of the frame of an XDP run
// (XDP_PACKET_HEADROOM, as BPF_PROG_TEST_RUN gives it), which
// bpf_xdp_adjust_head and bpf_xdp_adjust_meta take from.
const XDPHeadroom = engine.XDPHeadroom

// XDPMaxFrame is the longest linear part of a frame: RunXDP puts longer
// frames' further bytes into fragments (XDP multi-buffer frames), as the
// kernel's test run does.
const XDPMaxFrame = engine.XDPMaxFrame

// Multi-buffer XDP frames (frags): the size of a fragment's page, the
// most fragments a frame has (MAX_SKB_FRAGS), and the longest frame
// RunXDP takes.
const (
	XDPFragSize      = engine.XDPFragSize
	XDPMaxFrags      = engine.XDPMaxFrags
	XDPMaxFragsFrame = engine.XDPMaxFragsFrame
)

// RunXDP runs an XDP program (prog.XDP) on a copy of frame, laid out as
// BPF_PROG_TEST_RUN lays it out: XDPHeadroom bytes of headroom (with
// meta.Meta at its end), the frame, and the page's tailroom. r1 points at
// a read-only struct xdp_md whose data, data_meta and data_end, read as
// the __u32 fields they are, are pointers to the packet (the frame lives
// below 4 GiB for that; linux/amd64 only); every access through them is
// checked against [data_meta, data_end). The helpers
// bpf_xdp_adjust_head, bpf_xdp_adjust_tail, bpf_xdp_adjust_meta,
// bpf_xdp_get_buff_len, bpf_xdp_load_bytes, bpf_xdp_store_bytes,
// bpf_redirect and bpf_redirect_map behave as the kernel's (6.18), and
// bpf_perf_event_output appends frame bytes when its flags carry a
// length (BPF_F_CTXLEN_MASK). A frame longer than XDPMaxFrame is a
// multi-buffer frame, as the kernel's test run makes it for any XDP
// program: the first XDPMaxFrame bytes are the linear part the program
// reaches directly, the rest fragments of XDPFragSize bytes (at most
// XDPMaxFrags) that the helpers reach; meta.Frags lays out fragments of
// other sizes. It returns the action (r0's low 32 bits) and, as
// BPF_PROG_TEST_RUN does, the bytes from data_meta to data_end: the
// metadata (none unless meta.Meta or bpf_xdp_adjust_meta made some) and
// the packet as the program left it, followed by the fragments' bytes.
// meta may be nil; with meta.Redirect set, it receives the redirect
// target. Frames shorter than an Ethernet header or longer than
// XDPMaxFragsFrame are refused with ErrContext.
func (vm *VM) RunXDP(frame []byte, meta *XDPMeta) (uint32, []byte, error) {
	return vm.e.RunXDP(frame, meta)
}

// RunMemoryStats is RunMemory that also reports how many instructions the
// run executed (for benchmarks and tools).
func (vm *VM) RunMemoryStats(mem []byte) (uint64, Stats, error) { return vm.e.RunMemoryStats(mem) }

// Spec returns the spec the VM was loaded from.
func (vm *VM) Spec() *prog.Spec { return vm.e.Spec() }

// Instructions returns the resolved program (labels turned into offsets).
func (vm *VM) Instructions() insn.Instructions { return vm.e.Instructions() }

// Helpers returns the VM's helper registry.
func (vm *VM) Helpers() *Registry { return vm.e.Helpers() }

// Map returns the map called name, or nil.
func (vm *VM) Map(name string) maps.Map { return vm.e.Map(name) }

// Maps returns the VM's maps in the order of the spec's Maps.
func (vm *VM) Maps() []maps.Map { return vm.e.Maps() }

// ID returns a number unique to the VM in this process. Program arrays
// report it as the program's ID (maps.ProgArray.Lookup).
func (vm *VM) ID() uint32 { return vm.e.ID() }

// Runner runs a VM's program on one goroutine, run after run,
// in a machine state (stack, registers, region table) it owns, so that a
// run skips the atomic operations VM.RunMemory uses to take that state
// from the VM and give it back. Results, errors and memory effects are
// exactly VM.RunMemory's, and each run starts with a zeroed stack as
// every VM run does.
//
// A run that leaves no helper-made regions, ring buffer reservations or
// tail call behind keeps the state bound to its context for the next run,
// which then rebinds only the memory, packet, metadata or registers: that
// is most of the fixed cost of a short run. So until its next run or
// Close, a Runner still refers to the last run's memory, packet, SKBMeta
// or PtRegs (it never reads them outside a run).
//
// An XDP or tc run keeps its packet buffer for the Runner's next run, and
// the output packet RunXDP and RunTC return is a view into it, like
// bufio.Scanner.Bytes: valid until the Runner's next run or Close, which
// may overwrite it; copy it to keep it (VM.RunXDP and VM.RunTC return a
// fresh copy). The next run clears every byte an earlier run can have
// left where the program can reach it, so no run sees another's bytes.
//
// A Runner is NOT safe for concurrent use: make one per goroutine (a VM
// may have any number). Close gives its state back to the VM; after
// Close its methods return an error wrapping ErrClosed.
//
// A Runner has the VM's three Run methods; each takes the programs the
// VM's method of the same name takes and gives the same error for others.
type Runner struct {
	r *engine.Runner
}

// NewRunner returns a Runner for vm with a machine state of its own. The
// error is always nil here; it is there for engines (jit.VM.NewRunner)
// that can fail.
func (vm *VM) NewRunner() (*Runner, error) {
	r, err := vm.e.NewRunner()
	if err != nil {
		return nil, err
	}
	return &Runner{r: r}, nil
}

// RunMemory runs the program with r1 = the address of mem and
// r2 = len(mem), exactly like VM.RunMemory.
func (r *Runner) RunMemory(mem []byte) (uint64, error) { return r.r.RunMemory(mem) }

// RunSocketFilter runs a socket filter on pkt, exactly like
// VM.RunSocketFilter. The __sk_buff context is built only if the program
// reads it.
func (r *Runner) RunSocketFilter(pkt []byte, meta *SKBMeta) (uint32, error) {
	return r.r.RunSocketFilter(pkt, meta)
}

// RunKprobe runs a kprobe program on regs, exactly like VM.RunKprobe.
// The pt_regs context is built only if the program reads it.
func (r *Runner) RunKprobe(regs *PtRegs) (uint64, error) { return r.r.RunKprobe(regs) }

// RunXDP runs an XDP program on frame, exactly like VM.RunXDP, except that
// the output packet is a view into the Runner's frame page (or buffer, for
// a frame with fragments), valid until the Runner's next run or Close
// (see Runner).
func (r *Runner) RunXDP(frame []byte, meta *XDPMeta) (uint32, []byte, error) {
	return r.r.RunXDP(frame, meta)
}

// Close gives the Runner's machine state back to its VM. Closing twice is
// a no-op.
func (r *Runner) Close() error { return r.r.Close() }
