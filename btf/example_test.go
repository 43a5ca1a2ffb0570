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
