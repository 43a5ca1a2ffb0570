//go:build !linux

package main

import (
	"fmt"
	"io"

	"github.com/purebpf/purebpf/prog"
)

// runKernel needs Linux's BPF_PROG_TEST_RUN.
func runKernel(p *program, in *input, o *runOptions, stdout io.Writer) error {
	return fmt.Errorf("--engine kernel: %w (BPF_PROG_TEST_RUN needs Linux)", prog.ErrNotSupported)
}
