package interp_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/kmem"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// userspaceTypes are the program types interp and jit run.
var userspaceTypes = []prog.Type{
	prog.UnspecifiedProgram, prog.SocketFilter, prog.Kprobe, prog.XDP, prog.TracePoint,
	prog.RawTracePoint, prog.RawTracePointWritable, prog.Tracing, prog.LSM, prog.PerfEvent,
}

// corpusCannot lists the corpus objects that do not load into interp,
// and why: features of other parts of the userspace engines.
var corpusCannot = map[string]string{
	"minimal.bpfeb.o":         "big-endian BPF: the loader refuses it on a little-endian host",
	"static_in_section.bpf.o": "a static function as a program outside .text: the loader refuses it as libbpf does",
	"struct_ops.bpf.o":        "struct_ops maps have no userspace form",
}

// corpusCallbacks lists the corpus objects with programs that call
// subprograms through callbacks (bpf_loop, bpf_for_each_map_elem), which
// interp runs and the JIT does not compile (jit.ErrCallbacks).
var corpusCallbacks = map[string]bool{"callbacks.bpf.o": true, "subprogs.bpf.o": true}

// corpusFixture is the simulated kernel the corpus's tracing programs
// run against: a current task and its parent laid out from the running
// kernel's BTF, a struct rq and an int for typed ksyms, and fakes for
// the helpers and kfuncs the programs call that interp does not have.
type corpusFixture struct {
	mem          *kmem.Memory
	task, parent *kmem.Object
	rq, active   *kmem.Object
	acquired     []uint64
	opts         *interp.CollectionOptions
}

