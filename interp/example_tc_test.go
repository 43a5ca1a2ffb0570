//go:build linux && amd64

package interp_test

import (
	"fmt"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// A tc classifier marks IPv4 packets (skb->protocol, which the run sets
// from the Ethernet header as the kernel does) and rewrites their
// destination MAC with bpf_skb_store_bytes; RunTC returns the verdict,
// the packet as the program left it, and in the TCMeta the context fields
// the program changed.
func ExampleVM_RunTC() {
	spec := &prog.Spec{
		Name: "mark", Type: prog.SchedCLS, License: "GPL",
		Instructions: insn.Instructions{
			insn.LoadMem(insn.R2, insn.R1, 16, insn.W), // skb->protocol, network byte order
			insn.Mov.Imm(insn.R0, interp.TCActShot),
			insn.JNE.Imm(insn.R2, 0x0008, "out"),  // not htons(ETH_P_IP)
			insn.StoreImm(insn.R1, 8, 42, insn.W), // skb->mark = 42
			insn.StoreImm(insn.R10, -8, 0x02, insn.DW),
			insn.Mov.Imm(insn.R2, 0), // offset
			insn.Mov.Reg(insn.R3, insn.R10),
			insn.Add.Imm(insn.R3, -8), // from
			insn.Mov.Imm(insn.R4, 6),  // len
			insn.Mov.Imm(insn.R5, 0),  // flags
			insn.FnSKBStoreBytes.Call(),
			insn.Exit().WithLabel("out"),
		},
	}
	vm, err := interp.New(spec, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	frame := make([]byte, 34) // an Ethernet header and a (zero) IPv4 header
	frame[12] = 0x08
	var meta interp.TCMeta
	verdict, out, err := vm.RunTC(frame, &meta)
	fmt.Println(verdict, out[:6], meta.Mark, err)
	// Output: 0 [2 0 0 0 0 0] 42 <nil>
}
