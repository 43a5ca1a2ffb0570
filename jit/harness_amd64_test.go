//go:build amd64 && unix

package jit

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/purebpf/purebpf/insn"
)

// rawHost is a minimal environment for phase-1 tests: raw memory in r1/r2,
// a stack, and helpers given as Go functions. It does not use package
// interp, so the code generator can be tested on its own.
type rawHost struct {
	stack   []byte
	mem     []byte
	helpers map[int64]func(r1, r2, r3, r4, r5 uint64) (uint64, error)
}

var errTestHalt = errors.New("halt")

type rawFault struct {
	reason, pc, addr, info uint64
}

func (f *rawFault) Error() string {
	return fmt.Sprintf("exit %d at pc %d (addr 0x%x, info 0x%x)", f.reason, f.pc, f.addr, f.info)
}

func (h *rawHost) call(st *state, callx bool) (bool, error) {
	fn := h.helpers[int64(st.arg)]
	if fn == nil {
		return false, fmt.Errorf("pc %d: unknown helper %d", st.pc, st.arg)
	}
	r, err := fn(st.regs[1], st.regs[2], st.regs[3], st.regs[4], st.regs[5])
	if errors.Is(err, errTestHalt) {
		st.regs[0] = r
		return true, nil
	}
	if err != nil {
		return false, err
	}
	st.regs[0] = r
	return false, nil
}

func (h *rawHost) miss(st *state, addr uint64, n int, write bool) error {
	return &rawFault{reason: exitMiss, pc: st.pc, addr: addr, info: st.info}
}

func (h *rawHost) mapValue(st *state, idx int) (uint64, error) {
	return 0, errors.New("no maps")
}

func (h *rawHost) fail(st *state, reason uint64) error {
	return &rawFault{reason: reason, pc: st.pc, addr: st.arg, info: st.info}
}

func addrOf(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

// runRaw compiles is and runs it on mem.
func runRaw(is insn.Instructions, mem []byte, opts compileOptions, budget int64, helpers map[int64]func(r1, r2, r3, r4, r5 uint64) (uint64, error)) (uint64, error) {
	c, err := newCode(is, opts)
	if err != nil {
		return 0, err
	}
	defer c.close()
	h := &rawHost{stack: make([]byte, maxCallFrames*stackSize), mem: mem, helpers: helpers}
	st := new(state)
	st.stkTop = addrOf(h.stack) + uint64(len(h.stack))
	st.stkLo = st.stkTop - stackSize
	st.regs[10] = st.stkTop
	st.regs[1], st.regs[2] = addrOf(mem), uint64(len(mem))
	st.loops = maxLoops
	st.budget = budget
	st.pkt, st.pktLen = addrOf(mem), uint64(len(mem))
	if len(mem) > 0 {
		st.rtab[0].set(addrOf(mem), addrOf(mem)+uint64(len(mem)))
		st.wtab[0] = st.rtab[0]
		st.nread, st.nwrite = 1, 1
	}
	r, err := c.exec(st, h)
	runtime.KeepAlive(h)
	runtime.KeepAlive(mem)
	return r, err
}
