package kmem_test

import (
	"fmt"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/kmem"
	"github.com/purebpf/purebpf/prog"
)

// A task_struct with pid 42 whose real_parent has pid 1, laid out from a
// BTF spec the test builds (btf.KernelSpec gives the running kernel's),
// read by a tp_btf-style program through BTF pointers. A CO-RE program
// from an object would take the offsets from the same spec through
// interp.CollectionOptions.CORETargets; this one takes them from Field.
func Example() {
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed, Bits: 32}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Char, Bits: 8}
	task := &btf.Struct{Name: "task_struct", Size: 64}
	task.Members = []btf.Member{
		{Name: "pid", Type: i32, Offset: 8 * 8},
		{Name: "comm", Type: &btf.Array{Type: char, Index: i32, Nelems: 16}, Offset: 16 * 8},
		{Name: "real_parent", Type: &btf.Pointer{Target: task}, Offset: 32 * 8},
	}
	spec, err := btf.NewSpec(task)
	if err != nil {
		panic(err)
	}

	m := kmem.New(spec)
	parent, _ := m.New("task_struct")
	child, _ := m.New("task_struct")
	for _, err := range []error{
		parent.Set("pid", 1),
		child.Set("pid", 42),
		child.Set("comm", "init"),
		child.Set("real_parent", parent),
	} {
		if err != nil {
			panic(err)
		}
	}
	pid, _ := child.Field("pid")
	rp, _ := child.Field("real_parent")
	comm, _ := child.Field("comm")
	fmt.Printf("pid at %d, comm at %d, real_parent at %d\n", pid.Offset, comm.Offset, rp.Offset)

	// r0 = task->real_parent->pid * 1000 + task->pid, with task the
	// first argument, as a tp_btf program reads it.
	vm, err := interp.New(&prog.Spec{Name: "ppid", Type: prog.Tracing, Instructions: insn.Instructions{
		insn.LoadMem(insn.R1, insn.R1, 0, insn.DW),
		insn.LoadMem(insn.R2, insn.R1, int16(rp.Offset), insn.DW),
		insn.LoadMem(insn.R0, insn.R2, int16(pid.Offset), insn.W),
		insn.Mul.Imm(insn.R0, 1000),
		insn.LoadMem(insn.R3, insn.R1, int16(pid.Offset), insn.W),
		insn.Add.Reg(insn.R0, insn.R3),
		insn.Exit(),
	}}, &interp.Options{KernelMemory: m.Regions()})
	if err != nil {
		panic(err)
	}
	ret, err := vm.RunRawTracepoint([]uint64{child.Addr()})
	fmt.Println(ret, err)
	// A task pointer to nothing: the loads read 0, as BPF_PROBE_MEM
	// loads do in the kernel.
	ret, err = vm.RunRawTracepoint([]uint64{0})
	fmt.Println(ret, err)
	// Output:
	// pid at 8, comm at 16, real_parent at 32
	// 1042 <nil>
	// 0 <nil>
}
