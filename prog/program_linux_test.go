//go:build linux

package prog

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
)

// skbLen is skb->len of a socket filter test run on an n-byte packet:
// bpf_prog_test_run_skb (net/bpf/test_run.c) runs eth_type_trans, which
// pulls the 14-byte Ethernet header, and pushes it back only for tc
// programs.
func skbLen(n int) uint32 { return uint32(n - 14) }

func TestSocketFilterArrayCounter(t *testing.T) {
	testenv.RequireRoot(t)
	p := mustLoad(t, counterSpec(Array), nil)
	data := packet(64)
	const repeat = 7
	res, err := p.Run(&RunOptions{Data: data, Repeat: repeat})
	if err != nil {
		t.Fatal(err)
	}
	if res.Retval != skbLen(len(data)) {
		t.Errorf("retval = %d, want skb->len %d", res.Retval, skbLen(len(data)))
	}
	// The payload comes back unchanged; the kernel does not restore the
	// Ethernet header it pulled for non-tc programs.
	if len(res.DataOut) != len(data) || string(res.DataOut[14:]) != string(data[14:]) {
		t.Errorf("data out = %x, want the input's payload %x", res.DataOut, data[14:])
	}
	var got uint64
	if err := p.Map("counters").Lookup(uint32(0), &got); err != nil {
		t.Fatal(err)
	}
	if got != repeat {
		t.Errorf("counter = %d after %d runs", got, repeat)
	}
	// The other elements stay zero; read them as raw bytes.
	raw := make([]byte, 8)
	if err := p.Map("counters").Lookup([]byte{1, 0, 0, 0}, raw); err != nil || binary.NativeEndian.Uint64(raw) != 0 {
		t.Errorf("element 1 = %x, %v; want zero", raw, err)
	}
}

func TestSocketFilterHashAndLRU(t *testing.T) {
	testenv.RequireRoot(t)
	for _, mt := range []MapType{Hash, LRUHash} {
		t.Run(mt.String(), func(t *testing.T) {
			const value = 0x1122334455667788
			p := mustLoad(t, hashWriterSpec(mt, value), nil)
			lens := []int{20, 60, 100}
			for _, n := range lens {
				res, err := p.Run(&RunOptions{Data: packet(n)})
				if err != nil {
					t.Fatal(err)
				}
				if res.Retval != 0 {
					t.Fatalf("bpf_map_update_elem returned %d", int32(res.Retval))
				}
			}
			m := p.Map("h")
			for _, n := range lens {
				var v uint64
				if err := m.Lookup(skbLen(n), &v); err != nil {
					t.Fatalf("lookup %d: %v", skbLen(n), err)
				}
				if v != value {
					t.Errorf("h[%d] = %#x, want %#x", skbLen(n), v, uint64(value))
				}
			}
			// The iterator sees exactly the keys the program wrote.
			seen := map[uint32]bool{}
			it := m.Iterate()
			var k uint32
			var v uint64
			for it.Next(&k, &v) {
				if v != value {
					t.Errorf("iterated h[%d] = %#x", k, v)
				}
				seen[k] = true
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			if len(seen) != len(lens) {
				t.Errorf("iterated keys %v, want %d keys", seen, len(lens))
			}
			for _, n := range lens {
				if !seen[skbLen(n)] {
					t.Errorf("iterator missed key %d", skbLen(n))
				}
			}
		})
	}
}

func TestPerCPUArrayFromProgram(t *testing.T) {
	testenv.RequireRoot(t)
	cpus, err := PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, counterSpec(PerCPUArray), nil)
	// Run on one CPU: the kernel runs BPF_PROG_TEST_RUN for socket
	// filters on the calling CPU, so all increments land in its slot.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	old := set
	target := -1
	for c := cpus - 1; c >= 0; c-- {
		if set.IsSet(c) {
			target = c
			break
		}
	}
	set.Zero()
	set.Set(target)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &old)
	const repeat = 5
	if _, err := p.Run(&RunOptions{Data: packet(32), Repeat: repeat}); err != nil {
		t.Fatal(err)
	}
	vals := make([]uint64, cpus)
	if err := p.Map("counters").Lookup(uint32(0), vals); err != nil {
		t.Fatal(err)
	}
	for c, v := range vals {
		want := uint64(0)
		if c == target {
			want = repeat
		}
		if v != want {
			t.Errorf("CPU %d: counter %d, want %d (ran on CPU %d)", c, v, want, target)
		}
	}
	// A per-CPU value with the wrong number of CPUs is an error.
	if err := p.Map("counters").Lookup(uint32(0), make([]uint64, cpus+1)); err == nil || !strings.Contains(err.Error(), "possible CPU") {
		t.Errorf("lookup with %d values: %v", cpus+1, err)
	}
}

