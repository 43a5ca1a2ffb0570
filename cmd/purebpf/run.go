package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

func init() {
	commands["run"] = command{
		usage: "run [--engine interp|jit|kernel] [--jit [--dump]] [--trace] [--cover FILE] [--repeat N] [--mem FILE | --packet FILE | --ctx FILE] [--type T] [--map NAME:TYPE:KEY:VALUE:ENTRIES]... [--dump-maps] FILE.s|FILE.bin|OBJ.o:PROG",
		run:   runRun,
	}
}

// runOptions are the flags of "run".
type runOptions struct {
	mem, packet, ctx string
	repeat           int
	trace, dump      bool
	dumpMaps         bool
	engine           string
	typ              string
	maps             []mapDecl
	cover            string // --cover: the lcov tracefile to write (runcover.go)
}

// runRun implements "run". See doc.go for what it prints.
func runRun(args []string, stdout io.Writer) error {
	fs := newFlags("run")
	var o runOptions
	fs.StringVar(&o.mem, "mem", "", "`file` whose bytes are a raw-memory program's memory (r1, r2)")
	fs.StringVar(&o.packet, "packet", "", "`file` holding the packet (an Ethernet frame) of a packet program")
	fs.StringVar(&o.ctx, "ctx", "", "`file` holding the context of a program that takes one (kprobe: x86-64 struct pt_regs)")
	fs.IntVar(&o.repeat, "repeat", 0, "run `N` more times, timed, and print the time per run")
	fs.BoolVar(&o.trace, "trace", false, "print every executed instruction and the registers it changed, and the C source line of objects with line info (interp)")
	fs.StringVar(&o.cover, "cover", "", "write the C lines the runs executed to `file`, an lcov tracefile for genhtml (interp, objects with line info)")
	useJIT := fs.Bool("jit", false, "same as --engine jit")
	fs.BoolVar(&o.dump, "dump", false, "with --engine jit, print the generated x86-64 code")
	fs.BoolVar(&o.dumpMaps, "dump-maps", false, "after the runs, print every map's contents")
	fs.StringVar(&o.engine, "engine", "", "`engine` to run in: interp (default), jit, or kernel (BPF_PROG_TEST_RUN, privileged)")
	fs.StringVar(&o.typ, "type", "", "program `type` (bpftool's name, such as socket_filter or xdp), for objects whose section names do not say it and for assembly")
	fs.Func("map", "declare a map of an assembly program as `NAME:TYPE:KEY:VALUE:ENTRIES` (repeatable)", func(s string) error {
		d, err := parseMapFlag(s)
		if err != nil {
			return err
		}
		o.maps = append(o.maps, d)
		return nil
	})
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: run takes one program file", errUsage)
	}
	switch {
	case *useJIT && o.engine != "" && o.engine != "jit":
		return fmt.Errorf("%w: --jit and --engine %s contradict each other", errUsage, o.engine)
	case *useJIT:
		o.engine = "jit"
	case o.engine == "":
		o.engine = "interp"
	case o.engine != "interp" && o.engine != "jit" && o.engine != "kernel":
		return fmt.Errorf("%w: unknown engine %q (want interp, jit or kernel)", errUsage, o.engine)
	}
	if o.repeat < 0 {
		return fmt.Errorf("%w: --repeat %d is negative", errUsage, o.repeat)
	}
	if o.dump && o.engine != "jit" {
		return fmt.Errorf("%w: --dump needs --jit", errUsage)
	}
	if o.trace && o.engine != "interp" {
		return fmt.Errorf("%w: --trace and --%s do not mix (only the interpreter is traced)", errUsage, o.engine)
	}
	if o.trace && o.repeat > 0 {
		return fmt.Errorf("%w: --repeat and --trace do not mix", errUsage)
	}
	if o.cover != "" && o.engine != "interp" {
		return fmt.Errorf("%w: --cover and --engine %s do not mix (only the interpreter counts the lines it runs)", errUsage, o.engine)
	}
	if n := btoi(o.mem != "") + btoi(o.packet != "") + btoi(o.ctx != ""); n > 1 {
		return fmt.Errorf("%w: give at most one of --mem, --packet and --ctx", errUsage)
	}
	p, err := loadProgram(pos[0], &o)
	if err != nil {
		return err
	}
	in, err := readInput(p, &o)
	if err != nil {
		return err
	}
	if o.engine == "kernel" {
		return runKernel(p, in, &o, stdout)
	}
	return runUserspace(p, in, &o, stdout)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// program is a program to run, from any source, with the maps it uses.
