package insn_test

import (
	"fmt"

	"github.com/purebpf/purebpf/insn"
)

// Build a program with the builders and print it.
func Example() {
	prog := insn.Instructions{
		insn.Mov.Imm(insn.R0, 0),
		insn.JGT.Imm(insn.R1, 5, "out"),
		insn.Mov.Imm(insn.R0, 1),
		insn.Exit().WithLabel("out"),
	}
	fmt.Print(prog)
	// Output:
	// r0 = 0
	// if r1 > 5 goto out
	// r0 = 1
	// out:
	// exit
}

// Assemble text and encode it.
func ExampleParse() {
	prog, err := insn.Parse(`
		r0 = 0
		if r1 > 5 goto out   # labels resolve to offsets
		r0 = 1
	out:
		exit
	`)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := prog.Marshal()
	if err != nil {
		fmt.Println(err)
		return
	}
	for k := 0; k < len(b); k += insn.SlotSize {
		fmt.Printf("% x\n", b[k:k+insn.SlotSize])
	}
	// Output:
	// b7 00 00 00 00 00 00 00
	// 25 01 01 00 05 00 00 00
	// b7 00 00 00 01 00 00 00
	// 95 00 00 00 00 00 00 00
}

// Parse errors name the line and column.
func ExampleParse_error() {
	_, err := insn.Parse("r0 = 1\nw1 += r2\n")
	fmt.Println(err)
	// Output:
	// line 2, column 7: mixed 32-bit and 64-bit registers: "w1" and "r2"
}

// Helpers are called by name in text, and printed by name.
func ExampleParseHelper() {
	prog, err := insn.Parse(`
		r1 = map_fd(events) ll
		r2 = 8
		r3 = 0
		call ringbuf_reserve      # or: call bpf_ringbuf_reserve, call 131
		exit
	`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(prog[3] == insn.FnRingbufReserve.Call())
	fmt.Print(prog)
	f, ok := insn.ParseHelper("bpf_map_lookup_elem")
	fmt.Println(int32(f), ok)
	// Output:
	// true
	// r1 = map_fd(events) ll
	// r2 = 8
	// r3 = 0
	// call ringbuf_reserve
	// exit
	// 1 true
}

// Encode a program and decode it again.
func ExampleUnmarshal() {
	prog := insn.Instructions{
		insn.LoadImm64(insn.R0, 0x1122334455667788),
		insn.Exit(),
	}
	b, err := prog.Marshal()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(b), "bytes,", prog.Slots(), "slots")
	decoded, err := insn.Unmarshal(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(decoded)
	// Output:
	// 24 bytes, 3 slots
	// r0 = 0x1122334455667788 ll
	// exit
}