func TestPerCPUHashUserspace(t *testing.T) {
	testenv.RequireRoot(t)
	cpus, err := PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range []MapType{PerCPUHash, LRUPerCPUHash} {
		// A 4-byte value exercises the kernel's rounding to 8 bytes per CPU.
		m, err := NewMap(&MapSpec{Name: "pc", Type: mt, KeySize: 4, ValueSize: 4, MaxEntries: 8})
		if err != nil {
			t.Fatal(err)
		}
		in := make([]uint32, cpus)
		for c := range in {
			in[c] = uint32(100 + c)
		}
		if err := m.Update(uint32(3), in, UpdateAny); err != nil {
			t.Fatal(err)
		}
		out := make([]uint32, cpus)
		if err := m.Lookup(uint32(3), out); err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, cpus*8)
		if err := m.Lookup(uint32(3), raw); err != nil {
			t.Fatal(err)
		}
		for c := range in {
			if out[c] != in[c] || binary.NativeEndian.Uint32(raw[c*8:]) != in[c] {
				t.Errorf("%s CPU %d: got %d (raw %x), want %d", mt, c, out[c], raw[c*8:c*8+8], in[c])
			}
		}
		m.Close()
	}
}

func TestTracingProgramsInfo(t *testing.T) {
	testenv.RequireRoot(t)
	for _, typ := range []Type{Kprobe, TracePoint} {
		t.Run(typ.String(), func(t *testing.T) {
			spec := &Spec{
				Name: "tr_" + typ.String(), Type: typ, License: "GPL",
				Instructions: insn.Instructions{
					insn.FnGetCurrentPIDTGID.Call(),
					insn.Mov.Imm(insn.R0, 0),
					insn.Exit(),
				},
			}
			p := mustLoad(t, spec, nil)
			info, err := p.Info()
			if err != nil {
				t.Fatal(err)
			}
			if info.Type != typ || info.Name != spec.Name || info.ID == 0 || len(info.Tag) != 16 {
				t.Errorf("info = %+v", info)
			}
			if info.XlatedSize != uint32(spec.Instructions.Slots()*insn.SlotSize) {
				t.Errorf("xlated size %d, want %d", info.XlatedSize, spec.Instructions.Slots()*insn.SlotSize)
			}
			if info.VerifiedInsns == 0 || !info.GPLCompatible {
				t.Errorf("verified insns %d, gpl %v", info.VerifiedInsns, info.GPLCompatible)
			}
			// bpftool is the independent reference.
			var bt struct {
				ID          uint32 `json:"id"`
				Type        string `json:"type"`
				Name        string `json:"name"`
				Tag         string `json:"tag"`
				BytesXlated uint32 `json:"bytes_xlated"`
				BytesJited  uint32 `json:"bytes_jited"`
			}
			bpftoolJSON(t, &bt, "prog", "show", "id", itoa(info.ID))
			if bt.ID != info.ID || bt.Name != info.Name || bt.Tag != info.Tag || bt.BytesXlated != info.XlatedSize || bt.BytesJited != info.JitedSize || bt.Type != typ.String() {
				t.Errorf("bpftool says %+v, Info says %+v", bt, info)
			}
			// Run is not supported for these types.
			if _, err := p.Run(&RunOptions{Data: packet(20)}); !errors.Is(err, ErrNotSupported) {
				t.Errorf("Run of a %s program: %v, want ErrNotSupported", typ, err)
			}
		})
	}
}

func itoa(v uint32) string { return uitoa(v) }

func uitoa(v uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

func TestRunContextAndErrors(t *testing.T) {
	testenv.RequireRoot(t)
	p := mustLoad(t, counterSpec(Array), nil)
	// __sk_buff as context in and out: the kernel copies the fields it
	// supports back (struct __sk_buff is 192 bytes since Linux 5.x).
	// __sk_buff.mark (offset 8) is one of the fields test runs accept.
	ctxIn := make([]byte, 192)
	binary.NativeEndian.PutUint32(ctxIn[8:], 0xabcd)
	ctxOut := make([]byte, 192)
	res, err := p.Run(&RunOptions{Data: packet(40), Context: ctxIn, ContextOut: ctxOut})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ContextOut) != 192 || binary.NativeEndian.Uint32(res.ContextOut[8:]) != 0xabcd {
		t.Errorf("context out %d bytes, mark %#x; want 192 bytes with mark 0xabcd", len(res.ContextOut), binary.NativeEndian.Uint32(res.ContextOut[8:]))
	}
	// A field the kernel does not accept (len, offset 0) is rejected.
	binary.NativeEndian.PutUint32(ctxIn[0:], 1)
	if _, err := p.Run(&RunOptions{Data: packet(40), Context: ctxIn}); !errors.Is(err, unix.EINVAL) {
		t.Errorf("context with len set: %v, want EINVAL", err)
	}
	if _, err := p.Run(&RunOptions{Data: packet(40), DataOut: make([]byte, 4)}); !errors.Is(err, unix.ENOSPC) {
		t.Errorf("small DataOut: %v, want ENOSPC", err)
	}
	if _, err := p.Run(&RunOptions{Data: []byte{1, 2}}); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "at least 14 bytes") {
		t.Errorf("2-byte packet: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(&RunOptions{Data: packet(40)}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("run after close: %v, want os.ErrClosed", err)
	}
	if err := p.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
	if _, err := p.Info(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("info after close: %v", err)
	}
}
