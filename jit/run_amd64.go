//go:build amd64 && unix

package jit

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/purebpf/purebpf/insn"
)

// code is a compiled program in executable memory.
type code struct {
	mem  *execMem
	comp *compiled
	ins  insn.Instructions
	// base and size are the address and length of the mapping, for
	// finding the code a resume address lies in.
	base, size uintptr
}

// holds reports whether pc lies in the code's mapping.
func (c *code) holds(pc uintptr) bool { return pc-c.base < c.size }

func newCode(is insn.Instructions, opts compileOptions) (*code, error) {
	comp, err := compile(is, opts)
	if err != nil {
		return nil, err
	}
	mem, err := newExecMem(comp.code)
	if err != nil {
		return nil, err
	}
	c := &code{mem: mem, comp: comp, ins: is, base: mem.addr(), size: uintptr(len(mem.mem))}
	// Safety net: unmap the code if its owner is dropped without Close.
	runtime.AddCleanup(c, func(m *execMem) { m.free() }, mem)
	return c, nil
}

func (c *code) close() error { return c.mem.free() }

// host is what a run needs from its environment when the generated code
// leaves to Go.
type host interface {
	// call runs the helper in st.arg (a number from the instruction or,
	// for callx, a register) with r1-r5 and puts its result in r0. halt
	// ends the run with that r0.
	call(st *state, callx bool) (halt bool, err error)
	// miss checks an access the generated code could not place in a
	// region; on success it sets st.grant so that the retry passes.
	miss(st *state, addr uint64, n int, write bool) error
	// mapValue returns the address for map value load number idx.
	mapValue(st *state, idx int) (uint64, error)
	// fail builds the error for a budget, depth or alignment exit.
	fail(st *state, reason uint64) error
}

// exitCounts, when a test sets it, counts the exits that handle sees by
// reason (state.exit), so that tests can hold the fast paths to how often
// a program leaves to Go. Tests only: the counts are not synchronised.
var exitCounts atomic.Pointer[[16]uint64]

// exec runs compiled code on a prepared state until it finishes.
func (c *code) exec(st *state, h host) (uint64, error) {
	if !c.mem.enter(st) {
		return 0, errFreed()
	}
	if st.exit == exitDone {
		return st.regs[0], nil
	}
	return c.handle(st, h)
}

// enter enters the code in m at its first instruction with the state in
// st, unless m is freed (false).
func (m *execMem) enter(st *state) bool {
	b := m.mem
	if b == nil {
		return false
	}
	st.entry = uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	enter(st)
	return true
}

// entry returns the address of the first instruction of the code in m,
// or 0 if m is freed. Callers enter the code themselves with enterMem, so
// that the start of a short run is one Go frame deep (this is inlined).
func (m *execMem) entry() uintptr {
	if m.mem == nil {
		return 0
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(m.mem)))
}

// errFreed is the error of a run of freed code (a closed VM).
func errFreed() error {
	return fmt.Errorf("jit: run: %w: the VM's machine code is freed", ErrClosed)
}

// handle handles the exits of code that returned to the trampoline for
// something other than the end of the program, and enters it again, until
// it finishes.
func (c *code) handle(st *state, h host) (uint64, error) {
	for {
		if n := exitCounts.Load(); n != nil {
			n[st.exit]++
		}
		switch st.exit {
		case exitDone, exitAbort:
			return st.regs[0], nil
		case exitHelper, exitCallX:
			halt, err := h.call(st, st.exit == exitCallX)
			if err != nil {
				return 0, err
			}
			if halt {
				return st.regs[0], nil
			}
		case exitMiss:
			if err := h.miss(st, st.arg, int(st.info&0xff), st.info>>8 != 0); err != nil {
				return 0, err
			}
		case exitBudget:
			if !st.refill() {
				return 0, h.fail(st, exitBudget)
			}
		case exitMapValue:
			addr, err := h.mapValue(st, int(st.arg))
			if err != nil {
				return 0, err
			}
			st.arg = addr
		default:
			return 0, h.fail(st, st.exit)
		}
		enter(st)
	}
}

// grantAccess lets the retried access of n bytes at addr through once.
func (st *state) grantAccess(addr uint64, n int, write bool) {
	st.grant = region{start: addr}
	st.grant.lim[log2n(n)] = 1
	st.grantW = uint64(b2i(write))
}

func log2n(n int) int {
	switch n {
	case 1:
		return 0
	case 2:
		return 1
	case 4:
		return 2
	}
	return 3
}

func addrOfSlice(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}
