//go:build !(amd64 && unix)

package jit

import (
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
)

// trace runs the program in interp (no JIT on this platform).
func (vm *VM) trace(k engine.TraceKind, record []byte, args []uint64, pd *interp.PerfEventData) (uint64, error) {
	return vm.traceInterp(k, record, args, pd)
}

// runnerTrace runs the program in interp (no JIT on this platform).
func (rn *Runner) runnerTrace(k engine.TraceKind, record []byte, args []uint64, pd *interp.PerfEventData) (uint64, error) {
	if rn.ir == nil {
		return 0, errRunnerClosed()
	}
	return traceRunner(rn.ir, k, record, args, pd)
}

// unbindTrace has nothing to do: Runners are interp.Runners here.
func (rn *Runner) unbindTrace() {}

// unbindXDP has nothing to do: Runners are interp.Runners here.
func (rn *Runner) unbindXDP() {}
