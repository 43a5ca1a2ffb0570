//go:build linux

package socket_test

import (
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"golang.org/x/net/bpf"

	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/socket"
	"github.com/purebpf/purebpf/socket/classic"
)

// Capture IPv4 UDP packets to port 53 on lo, received direction only,
// with a classic filter attached before the first packet can arrive.
func ExampleOpen() {
	dns := []bpf.Instruction{ // tcpdump -dd 'ip and udp dst port 53', IPv4 part
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0x0800, SkipTrue: 8},
		bpf.LoadAbsolute{Off: 23, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 17, SkipTrue: 6},
		bpf.LoadAbsolute{Off: 20, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: 4},
		bpf.LoadMemShift{Off: 14},
		bpf.LoadIndirect{Off: 16, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 53, SkipTrue: 1},
		bpf.RetConstant{Val: 0x40000},
		bpf.RetConstant{Val: 0},
	}
	raw, err := bpf.Assemble(dns)
	if err != nil {
		log.Fatal(err)
	}
	c, err := socket.Open("lo", &socket.Options{Classic: raw, Direction: socket.DirectionIn})
	if err != nil {
		log.Fatal(err) // needs CAP_NET_RAW
	}
	defer c.Close()
	buf := make([]byte, 65536)
	c.SetReadDeadline(time.Now().Add(time.Second))
	for {
		info, err := c.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%v %d bytes on ifindex %d\n", info.Type, info.Len, info.Ifindex)
	}
}

// Translate a classic filter to eBPF, load it into the kernel and attach
// it to a UDP socket the program already has.
func ExampleAttach() {
	onlyA := []bpf.Instruction{ // keep datagrams whose payload starts with 'A'
		bpf.LoadAbsolute{Off: 8, Size: 1}, // a UDP socket's filter sees the UDP header first
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 'A', SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	}
	spec, err := classic.Spec("only_a", onlyA)
	if err != nil {
		log.Fatal(err)
	}
	p, err := prog.NewProgram(spec, nil)
	if err != nil {
		log.Fatal(err) // needs CAP_BPF
	}
	defer p.Close()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if err := socket.Attach(conn, p); err != nil {
		log.Fatal(err)
	}
}
