package bpftest_test

import (
	"fmt"
	"log"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/interp"
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

// Run a clang-built tc classifier on a TCP segment from port 22 with
// __sk_buff fields set, in interp, the JIT and, when the process may, the
// kernel: the verdict, the rewritten packet, the context fields the
// program wrote (mark, cb) and the maps must agree.
func Example_tc() {
	spec, err := prog.LoadCollectionSpec("testdata/pktparse.o")
	if err != nil {
		log.Fatal(err)
	}
	h, err := bpftest.New(spec, "tc_classify", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()

	// Ethernet, IPv4 (10.0.0.1 -> 10.0.0.2), TCP 22 -> 40000, SYN+ACK,
	// with valid checksums; the program keeps the TCP checksum valid.
	frame := []byte{
		0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00,
		0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0x66, 0xce, 10, 0, 0, 1, 10, 0, 0, 2,
		0, 22, 0x9c, 0x40, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x12, 0xff, 0xff, 0xff, 0x78, 0, 0,
	}
	res, err := h.Run(bpftest.Input{Packet: frame, TC: &interp.TCMeta{Mark: 7, Priority: 1}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("engines agree:", res.OK())
	out := res.Outcomes[0][len(res.Outcomes[0])-1] // the last engine to run
	fmt.Printf("verdict %d (TC_ACT_OK), TCP source port now %d, checksum %#04x, mark %#x, cb[0] %d\n",
		out.Ret, int(out.Packet[34])<<8|int(out.Packet[35]), int(out.Packet[50])<<8|int(out.Packet[51]), out.TC.Mark, out.TC.CB[0])
	// Output:
	// engines agree: true
	// verdict 0 (TC_ACT_OK), TCP source port now 2222, checksum 0xf6e0, mark 0xc1a5505, cb[0] 5
}
