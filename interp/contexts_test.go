package interp_test

import (
	"encoding/binary"
	"testing"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// The tracing contexts as clang lays out the kernel's structures
// (kmem/testdata/contexts.bpf.c): a tracepoint record read as struct
// trace_event_raw_sys_enter, raw tracepoint arguments through BPF_PROG,
// and struct bpf_perf_event_data, in interp and jit.
func TestContextsFromC(t *testing.T) {
	cs, err := prog.LoadCollectionSpec("kmem/testdata/contexts.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	// Fix the CO-RE targets to the object's own layout (the kernel's, in
	// vmlinux.h), so that the test needs no kernel BTF.
	opts := &interp.CollectionOptions{CORETargets: []*btf.Spec{cs.BTF()}}
	rec := make([]byte, 64) // common header, id at 8, args[6] at 16
	ne := binary.NativeEndian
	ne.PutUint64(rec[24:], 1234)
	ne.PutUint64(rec[8:], 39)
	ne.PutUint64(rec[16:], 7)
	ne.PutUint64(rec[56:], 11)
	perf := &interp.PerfEventData{Regs: interp.PtRegs{IP: 0xffffffff81000000, DI: 5}, SamplePeriod: 4000, Addr: 0xdead}
	for engine, c := range engineCollections(t, cs, opts) {
		seen := func() [4]uint64 {
			var s [4]uint64
			b := variable(t, cs, c.maps, "seen")
			for k := range s {
				s[k] = ne.Uint64(b[8*k:])
			}
			return s
		}
		if ret, err := c.progs["on_sys_enter"].RunTracepoint(rec); ret != 1 || err != nil || seen() != [4]uint64{1234, 39, 7, 11} {
			t.Errorf("%s: tracepoint: %d, %v, seen %v", engine, ret, err, seen())
		}
		if ret, err := c.progs["on_raw_sys_enter"].RunRawTracepoint([]uint64{0xffff8880_00001000, 39}); ret != 2 || err != nil || seen()[0] != 39 || seen()[1] != 0xffff8880_00001000 {
			t.Errorf("%s: raw tracepoint: %d, %v, seen %v", engine, ret, err, seen())
		}
		if ret, err := c.progs["on_sample"].RunPerfEvent(perf); ret != 3 || err != nil || seen() != [4]uint64{4000, 0xdead, 0xffffffff81000000, 5} {
			t.Errorf("%s: perf event: %d, %v, seen %v", engine, ret, err, seen())
		}
		// A record shorter than the fields the program reads.
		if _, err := c.progs["on_sys_enter"].RunTracepoint(rec[:24]); err == nil {
			t.Errorf("%s: a 24-byte record for a program that reads 64: no error", engine)
		}
	}
}

// The raw tracepoint program of contexts.bpf.c stores the same values in
// the kernel (BPF_PROG_TEST_RUN) as in interp and jit.
func TestContextsRawTracepointKernel(t *testing.T) {
	testenv.RequireRoot(t)
	cs, err := prog.LoadCollectionSpec("kmem/testdata/contexts.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	kc, err := prog.NewCollection(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	args := []uint64{0xffff8880_12345678, 231}
	ctx := make([]byte, 16)
	binary.LittleEndian.PutUint64(ctx, args[0])
	binary.LittleEndian.PutUint64(ctx[8:], args[1])
	res, err := kc.Programs["on_raw_sys_enter"].Run(&prog.RunOptions{Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	var want [4]uint64
	if err := kc.Variables["seen"].Get(&want); err != nil {
		t.Fatal(err)
	}
	for engine, c := range engineCollections(t, cs, nil) {
		ret, err := c.progs["on_raw_sys_enter"].RunRawTracepoint(args)
		var got [4]uint64
		b := variable(t, cs, c.maps, "seen")
		for k := range got {
			got[k] = binary.NativeEndian.Uint64(b[8*k:])
		}
		if err != nil || uint32(ret) != res.Retval || got != want {
			t.Errorf("%s: %d, %v, seen %v; kernel %d, seen %v", engine, ret, err, got, res.Retval, want)
		}
	}
}
