package btf_test

import (
	"fmt"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/insn"
)

// Types are Go values; lookups go by name and Go type.
func ExampleTypeByName() {
	spec, err := btf.NewSpec(&btf.Struct{Name: "point", Size: 8, Members: []btf.Member{
		{Name: "x", Type: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed, Bits: 32}},
		{Name: "y", Type: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed, Bits: 32}, Offset: 32},
	}})
	if err != nil {
		panic(err)
	}
	point, err := btf.TypeByName[*btf.Struct](spec, "point")
	if err != nil {
		panic(err)
	}
	size, _ := btf.Sizeof(point)
	fmt.Println(point.Name, size, point.Members[1].Name, point.Members[1].Offset/8)
	// Output: point 8 y 4
}

// CORERelocate rewrites an object's instructions for a target's layout;
// here the object expects a field at offset 0 that the target has at 8.
func ExampleCORERelocate() {
	u32 := &btf.Int{Name: "unsigned int", Size: 4, Bits: 32}
	local, _ := btf.NewSpec(&btf.Struct{Name: "task", Size: 4, Members: []btf.Member{{Name: "pid", Type: u32}}})
	target, _ := btf.NewSpec(&btf.Struct{Name: "task", Size: 12, Members: []btf.Member{
		{Name: "state", Type: &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed, Bits: 64}},
		{Name: "pid", Type: u32, Offset: 64},
	}})
	task, _ := local.TypeByName("task", btf.KindStruct)
	id, _ := local.TypeID(task)
	prog := insn.Instructions{insn.LoadMem(insn.R0, insn.R1, 0, insn.W), insn.Exit()}
	relos := []btf.CORERelocation{{InsnOff: 0, TypeID: id, Type: task, Access: "0:0", Kind: btf.FieldByteOffset}}
	prog, _, err := btf.CORERelocate(prog, relos, local, &btf.COREOptions{Targets: []*btf.Spec{target}})
	if err != nil {
		panic(err)
	}
	fmt.Println(prog[0])
	// Output: r0 = *(u32 *)(r1 + 8)
}

// LoadSpec reads the BTF of a clang-built object (or a raw blob such as
// /sys/kernel/btf/vmlinux); members point at their types.
func ExampleLoadSpec() {
	spec, err := btf.LoadSpec("testdata/core_flavors.bpf.o")
	if err != nil {
		fmt.Println(err)
		return
	}
	task, err := btf.TypeByName[*btf.Struct](spec, "task_struct___old")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range task.Members[:3] {
		size, _ := btf.Sizeof(m.Type)
		fmt.Printf("%s at byte %d, %d bytes\n", m.Name, m.Offset/8, size)
	}
	// Output:
	// state at byte 0, 8 bytes
	// flags at byte 8, 4 bytes
	// pid at byte 12, 4 bytes
}

// KernelSpec parses the running kernel's BTF once per process; its types
// give the kernel's layouts, here of a structure in the BPF ABI.
func ExampleKernelSpec() {
	spec, err := btf.KernelSpec()
	if err != nil {
		fmt.Println(err) // no /sys/kernel/btf/vmlinux: CONFIG_DEBUG_INFO_BTF is off
		return
	}
	insn, err := btf.TypeByName[*btf.Struct](spec, "bpf_insn")
	if err != nil {
		fmt.Println(err)
		return
	}
	size, _ := btf.Sizeof(insn)
	fmt.Println("struct bpf_insn:", size, "bytes,", len(insn.Members), "members")
	// Output: struct bpf_insn: 8 bytes, 5 members
}
