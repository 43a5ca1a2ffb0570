//go:build !(amd64 && unix)

package jit

import (
	"fmt"
	"io"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
)

// code has no back end on this platform.
type code struct{}

type compileOptions struct {
	unchecked bool
	noBudget  bool
	mapHandle func(i insn.Instruction) (uint64, error)
}

// fastOptions has nothing to set without a back end.
func fastOptions(*compileOptions, *engine.VM) {}

// factOptions has no facts to compute without a back end.
func factOptions(*compileOptions, *engine.VM) {}

func newCode(insn.Instructions, compileOptions) (*code, error) {
	return nil, fmt.Errorf("jit: no back end for this platform: %w", ErrNotSupported)
}

func (c *code) close() error { return nil }

// run has no back end on this platform: Runners are interp.Runners.
type run struct{}

func (vm *VM) newRun() *run { return nil }

func (vm *VM) releaseRun(*run) {}

func (r *run) keepPackets(bool) {}

// RunMemory runs the program in interp (no JIT on this platform).
func (rn *Runner) RunMemory(mem []byte) (uint64, error) {
	if rn.ir == nil {
		return 0, errRunnerClosed()
	}
	return rn.ir.RunMemory(mem)
}

// RunSocketFilter runs the program in interp (no JIT on this platform).
func (rn *Runner) RunSocketFilter(pkt []byte, meta *interp.SKBMeta) (uint32, error) {
	if rn.ir == nil {
		return 0, errRunnerClosed()
	}
	return rn.ir.RunSocketFilter(pkt, meta)
}

// RunKprobe runs the program in interp (no JIT on this platform).
func (rn *Runner) RunKprobe(regs *interp.PtRegs) (uint64, error) {
	if rn.ir == nil {
		return 0, errRunnerClosed()
	}
	return rn.ir.RunKprobe(regs)
}

// RunMemory runs the program in interp (this platform has no JIT; New only
// succeeds here with Options.Fallback).
func (vm *VM) RunMemory(mem []byte) (uint64, error) { return vm.ivm.RunMemory(mem) }

// RunSocketFilter runs the program in interp (no JIT on this platform).
func (vm *VM) RunSocketFilter(pkt []byte, meta *interp.SKBMeta) (uint32, error) {
	return vm.ivm.RunSocketFilter(pkt, meta)
}

// RunKprobe runs the program in interp (no JIT on this platform).
func (vm *VM) RunKprobe(regs *interp.PtRegs) (uint64, error) { return vm.ivm.RunKprobe(regs) }

// Code returns nil: no JIT on this platform.
func (vm *VM) Code() []byte { return nil }

// Disassemble reports that the program runs in interp.
func (vm *VM) Disassemble(w io.Writer) error {
	_, err := fmt.Fprintln(w, "; not compiled: no JIT on this platform, the program runs in interp")
	return err
}

// RunXDP runs the program in interp (no JIT on this platform).
func (rn *Runner) RunXDP(frame []byte, meta *interp.XDPMeta) (uint32, []byte, error) {
	if rn.ir == nil {
		return 0, nil, errRunnerClosed()
	}
	return rn.ir.RunXDP(frame, meta)
}

// RunXDP runs the program in interp (no JIT on this platform).
func (vm *VM) RunXDP(frame []byte, meta *interp.XDPMeta) (uint32, []byte, error) {
	return vm.ivm.RunXDP(frame, meta)
}

// RunTC runs the program in interp (no JIT on this platform).
func (rn *Runner) RunTC(frame []byte, meta *interp.TCMeta) (uint32, []byte, error) {
	if rn.ir == nil {
		return 0, nil, errRunnerClosed()
	}
	return rn.ir.RunTC(frame, meta)
}

// RunTC runs the program in interp (no JIT on this platform).
func (vm *VM) RunTC(frame []byte, meta *interp.TCMeta) (uint32, []byte, error) {
	return vm.ivm.RunTC(frame, meta)
}