type program struct {
	spec *prog.Spec
	// data holds the initial value of global data maps (an object's
	// .data, .rodata, .bss), by map name.
	data map[string][]byte
	// object and name are set for OBJ.o:PROG: the collection, for the
	// kernel engine, and the program's name in it.
	object *prog.CollectionSpec
	name   string
}

// loadProgram reads path: assembly (FILE.s), raw little-endian bytecode,
// or one program of a clang-built object (OBJ.o:PROG, or OBJ.o when it
// holds a single program).
func loadProgram(path string, o *runOptions) (*program, error) {
	var p *program
	var err error
	switch {
	case strings.HasSuffix(path, ".s"):
		p, err = loadAssembly(path, o.maps)
	case isObject(path):
		if len(o.maps) > 0 {
			return nil, fmt.Errorf("%w: --map declares maps for assembly programs; an object declares its own", errUsage)
		}
		p, err = loadObject(path, o.typ)
	default:
		if len(o.maps) > 0 {
			return nil, fmt.Errorf("%w: --map needs an assembly program: raw bytecode has no map names", errUsage)
		}
		p, err = loadRaw(path)
	}
	if err != nil {
		return nil, err
	}
	if o.typ != "" {
		t, err := parseProgType(o.typ)
		if err != nil {
			return nil, err
		}
		p.spec.Type = t
		if p.object != nil {
			p.object.Programs[p.name].Type = t
		}
	}
	return p, nil
}

