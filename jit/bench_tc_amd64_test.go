//go:build amd64 && unix

package jit

import (
	"os"
	"testing"
	"time"

	"github.com/purebpf/purebpf/internal/tcctx"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// BenchmarkTC runs tc_ops.c on a 60-byte IPv4 frame in interp and the JIT
// (through a Runner) and, when privileged, in the kernel
// (BPF_PROG_TEST_RUN with repeat, its mean per run): mode 0 stores to
// the context and reads every field back (fields()); mode 1 also calls
// bpf_skb_store_bytes.
func BenchmarkTC(b *testing.B) {
	cs, err := prog.LoadCollectionSpec("testdata/tc_ops.o")
	if err != nil {
		b.Fatal(err)
	}
	frame := make([]byte, 60)
	frame[12], frame[13], frame[14], frame[22] = 0x08, 0x00, 0x45, 64
	for _, mode := range []uint32{0, 1} {
		name := map[uint32]string{0: "fields", 1: "store_bytes"}[mode]
		meta := interp.TCMeta{CB: [5]uint32{mode, 3, 4}}
		b.Run(name+"/interp_runner", func(b *testing.B) {
			c, err := interp.NewCollection(cs, nil)
			if err != nil {
				b.Fatal(err)
			}
			rn, err := c.Programs["tc_ops"].NewRunner()
			if err != nil {
				b.Fatal(err)
			}
			defer rn.Close()
			b.ReportAllocs()
			var m interp.TCMeta // outside the loop: a run keeps &m until it ends, so a local would escape
			for b.Loop() {
				m = meta
				if _, _, err := rn.RunTC(frame, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/jit_runner", func(b *testing.B) {
			c, err := NewCollection(cs, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			rn, err := c.Programs["tc_ops"].NewRunner()
			if err != nil {
				b.Fatal(err)
			}
			defer rn.Close()
			b.ReportAllocs()
			var m interp.TCMeta // outside the loop: a run keeps &m until it ends, so a local would escape
			for b.Loop() {
				m = meta
				if _, _, err := rn.RunTC(frame, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/kernel", func(b *testing.B) {
			if os.Geteuid() != 0 {
				b.Skip("BPF_PROG_TEST_RUN needs root")
			}
			c, err := prog.NewCollection(cs, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			res, err := c.Programs["tc_ops"].Run(&prog.RunOptions{Data: frame, Context: tcctx.In(&meta), Repeat: uint32(b.N)})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(res.Duration)/float64(time.Nanosecond), "kernel-ns/op")
		})
	}
}