func newCorpusFixture(t *testing.T) *corpusFixture {
	ks, err := btf.KernelSpec()
	if err != nil {
		testenv.SkipOrFail(t, "no kernel BTF for CO-RE: %v", err)
	}
	f := &corpusFixture{mem: kmem.New(ks)}
	must := func(o *kmem.Object, err error) *kmem.Object {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	f.parent = must(f.mem.New("task_struct"))
	f.task = must(f.mem.New("task_struct"))
	f.rq = must(f.mem.New("rq"))
	f.active = f.mem.Bytes([]byte{5, 0, 0, 0})
	for _, s := range []struct {
		o    *kmem.Object
		path string
		v    any
	}{
		{f.parent, "tgid", 1}, {f.task, "pid", 42}, {f.task, "tgid", 42},
		{f.task, "real_parent", f.parent}, {f.task, "exit_code", 3 << 8}, {f.rq, "cpu", 3},
	} {
		if err := s.o.Set(s.path, s.v); err != nil {
			t.Fatal(err)
		}
	}
	helpers := interp.DefaultHelpers()
	helpers.Register(insn.FnGetCurrentTask, func(*interp.Env, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
		return f.task.Addr(), nil
	})
	helpers.Register(insn.HelperFunc(154), func(_ *interp.Env, r1, _, _, _, _ uint64) (uint64, error) { // bpf_this_cpu_ptr
		return r1, nil
	})
	f.opts = &interp.CollectionOptions{
		Program: &interp.Options{
			Helpers:      helpers,
			KernelMemory: f.mem.Regions(),
			PIDTGID:      42<<32 | 42,
			Comm:         "bash",
			Kfuncs: map[string]interp.Helper{
				"bpf_task_acquire": func(_ *interp.Env, r1, _, _, _, _ uint64) (uint64, error) {
					f.acquired = append(f.acquired, r1)
					return r1, nil
				},
				"bpf_task_release": func(*interp.Env, uint64, uint64, uint64, uint64, uint64) (uint64, error) { return 0, nil },
			},
		},
		KernelConfig: map[string]string{
			"LINUX_KERNEL_VERSION": "0x061200", "CONFIG_HZ": "250", "CONFIG_BPF_SYSCALL": "y",
			"CONFIG_LOCALVERSION": `"-test"`,
		},
		Ksyms: map[string]uint64{
			"runqueues": f.rq.Addr(), "bpf_prog_active": f.active.Addr(), "bpf_prog_put": 0xffffffff81234560,
		},
	}
	return f
}

// Every object of the corpus whose program types interp runs loads into
// interp.NewCollection and jit.NewCollection, with fakes registered for
// the helpers and kfuncs the tracing programs call; the programs of other
// types are left out (Autoload false) and the objects that cannot load
// at all are the ones corpusCannot lists, for the reasons it gives.
func TestCorpusCollections(t *testing.T) {
	f := newCorpusFixture(t)
	files, err := filepath.Glob("../prog/testdata/bpf/*.o")
	if err != nil || len(files) < 15 {
		t.Fatalf("corpus: %d objects, %v", len(files), err)
	}
	for _, file := range files {
		base := filepath.Base(file)
		cs, err := prog.LoadCollectionSpec(file)
		if err == nil {
			var skipped []string
			for name, ps := range cs.Programs {
				if !slices.Contains(userspaceTypes, ps.Type) {
					ps.Autoload = false
					skipped = append(skipped, name+" ("+ps.Type.String()+")")
				}
			}
			if len(skipped) > 0 {
				slices.Sort(skipped)
				t.Logf("%s: left out: %s", base, strings.Join(skipped, ", "))
			}
			var c *interp.Collection
			if c, err = interp.NewCollection(cs, f.opts); err == nil {
				var jc *jit.Collection
				jc, err = jit.NewCollection(cs, f.opts, nil)
				if errors.Is(err, jit.ErrCallbacks) && corpusCallbacks[base] {
					// The JIT refuses the callbacks; Fallback runs them in interp.
					jc, err = jit.NewCollection(cs, f.opts, &jit.Options{Fallback: true})
				} else if err == nil && corpusCallbacks[base] {
					t.Errorf("%s: jit compiles callbacks now: update corpusCallbacks", base)
				}
				if err == nil && len(jc.Programs) != len(c.Programs) {
					t.Errorf("%s: jit loaded %d programs, interp %d", base, len(jc.Programs), len(c.Programs))
				}
				jc.Close()
			}
		}
		why, cannot := corpusCannot[base]
		switch {
		case err != nil && !cannot:
			t.Errorf("%s: %v", base, err)
		case err == nil && cannot:
			t.Errorf("%s loads, but corpusCannot says %q", base, why)
		case err != nil:
			t.Logf("%s cannot load (%s): %v", base, why, err)
		}
	}
}

func loadCorpus(t *testing.T, name string) *prog.CollectionSpec {
	t.Helper()
	cs, err := prog.LoadCollectionSpec("../prog/testdata/bpf/" + name)
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range cs.Programs {
		if !slices.Contains(userspaceTypes, ps.Type) {
			ps.Autoload = false
		}
	}
	return cs
}

// engineCollection is one engine's collection of an object.
type engineCollection struct {
	progs map[string]tracingProgram
	maps  map[string]maps.Map
}

func collectionOf[P tracingProgram](progs map[string]P, ms map[string]maps.Map) engineCollection {
	c := engineCollection{progs: map[string]tracingProgram{}, maps: ms}
	for n, p := range progs {
		c.progs[n] = p
	}
	return c
}

// bothCollections loads cs into interp and jit.
func engineCollections(t *testing.T, cs *prog.CollectionSpec, opts *interp.CollectionOptions) map[string]engineCollection {
	t.Helper()
	ic, err := interp.NewCollection(cs, opts)
	if err != nil {
		t.Fatal(err)
	}
	jc, err := jit.NewCollection(cs, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jc.Close() })
	return map[string]engineCollection{"interp": collectionOf(ic.Programs, ic.Maps), "jit": collectionOf(jc.Programs, jc.Maps)}
}

type tracingProgram interface {
	RunTracepoint([]byte) (uint64, error)
	RunRawTracepoint([]uint64) (uint64, error)
	RunPerfEvent(*interp.PerfEventData) (uint64, error)
	RunSocketFilter([]byte, *interp.SKBMeta) (uint32, error)
}

func variable(t *testing.T, cs *prog.CollectionSpec, ms map[string]maps.Map, name string) []byte {
	t.Helper()
	v := cs.Variables[name]
	if v == nil {
		t.Fatalf("no variable %q", name)
	}
	val := ms[v.Map].LookupRaw(make([]byte, 4), 0)
	return val[v.Offset : v.Offset+v.Size]
}

