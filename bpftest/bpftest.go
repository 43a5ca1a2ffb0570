package bpftest

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// Engine is one of the places a program runs.
type Engine int

// The engines, in the order Run runs them. The first that runs is the
// reference the others are compared with: the kernel when it runs, else
// interp.
const (
	Kernel Engine = iota // BPF_PROG_TEST_RUN
	Interp               // package interp
	JIT                  // package jit
)

var engineNames = [...]string{Kernel: "kernel", Interp: "interp", JIT: "jit"}

func (e Engine) String() string {
	if int(e) < len(engineNames) {
		return engineNames[e]
	}
	return fmt.Sprintf("Engine(%d)", int(e))
}

// KernelMode says whether a Harness runs programs in the kernel.
type KernelMode int

const (
	// KernelIfAvailable runs the kernel when KernelAvailable says the
	// process may; otherwise Result.Skipped says why it did not.
	KernelIfAvailable KernelMode = iota
	// KernelRequired makes New fail (with an error wrapping
	// ErrKernelUnavailable) when the kernel cannot run the program.
	KernelRequired
	// KernelNever compares interp and jit only.
	KernelNever
)

// ErrKernelUnavailable is wrapped by New's error when Options.Kernel is
// KernelRequired and this process may not load or test-run programs.
var ErrKernelUnavailable = errors.New("the kernel cannot run BPF programs for this process")

// Kind is the kind of an Input: which context the program gets.
type Kind int

const (
	// FromProgramType (zero) picks the kind from the program's type:
	// XDP for prog.XDP, SocketFilter for prog.SocketFilter, Memory for
	// prog.UnspecifiedProgram, Kprobe for prog.Kprobe and TC for
	// prog.SchedCLS and prog.SchedACT.
	FromProgramType Kind = iota
	// XDP runs Input.Packet as an XDP frame with Input.XDP's xdp_md
	// fields (through a Runner of each userspace engine, kept from input
	// to input; BPF_PROG_TEST_RUN with the frame as data).
	// The outcome's packet is the bytes from data_meta to data_end after
	// the run.
	XDP
	// SocketFilter runs Input.Packet as a frame on a socket
	// (interp.VM.RunSocketFilter; in the kernel as the package doc
	// describes).
	SocketFilter
	// Memory runs a raw-memory program on Input.Memory (r1, r2 = its
	// address and length). The kernel has no test run for it.
	Memory
	// Kprobe runs a kprobe program on Input.Regs. The kernel has no test
	// run for kprobes.
	Kprobe
	// TC runs Input.Packet as a frame a sched_cls or sched_act program
	// sees on a tc hook, from its Ethernet header on, with Input.TC's
	// __sk_buff fields (through each userspace engine's kept Runner, as for
	// XDP; BPF_PROG_TEST_RUN with the frame
	// as data and the fields as ctx_in). The outcome's packet is the
	// packet as the program left it and its TC the context fields after
	// the run (see the package doc for what the kernel gives back).
	TC
	numKinds
)

var kindNames = [...]string{FromProgramType: "from program type", XDP: "xdp", SocketFilter: "socket filter", Memory: "memory", Kprobe: "kprobe", TC: "tc"}

