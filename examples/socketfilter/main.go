//go:build linux

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
