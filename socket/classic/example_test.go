package classic_test

import (
	"fmt"
	"log"

	"golang.org/x/net/bpf"

	"github.com/purebpf/purebpf/socket/classic"
)

// Translate "tcpdump -dd arp" into eBPF.
func ExampleTranslateRaw() {
	arp := []bpf.RawInstruction{
		{Op: 0x28, K: 0x0000000c},
		{Op: 0x15, Jf: 1, K: 0x00000806},
		{Op: 0x06, K: 0x00040000},
		{Op: 0x06, K: 0x00000000},
	}
	is, err := classic.TranslateRaw(arp)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(is)
	// Output:
	// r6 = r1
	// r0 = *(u16 *)skb[12]
	// if w0 != 2054 goto c3
	// w0 = 262144
	// exit
	// c3:
	// w0 = 0
	// exit
}

// Errors name the classic instruction and the reason.
func ExampleCheck() {
	err := classic.Check([]bpf.RawInstruction{
		{Op: 0x15, Jt: 3, K: 1}, // jeq #1, jt 3: past the end
		{Op: 0x06, K: 1},
	})
	fmt.Println(err)
	// Output:
	// classic: instruction 0 (jeq #1,3): invalid classic BPF program: true branch target 4 is out of range (program has 2 instructions)
}