func cstring(b []byte) string {
	if k := bytes.IndexByte(b, 0); k >= 0 {
		return string(b[:k])
	}
	return string(b)
}

// libbpf-bootstrap's exec tracer, CO-RE against the running kernel's
// BTF: it reads the current task (a fake get_current_task returning a
// kmem task_struct) and the record's __data_loc filename.
func TestCorpusBootstrap(t *testing.T) {
	f := newCorpusFixture(t)
	cs := loadCorpus(t, "bootstrap.bpf.o")
	// struct trace_event_raw_sched_process_exec: the common header,
	// __data_loc_filename at 8, pid at 12, old_pid at 16, the string at 20.
	rec := make([]byte, 20, 64)
	rec = append(rec, "/bin/ls\x00"...)
	binary.NativeEndian.PutUint32(rec[8:], 8<<16|20)
	binary.NativeEndian.PutUint32(rec[12:], 42)
	for engine, c := range engineCollections(t, cs, f.opts) {
		if ret, err := c.progs["handle_exec"].RunTracepoint(rec); ret != 0 || err != nil {
			t.Fatalf("%s: handle_exec = %d, %v", engine, ret, err)
		}
		ev, err := c.maps["rb"].(*maps.RingBuf).Read()
		if err != nil {
			t.Fatalf("%s: ring buffer: %v", engine, err)
		}
		// struct event: pid, ppid, exit_code, duration_ns at 16, comm at 24, filename at 40.
		pid, ppid := binary.NativeEndian.Uint32(ev), binary.NativeEndian.Uint32(ev[4:])
		if pid != 42 || ppid != 1 || cstring(ev[24:40]) != "bash" || cstring(ev[40:167]) != "/bin/ls" {
			t.Errorf("%s: event pid %d ppid %d comm %q filename %q", engine, pid, ppid, cstring(ev[24:40]), cstring(ev[40:167]))
		}
		if c.maps["exec_start"].LookupRaw([]byte{42, 0, 0, 0}, 0) == nil {
			t.Errorf("%s: exec_start has no entry for pid 42", engine)
		}
		if ret, err := c.progs["handle_exit"].RunTracepoint(make([]byte, 24)); ret != 0 || err != nil {
			t.Fatalf("%s: handle_exit = %d, %v", engine, ret, err)
		}
		if c.maps["exec_start"].LookupRaw([]byte{42, 0, 0, 0}, 0) != nil {
			t.Errorf("%s: handle_exit left pid 42 in exec_start", engine)
		}
	}
}

