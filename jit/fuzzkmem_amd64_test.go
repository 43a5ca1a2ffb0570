//go:build amd64 && unix

package jit

import (
	"encoding/binary"
	"syscall"
	"testing"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/kmem"
	"github.com/purebpf/purebpf/prog"
)

// kmemProbe is a Tracing program that, on arguments (src, size, load),
// copies size bytes at src to a zeroed 64-byte stack buffer with
// bpf_probe_read_kernel, loads 8 bytes at load directly (a BPF_PROBE_MEM
// load), and returns h*31^... over the buffer's words, mixed with the
// helper's result and the loaded value (kmemModel computes the same).
var kmemProbe = &prog.Spec{Name: "kmem_probe", Type: prog.Tracing, License: "GPL", Instructions: func() Instructions {
	is := Instructions{
		Mov.Reg(R6, R1),
		Mov.Reg(R1, R10), Add.Imm(R1, -64),
		LoadMem(R2, R6, 8, DW),
		LoadMem(R3, R6, 0, DW),
		FnProbeReadKernel.Call(),
		Mov.Reg(R7, R0),
		LoadMem(R8, R6, 16, DW),
		LoadMem(R9, R8, 0, DW),
		Mov.Imm(R0, 0),
	}
	for k := int16(-64); k < 0; k += 8 {
		is = append(is, Mul.Imm(R0, 31), LoadMem(R2, R10, k, DW), Add.Reg(R0, R2))
	}
	return append(is, LSh.Imm(R7, 1), Xor.Reg(R0, R7), Mul.Imm(R9, 3), Xor.Reg(R0, R9), Exit())
}()}

// kmemModel is what kmemProbe returns when the objects are the only
// memory it can read: a read is inside one object or it faults.
func kmemModel(objs []*kmem.Object, src, size, load uint64) uint64 {
	within := func(a, n uint64) []byte {
		for _, o := range objs {
			if a-o.Addr() < uint64(len(o.Data())) && uint64(len(o.Data()))-(a-o.Addr()) >= n {
				return o.Data()[a-o.Addr():][:n]
			}
		}
		return nil
	}
	var buf [64]byte
	res := uint64(0)
	if b := within(src, size); b != nil {
		copy(buf[:], b)
	} else {
		res = interp.Errno(syscall.EFAULT)
	}
	var v uint64
	if b := within(load, 8); b != nil {
		v = binary.NativeEndian.Uint64(b)
	}
	h := uint64(0)
	for k := 0; k < 64; k += 8 {
		h = h*31 + binary.NativeEndian.Uint64(buf[k:])
	}
	return h ^ res<<1 ^ v*3
}

// FuzzKernelMemory lays out random kernel objects with kmem and reads
// them, inside, across and outside their bounds, with
// bpf_probe_read_kernel and a BPF_PROBE_MEM load, in interp and jit:
// both give what the model says (the object's bytes, or -EFAULT with a
// zeroed destination and a 0 load), and neither reads other memory.
func FuzzKernelMemory(f *testing.F) {
	f.Add([]byte{16, 40, 200}, uint8(0), int16(0), uint8(8), uint8(1), int16(4))
	f.Add([]byte{8}, uint8(0), int16(-1), uint8(8), uint8(0), int16(1))
	f.Add([]byte{64, 64}, uint8(1), int16(60), uint8(64), uint8(0), int16(-8))
	f.Fuzz(func(t *testing.T, sizes []byte, srcObj uint8, srcOff int16, size uint8, loadObj uint8, loadOff int16) {
		if len(sizes) == 0 || len(sizes) > 8 {
			return
		}
		var m kmem.Memory
		objs := make([]*kmem.Object, len(sizes))
		for k, s := range sizes {
			b := make([]byte, 8+int(s)) // 8..263 bytes
			for j := range b {
				b[j] = byte(k*37 + j)
			}
			objs[k] = m.Bytes(b)
		}
		pick := func(k uint8, off int16) uint64 {
			o := objs[int(k)%len(objs)]
			off = max(min(off, int16(len(o.Data())+32)), -32)
			return o.Addr() + uint64(int64(off))
		}
		src, load := pick(srcObj, srcOff), pick(loadObj, loadOff)
		n := uint64(1 + size%64)
		// The objects are Go heap memory: next to one, in its 8 KiB span
		// of objects of its size class, lie only objects no program can
		// read (or other kmem objects); past the span may lie the run's
		// own stack, which probe_read_kernel may read as the kernel's
		// may. Accesses that leave the span are left out.
		span := func(a, n uint64, o *kmem.Object) bool { return a>>13 == o.Addr()>>13 && (a+n-1)>>13 == o.Addr()>>13 }
		if !span(src, n, objs[int(srcObj)%len(objs)]) || !span(load, 8, objs[int(loadObj)%len(objs)]) {
			return
		}
		want := kmemModel(objs, src, n, load)
		opts := &interp.Options{KernelMemory: m.Regions()}
		ivm, err := interp.New(kmemProbe, opts)
		if err != nil {
			t.Fatal(err)
		}
		vm, err := New(kmemProbe, &Options{Interp: opts})
		if err != nil {
			t.Fatal(err)
		}
		defer vm.Close()
		args := []uint64{src, n, load}
		ig, ierr := ivm.RunRawTracepoint(args)
		jg, jerr := vm.RunRawTracepoint(args)
		if ierr != nil || jerr != nil || ig != want || jg != want {
			t.Fatalf("src %#x (object %d at %#x, %d bytes), %d bytes, load %#x: interp %#x, %v; jit %#x, %v; want %#x",
				src, int(srcObj)%len(objs), objs[int(srcObj)%len(objs)].Addr(), len(objs[int(srcObj)%len(objs)].Data()), n, load, ig, ierr, jg, jerr, want)
		}
	})
}
