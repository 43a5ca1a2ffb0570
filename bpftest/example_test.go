package bpftest_test

import (
	"fmt"
	"log"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/prog"
)

// Run a clang-built XDP parser on a UDP echo request in interp, in the
// JIT and, when the process may, in the kernel, and compare verdicts,
// packets and maps. In a test, Harness.Check reports differences to
// testing.TB instead.
func Example() {
	spec, err := prog.LoadCollectionSpec("testdata/pktparse.o")
	if err != nil {
		log.Fatal(err)
	}
	h, err := bpftest.New(spec, "xdp_parse", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()

	// Ethernet, IPv4 (10.0.0.1 -> 10.0.0.2), UDP 4000 -> 7 (echo).
	frame := []byte{
		0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00,
		0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0x66, 0xca, 10, 0, 0, 1, 10, 0, 0, 2,
		0x0f, 0xa0, 0, 7, 0, 12, 0, 0, 'p', 'i', 'n', 'g',
	}
	res, err := h.Run(bpftest.PacketInput(frame))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("engines agree:", res.OK())
	out := res.Outcomes[0][len(res.Outcomes[0])-1] // the last engine to run
	fmt.Printf("verdict %d (XDP_TX), UDP ports now % x\n", out.Ret, out.Packet[34:38])
	// Output:
	// engines agree: true
	// verdict 3 (XDP_TX), UDP ports now 00 07 0f a0
}
