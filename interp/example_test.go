package interp_test

import (
	"encoding/binary"
	"fmt"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// dnsFilter accepts IPv4 UDP packets to port 53 whole and drops the rest,
// counting accepted packets in slot 0 of the array map "count".
func dnsFilter() *prog.Spec {
	return &prog.Spec{
		Name:    "dns",
		Type:    prog.SocketFilter,
		License: "GPL",
		Maps:    []*prog.MapSpec{{Name: "count", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}},
		Instructions: insn.Instructions{
			insn.Mov.Reg(insn.R6, insn.R1), // LD_ABS needs the context in r6
			insn.LoadAbs(12, insn.H),       // EtherType
			insn.JNE.Imm(insn.R0, 0x0800, "drop"),
			insn.LoadAbs(14+9, insn.B), // IPv4 protocol
			insn.JNE.Imm(insn.R0, 17, "drop"),
			insn.LoadAbs(14, insn.B), // IHL
			insn.And.Imm(insn.R0, 0x0f),
			insn.LSh.Imm(insn.R0, 2),
			insn.Mov.Reg(insn.R7, insn.R0),
			insn.LoadInd(insn.R7, 14+2, insn.H), // UDP destination port
			insn.JNE.Imm(insn.R0, 53, "drop"),
			// count[0]++
			insn.StoreImm(insn.R10, -4, 0, insn.W),
			insn.LoadMapPtr(insn.R1, "count"),
			insn.Mov.Reg(insn.R2, insn.R10),
			insn.Add.Imm(insn.R2, -4),
			insn.Call(int32(insn.FnMapLookupElem)),
			insn.JEq.Imm(insn.R0, 0, "accept"),
			insn.Mov.Imm(insn.R1, 1),
			insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1),
			insn.LoadMem(insn.R0, insn.R6, 0, insn.W).WithLabel("accept"), // skb->len: keep it all
			insn.Exit(),
			insn.Mov.Imm(insn.R0, 0).WithLabel("drop"),
			insn.Exit(),
		},
	}
}

// packet builds an Ethernet + IPv4 + UDP packet.
func packet(proto uint8, dport uint16) []byte {
	p := make([]byte, 14+20+8+4)
	binary.BigEndian.PutUint16(p[12:], 0x0800)
	p[14] = 0x45 // version 4, 20-byte header
	p[14+9] = proto
	binary.BigEndian.PutUint16(p[14+20+2:], dport)
	return p
}

// Example runs a socket filter on packets built in memory. interp checks
// what it needs to run the program safely, but it is not a verifier: the
// kernel's verifier decides whether the program may load (try it with
// prog.NewProgram), and a program that runs here may be one it rejects.
func Example() {
	vm, err := interp.New(dnsFilter(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, pkt := range [][]byte{packet(17, 53), packet(17, 123), packet(6, 53), packet(17, 53)} {
		keep, err := vm.RunSocketFilter(pkt, &interp.SKBMeta{Protocol: 0x0800})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("keep %d of %d bytes\n", keep, len(pkt))
	}
	var n uint64
	if err := vm.Map("count").Lookup(uint32(0), &n); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("DNS packets:", n)
	// Output:
	// keep 46 of 46 bytes
	// keep 0 of 46 bytes
	// keep 0 of 46 bytes
	// keep 46 of 46 bytes
	// DNS packets: 2
}

// ExampleLoad runs raw bytecode on a memory buffer, as the conformance
// suite and uBPF do: r1 points at the memory and r2 holds its length.
func ExampleLoad() {
	code, err := insn.Instructions{
		insn.LoadMem(insn.R0, insn.R1, 0, insn.W),
		insn.Add.Reg(insn.R0, insn.R2),
		insn.Exit(),
	}.Marshal()
	if err != nil {
		fmt.Println(err)
		return
	}
	vm, err := interp.Load(code, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	r0, err := vm.RunMemory([]byte{40, 0, 0, 0, 0, 0})
	fmt.Println(r0, err)
	// Output: 46 <nil>
}

// ExampleVM_NewRunner runs a filter on one goroutine through a Runner, the
// fast path for many runs: it keeps its machine state between runs, and
// builds the socket's __sk_buff context only if the program reads it.
func ExampleVM_NewRunner() {
	vm, err := interp.New(dnsFilter(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	rn, err := vm.NewRunner()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rn.Close()
	kept := 0
	for range 1000 {
		if n, err := rn.RunSocketFilter(packet(17, 53), nil); err == nil && n > 0 {
			kept++
		}
	}
	fmt.Println("kept", kept)
	// Output: kept 1000
}

// ExampleRegistry_Register replaces a helper with a test double.
func ExampleRegistry_Register() {
	helpers := interp.DefaultHelpers()
	helpers.Register(insn.FnGetPrandomU32, func(*interp.Env, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
		return 4, nil // chosen by fair dice roll
	})
	vm, err := interp.New(&prog.Spec{Instructions: insn.Instructions{
		insn.Call(int32(insn.FnGetPrandomU32)),
		insn.Exit(),
	}}, &interp.Options{Helpers: helpers})
	if err != nil {
		fmt.Println(err)
		return
	}
	r0, err := vm.RunMemory(nil)
	fmt.Println(r0, err)
	// Output: 4 <nil>
}
