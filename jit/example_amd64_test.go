//go:build amd64 && unix

package jit_test

import (
	"fmt"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// A raw-memory program compiled to machine code: it sums the bytes of its
// memory (r1 = address, r2 = length). Checked mode is the default, so an
// access outside the memory would be an error, not a crash.
func Example() {
	spec := &prog.Spec{
		Name: "sum",
		Type: prog.UnspecifiedProgram,
		Instructions: insn.Instructions{
			insn.Mov.Imm(insn.R0, 0),
			insn.JEq.Imm(insn.R2, 0, "out"),
			insn.LoadMem(insn.R3, insn.R1, 0, insn.B).WithLabel("loop"),
			insn.Add.Reg(insn.R0, insn.R3),
			insn.Add.Imm(insn.R1, 1),
			insn.Sub.Imm(insn.R2, 1),
			insn.JNE.Imm(insn.R2, 0, "loop"),
			insn.Exit().WithLabel("out"),
		},
	}
	vm, err := jit.New(spec, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer vm.Close()
	r0, err := vm.RunMemory([]byte{1, 2, 3, 4})
	fmt.Println(r0, err)
	// Output: 10 <nil>
}

// A Runner is the fast path for one goroutine running one program again
// and again: it owns its machine state instead of taking it from the VM
// for each run. Make one per goroutine; it is not safe for concurrent use.
func ExampleVM_NewRunner() {
	spec := &prog.Spec{
		Name: "first",
		Type: prog.UnspecifiedProgram,
		Instructions: insn.Instructions{
			insn.LoadMem(insn.R0, insn.R1, 0, insn.B),
			insn.Exit(),
		},
	}
	vm, err := jit.New(spec, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer vm.Close()
	rn, err := vm.NewRunner()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rn.Close()
	for _, mem := range [][]byte{{7}, {42, 1}, nil} {
		r0, err := rn.RunMemory(mem)
		fmt.Println(r0, err != nil)
	}
	// Output:
	// 7 false
	// 42 false
	// 0 true
}
