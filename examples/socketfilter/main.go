// Command socketfilter is purebpf's socket filter demo. It builds an eBPF
// filter with package insn that passes IPv4 UDP packets to one port and
// counts every IP packet per protocol in an array map, attaches it to an
// AF_PACKET socket on lo, makes some loopback traffic and prints what the
// filter lets through, then the counters.
//
// Without the privilege to capture (CAP_NET_RAW and CAP_BPF), or with
// -simulate, it runs the same filter in package interp over the same kinds
// of packets built in memory and prints each verdict.
//
//	go run ./examples/socketfilter [-port 9999] [-duration 3s] [-count N] [-iface lo] [-simulate]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var cfg config
	port := flag.Uint("port", 9999, "UDP `port` the filter passes")
	flag.StringVar(&cfg.iface, "iface", "lo", "`interface` to capture on")
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "how long to capture")
	flag.IntVar(&cfg.count, "count", 0, "stop after `N` passed packets (0: no limit)")
	flag.BoolVar(&cfg.simulate, "simulate", false, "run the filter in interp instead of the kernel")
	flag.Parse()
	if *port == 0 || *port > 65535 {
		fmt.Fprintln(os.Stderr, "socketfilter: -port must be 1 to 65535")
		os.Exit(2)
	}
	cfg.port = uint16(*port)
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "socketfilter:", err)
		os.Exit(1)
	}
}
