//go:build linux

package link_test

import (
	"fmt"
	"net"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/link"
	"github.com/purebpf/purebpf/prog"
)

// Attach an XDP program that passes every packet to lo in generic mode,
// then swap in one that drops everything, atomically.
func ExampleAttachXDP() {
	pass, err := prog.NewProgram(&prog.Spec{Name: "pass", Type: prog.XDP, License: "GPL",
		Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 2), insn.Exit()}}, nil) // XDP_PASS
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pass.Close()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		fmt.Println(err)
		return
	}
	l, err := link.AttachXDP(pass, lo.Index, &link.XDPOptions{Mode: link.XDPGeneric})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close() // detaches
	info, err := l.Info()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.Type, "on ifindex", info.Ifindex)
}

// Attach a tc program to an interface's ingress the best way the kernel
// offers: a tcx link on Linux 6.6+, a cls_bpf filter before.
func ExampleAttachTC() {
	count, err := prog.NewProgram(&prog.Spec{Name: "ingress", Type: prog.SchedCLS, License: "GPL",
		Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, -1), insn.Exit()}}, nil) // TCX_NEXT
	if err != nil {
		fmt.Println(err)
		return
	}
	defer count.Close()
	l, err := link.AttachTC(count, 1, &link.TCOptions{Direction: link.Ingress})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	info, _ := l.Info()
	fmt.Println("attached as", info.Type)
}

// Pin a link so that it outlives the process, and open it again.
func ExampleLoadPinned() {
	l, err := link.LoadPinned("/sys/fs/bpf/myapp/xdp")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close() // the pin keeps it attached
	info, _ := l.Info()
	fmt.Println(info.Type, info.ProgramID)
}
