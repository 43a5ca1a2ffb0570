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

// Testing a socket filter in the kernel on a whole Ethernet frame, as an
// AF_PACKET socket (and interp) would show it. (Needs root or CAP_BPF.)
func ExampleProgram_RunSocketFilter() {
	spec := &prog.Spec{
		Name: "ipv4_only", Type: prog.SocketFilter, License: "GPL",
		Instructions: insn.Instructions{
			insn.Mov.Reg(insn.R6, insn.R1),
			insn.LoadAbs(12, insn.H), // the ethertype
			insn.JNE.Imm(insn.R0, 0x0800, "drop"),
			insn.Mov.Imm32(insn.R0, -1), // keep the whole packet
			insn.Exit(),
			insn.Mov.Imm(insn.R0, 0).WithLabel("drop"),
			insn.Exit(),
		},
	}
	p, err := prog.NewProgram(spec, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	frame := make([]byte, 14+40)
	frame[12], frame[13], frame[14] = 0x08, 0x00, 0x45 // IPv4
	verdict, err := p.RunSocketFilter(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("IPv4 frame: keep %#x bytes\n", verdict)
	frame[12], frame[13], frame[14] = 0x86, 0xdd, 0x60 // IPv6
	verdict, err = p.RunSocketFilter(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("IPv6 frame: keep %#x bytes\n", verdict)
}

// Writing and deleting many entries with one system call each.
// (Needs root or CAP_BPF.)
func ExampleMap_UpdateBatch() {
	m, err := prog.NewMap(&prog.MapSpec{Name: "ports", Type: prog.Hash, KeySize: 2, ValueSize: 8, MaxEntries: 16})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	ports := []uint16{22, 53, 80, 443}
	hits := []uint64{1, 2, 3, 4}
	n, err := m.UpdateBatch(ports, hits, prog.UpdateAny)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stored:", n)
	n, err = m.DeleteBatch(ports[:2])
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("deleted:", n)
	var v uint64
	fmt.Println("port 22:", m.Lookup(uint16(22), &v))
}

// ExampleNewCollection loads a clang-built object, sets its const
// volatile configuration and reads a global variable after a run.
func ExampleNewCollection() {
	spec, err := prog.LoadCollectionSpec("testdata/bpf/globals.bpf.o")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := spec.Variables["cfg_mult"].Set(uint32(2)); err != nil {
		fmt.Println(err)
		return
	}
	coll, err := prog.NewCollection(spec, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer coll.Close()
	res, err := coll.Programs["compute"].Run(&prog.RunOptions{Data: make([]byte, 20)})
	if err != nil {
		fmt.Println(err)
		return
	}
	var runs uint64
	if err := coll.Variables["runs"].Get(&runs); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("retval", res.Retval, "runs", runs)
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
		{"Program_RunSocketFilter", ExampleProgram_RunSocketFilter, "IPv4 frame: keep 0xffffffff bytes\nIPv6 frame: keep 0x0 bytes\n"},
		{"NewCollection", ExampleNewCollection, "retval 40 runs 1\n"},
		{"Map_UpdateBatch", ExampleMap_UpdateBatch, "stored: 4\ndeleted: 2\nport 22: map \"ports\": lookup: key does not exist\n"},
	} {
		if got := testenv.CaptureStdout(t, c.run); got != c.want {
			t.Errorf("Example%s printed %q, want %q", c.name, got, c.want)
		}
	}
}
