//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var cfg config
	flag.IntVar(&cfg.requests, "requests", 8, "number of HTTP `requests` to send (1 to 1000)")
	flag.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "stop after this `duration` at the latest")
	flag.DurationVar(&cfg.interval, "interval", 0, "pause between requests")
	flag.BoolVar(&cfg.simulate, "simulate", false, "decode in-memory packets instead of tracing in the kernel")
	flag.Parse()
	if cfg.requests < 1 || cfg.requests > maxRequests {
		fmt.Fprintf(os.Stderr, "xdp: -requests must be 1 to %d\n", maxRequests)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	err := run(ctx, cfg, os.Stdout)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintln(os.Stderr, "xdp:", err)
		os.Exit(1)
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(os.Stderr, "xdp:", err)
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "xdp:", err)
		os.Exit(1)
	}
}
