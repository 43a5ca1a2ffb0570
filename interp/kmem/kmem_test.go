package kmem_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/kmem"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// testTaskBTF is a task_struct laid out unlike any kernel's: the fields
// task_core.bpf.c reads in another order at other offsets, among padding.
func testTaskBTF(t *testing.T, withParent bool) *btf.Spec {
	t.Helper()
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed, Bits: 32}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Char, Bits: 8}
	task := &btf.Struct{Name: "task_struct", Size: 320}
	task.Members = []btf.Member{
		{Name: "comm", Type: &btf.Array{Type: char, Index: i32, Nelems: 16}, Offset: 8 * 8},
		{Name: "tgid", Type: &btf.Typedef{Name: "pid_t", Type: i32}, Offset: 8 * 100},
		{Name: "pid", Type: &btf.Typedef{Name: "pid_t", Type: i32}, Offset: 8 * 204},
	}
	if withParent {
		task.Members = append(task.Members, btf.Member{Name: "real_parent", Type: &btf.Pointer{Target: task}, Offset: 8 * 280})
	}
	// pt_regs as x86-64 lays it out: PT_REGS_PARM1_CORE reads di.
	u64 := &btf.Int{Name: "long unsigned int", Size: 8, Bits: 64}
	regs := &btf.Struct{Name: "pt_regs", Size: 168, Members: []btf.Member{{Name: "di", Type: u64, Offset: 8 * 112}}}
	s, err := btf.NewSpec(task, regs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func loadTaskCore(t *testing.T) *prog.CollectionSpec {
	t.Helper()
	cs, err := prog.LoadCollectionSpec("testdata/task_core.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// runner is what interp's and jit's VMs have for the two programs.
type runner interface {
	RunKprobe(*interp.PtRegs) (uint64, error)
	RunRawTracepoint([]uint64) (uint64, error)
}

type collection struct {
	progs map[string]runner
	maps  map[string]maps.Map
	close func()
}

func newColl(t *testing.T, useJIT bool, cs *prog.CollectionSpec, opts *interp.CollectionOptions) (*collection, error) {
	if useJIT {
		c, err := jit.NewCollection(cs, opts, nil)
		if err != nil {
			return nil, err
		}
		out := &collection{progs: map[string]runner{}, maps: c.Maps, close: func() { c.Close() }}
		for n, p := range c.Programs {
			out.progs[n] = p
		}
		return out, nil
	}
	c, err := interp.NewCollection(cs, opts)
	if err != nil {
		return nil, err
	}
	out := &collection{progs: map[string]runner{}, maps: c.Maps, close: func() {}}
	for n, p := range c.Programs {
		out.progs[n] = p
	}
	return out, nil
}

type event struct {
	pid, tgid, ppid, direct uint32
	comm                    string
}

func readEvent(b []byte) event {
	ne := binary.NativeEndian
	comm := b[16:32]
	if k := bytes.IndexByte(comm, 0); k >= 0 {
		comm = comm[:k]
	}
	return event{ne.Uint32(b), ne.Uint32(b[4:]), ne.Uint32(b[8:]), ne.Uint32(b[12:]), string(comm)}
}

// A clang-built CO-RE kprobe and tp_btf program read a task_struct laid
// out by kmem from (a) the host's vmlinux BTF and (b) a test-built BTF
// with other offsets, in interp and jit: what they report is what the
// memory holds.
func TestCORETaskStruct(t *testing.T) {
	targets := map[string]*btf.Spec{"test-built": testTaskBTF(t, true)}
	// The same layout from a raw BTF file, as /sys/kernel/btf/vmlinux is
	// one (a BTF archive of another kernel is read the same way).
	raw, err := targets["test-built"].Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "task.btf")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if targets["file"], err = btf.LoadSpec(path); err != nil {
		t.Fatal(err)
	}
	if k, err := btf.KernelSpec(); err == nil {
		targets["vmlinux"] = k
	} else {
		t.Logf("no kernel BTF (%v): only the test-built layout", err)
	}
	for name, spec := range targets {
		m := kmem.New(spec)
		parent, err := m.New("task_struct")
		if err != nil {
			t.Fatal(err)
		}
		task, err := m.New("task_struct")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct {
			o    *kmem.Object
			path string
			v    any
		}{{parent, "tgid", 1}, {parent, "comm", "systemd"}, {task, "pid", 42}, {task, "tgid", 40}, {task, "comm", "init"}, {task, "real_parent", parent}} {
			if err := f.o.Set(f.path, f.v); err != nil {
				t.Fatalf("%s: Set(%q): %v", name, f.path, err)
			}
		}
		// The offsets are the target's: the test-built one puts pid at 204.
		if f, _ := task.Field("pid"); name != "vmlinux" && f.Offset != 204 {
			t.Fatalf("pid at %d", f.Offset)
		}
		for _, useJIT := range []bool{false, true} {
			opts := &interp.CollectionOptions{
				Program:     &interp.Options{KernelMemory: m.Regions()},
				CORETargets: []*btf.Spec{spec},
			}
			c, err := newColl(t, useJIT, loadTaskCore(t), opts)
			if err != nil {
				t.Fatalf("%s, jit %v: %v", name, useJIT, err)
			}
			zero := make([]byte, 4)
			want := event{42, 40, 1, 0, "init"}
			if ret, err := c.progs["on_wake"].RunKprobe(&interp.PtRegs{DI: task.Addr()}); ret != 0 || err != nil {
				t.Fatalf("%s, jit %v: on_wake = %d, %v", name, useJIT, ret, err)
			}
			if got := readEvent(c.maps["last"].LookupRaw(zero, 0)); got != want {
				t.Errorf("%s, jit %v: on_wake reported %+v, want %+v", name, useJIT, got, want)
			}
			rec, err := c.maps["events"].(*maps.RingBuf).Read()
			if err != nil || readEvent(rec) != want {
				t.Errorf("%s, jit %v: ring buffer record %x, %v", name, useJIT, rec, err)
			}
			want.direct = 42
			if ret, err := c.progs["on_exec"].RunRawTracepoint([]uint64{task.Addr(), 7, 0}); ret != 0 || err != nil {
				t.Fatalf("%s, jit %v: on_exec = %d, %v", name, useJIT, ret, err)
			}
			if got := readEvent(c.maps["last"].LookupRaw(zero, 0)); got != want {
				t.Errorf("%s, jit %v: on_exec reported %+v, want %+v", name, useJIT, got, want)
			}
			// A task pointer to memory nobody laid out: probe_read_kernel
			// fails (-EFAULT, zeroed destinations), and the direct load
			// reads 0 (BPF_PROBE_MEM), so the event is all zero.
			if _, err := c.progs["on_exec"].RunRawTracepoint([]uint64{0xdead0000, 7, 0}); err != nil {
				t.Fatalf("%s, jit %v: on_exec on a bad pointer: %v", name, useJIT, err)
			}
			if got := readEvent(c.maps["last"].LookupRaw(zero, 0)); got != (event{}) {
				t.Errorf("%s, jit %v: on_exec on a bad pointer reported %+v", name, useJIT, got)
			}
			c.close()
		}
	}
}

// A target without the field a relocation needs poisons the
// instruction: reaching it is a run error that names the relocation.
func TestCOREMissingField(t *testing.T) {
	spec := testTaskBTF(t, false)
	m := kmem.New(spec)
	task, _ := m.New("task_struct")
	opts := &interp.CollectionOptions{Program: &interp.Options{KernelMemory: m.Regions()}, CORETargets: []*btf.Spec{spec}}
	for _, useJIT := range []bool{false, true} {
		c, err := newColl(t, useJIT, loadTaskCore(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.progs["on_wake"].RunKprobe(&interp.PtRegs{DI: task.Addr()})
		if !errors.Is(err, interp.ErrHelper) || !strings.Contains(err.Error(), "CO-RE relocation") || !strings.Contains(err.Error(), "task_struct") {
			t.Errorf("jit %v: %v, want a run error naming the task_struct relocation", useJIT, err)
		}
		c.close()
	}
}

func TestSetErrors(t *testing.T) {
	m := kmem.New(testTaskBTF(t, true))
	task, err := m.New("task_struct")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		v    any
	}{
		{"nope", 1}, {"pid", "x"}, {"comm", "a name longer than 15"}, {"pid", 1 << 40}, {"real_parent", 5.0},
		{"comm[16]", 1}, {"pid.x", 1}, {"tgid", []byte{1, 2}}, {"pid", task},
	} {
		if err := task.Set(c.path, c.v); !errors.Is(err, kmem.ErrField) {
			t.Errorf("Set(%q, %v) = %v, want ErrField", c.path, c.v, err)
		}
	}
	if err := task.Set("comm[3]", 'x'); err != nil {
		t.Errorf("comm[3]: %v", err)
	}
	if _, err := m.New("no_such_struct"); err == nil || !strings.Contains(err.Error(), "no_such_struct") {
		t.Errorf("New(no_such_struct): %v", err)
	}
}
