//go:build !linux

package bpftest

import (
	"fmt"
	"runtime"

	"github.com/purebpf/purebpf/prog"
)

// KernelAvailable returns an error wrapping prog.ErrNotSupported: the
// kernel runs programs only on Linux.
func KernelAvailable() error {
	return fmt.Errorf("BPF_PROG_TEST_RUN needs Linux, not %s: %w", runtime.GOOS, prog.ErrNotSupported)
}

func kernelUnusable(Kind) string { return KernelAvailable().Error() }

type kernelEngine struct{ engineRunner }

func newKernel(*prog.CollectionSpec, string, *Harness) (*kernelEngine, int, error) {
	return nil, 0, KernelAvailable()
}

func kernelXDPMaxMetadata() int { return 0 }

func kernelTCVersion() uint32 { return 0 }
