//go:build linux

package maps

import (
	"bytes"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

const (
	cmdProgLoad    = 5
	cmdProgTestRun = 10
)

type progLoadAttr struct {
	ProgType    uint32
	InsnCnt     uint32
	Insns       uint64
	License     uint64
	LogLevel    uint32
	LogSize     uint32
	LogBuf      uint64
	KernVersion uint32
	ProgFlags   uint32
	Name        [16]byte
	_           [64]byte
}

type testRunAttr struct {
	ProgFD      uint32
	Retval      uint32
	DataSizeIn  uint32
	DataSizeOut uint32
	DataIn      uint64
	DataOut     uint64
	Repeat      uint32
	Duration    uint32
	_           [48]byte
}

// ringbufOutputProg loads a socket filter that calls
// bpf_ringbuf_output(map, stack buffer, size, 0) and returns its result.
func ringbufOutputProg(t *testing.T, mapFD int, size int32) int {
	t.Helper()
	var is insn.Instructions
	for off := int16(-512); off < 0; off += 8 {
		is = append(is, insn.StoreImm(insn.R10, off, int32(off), insn.DW))
	}
	ld := insn.LoadMapPtr(insn.R1, "rb")
	ld.SetMapFD(int32(mapFD))
	is = append(is,
		ld,
		insn.Mov.Reg(insn.R2, insn.R10),
		insn.Add.Imm(insn.R2, -512),
		insn.Mov.Imm(insn.R3, size),
		insn.Mov.Imm(insn.R4, 0),
		insn.Call(int32(insn.FnRingbufOutput)),
		insn.Exit(),
	)
	return loadSocketFilter(t, is)
}

// loadSocketFilter loads is (resolving its labels) as a socket filter.
func loadSocketFilter(t *testing.T, is insn.Instructions) int {
	t.Helper()
	is, err := is.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	code, err := is.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	license := []byte("GPL\x00")
	logBuf := make([]byte, 1<<16)
	a := progLoadAttr{
		ProgType: uint32(prog.SocketFilter),
		InsnCnt:  uint32(len(code) / 8),
		Insns:    uint64(uintptr(unsafe.Pointer(&code[0]))),
		License:  uint64(uintptr(unsafe.Pointer(&license[0]))),
		LogLevel: 1,
		LogSize:  uint32(len(logBuf)),
		LogBuf:   uint64(uintptr(unsafe.Pointer(&logBuf[0]))),
	}
	fd, err := bpf(cmdProgLoad, unsafe.Pointer(&a), unsafe.Sizeof(a))
	if err != nil {
		t.Fatalf("load: %v\n%s", err, bytes.TrimRight(logBuf, "\x00"))
	}
	return int(fd)
}

// TestKernelRingbufReserveZero asks the kernel what interp's
// ringbuf_reserve of 0 bytes follows: the verifier accepts a constant size
// of 0 (ARG_CONST_ALLOC_SIZE_OR_ZERO) and the helper returns a record, not
// NULL, which the program must then submit or discard.
func TestKernelRingbufReserveZero(t *testing.T) {
	testenv.RequireRoot(t)
	km, err := kcreate(prog.MapSpec{Type: prog.RingBuf, MaxEntries: 4096})
	if err != nil {
		t.Fatalf("kernel ringbuf: %v", err)
	}
	defer km.Close()
	ld := insn.LoadMapPtr(insn.R1, "rb")
	ld.SetMapFD(int32(km.fd))
	pfd := loadSocketFilter(t, insn.Instructions{
		ld,
		insn.Mov.Imm(insn.R2, 0),
		insn.Mov.Imm(insn.R3, 0),
		insn.Call(int32(insn.FnRingbufReserve)),
		insn.JEq.Imm(insn.R0, 0, "null"),
		insn.Mov.Reg(insn.R1, insn.R0),
		insn.Mov.Imm(insn.R2, 0),
		insn.Call(int32(insn.FnRingbufDiscard)),
		insn.Mov.Imm(insn.R0, 1),
		insn.Exit(),
		insn.Mov.Imm(insn.R0, 0).WithLabel("null"),
		insn.Exit(),
	})
	defer unix.Close(pfd)
	if got := testRun(t, pfd); got != 1 {
		t.Fatalf("kernel: ringbuf_reserve(rb, 0, 0) returned NULL (%d), want a record", got)
	}
}

func testRun(t *testing.T, progFD int) int32 {
	t.Helper()
	data := make([]byte, 64)
	a := testRunAttr{ProgFD: uint32(progFD), DataSizeIn: uint32(len(data)), DataIn: uint64(uintptr(unsafe.Pointer(&data[0]))), Repeat: 1}
	if _, err := bpf(cmdProgTestRun, unsafe.Pointer(&a), unsafe.Sizeof(a)); err != nil {
		t.Fatalf("test run: %v", err)
	}
	return int32(a.Retval)
}

// TestDifferentialRingBufCapacity fills a kernel ring buffer with
// bpf_ringbuf_output from a real program until it fails, for several
// record sizes, and requires the userspace ring buffer to accept exactly
// as many records and then fail with the same errno (EAGAIN).
func TestDifferentialRingBufCapacity(t *testing.T) {
	testenv.RequireRoot(t)
	for _, size := range []int32{0, 1, 8, 13, 100, 500, 512} {
		spec := prog.MapSpec{Type: prog.RingBuf, MaxEntries: 4096}
		km, err := kcreate(spec)
		if err != nil {
			t.Fatalf("kernel ringbuf: %v", err)
		}
		pfd := ringbufOutputProg(t, km.fd, size)
		kn, kret := 0, int32(0)
		for kn < 10000 {
			if kret = testRun(t, pfd); kret != 0 {
				break
			}
			kn++
		}
		unix.Close(pfd)
		km.Close()

		um := mustNew(t, spec, nil).(*RingBuf)
		data := make([]byte, size)
		un := 0
		var uerr error
		for un < 10000 {
			if uerr = um.Output(data, 0); uerr != nil {
				break
			}
			un++
		}
		if kn != un || syscall.Errno(-kret) != errnoOf(uerr) {
			t.Errorf("size %d: kernel took %d records then returned %d, userspace %d then %v", size, kn, kret, un, uerr)
		}
		t.Logf("size %d: %d records fit, then errno %d", size, kn, -kret)
	}
}