func loadAssembly(path string, flagMaps []mapDecl) (*program, error) {
	src, is, err := assemble(path)
	if err != nil {
		return nil, err
	}
	decls, err := parseMapDirectives(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, d := range flagMaps {
		if k := slices.IndexFunc(decls, func(e mapDecl) bool { return e.spec.Name == d.spec.Name }); k >= 0 {
			decls[k] = d
		} else {
			decls = append(decls, d)
		}
	}
	spec := &prog.Spec{Name: "main", Type: prog.UnspecifiedProgram, License: "GPL", Instructions: is}
	for _, d := range decls {
		ms := d.spec
		spec.Maps = append(spec.Maps, &ms)
	}
	lines := mapRefLines(src)
	for _, name := range is.MapReferences() {
		if spec.Map(name) == nil {
			return nil, fmt.Errorf("%s:%d: map %q is not declared: add a line \"; map %s TYPE key=N value=N entries=N\" or the flag --map %s:TYPE:KEY:VALUE:ENTRIES", path, lines[name], name, name, name)
		}
	}
	return &program{spec: spec}, nil
}

func loadRaw(path string) (*program, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	is, err := insn.Unmarshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &program{spec: &prog.Spec{Name: "main", Type: prog.UnspecifiedProgram, License: "GPL", Instructions: is}}, nil
}

// parseProgType parses a program type as bpftool names it.
func parseProgType(name string) (prog.Type, error) {
	for t := prog.Type(0); t < 64; t++ {
		if t.String() == name {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown program type %q (want a bpftool name such as socket_filter, kprobe, xdp, sched_cls)", errUsage, name)
}

// packetProgram reports whether programs of type t take a packet.
func packetProgram(t prog.Type) bool {
	switch t {
	case prog.SocketFilter, prog.SchedCLS, prog.SchedACT, prog.XDP, prog.CgroupSKB, prog.LWTIn, prog.LWTOut, prog.LWTXmit, prog.FlowDissector:
		return true
	}
	return false
}

// input is what a run gets: the memory of a raw-memory program, the
// packet of a packet program, or a context.
type input struct {
	mem, packet, ctx []byte
}

func readInput(p *program, o *runOptions) (*input, error) {
	read := func(f string) ([]byte, error) {
		if f == "" {
			return nil, nil
		}
		return os.ReadFile(f)
	}
	in := &input{}
	var err error
	t := p.spec.Type
	switch {
	case t == prog.UnspecifiedProgram:
		if o.packet != "" || o.ctx != "" {
			return nil, fmt.Errorf("%w: a raw-memory program takes --mem, not --packet or --ctx (set --type for another program type)", errUsage)
		}
		in.mem, err = read(o.mem)
	case packetProgram(t):
		if o.mem != "" || o.ctx != "" {
			return nil, fmt.Errorf("%w: a %s program takes --packet", errUsage, t)
		}
		if o.packet == "" {
			return nil, fmt.Errorf("%w: a %s program needs --packet FILE", errUsage, t)
		}
		in.packet, err = read(o.packet)
	default:
		if o.mem != "" || o.packet != "" {
			return nil, fmt.Errorf("%w: a %s program takes --ctx", errUsage, t)
		}
		in.ctx, err = read(o.ctx)
	}
	return in, err
}

// result is the outcome of one run, printed the same way for every
// engine.
type result struct {
	r0     uint64
	packet []byte
	hasPkt bool
}

// print writes the result: "r0 = 0x..." and, for packet programs,
// "packet = HEX", the packet as the program left it. Programs of a kernel
// type report r0 as BPF_PROG_TEST_RUN does, in 32 bits.
func (r *result) print(w io.Writer, t prog.Type) {
	if t != prog.UnspecifiedProgram {
		r.r0 = uint64(uint32(r.r0))
	}
	fmt.Fprintf(w, "r0 = %#x\n", r.r0)
	if r.hasPkt {
		fmt.Fprintf(w, "packet = %s\n", hex.EncodeToString(r.packet))
	}
}

// runner is what both userspace engines' VMs and Runners offer.
type runner interface {
	RunMemory(mem []byte) (uint64, error)
	RunSocketFilter(pkt []byte, meta *interp.SKBMeta) (uint32, error)
	RunKprobe(regs *interp.PtRegs) (uint64, error)
	RunXDP(frame []byte, meta *interp.XDPMeta) (uint32, []byte, error)
	RunTC(frame []byte, meta *interp.TCMeta) (uint32, []byte, error)
	RunTracepoint(record []byte) (uint64, error)
	RunRawTracepoint(args []uint64) (uint64, error)
	RunPerfEvent(data *interp.PerfEventData) (uint64, error)
}

func runUserspace(p *program, in *input, o *runOptions, stdout io.Writer) error {
	t := p.spec.Type
	if t != prog.UnspecifiedProgram && t != prog.SocketFilter && t != prog.Kprobe && t != prog.XDP && t != prog.SchedCLS && t != prog.SchedACT && !tracingProgram(t) {
		return fmt.Errorf("%s programs do not run in %s yet: interp and jit run raw-memory, socket_filter, kprobe, xdp, sched_cls, sched_act, tracepoint, raw_tracepoint, tracing, lsm and perf_event programs (use --engine kernel)", t, o.engine)
	}
	opts := &interp.Options{MapOptions: &maps.Options{CPUs: cpus()}}
	var tr *tracer
	if o.trace {
		tr = &tracer{w: stdout}
		opts.Trace = tr.step
	}
	cover, err := newRunCoverage(p, o, opts)
	if err != nil {
		return err
	}
	lv, err := loadUserspace(p, o, opts)
	if err != nil {
		return err
	}
	defer lv.close()
	ms := lv.maps
	if tr != nil {
		tr.src = newSourceLines(p, lv)
	}
	if o.dump {
		if err := lv.jvm.Disassemble(stdout); err != nil {
			return err
		}
	}
	vm, newRunner := lv.vm, lv.newRunner
	var regs *interp.PtRegs
	if t == prog.Kprobe {
		if regs, err = ptRegs(in.ctx); err != nil {
			return err
		}
	}
	var args []uint64
	var perf *interp.PerfEventData
	switch {
	case t == prog.PerfEvent:
		if perf, err = perfEventData(in.ctx); err != nil {
			return err
		}
	case tracingProgram(t) && t != prog.TracePoint:
		if args, err = rawArgs(in.ctx); err != nil {
			return err
		}
	}
	work := slices.Clone(in.mem)
	var meta *interp.SKBMeta
	if t == prog.SocketFilter {
		work = slices.Clone(in.packet)
		meta = frameMeta(work)
	}
	// An XDP or tc run's output: the packet as the program left it (for
	// XDP from data_meta), as the kernel's test run gives it.
	var pktOut []byte
	once := func(vm runner) (uint64, error) {
		switch t {
		case prog.XDP:
			v, out, err := vm.RunXDP(in.packet, nil)
			pktOut = out
			return uint64(v), err
		case prog.SchedCLS, prog.SchedACT:
			v, out, err := vm.RunTC(in.packet, nil)
			pktOut = out
			return uint64(v), err
		case prog.SocketFilter:
			v, err := vm.RunSocketFilter(work, meta)
			return uint64(v), err
		case prog.Kprobe:
			return vm.RunKprobe(regs)
		case prog.TracePoint:
			return vm.RunTracepoint(in.ctx)
		case prog.PerfEvent:
			return vm.RunPerfEvent(perf)
		}
		if tracingProgram(t) {
			return vm.RunRawTracepoint(args)
		}
		return vm.RunMemory(work)
	}
	r0, err := once(vm)
	if err != nil {
		return err
	}
	res := result{r0: r0, packet: work, hasPkt: packetProgram(t)}
	if t == prog.XDP || t == prog.SchedCLS || t == prog.SchedACT {
		res.packet = pktOut
	}
	res.print(stdout, t)
	if o.repeat > 0 {
		rn, c, err := newRunner()
		if err != nil {
			return err
		}
		defer c.Close()
		per, batches, size, err := measure(func() error { _, err := once(rn); return err }, o.repeat)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "median %.1f ns per run over %d runs (%d batches of %d through a Runner)\n", per, batches*size, batches, size)
	}
	if err := cover.write(); err != nil {
		return err
	}
	if o.dumpMaps {
		return dumpMaps(stdout, p.spec.Maps, func(name string) prog.Mapper { return ms[name] }, cpus(), lv.programName, nil)
	}
	return nil
}

// newUserspaceMaps creates p's maps for interp or jit and writes the
// initial bytes of global data maps.
func newUserspaceMaps(p *program) (map[string]maps.Map, error) {
	ms := map[string]maps.Map{}
	for _, spec := range p.spec.Maps {
		m, err := maps.New(*spec, &maps.Options{CPUs: cpus()})
		if err != nil {
			return nil, fmt.Errorf("map %q: %w", spec.Name, err)
		}
		if data := p.data[spec.Name]; data != nil {
			if err := m.Update(uint32(0), data, prog.UpdateAny); err != nil {
				return nil, fmt.Errorf("map %q: writing its initial data: %w", spec.Name, err)
			}
		}
		ms[spec.Name] = m
	}
	return ms, nil
}

// cpus is the number of CPUs per-CPU userspace maps hold values for: the
// kernel's possible CPUs where they can be read, as the kernel engine's
// maps hold, so that dumps of every engine have the same layout.
func cpus() int {
	if n, err := prog.PossibleCPUs(); err == nil && n > 0 {
		return n
	}
	return runtime.NumCPU()
}

// ptRegs reads a kprobe context: x86-64 struct pt_regs, little-endian,
// at most 168 bytes (a shorter file leaves the rest zero).
func ptRegs(b []byte) (*interp.PtRegs, error) { return decodeCtx[interp.PtRegs](b, "struct pt_regs") }

// decodeCtx decodes a fixed-layout context of type T (what, in C) from
// the little-endian bytes of a --ctx file, zero-padded when shorter.
func decodeCtx[T any](b []byte, what string) (*T, error) {
	var v T
	size := binary.Size(v)
	if len(b) > size {
		return nil, fmt.Errorf("--ctx: %d bytes is more than %s (%d bytes)", len(b), what, size)
	}
	full := make([]byte, size)
	copy(full, b)
	if _, err := binary.Decode(full, binary.LittleEndian, &v); err != nil {
		return nil, fmt.Errorf("--ctx: %w", err)
	}
	return &v, nil
}

// tracingProgram reports whether programs of type t take a tracing
// context: the tracepoint record, the raw tracepoint argument array
// (also tp_btf, fentry, fexit and LSM programs) or bpf_perf_event_data.
func tracingProgram(t prog.Type) bool {
	switch t {
	case prog.TracePoint, prog.RawTracePoint, prog.RawTracePointWritable, prog.Tracing, prog.LSM, prog.PerfEvent:
		return true
	}
	return false
}

// rawArgs reads a raw tracepoint context: little-endian u64 arguments.
func rawArgs(b []byte) ([]uint64, error) {
	if len(b)%8 != 0 || len(b) > 8*interp.MaxRawTracepointArgs {
		return nil, fmt.Errorf("--ctx: %d bytes; a raw tracepoint's context is up to %d little-endian u64 arguments", len(b), interp.MaxRawTracepointArgs)
	}
	args := make([]uint64, len(b)/8)
	for k := range args {
		args[k] = binary.LittleEndian.Uint64(b[8*k:])
	}
	return args, nil
}

// perfEventData reads a perf_event context: struct bpf_perf_event_data
// (pt_regs, sample_period, addr), little-endian, at most 184 bytes (a
// shorter file leaves the rest zero).
func perfEventData(b []byte) (*interp.PerfEventData, error) {
	return decodeCtx[interp.PerfEventData](b, "struct bpf_perf_event_data")
}

// tracer prints each executed instruction and, once the next one starts,
// the registers it changed.
type tracer struct {
	w    io.Writer
	prev [11]uint64
	pc   int
	ins  insn.Instruction
	have bool
	src  *sourceLines // the C lines of an object's programs, or nil
}

func (t *tracer) step(pc int, ins insn.Instruction, regs *[11]uint64) {
	if t.have {
		if t.src != nil {
			t.src.print(t.w)
		}
		line := fmt.Sprintf("%5d: %-32s", t.pc, t.ins.String())
		for r := range regs {
			if regs[r] != t.prev[r] {
				line += fmt.Sprintf(" r%d=%#x", r, regs[r])
			}
		}
		fmt.Fprintln(t.w, strings.TrimRight(line, " "))
	}
	if t.src != nil && pc >= 0 {
		t.src.step(pc, ins, regs)
	}
	t.prev, t.pc, t.ins, t.have = *regs, pc, ins, pc >= 0
}

// measure times n runs the way a Go benchmark does: in batches, with the
// clock read only around each batch, so that reading it (tens of
// nanoseconds) does not count as run time. The batch size is chosen so
// that a batch takes about 100 µs (but at most n runs); it returns the
// median nanoseconds per run over the batches. The runs reuse the input
// as the previous run left it, as a benchmark's iterations do.
func measure(run func() error, n int) (perRun float64, batches, size int, err error) {
	size = 1
	for size < n {
		start := time.Now()
		for range size {
			if err := run(); err != nil {
				return 0, 0, 0, err
			}
		}
		if time.Since(start) >= 100*time.Microsecond {
			break
		}
		size = min(2*size, n)
	}
	batches = max(1, n/size)
	per := make([]float64, batches)
	for k := range per {
		start := time.Now()
		for range size {
			if err := run(); err != nil {
				return 0, 0, 0, err
			}
		}
		per[k] = float64(time.Since(start).Nanoseconds()) / float64(size)
	}
	slices.Sort(per)
	return per[len(per)/2], batches, size, nil
}
