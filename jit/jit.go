package jit

import (
	"errors"
	"fmt"

	"github.com/purebpf/purebpf/sys"
)

// maxCallFrames is the deepest bpf-to-bpf nesting counting the main
// program's frame: MAX_CALL_FRAMES (8 since Linux 4.16), the same limit
// package interp enforces.
const maxCallFrames = 8

// stackSize is one stack frame, MAX_BPF_STACK (512 bytes).
const stackSize = 512

// maxLoops is the may_goto allowance per frame, BPF_MAX_LOOPS (Linux 6.9+).
const maxLoops = 8 * 1024 * 1024

// Sentinel errors of package jit. Errors of a run are the same values
// package interp returns (interp.RunError wrapping interp.ErrMemoryAccess
// and so on); these are about compiling.
var (
	// ErrNotSupported is wrapped by the error of New on architectures and
	// systems without a JIT back end (everything but amd64 Unix). It is
	// sys.ErrNotSupported, the module's one such sentinel.
	ErrNotSupported = sys.ErrNotSupported

	// ErrCallbacks is the error of New for a program that loads a
	// function address (BPF_PSEUDO_FUNC: the callbacks of bpf_loop and
	// bpf_for_each_map_elem): compiled code does not run callbacks yet,
	// so such a program runs only in interp, or here with
	// Options.Fallback. It wraps ErrNotSupported.
	ErrCallbacks = fmt.Errorf("callbacks (function address loads for bpf_loop and bpf_for_each_map_elem) are not compiled: %w", ErrNotSupported)

	// ErrCompile is wrapped by every error about a program the JIT cannot
	// compile.
	ErrCompile = errors.New("jit: cannot compile program")
	// ErrUncheckedTailCall is wrapped by the run error of a checked
	// program that tail-calls a VM compiled with Options.Unchecked, unless
	// it was compiled with Options.AllowUncheckedTailCalls.
	ErrUncheckedTailCall = errors.New("jit: checked program tail-calls an unchecked VM")
)
