//go:build linux

package prog

import (
	"testing"
	"time"
	"unsafe"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/sys"
	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
)

// The raw benchmarks are the floor: the same bpf(2) command issued with
// unix.Syscall on a prepared attribute, with no key/value conversion,
// error wrapping or fd bookkeeping.

func benchMap(b *testing.B, mt MapType) *Map {
	testenv.RequireRoot(b)
	m, err := NewMap(&MapSpec{Name: "bench", Type: mt, KeySize: 4, ValueSize: 8, MaxEntries: 1024})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	for i := uint32(0); i < 1024; i++ {
		if err := m.Update(i, uint64(i), UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

func rawElem(b *testing.B, cmd sys.Cmd, attr *sys.MapElemAttr) {
	for i := 0; i < b.N; i++ {
		_, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(unsafe.Pointer(attr)), unsafe.Sizeof(*attr))
		if errno != 0 {
			b.Fatal(errno)
		}
	}
}

func BenchmarkMapLookup(b *testing.B) {
	for _, mt := range []MapType{Hash, Array} {
		b.Run(mt.String(), func(b *testing.B) {
			m := benchMap(b, mt)
			key, val := uint32(7), uint64(0)
			b.Run("prog", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := m.Lookup(&key, &val); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("raw", func(b *testing.B) {
				b.ReportAllocs()
				attr := sys.MapElemAttr{MapFD: uint32(m.FD()), Key: sys.NewPointer(unsafe.Pointer(&key)), Value: sys.NewPointer(unsafe.Pointer(&val))}
				rawElem(b, sys.CmdMapLookupElem, &attr)
			})
		})
	}
}

func BenchmarkMapUpdate(b *testing.B) {
	for _, mt := range []MapType{Hash, Array} {
		b.Run(mt.String(), func(b *testing.B) {
			m := benchMap(b, mt)
			key, val := uint32(7), uint64(42)
			b.Run("prog", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := m.Update(&key, &val, UpdateAny); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("raw", func(b *testing.B) {
				b.ReportAllocs()
				attr := sys.MapElemAttr{MapFD: uint32(m.FD()), Key: sys.NewPointer(unsafe.Pointer(&key)), Value: sys.NewPointer(unsafe.Pointer(&val))}
				rawElem(b, sys.CmdMapUpdateElem, &attr)
			})
		})
	}
}

// thousand is a 1,000-instruction socket filter.
func thousand() *Spec {
	is := make(insn.Instructions, 1000)
	is[0] = insn.Mov.Imm(insn.R0, 0)
	for i := 1; i < 999; i++ {
		is[i] = insn.Add.Imm(insn.R0, 1)
	}
	is[999] = insn.Exit()
	return &Spec{Name: "thousand", Type: SocketFilter, License: "GPL", Instructions: is}
}

func BenchmarkLoad1000(b *testing.B) {
	testenv.RequireRoot(b)
	spec := thousand()
	b.Run("prog", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p, err := NewProgram(spec, nil)
			if err != nil {
				b.Fatal(err)
			}
			p.Close()
		}
	})
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		code, err := spec.Instructions.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		lic := []byte("GPL\x00")
		attr := sys.ProgLoadAttr{
			ProgType: sys.ProgTypeSocketFilter, InsnCnt: uint32(len(code) / 8),
			Insns: sys.NewSlicePointer(code), License: sys.NewSlicePointer(lic),
		}
		for i := 0; i < b.N; i++ {
			// The verifier gives up with EAGAIN (or EINTR) when a signal
			// is pending, as Go's preemption signals often are: retry
			// like any loader must.
			for {
				fd, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(sys.CmdProgLoad), uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
				if errno == unix.EAGAIN || errno == unix.EINTR {
					continue
				}
				if errno != 0 {
					b.Fatal(errno)
				}
				unix.Close(int(fd))
				break
			}
		}
	})
}

func TestLookupDoesNotAllocate(t *testing.T) {
	testenv.RequireRoot(t)
	m, err := NewMap(&MapSpec{Name: "alloc", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	key, val := uint32(1), uint64(5)
	if err := m.Update(&key, &val, UpdateAny); err != nil {
		t.Fatal(err)
	}
	kb, vb := make([]byte, 4), make([]byte, 8)
	kb[0] = 1
	allocs := testing.AllocsPerRun(100, func() {
		if err := m.Lookup(&key, &val); err != nil {
			t.Fatal(err)
		}
		if err := m.Lookup(kb, vb); err != nil {
			t.Fatal(err)
		}
		if err := m.Update(&key, &val, UpdateAny); err != nil {
			t.Fatal(err)
		}
		// Small keys and values by value are encoded on the stack.
		if err := m.Lookup(uint32(1), &val); err != nil {
			t.Fatal(err)
		}
		if err := m.Update(uint32(1), uint64(5), UpdateAny); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Lookup/Update into caller's values allocate %v times per run", allocs)
	}
}

// BenchmarkMapOverhead alternates one prog call and one raw bpf(2) call
// per iteration and times each, so that both see the same machine load;
// it reports their mean times and the ratio. On a shared, noisy machine
// this is steadier than comparing separate benchmark runs.
func BenchmarkMapOverhead(b *testing.B) {
	for _, mt := range []MapType{Hash, Array} {
		for _, op := range []string{"lookup", "update"} {
			b.Run(mt.String()+"/"+op, func(b *testing.B) {
				m := benchMap(b, mt)
				key, val := uint32(7), uint64(42)
				cmd := sys.CmdMapLookupElem
				if op == "update" {
					cmd = sys.CmdMapUpdateElem
				}
				attr := sys.MapElemAttr{MapFD: uint32(m.FD()), Key: sys.NewPointer(unsafe.Pointer(&key)), Value: sys.NewPointer(unsafe.Pointer(&val))}
				var tProg, tRaw time.Duration
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					var err error
					if op == "update" {
						err = m.Update(&key, &val, UpdateAny)
					} else {
						err = m.Lookup(&key, &val)
					}
					t1 := time.Now()
					_, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
					t2 := time.Now()
					if err != nil || errno != 0 {
						b.Fatal(err, errno)
					}
					tProg += t1.Sub(t0)
					tRaw += t2.Sub(t1)
				}
				b.ReportMetric(float64(tProg.Nanoseconds())/float64(b.N), "prog-ns/op")
				b.ReportMetric(float64(tRaw.Nanoseconds())/float64(b.N), "raw-ns/op")
				b.ReportMetric(float64(tProg)/float64(tRaw), "ratio")
			})
		}
	}
}
