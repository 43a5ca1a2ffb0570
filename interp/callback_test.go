package interp_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/jit"
)

// subprogs.bpf.o's callbacks run in interp, and in the JIT's collection
// with Fallback, which runs them in interp: bpf_loop(5, loop_cb) adds the
// squares of 0..4 to loop_sum, and bpf_for_each_map_elem over the
// 8-entry array adds every key and value (value 100 at key 1) to
// each_sum. (bpftest's corpus compares them with the kernel.)
func TestSubprogsCallbacks(t *testing.T) {
	cs := loadCorpus(t, "subprogs.bpf.o")
	ic, err := interp.NewCollection(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jit.NewCollection(cs, nil, nil); !errors.Is(err, jit.ErrCallbacks) || !errors.Is(err, jit.ErrNotSupported) {
		t.Fatalf("jit.NewCollection without Fallback: %v, want jit.ErrCallbacks", err)
	}
	jc, err := jit.NewCollection(cs, nil, &jit.Options{Fallback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer jc.Close()
	if jc.Programs["xdp_second"].Compiled() || !jc.Programs["xdp_first"].Compiled() {
		t.Errorf("Fallback: xdp_second compiled %v (want false), xdp_first %v (want true)",
			jc.Programs["xdp_second"].Compiled(), jc.Programs["xdp_first"].Compiled())
	}
	frame := make([]byte, 64)
	for engine, c := range map[string]engineCollection{"interp": collectionOf(ic.Programs, ic.Maps), "jit": collectionOf(jc.Programs, jc.Maps)} {
		type xdp interface {
			RunXDP([]byte, *interp.XDPMeta) (uint32, []byte, error)
		}
		for k := 1; k <= 2; k++ {
			act, _, err := c.progs["xdp_second"].(xdp).RunXDP(frame, nil)
			sum := binary.NativeEndian.Uint64(variable(t, cs, c.maps, "loop_sum"))
			if err != nil || act != interp.XDPPass || sum != uint64(30*k) {
				t.Errorf("%s: xdp_second run %d: %d, %v, loop_sum %d; want XDP_PASS, %d", engine, k, act, err, sum, 30*k)
			}
		}
		act, _, err := c.progs["xdp_third"].(xdp).RunXDP(frame, nil)
		sum := binary.NativeEndian.Uint64(variable(t, cs, c.maps, "each_sum"))
		if err != nil || act != interp.XDPPass || sum != 28+100 {
			t.Errorf("%s: xdp_third: %d, %v, each_sum %d; want XDP_PASS, 128", engine, act, err, sum)
		}
	}
}

// jit.New refuses a program with a callback, naming the feature; with
// Fallback it runs it in interp.
func TestJITCallbacksFallback(t *testing.T) {
	cs := loadCorpus(t, "callbacks.bpf.o")
	ic, err := interp.NewCollection(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	vm := ic.Programs["xdp_loops"]
	ps := vm.Spec()
	opts := &interp.Options{Maps: ic.Maps}
	if _, err := jit.New(ps, &jit.Options{Interp: opts}); !errors.Is(err, jit.ErrCallbacks) || !errors.Is(err, jit.ErrNotSupported) {
		t.Fatalf("jit.New: %v, want jit.ErrCallbacks", err)
	}
	jvm, err := jit.New(ps, &jit.Options{Interp: opts, Fallback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer jvm.Close()
	if jvm.Compiled() {
		t.Error("a program with callbacks compiled")
	}
	frame := make([]byte, 64)
	frame[12], frame[13], frame[14] = 3, 4, 5 // bpf_loop(7), stopping at index 5
	if _, _, err := jvm.RunXDP(frame, nil); err != nil {
		t.Fatal(err)
	}
	want := uint64(0 + 1 + 4 + 9 + 16 + 25 + 6) // index*index + 1 for 0..5
	if got := binary.NativeEndian.Uint64(variable(t, cs, ic.Maps, "loop_sum")); got != want {
		t.Errorf("loop_sum %d, want %d", got, want)
	}
	if got := binary.NativeEndian.Uint64(variable(t, cs, ic.Maps, "loop_ret")); got != 6 {
		t.Errorf("loop_ret %d, want 6", got)
	}
}
