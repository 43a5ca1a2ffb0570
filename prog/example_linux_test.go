//go:build linux

package prog_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

// A socket filter that counts the packets it sees in an array map, loaded
// into the kernel and run on a test packet. (Needs root or CAP_BPF.)
func ExampleNewProgram() {
	spec := &prog.Spec{
		Name: "count", Type: prog.SocketFilter, License: "GPL",
		Maps: []*prog.MapSpec{{Name: "counts", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}},
		Instructions: insn.Instructions{
			insn.StoreImm(insn.RFP, -4, 0, insn.W), // key 0
			insn.Mov.Reg(insn.R2, insn.RFP),
			insn.Add.Imm(insn.R2, -4),
			insn.LoadMapPtr(insn.R1, "counts"),
			insn.FnMapLookupElem.Call(),
			insn.JEq.Imm(insn.R0, 0, "out"),
			insn.Mov.Imm(insn.R1, 1),
			insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1),
			insn.Mov.Imm(insn.R0, 0).WithLabel("out"),
			insn.Exit(),
		},
	}
	p, err := prog.NewProgram(spec, nil)
	if err != nil {
		var ve *prog.VerifierError
		if errors.As(err, &ve) {
			fmt.Println(ve.Log) // the whole verifier log
		}
		fmt.Println(err)
		return
	}
	defer p.Close()
	if _, err := p.Run(&prog.RunOptions{Data: make([]byte, 64), Repeat: 3}); err != nil {
		fmt.Println(err)
		return
	}
	var n uint64
	if err := p.Map("counts").Lookup(uint32(0), &n); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("packets:", n)
}

// Iterating over a kernel map; NewIterator works on any Mapper, such as
// interp's userspace maps, too.
func ExampleNewIterator() {
	m, err := prog.NewMap(&prog.MapSpec{Name: "h", Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 8})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	for k := uint32(1); k <= 3; k++ {
		if err := m.Update(k, k*k, prog.UpdateAny); err != nil {
			fmt.Println(err)
			return
		}
	}
	sum := uint32(0)
	it := prog.NewIterator(m)
	var k, v uint32
	for it.Next(&k, &v) {
		sum += v
	}
	if err := it.Err(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sum of squares:", sum)
}

// Asking the kernel whether a helper is available before relying on it.
func ExampleHaveHelper() {
	err := prog.HaveHelper(prog.SocketFilter, insn.FnRingbufOutput)
	switch {
	case errors.Is(err, prog.ErrNotSupported):
		fmt.Println("no ring buffers here:", err)
	case err != nil:
		fmt.Println("cannot tell:", err)
	default:
		fmt.Println("bpf_ringbuf_output is available")
	}
}

// TestExamples runs the examples above and checks what they print. They
// carry no "Output:" comment, because go test would run them without
// root too; this test runs them only as root (and fails under CI=true
// otherwise).
func TestExamples(t *testing.T) {
	testenv.RequireRoot(t)
	for _, c := range []struct {
		name string
		run  func()
		want string
	}{
		{"NewProgram", ExampleNewProgram, "packets: 3\n"},
		{"NewIterator", ExampleNewIterator, "sum of squares: 14\n"},
		{"HaveHelper", ExampleHaveHelper, "bpf_ringbuf_output is available\n"},
	} {
		if got := testenv.CaptureStdout(t, c.run); got != c.want {
			t.Errorf("Example%s printed %q, want %q", c.name, got, c.want)
		}
	}
}
