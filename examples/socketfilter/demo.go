//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/socket"
)

// config is what the flags choose.
type config struct {
	iface    string
	port     uint16
	duration time.Duration
	count    int // stop after this many passed packets; 0 means no limit
	simulate bool
}

// errNoPrivilege marks a failure to load or attach for lack of
// privilege.
var errNoPrivilege = errors.New("not privileged")

func isPermission(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, os.ErrPermission)
}

// run captures with the kernel, or runs the filter in interp when asked
// to or when capture is not permitted.
func run(cfg config, w io.Writer) error {
	spec := filterSpec(cfg.port)
	if !cfg.simulate {
		err := capture(cfg, spec, w)
		if !errors.Is(err, errNoPrivilege) {
			return err
		}
		fmt.Fprintf(w, "capture needs CAP_NET_RAW and CAP_BPF (run as root): %v\n", err)
		fmt.Fprintf(w, "running the same filter in interp, over the same kinds of packets built in memory, instead:\n")
	}
	return simulate(cfg, spec, w)
}

func direction(t socket.PacketType) string {
	if t == socket.Outgoing {
		return "out"
	}
	return "in"
}

// capture loads the filter, attaches it to an AF_PACKET socket on
// cfg.iface, makes traffic and prints what passes.
func capture(cfg config, spec *prog.Spec, w io.Writer) error {
	p, err := prog.NewProgram(spec, nil)
	if err != nil {
		if isPermission(err) {
			return fmt.Errorf("%w: load filter: %v", errNoPrivilege, err)
		}
		return err
	}
	defer p.Close()
	// Attached before the socket is bound: no packet escapes the filter.
	c, err := socket.Open(cfg.iface, &socket.Options{Program: p})
	if err != nil {
		if isPermission(err) {
			return fmt.Errorf("%w: %v", errNoPrivilege, err)
		}
		return err
	}
	defer c.Close()

	fmt.Fprintf(w, "capturing on %s for %v: IPv4 UDP to port %d passes, everything else is dropped; every IP packet is counted\n",
		cfg.iface, cfg.duration, cfg.port)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		traffic(cfg.port, stop)
	}()

	deadline := time.Now().Add(cfg.duration)
	buf := make([]byte, 65536)
	passed := 0
	for cfg.count == 0 || passed < cfg.count {
		if err := c.SetReadDeadline(deadline); err != nil {
			return err
		}
		info, err := c.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return err
		}
		passed++
		fmt.Fprintf(w, "%-4s %s\n", direction(info.Type), describe(buf[:info.N], info.Len))
	}
	close(stop)
	wg.Wait()
	// Close would detach as well; detaching first shows the socket is
	// left clean even if the caller kept it.
	if err := c.Detach(); err != nil {
		return err
	}
	return report(w, p.Map(countsMap), passed, cfg.port, "kernel")
}

// traffic sends, every 300 ms until stop is closed: a UDP datagram to
// port, one to another port, and a short TCP exchange, all on loopback.
func traffic(port uint16, stop <-chan struct{}) {
	lo := net.IPv4(127, 0, 0, 1)
	// Listeners on both UDP ports, where free, so the kernel answers no
	// ICMP port unreachable.
	for _, p := range []uint16{port, otherPort(port)} {
		if l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: lo, Port: int(p)}); err == nil {
			defer l.Close()
		}
	}
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: lo})
	if err == nil {
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				io.Copy(io.Discard, c)
				c.Close()
			}
		}()
	}
	for round := 1; ; round++ {
		send := func(p uint16, msg string) {
			if c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: lo, Port: int(p)}); err == nil {
				c.Write([]byte(msg))
				c.Close()
			}
		}
		send(port, fmt.Sprintf("hello %d", round))
		send(otherPort(port), fmt.Sprintf("not for the filter %d", round))
		if ln != nil {
			if c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr)); err == nil {
				c.Write([]byte("hello over tcp"))
				c.Close()
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// simulate runs the filter in interp over two rounds of the demo's
// traffic built in memory, each frame seen twice as on lo.
func simulate(cfg config, spec *prog.Spec, w io.Writer) error {
	vm, err := interp.New(spec, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "interp: IPv4 UDP to port %d passes, everything else is dropped; every IP packet is counted\n", cfg.port)
	passed := 0
	for round := 0; round < 2; round++ {
		for _, frame := range simulatedTraffic(cfg.port) {
			for _, typ := range []socket.PacketType{socket.Outgoing, socket.Host} {
				meta := interp.SKBMeta{PktType: uint32(typ), Protocol: 0x0800, Ifindex: 1}
				verdict, err := vm.RunSocketFilter(frame, &meta)
				if err != nil {
					return err
				}
				result := "drop"
				if verdict != 0 {
					result = "PASS"
					passed++
				}
				fmt.Fprintf(w, "%s %-4s %s\n", result, direction(typ), describe(frame, len(frame)))
				if cfg.count > 0 && passed >= cfg.count {
					return report(w, vm.Map(countsMap), passed, cfg.port, "interp")
				}
			}
		}
	}
	return report(w, vm.Map(countsMap), passed, cfg.port, "interp")
}

// report prints the per-protocol counters and a one-line summary.
func report(w io.Writer, counts prog.Mapper, passed int, port uint16, where string) error {
	var parts []string
	var total uint64
	for proto := uint32(0); proto < 256; proto++ {
		var n uint64
		if err := counts.Lookup(proto, &n); err != nil {
			return fmt.Errorf("read counter %d: %w", proto, err)
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", protoName(int(proto)), n))
			total += n
		}
	}
	fmt.Fprintf(w, "per-protocol counters (%s map %q): %s\n", where, countsMap, strings.Join(parts, " "))
	tail := "filter detached, socket and program closed"
	if where == "interp" {
		tail = "run in interp, nothing attached to the kernel"
	}
	fmt.Fprintf(w, "summary: %d of %d IP packets passed the filter (IPv4 UDP to port %d); %s\n", passed, total, port, tail)
	return nil
}
