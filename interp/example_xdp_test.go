//go:build linux && amd64

package interp_test

import (
	"encoding/binary"
	"fmt"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// An XDP program reads the packet through the pointers of its xdp_md
// context, bounds-checked as the verifier demands, rewrites the
// destination MAC and bounces the frame (XDP_TX); RunXDP returns the
// action and the packet as the program left it.
func ExampleVM_RunXDP() {
	spec := &prog.Spec{
		Name: "bounce", Type: prog.XDP, License: "GPL",
		Instructions: insn.Instructions{
			insn.LoadMem(insn.R2, insn.R1, 0, insn.W), // ctx->data
			insn.LoadMem(insn.R3, insn.R1, 4, insn.W), // ctx->data_end
			insn.Mov.Reg(insn.R4, insn.R2),
			insn.Add.Imm(insn.R4, 14),
			insn.Mov.Imm(insn.R0, interp.XDPDrop),
			insn.JGT.Reg(insn.R4, insn.R3, "out"), // shorter than an Ethernet header
			insn.StoreImm(insn.R2, 0, 0x02, insn.B),
			insn.Mov.Imm(insn.R0, interp.XDPTX),
			insn.Exit().WithLabel("out"),
		},
	}
	vm, err := interp.New(spec, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	frame := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1, 2, 3, 4, 5, 0x08, 0x00}
	action, out, err := vm.RunXDP(frame, nil)
	fmt.Println(action, out[:6], err)
	// Output: 3 [2 255 255 255 255 255] <nil>
}

// NewCollection loads a clang-built object into interp: its programs share
// userspace maps, and its global variables live in array maps named after
// their sections, holding the object's initial values. xdp_ops.c adds
// each frame's length to seen_bytes (initially 7) and counts frames in
// .bss.
func ExampleNewCollection() {
	spec, err := prog.LoadCollectionSpec("../jit/testdata/xdp_ops.o")
	if err != nil {
		fmt.Println(err)
		return
	}
	coll, err := interp.NewCollection(spec, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	frame := make([]byte, 60) // a zeroed Ethernet frame: mode 0, XDP_PASS
	action, _, err := coll.Programs["xdp_ops"].RunXDP(frame, nil)
	fmt.Println(action, err)
	v := spec.Variables["seen_bytes"]
	data := coll.Maps[v.Map].LookupRaw(make([]byte, 4), 0)
	fmt.Println(v.Map, binary.LittleEndian.Uint64(data[v.Offset:]))
	// Output:
	// 2 <nil>
	// .data 67
}
