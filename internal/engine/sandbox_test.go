package engine

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// TestRingbufReserveZeroSize is issue 10's finding 5: ringbuf_reserve of
// 0 bytes returns a real record (not NULL, as __bpf_ringbuf_reserve does),
// which the end of the run discards like any other open reservation; it
// used to stay busy forever and wedge the ring. A reservation that fails
// leaves nothing pending. Either way the ring stays usable, and a 0-byte
// record can be submitted and read.
func TestRingbufReserveZeroSize(t *testing.T) {
	ms := []*prog.MapSpec{{Name: "rb", Type: prog.RingBuf, MaxEntries: 4096}}
	reserve := func(size int32, submit bool) *VM {
		is := insn.Instructions{
			insn.LoadMapPtr(r1, "rb"), insn.Mov.Imm(r2, size), insn.Mov.Imm(r3, 0), call(insn.FnRingbufReserve),
			insn.JEq.Imm(r0, 0, "null"),
		}
		if submit {
			is = append(is, insn.Mov.Reg(r1, r0), insn.Mov.Imm(r2, 0), call(insn.FnRingbufSubmit))
		}
		is = append(is, insn.Mov.Imm(r0, 1), insn.Exit(), insn.Mov.Imm(r0, 0).WithLabel("null"), insn.Exit())
		return specVM(t, 0, ms, nil, is...)
	}
	for _, c := range []struct {
		size int32
		want uint64
	}{{0, 1}, {8192, 0}, {-1, 0}} {
		vm := reserve(c.size, false)
		rb := vm.Map("rb").(*maps.RingBuf)
		for k := range 1000 { // more 8-byte records than the ring holds
			if r, err := vm.RunMemory(nil); err != nil || r != c.want {
				t.Fatalf("reserve(%d) run %d: %d, %v; want %d", c.size, k, r, err, c.want)
			}
			if _, err := rb.Read(); !errors.Is(err, maps.ErrNoRecord) {
				t.Fatalf("reserve(%d) run %d: read %v; want no record (a discarded one is skipped)", c.size, k, err)
			}
		}
		if err := rb.Output([]byte{1, 2, 3}, 0); err != nil {
			t.Fatalf("reserve(%d), then output: %v (the ring is wedged)", c.size, err)
		}
		if rec, err := rb.Read(); err != nil || len(rec) != 3 {
			t.Fatalf("reserve(%d), then read: % x, %v", c.size, rec, err)
		}
	}
	vm := reserve(0, true)
	if r, err := vm.RunMemory(nil); err != nil || r != 1 {
		t.Fatalf("reserve(0) and submit: %d, %v", r, err)
	}
	if rec, err := vm.Map("rb").(*maps.RingBuf).Read(); err != nil || len(rec) != 0 {
		t.Fatalf("read of a submitted 0-byte record: % x, %v", rec, err)
	}
}

// TestStackProbeSeesNoOldBytes is issue 10's finding 6 in interp: a
// program that never names r10 (so runs zero none of its frame) plants a
// value at a stack address in one run, directly, and reads it back with
// probe_read_kernel in the next. The main frame's region is only what the
// run zeroed, so it must never get the value back.
func TestStackProbeSeesNoOldBytes(t *testing.T) {
	is := insn.Instructions{
		insn.Mov.Reg(r6, r1),
		insn.LoadMem(r7, r6, 0, insn.DW),
		insn.LoadMem(r8, r6, 8, insn.DW),
		insn.JEq.Imm(r8, 1, "read"),
		insn.LoadMem(r1, r6, 16, insn.DW),
		insn.StoreMem(r7, 0, r1, insn.DW),
		insn.Mov.Imm(r0, 0),
		insn.Exit(),
		insn.Mov.Reg(r1, r6).WithLabel("read"),
		insn.Add.Imm(r1, 16),
		insn.Mov.Imm(r2, 8),
		insn.Mov.Reg(r3, r7),
		call(insn.FnProbeReadKernel),
		insn.LoadMem(r0, r6, 16, insn.DW),
		insn.Exit(),
	}
	vm := mustVM(t, is, nil)
	rn, _ := vm.NewRunner()
	defer rn.Close()
	e := vm.take()
	top := e.stackTop()
	vm.put(e)
	for _, r := range []struct {
		name string
		top  uint64
		run  func([]byte) (uint64, error)
	}{{"VM", top, vm.RunMemory}, {"Runner", rn.env.stackTop(), rn.RunMemory}} {
		for _, off := range []uint64{8, 64, 512} {
			mem := make([]byte, 24)
			binary.NativeEndian.PutUint64(mem, r.top-off)
			binary.NativeEndian.PutUint64(mem[16:], 0x4141414141414141)
			_, err := r.run(mem)
			if off > 8 && !errors.Is(err, ErrMemoryAccess) {
				t.Errorf("%s: a store at r10-%d, below what the program reaches: %v, want ErrMemoryAccess", r.name, off, err)
			}
			binary.NativeEndian.PutUint64(mem[8:], 1)
			if got, err := r.run(mem); got == 0x4141414141414141 || err != nil {
				t.Errorf("%s: read of r10-%d: %#x, %v; want 0 (zeroed or -EFAULT)", r.name, off, got, err)
			}
		}
	}
}
