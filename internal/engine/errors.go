package engine

import (
	"errors"
	"fmt"
	"os"
)

// Sentinel errors. Errors returned by New, Load and the Run methods wrap one
// of them, so errors.Is tells the cause.
var (
	// ErrLoad is wrapped by every error New and Load report about a
	// program that cannot run: bad encodings, jumps out of range, missing
	// exit, unknown helpers, kfunc calls, unsupported LD_IMM64 sources.
	ErrLoad = errors.New("interp: cannot load program")
	// ErrMemoryAccess is wrapped by a load, store, atomic or helper argument
	// outside the regions the program owns or against their permissions.
	ErrMemoryAccess = errors.New("memory access violation")
	// ErrBudgetExhausted is wrapped when a run executes more than
	// Options.MaxInstructions instructions.
	ErrBudgetExhausted = errors.New("instruction budget exhausted")
	// ErrCallDepth is wrapped when bpf-to-bpf calls nest deeper than
	// MaxCallFrames frames.
	ErrCallDepth = errors.New("call depth exceeded")
	// ErrUnknownHelper is wrapped when a program calls a helper number that
	// is not in the VM's registry (at load time for call, at run time for
	// callx).
	ErrUnknownHelper = errors.New("unknown helper")
	// ErrContext is wrapped when a program is run with a context its
	// program type does not take, or reads a context field the kernel's
	// verifier would reject for that program type.
	ErrContext = errors.New("invalid context")
	// ErrHelper is wrapped when a helper aborts a run with a Go error that
	// is not a memory access violation.
	ErrHelper = errors.New("helper failed")
	// ErrHalt, returned (possibly wrapped) by a Helper, ends the run at once
	// without error; r0 becomes the helper's return value. The conformance
	// suite's "unwind" helper uses it.
	ErrHalt = errors.New("halt")
	// ErrClosed is wrapped when a Runner (or, in package jit, a VM or
	// Runner) is used after Close. It is os.ErrClosed, as for files.
	ErrClosed = os.ErrClosed
)

// RunError is an error that stopped a run, at a program counter.
type RunError struct {
	// PC is the index of the 8-byte instruction slot that failed.
	PC int
	// Err is the cause; it wraps one of the sentinel errors.
	Err error
}

func (e *RunError) Error() string { return fmt.Sprintf("interp: pc %d: %v", e.PC, e.Err) }

// Unwrap returns the cause.
func (e *RunError) Unwrap() error { return e.Err }

// LoadError is an error New or Load found in a program before any run.
type LoadError struct {
	// Slot is the index of the offending 8-byte slot, or -1 when the error
	// is about the whole program.
	Slot int
	// Err is the cause.
	Err error
}

func (e *LoadError) Error() string {
	if e.Slot < 0 {
		return fmt.Sprintf("%v: %v", ErrLoad, e.Err)
	}
	return fmt.Sprintf("%v: slot %d: %v", ErrLoad, e.Slot, e.Err)
}

// Unwrap returns the cause and ErrLoad.
func (e *LoadError) Unwrap() []error { return []error{ErrLoad, e.Err} }

func loadErr(slot int, format string, args ...any) error {
	return &LoadError{Slot: slot, Err: fmt.Errorf(format, args...)}
}

// AccessError is the error of a load (write false) or store of n bytes at
// addr that no region allows, wrapping ErrMemoryAccess; why, if not empty,
// says why the region refused it (otherwise the access was out of bounds).
// Env.Bytes returns it, and the JIT uses it for the errors it finds itself
// so that both engines report the same text.
func AccessError(write bool, n int, addr uint64, why string) error {
	return accessErr(write, n, addr, why)
}

// MisalignedAtomic is the error of an atomic operation of n bytes at the
// misaligned address addr (the verifier rejects them, check_atomic).
func MisalignedAtomic(n int, addr uint64) error {
	return accessErr(true, n, addr, "misaligned atomic access")
}

func accessErr(write bool, n int, addr uint64, why string) error {
	kind := "load"
	if write {
		kind = "store"
	}
	if why != "" {
		return fmt.Errorf("%w: %s of %d bytes at 0x%x: %s", ErrMemoryAccess, kind, n, addr, why)
	}
	return fmt.Errorf("%w: out-of-bounds %s of %d bytes at 0x%x", ErrMemoryAccess, kind, n, addr)
}