func (k Kind) String() string {
	if k >= 0 && k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// kindOf is the input kind programs of type t take.
func kindOf(t prog.Type) (Kind, error) {
	switch t {
	case prog.XDP:
		return XDP, nil
	case prog.SocketFilter:
		return SocketFilter, nil
	case prog.UnspecifiedProgram:
		return Memory, nil
	case prog.Kprobe:
		return Kprobe, nil
	case prog.SchedCLS, prog.SchedACT:
		return TC, nil
	}
	return 0, fmt.Errorf("bpftest: %s programs have no input kind yet: %w", t, prog.ErrNotSupported)
}

// Input is one run's input. Kind selects the fields that matter.
type Input struct {
	Kind Kind
	// Packet is the frame of an XDP, socket-filter or tc run, from its
	// Ethernet header on. Engines run copies; Packet is not changed.
	Packet []byte
	// XDP is the xdp_md context besides the packet (nil: none). In the
	// kernel, IngressIfindex must name a device (0 or 1 is the loopback
	// device) and RxQueueIndex one of its queues.
	XDP *interp.XDPMeta
	// Memory is a raw-memory program's buffer. Engines run copies; the
	// outcome's Memory is the buffer after the run.
	Memory []byte
	// Regs is a kprobe program's registers.
	Regs *interp.PtRegs
	// TC is a tc run's __sk_buff fields besides the packet (nil: all
	// zero). Engines run copies; the outcome's TC is the fields after the
	// run. In the kernel, Ifindex must be 0 or 1 (the loopback device)
	// and TCIndex, TCClassid, QueueMapping and Hash 0, as ctx_in takes
	// them; an input with others runs in interp and jit only
	// (Outcome.KernelSkipped). Protocol, PktType and the VLAN fields are
	// outputs only.
	TC *interp.TCMeta
}

// PacketInput is the input of an XDP, socket-filter or tc run on frame;
// the program's type says which.
func PacketInput(frame []byte) Input { return Input{Packet: frame} }

// Options configures a Harness. A nil *Options means the defaults.
type Options struct {
	// Kernel says whether the kernel runs the program too.
	Kernel KernelMode
	// Program is the interp Options interp and jit load the program
	// with (budget, helpers, clocks, task identity). The harness sets
	// its CPU (to the CPU the kernel runs are pinned to), its maps and
	// its map options' CPUs, and, when the kernel runs, XDPMaxMetadata
	// and (for tc programs, unless set) KernelVersion.
	Program *interp.Options
	// IgnoreMaps names maps left out of the comparison: those the
	// program fills with values only one engine can know (times, random
	// numbers, addresses).
	IgnoreMaps []string
	// MaxDiffs caps the differences a Result keeps per map and per Run
	// (0 means 20); Result.Dropped counts the rest.
	MaxDiffs int
}

// Harness runs one program in every engine it can, each engine with a
// set of maps made from the same spec. It is not safe for concurrent use.
// Close it to free the kernel objects and the JIT's machine code.
type Harness struct {
	name     string
	kind     Kind // the program type's input kind
	typ      prog.Type
	spec     *prog.CollectionSpec
	opts     Options
	cpu      int
	engines  []engineRunner
	skipped  map[Engine]string
	ignore   map[string]bool
	maxDiffs int
	runs     int
	// diverged says since when the kernel's maps are not compared: an
	// input only interp and jit ran may have changed theirs.
	diverged string
}

// engineRunner is one engine's loaded program and maps.
type engineRunner interface {
	engine() Engine
	// run runs one input. A Go error is a failure of the harness, not
	// of the program: the program's error is in the Outcome.
	run(in Input, kind Kind) (Outcome, error)
	// dump returns the contents of the map called name.
	dump(name string) (mapDump, error)
	// mapper returns the map called name, or nil.
	mapper(name string) prog.Mapper
	close() error
}

// New loads program name of spec into every engine that can run it,
// each with its own maps created from spec. spec is not modified. When
// the kernel runs, a program its verifier refuses is an error wrapping
// the *prog.VerifierError; a program interp or jit cannot load is an
// error naming the cause (a helper userspace lacks, a kfunc, a map type).
func New(spec *prog.CollectionSpec, name string, opts *Options) (*Harness, error) {
	if spec == nil {
		return nil, fmt.Errorf("bpftest: nil collection spec")
	}
	ps := spec.Programs[name]
	if ps == nil {
		return nil, fmt.Errorf("bpftest: the collection has no program %q (it has %v)", name, spec.ProgramNames())
	}
	kind, err := kindOf(ps.Type)
	if err != nil {
		return nil, fmt.Errorf("bpftest: program %q: %w", name, err)
	}
	h := &Harness{name: name, kind: kind, typ: ps.Type, spec: spec, skipped: map[Engine]string{}, ignore: map[string]bool{}, maxDiffs: 20}
	if opts != nil {
		h.opts = *opts
	}
	if h.opts.MaxDiffs > 0 {
		h.maxDiffs = h.opts.MaxDiffs
	}
	for _, m := range h.opts.IgnoreMaps {
		h.ignore[m] = true
	}
	// Only the program under test (and the programs its tail calls
	// reach through program arrays) is loaded: another program of the
	// object may be of a type an engine cannot run.
	spec = loadOnly(spec, name)
	h.spec = spec

	cpus, err := possibleCPUs()
	if err != nil {
		return nil, err
	}
	iopts := interp.Options{}
	if h.opts.Program != nil {
		iopts = *h.opts.Program
	}
	mopts := maps.Options{CPUs: cpus}
	if iopts.MapOptions != nil {
		mopts = *iopts.MapOptions
		mopts.CPUs = cpus
	}
	if mopts.PerfBufferBytes == 0 {
		mopts.PerfBufferBytes = perfPages * 4096
	}
	iopts.MapOptions = &mopts

	ok := false
	defer func() {
		if !ok {
			h.Close()
		}
	}()
	h.cpu = iopts.CPU
	if h.opts.Kernel != KernelNever {
		if why := kernelUnusable(kind); why != "" {
			if h.opts.Kernel == KernelRequired {
				return nil, fmt.Errorf("bpftest: program %q: %s: %w", name, why, ErrKernelUnavailable)
			}
			h.skipped[Kernel] = why
		} else {
			k, cpu, err := newKernel(spec, name, h)
			if err != nil {
				return nil, err
			}
			h.engines = append(h.engines, k)
			h.cpu = cpu
			iopts.CPU = cpu
			switch {
			case kind == XDP:
				iopts.XDPMaxMetadata = kernelXDPMaxMetadata()
			case kind == TC && iopts.KernelVersion == 0:
				iopts.KernelVersion = kernelTCVersion()
			}
		}
	} else {
		h.skipped[Kernel] = "Options.Kernel is KernelNever"
	}
	iopts.CPU = h.cpu
	copts := &interp.CollectionOptions{Program: &iopts}
	ic, err := interp.NewCollection(spec, copts)
	if err != nil {
		return nil, fmt.Errorf("bpftest: interp cannot run program %q: %w", name, err)
	}
	ivm := ic.Programs[name]
	h.engines = append(h.engines, &userEngine{e: Interp, prog: ivm, maps: ic.Maps,
		newRunner: func() (packetRunner, error) { return ivm.NewRunner() }})
	jc, err := jit.NewCollection(spec, copts, nil)
	if haveJIT && errors.Is(err, jit.ErrCallbacks) {
		jc, err = jitWithoutCallbacks(h, spec, copts, name, err)
	}
	switch {
	case !haveJIT && errors.Is(err, jit.ErrNotSupported):
		h.skipped[JIT] = fmt.Sprintf("no JIT on %s/%s", runtime.GOOS, runtime.GOARCH)
	case err != nil:
		return nil, fmt.Errorf("bpftest: the JIT cannot run program %q: %w", name, err)
	case jc == nil: // skipped
	default:
		jvm := jc.Programs[name]
		h.engines = append(h.engines, &userEngine{e: JIT, prog: jvm, maps: jc.Maps, closer: jc.Close,
			newRunner: func() (packetRunner, error) { return jvm.NewRunner() }})
	}
	ok = true
	return h, nil
}

// jitWithoutCallbacks is the JIT's collection when a program of it uses
// callbacks, which the JIT does not compile (jit.ErrCallbacks, cerr): with
// Fallback for the others, and nil with the JIT skipped when the program
// under test is the one.
func jitWithoutCallbacks(h *Harness, spec *prog.CollectionSpec, copts *interp.CollectionOptions, name string, cerr error) (*jit.Collection, error) {
	jc, err := jit.NewCollection(spec, copts, &jit.Options{Fallback: true})
	if err != nil {
		return nil, err
	}
	if jc.Programs[name].Compiled() {
		return jc, nil
	}
	jc.Close()
	if !strings.Contains(cerr.Error(), fmt.Sprintf("program %q ", name)) {
		return nil, fmt.Errorf("program %q does not compile (and %w)", name, cerr)
	}
	h.skipped[JIT] = fmt.Sprintf("program %q: %v", name, jit.ErrCallbacks)
	return nil, nil
}

// NewProgram is New for a single program: spec and the maps it names
// (spec.Maps) become a collection of one program.
func NewProgram(spec *prog.Spec, opts *Options) (*Harness, error) {
	if spec == nil {
		return nil, fmt.Errorf("bpftest: nil program spec")
	}
	name := spec.Name
	if name == "" {
		name = "prog"
	}
	cs := &prog.CollectionSpec{
		Programs: map[string]*prog.ProgramSpec{name: {Spec: *spec, SectionName: spec.Type.String(), Autoload: true}},
		Maps:     map[string]*prog.ObjectMapSpec{},
		License:  spec.License,
	}
	for _, m := range spec.Maps {
		if m == nil {
			return nil, fmt.Errorf("bpftest: program %q: nil map spec", name)
		}
		cs.Maps[m.Name] = &prog.ObjectMapSpec{MapSpec: *m}
	}
	return New(cs, name, opts)
}

// loadOnly returns a copy of spec in which only program name and the
// programs program arrays name are loaded (Autoload), and no map is
// pinned: every engine starts from fresh maps, never from a map an
// earlier process pinned by name.
func loadOnly(spec *prog.CollectionSpec, name string) *prog.CollectionSpec {
	cs := *spec
	cs.Maps = map[string]*prog.ObjectMapSpec{}
	for n, m := range spec.Maps {
		c := *m
		c.Pinning = prog.PinNone
		cs.Maps[n] = &c
	}
	cs.Programs = map[string]*prog.ProgramSpec{}
	keep := map[string]bool{name: true}
	for _, m := range cs.Maps {
		for _, e := range m.Contents {
			if s, ok := e.Value.(string); ok && m.Type == prog.ProgArray {
				keep[s] = true
			}
		}
	}
	for n, ps := range spec.Programs {
		c := *ps
		c.Autoload = keep[n] && (ps.Autoload || n == name)
		cs.Programs[n] = &c
	}
	return &cs
}

// Engines returns the engines the harness runs, the reference first.
func (h *Harness) Engines() []Engine {
	var es []Engine
	for _, e := range h.engines {
		es = append(es, e.engine())
	}
	return es
}

// Skipped returns why engines do not run, by engine.
func (h *Harness) Skipped() map[Engine]string {
	out := map[Engine]string{}
	for e, why := range h.skipped {
		out[e] = why
	}
	return out
}

// Map returns engine e's map called name: a *prog.Map for the kernel, a
// maps.Map for interp and jit; nil when e does not run or has no such
// map. A test may read it to assert on results, or write it (in every
// engine alike, see Maps) to set up state before a Run. Records read from
// a ring buffer or perf event array this way are not seen by Run.
func (h *Harness) Map(e Engine, name string) prog.Mapper {
	for _, r := range h.engines {
		if r.engine() == e {
			return r.mapper(name)
		}
	}
	return nil
}

// Maps returns every running engine's map called name, in the order of
// Engines, so that a test can give them the same contents.
func (h *Harness) Maps(name string) []prog.Mapper {
	var ms []prog.Mapper
	for _, r := range h.engines {
		if m := r.mapper(name); m != nil {
			ms = append(ms, m)
		}
	}
	return ms
}

// CPU returns the CPU the kernel runs are pinned to, which interp and jit
// simulate.
func (h *Harness) CPU() int { return h.cpu }

// Close frees the engines' programs and maps. Closing twice, or a nil
// Harness, is a no-op.
func (h *Harness) Close() error {
	if h == nil {
		return nil
	}
	var errs []error
	for _, e := range h.engines {
		errs = append(errs, e.close())
	}
	h.engines = nil
	return errors.Join(errs...)
}

// Run runs the inputs, in order, in every engine, and then compares the
// maps. A Go error means the harness could not run (a closed Harness, an
// input of the wrong kind, a kernel map it could not read); differences
// between engines are in the Result.
func (h *Harness) Run(inputs ...Input) (*Result, error) {
	if h == nil || len(h.engines) == 0 {
		return nil, fmt.Errorf("bpftest: Run on a closed Harness")
	}
	res := &Result{Engines: h.Engines(), Skipped: h.Skipped(), max: h.maxDiffs}
	for i, in := range inputs {
		kind := in.Kind
		if kind == FromProgramType {
			kind = h.kind
		}
		if kind != h.kind {
			return nil, fmt.Errorf("bpftest: input %d is a %s input, but program %q (%s) takes %s inputs", i, kind, h.name, h.typ, h.kind)
		}
		runs := make([]Outcome, len(h.engines))
		for k, e := range h.engines {
			o, err := e.run(in, kind)
			if err != nil {
				return nil, fmt.Errorf("bpftest: input %d: %s: %w", i, e.engine(), err)
			}
			o.Engine = e.engine()
			runs[k] = o
		}
		res.Outcomes = append(res.Outcomes, runs)
		res.compareOutcomes(i, runs)
		if runs[0].KernelSkipped != "" && h.diverged == "" {
			h.diverged = fmt.Sprintf("input %d of Run call %d ran in interp and jit only (%s), so the kernel's maps are compared no more", i, h.runs, runs[0].KernelSkipped)
		}
	}
	h.runs++
	engines := h.engines
	if h.diverged != "" && engines[0].engine() == Kernel {
		engines = engines[1:]
		res.Notes = append(res.Notes, h.diverged)
	}
	for _, name := range h.spec.MapNames() {
		if h.ignore[name] {
			continue
		}
		dumps := make([]mapDump, len(engines))
		for k, e := range engines {
			d, err := e.dump(name)
			if err != nil {
				return nil, fmt.Errorf("bpftest: map %q: %s: %w", name, e.engine(), err)
			}
			dumps[k] = d
		}
		res.compareMaps(name, engines, dumps)
	}
	return res, nil
}

// Outcome is what one engine gave for one input.
type Outcome struct {
	Engine Engine
	// Ret is the program's return value: r0, or the 32 bits the kernel
	// reports and XDP and socket filters return.
	Ret uint64
	// Packet is the XDP packet after the run, from data_meta to
	// data_end, or the tc packet after the run; Memory a raw-memory
	// program's buffer after the run.
	Packet, Memory []byte
	// TC is a tc run's context fields after the run: in interp and jit
	// every field RunTC gives back, in the kernel those its ctx_out
	// carries (CtxOut).
	TC *interp.TCMeta
	// Err is the error that ended the run, if any.
	Err error
	// KernelSkipped, for the kernel, says why it did not run this input
	// (a frame its test run refuses, an input kind it cannot test-run).
	// Such an outcome is not compared.
	KernelSkipped string
}

func (o Outcome) String() string {
	if o.KernelSkipped != "" {
		return "not run: " + o.KernelSkipped
	}
	if o.Err != nil {
		return "error: " + o.Err.Error()
	}
	s := fmt.Sprintf("ret %d (%#x)", o.Ret, o.Ret)
	if o.Packet != nil {
		s += fmt.Sprintf(", packet %d bytes", len(o.Packet))
	}
	return s
}

// perfPages is the size in pages of each CPU's ring of a kernel perf
// event array and of userspace perf buffers
// (maps.Options.PerfBufferBytes), so that both lose samples alike.
const perfPages = 64

// possibleCPUs is the kernel's number of possible CPUs, the per-CPU
// value count of its maps; runtime.NumCPU where it cannot be read.
func possibleCPUs() (int, error) {
	n, err := prog.PossibleCPUs()
	if err != nil || n <= 0 {
		return runtime.NumCPU(), nil
	}
	return n, nil
}

// userEngine is interp or jit: a loaded program and its maps.
type userEngine struct {
	e      Engine
	prog   interp.Program
	maps   map[string]maps.Map
	closer func() error
	// XDP and tc inputs run through a Runner of prog, made on first use
	// and kept for every later input, as a user's loop would run them:
	// its runs keep their binding and packet buffer from one input to
	// the next (the engines' fastest paths), and must give exactly what
	// the VM's runs give.
	newRunner func() (packetRunner, error)
	runner    packetRunner
}

// packetRunner is the part of interp.Runner and jit.Runner the harness
// runs packets through.
type packetRunner interface {
	RunXDP(frame []byte, meta *interp.XDPMeta) (uint32, []byte, error)
	RunTC(frame []byte, meta *interp.TCMeta) (uint32, []byte, error)
	Close() error
}

// packets returns u's Runner, made on first use (nil when u has none).
func (u *userEngine) packets() (packetRunner, error) {
	if u.runner == nil && u.newRunner != nil {
		r, err := u.newRunner()
		if err != nil {
			return nil, err
		}
		u.runner = r
	}
	return u.runner, nil
}

func (u *userEngine) engine() Engine { return u.e }

func (u *userEngine) run(in Input, kind Kind) (Outcome, error) {
	var o Outcome
	var pr packetRunner
	if kind == XDP || kind == TC {
		var err error
		if pr, err = u.packets(); err != nil {
			return o, err
		}
	}
	switch kind {
	case XDP:
		var a uint32
		if pr != nil {
			a, o.Packet, o.Err = pr.RunXDP(in.Packet, in.XDP)
			o.Packet = slices.Clone(o.Packet) // a view until the Runner's next run
		} else {
			a, o.Packet, o.Err = u.prog.RunXDP(in.Packet, in.XDP)
		}
		o.Ret = uint64(a)
	case SocketFilter:
		meta := skbMeta(in.Packet)
		var v uint32
		v, o.Err = u.prog.RunSocketFilter(slices.Clone(in.Packet), &meta)
		o.Ret = uint64(v)
	case Memory:
		o.Memory = slices.Clone(in.Memory)
		o.Ret, o.Err = u.prog.RunMemory(o.Memory)
	case Kprobe:
		regs := in.Regs
		if regs == nil {
			regs = &interp.PtRegs{}
		}
		o.Ret, o.Err = u.prog.RunKprobe(regs)
	case TC:
		var m interp.TCMeta
		if in.TC != nil {
			m = *in.TC
		}
		var v uint32
		if pr != nil {
			v, o.Packet, o.Err = pr.RunTC(in.Packet, &m)
			o.Packet = slices.Clone(o.Packet)
		} else {
			v, o.Packet, o.Err = u.prog.RunTC(in.Packet, &m)
		}
		o.Ret, o.TC = uint64(v), &m
	default:
		return o, fmt.Errorf("input kind %s not supported", kind)
	}
	if o.Err != nil {
		o.Ret, o.Packet, o.TC = 0, nil, nil
	}
	return o, nil
}

func (u *userEngine) mapper(name string) prog.Mapper {
	if m := u.maps[name]; m != nil {
		return m
	}
	return nil
}

func (u *userEngine) dump(name string) (mapDump, error) {
	m := u.maps[name]
	if m == nil {
		return mapDump{}, fmt.Errorf("no such map")
	}
	d, err := dumpMapper(m)
	if err != nil {
		return d, err
	}
	switch mm := m.(type) {
	case *maps.PerfEventArray:
		for _, r := range mm.Records() {
			if r.Lost != 0 {
				d.records = append(d.records, fmt.Sprintf("lost %d", r.Lost))
				continue
			}
			d.records = append(d.records, string(r.Sample))
		}
	case *maps.RingBuf:
		for {
			b, err := mm.Read()
			if err != nil {
				break
			}
			d.records = append(d.records, string(b))
		}
	}
	return d, nil
}

func (u *userEngine) close() error {
	if u.runner != nil {
		u.runner.Close()
		u.runner = nil
	}
	if u.closer != nil {
		return u.closer()
	}
	return nil
}

// skbMeta is the __sk_buff metadata the kernel's socket-filter test run
// gives frame (see the package doc), as Linux 6.1-6.18 compute it:
// eth_type_trans (net/ethernet/eth.c) against the loopback device, whose
// address and broadcast address are all zeros, and ifindex 1. So every
// group address, ff:ff:ff:ff:ff:ff too, is PACKET_MULTICAST. For a length
// field (below 0x600) instead of an ethertype, eth_type_trans looks at
// the two bytes after the header it consumed, which in the harness's
// layout are the frame's own first two bytes: 0xffff gives ETH_P_802_3,
// anything else ETH_P_802_2.
func skbMeta(frame []byte) interp.SKBMeta {
	m := interp.SKBMeta{Ifindex: 1}
	if len(frame) < 14 {
		return m
	}
	switch dst := frame[:6]; {
	case dst[0]&1 != 0:
		m.PktType = 2 // PACKET_MULTICAST
	case string(dst) != "\x00\x00\x00\x00\x00\x00":
		m.PktType = 3 // PACKET_OTHERHOST
	}
	proto := uint16(frame[12])<<8 | uint16(frame[13])
	switch {
	case proto >= 0x600:
		m.Protocol = proto
	case frame[0] == 0xff && frame[1] == 0xff:
		m.Protocol = 0x0001 // ETH_P_802_3: raw 802.3 (Novell)
	default:
		m.Protocol = 0x0004 // ETH_P_802_2
	}
	return m
}

// SocketFilterRefused says why the kernel's socket-filter test run
// (bpf_prog_test_run_skb) refuses frame with EINVAL, or "" when it takes
// it. A Harness runs refused frames in interp and jit only, and stops
// comparing the kernel's maps from then on (Result.Notes); a test that
// wants both kinds of frame compared fully runs the refused ones through
// a second Harness with KernelNever.
func SocketFilterRefused(frame []byte) string {
	if len(frame) < 14 {
		return fmt.Sprintf("a %d-byte frame has no Ethernet header, which the kernel's test run needs", len(frame))
	}
	switch proto := uint16(frame[12])<<8 | uint16(frame[13]); {
	case proto == 0x0800 && len(frame) < 20:
		return fmt.Sprintf("the kernel's test run needs an IPv4 header's 20 bytes behind an IPv4 ethertype; the frame has %d bytes", len(frame))
	case proto == 0x86dd && len(frame) < 40:
		return fmt.Sprintf("the kernel's test run needs an IPv6 header's 40 bytes behind an IPv6 ethertype; the frame has %d bytes", len(frame))
	}
	return ""
}