// kconfig externs take CollectionOptions.KernelConfig (or the host's);
// a missing __weak ksym reads NULL.
func TestCorpusKconfig(t *testing.T) {
	f := newCorpusFixture(t)
	cs := loadCorpus(t, "ksyms.bpf.o")
	for engine, c := range engineCollections(t, cs, f.opts) {
		if _, err := c.progs["on_switch"].RunRawTracepoint([]uint64{0, 0, 0}); err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		ne := binary.NativeEndian
		if v := ne.Uint64(variable(t, cs, c.maps, "seen_version")); v != 0x061200 {
			t.Errorf("%s: LINUX_KERNEL_VERSION %#x", engine, v)
		}
		if v := ne.Uint64(variable(t, cs, c.maps, "seen_hz")); v != 250 {
			t.Errorf("%s: CONFIG_HZ %d", engine, v)
		}
		if v := ne.Uint64(variable(t, cs, c.maps, "seen_flags")); v != 1 {
			t.Errorf("%s: flags %#x, want 1 (CONFIG_BPF_SYSCALL only)", engine, v)
		}
		if v := cstring(variable(t, cs, c.maps, "seen_local")); v != "-test" {
			t.Errorf("%s: CONFIG_LOCALVERSION %q", engine, v)
		}
	}
	// A non-weak extern the configuration lacks is an error naming it.
	opts := *f.opts
	opts.KernelConfig = map[string]string{"CONFIG_HZ": "250", "CONFIG_BPF_SYSCALL": "y", "LINUX_KERNEL_VERSION": "1"}
	if _, err := interp.NewCollection(cs, &opts); err == nil || !strings.Contains(err.Error(), "CONFIG_LOCALVERSION") {
		t.Errorf("missing CONFIG_LOCALVERSION: %v", err)
	}
	opts.KernelConfig["CONFIG_LOCALVERSION"] = "y"
	if _, err := interp.NewCollection(cs, &opts); err == nil || !strings.Contains(err.Error(), "CONFIG_LOCALVERSION") {
		t.Errorf("CONFIG_LOCALVERSION=y for a char array: %v", err)
	}
	// The host's configuration, where it can be read.
	if _, err := prog.HostKernelConfig(); err == nil {
		opts.KernelConfig = nil
		c, err := interp.NewCollection(cs, &opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Programs["on_switch"].RunRawTracepoint(nil); err != nil {
			t.Fatal(err)
		}
		want, _ := prog.HostKernelVersion()
		if v := binary.NativeEndian.Uint64(variable(t, cs, c.Maps, "seen_version")); v != uint64(want) {
			t.Errorf("host LINUX_KERNEL_VERSION %#x, want %#x", v, want)
		}
	}
}

// kfuncs run the test's fakes; without one, loading names the kfunc.
func TestCorpusKfuncs(t *testing.T) {
	f := newCorpusFixture(t)
	cs := loadCorpus(t, "kfuncs.bpf.o")
	for engine, c := range engineCollections(t, cs, f.opts) {
		f.acquired = nil
		if ret, err := c.progs["acquire_next"].RunRawTracepoint([]uint64{0, f.parent.Addr(), f.task.Addr()}); ret != 0 || err != nil {
			t.Fatalf("%s: %d, %v", engine, ret, err)
		}
		if len(f.acquired) != 1 || f.acquired[0] != f.task.Addr() {
			t.Errorf("%s: bpf_task_acquire got %#x, want [next = %#x]", engine, f.acquired, f.task.Addr())
		}
	}
	opts := *f.opts
	popts := *opts.Program
	popts.Kfuncs = nil
	opts.Program = &popts
	if _, err := interp.NewCollection(cs, &opts); !errors.Is(err, interp.ErrUnknownKfunc) || !strings.Contains(err.Error(), "bpf_task_acquire") {
		t.Errorf("no kfuncs: %v", err)
	}
}

// Typed ksyms (per-CPU kernel variables through bpf_this_cpu_ptr) and
// typeless ones (addresses) come from CollectionOptions.Ksyms.
func TestCorpusKsyms(t *testing.T) {
	f := newCorpusFixture(t)
	cs := loadCorpus(t, "ksym_vars.bpf.o")
	for engine, c := range engineCollections(t, cs, f.opts) {
		if _, err := c.progs["read_vars"].RunRawTracepoint([]uint64{0, 0}); err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		ne := binary.NativeEndian
		if cpu, active := ne.Uint64(variable(t, cs, c.maps, "seen_cpu")), ne.Uint64(variable(t, cs, c.maps, "seen_active")); cpu != 3 || active != 5 {
			t.Errorf("%s: rq->cpu %d, bpf_prog_active %d; want 3, 5", engine, cpu, active)
		}
	}
	cs = loadCorpus(t, "typeless_ksyms.bpf.o")
	for engine, c := range engineCollections(t, cs, f.opts) {
		if _, err := c.progs["read_addrs"].RunSocketFilter(make([]byte, 14), nil); err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		ne := binary.NativeEndian
		if a, m := ne.Uint64(variable(t, cs, c.maps, "addr")), ne.Uint64(variable(t, cs, c.maps, "missing")); a != 0xffffffff81234560 || m != 0 {
			t.Errorf("%s: addr %#x missing %#x", engine, a, m)
		}
	}
	opts := *f.opts
	opts.Ksyms = nil
	if _, err := interp.NewCollection(cs, &opts); err == nil || !strings.Contains(err.Error(), "bpf_prog_put") {
		t.Errorf("no ksyms: %v", err)
	}
}
