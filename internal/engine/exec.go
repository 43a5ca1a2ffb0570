package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/purebpf/purebpf/insn"
)

// Tracer, set in Options.Trace, is called before every executed
// instruction with its slot, the instruction and the registers, and once
// more with pc -1 and a zero instruction when the program exits normally,
// so that the effect of the last instruction can be seen. It may read the
// registers but must not keep the pointer.
type Tracer func(pc int, ins insn.Instruction, regs *[11]uint64)

// fastCache holds what fast's memory cases need, read through a pointer so
// that the loop keeps few values live: the current stack frame and above
// (stack[0] is at address stkLo), the two hot regions (Env.setHot) and a
// context whose fields fast may load as whole aligned words.
type fastCache struct {
	stack  []byte
	stkLo  uint64
	stkN   uint64
	hot    []byte
	hotLo  uint64
	hot2   []byte
	hot2Lo uint64
	pkt    []byte // what LD_ABS and LD_IND read (set by Bind*)
	// ctx is the context at address ctxLo when every aligned 4-byte
	// load of it only reads its bytes and nothing else is allowed (XDP's
	// xdp_md: checkXDPAccess); nil otherwise. Other accesses to it go
	// through exec, which applies the context's rules.
	ctx   []byte
	ctxLo uint64
}

// promote makes the second hot region the first and the first the
// second, after an access that matched the second: the two regions are
// kept in the order of their last use (Env.setHot).
func (c *fastCache) promote() {
	c.hot, c.hot2 = c.hot2, c.hot
	c.hotLo, c.hot2Lo = c.hot2Lo, c.hotLo
}

// frame is a suspended caller of a bpf-to-bpf call.
type frame struct {
	p     *program
	vm    *VM
	ret   int
	saved [5]uint64 // r6..r10
	loops uint64    // the caller's may_goto allowance
}

var ne = binary.NativeEndian

// exec runs p with r1 and r2 (r10 at the stack top, the other registers
// zero) until exit and returns r0. The
// common instructions run in fast, a loop without calls; everything else
// (calls, exit, atomics, packet loads, accesses outside the stack and the
// most recently used region, budget refills) runs here. Rarely changing
// state (frames, may_goto allowance, the current program) lives in e.
func (e *Env) exec(p *program, r1, r2 uint64) (uint64, error) {
	e.cur, e.curVM, e.depth, e.loops, e.cbBase = p, e.vm, 0, MaxLoops, 0
	e.budget, e.rest = e.vm.budget, 0
	left := e.budget
	// single: Options.Trace and Options.Coverage see every instruction,
	// so the run steps one instruction at a time through refill; runs
	// without them never take this path.
	if e.tracer != nil || e.vm.cover != nil { // see resume
		left, e.rest = 0, e.budget
	}
	e.reg.start(r1, r2, e.stackTop()) // only r0..r10 are ever used
	return e.resume(0, left, 0, false)
}

// rerun is exec with r1 and r2 for a Runner's Env whose last run
// ended clean (Env.clean: at depth 0 in the program it started, without
// calls, tail calls, a tracer or coverage), so that e.cur, e.curVM, e.depth,
// e.budget and e.rest are already what exec would set. It runs the fast
// loop first and goes on in exec's loop only if that needs its slow path:
// a short run pays for no more than it uses.
func (e *Env) rerun(r1, r2 uint64) (uint64, error) {
	e.loops = MaxLoops
	e.reg.start(r1, r2, e.stackTop())
	// The stack region is the main frame's, as the last run left it and
	// fast recorded it in e.fc.
	pc, left, why := e.fast(0, e.budget, false, true)
	if why == fastDone {
		e.executed = e.budget - left
		return e.reg[0], nil // e.clean stays true
	}
	return e.resume(pc, left, why, true)
}

// resume is exec's loop from pc with left of the budget. With entered, the
// fast loop has just returned why at pc; otherwise resume enters it first.
func (e *Env) resume(pc int, left uint64, why fastExit, entered bool) (uint64, error) {
	regs := &e.reg
	var err error
	// single: Options.Trace and Options.Coverage see every instruction,
	// so the run steps one instruction at a time through refill; runs
	// without them never take this path.
	single := e.tracer != nil || e.vm.cover != nil
	// slow says that the run took an exit of exec's slow path that can
	// change what Env.rebindableRun checks (a call, a tail call);
	// e.clean records its opposite for a run that ends in fast, unless
	// the run is single-stepped (a rerun would not be).
	slow := false
	e.clean = false
	step := single
	for {
		if entered {
			entered = false
		} else {
			if single {
				// Trace or coverage: report the instruction and grant exactly it.
				if left, err = e.refill(pc, regs); err != nil {
					goto fail
				}
			}
			pc, left, why = e.fast(pc, left, step, false)
		}
		switch why {
		case fastDone:
			e.executed = e.budget - left - e.rest
			e.clean = !slow && !single
			if e.cbBase != 0 { // an LD_ABS past the packet in a callback ends the run
				e.cbLeft = left
				return regs[0], errHalted
			}
			return regs[0], nil
		case fastStepped:
			step = single
			continue
		case fastNoFit:
			if left == 0 {
				err = fmt.Errorf("%w after %d instructions", ErrBudgetExhausted, e.budget)
				goto fail
			}
			step = true
			continue
		}
		if left == 0 {
			err = fmt.Errorf("%w after %d instructions", ErrBudgetExhausted, e.budget)
			goto fail
		}
		left--
		in := &e.cur.code[pc]
		switch in.op {
		case opCall, opCallX:
			slow = true
			if in.isLookup() {
				if ret, ok := e.lookupArray(regs[1], regs[2]); ok {
					regs[0] = ret
					break
				}
			}
			var ret uint64
			e.cbLeft = left // for the callbacks a helper runs (callback.go)
			ret, err = e.callHelper(in, regs)
			left = e.cbLeft
			if err != nil {
				if err == errHalted {
					e.executed = e.budget - left - e.rest
					if e.cbBase != 0 {
						e.cbLeft = left
						return ret, errHalted // ends the run, not the callback
					}
					return ret, nil
				}
				goto fail
			}
			regs[0] = ret
		case opTailCall:
			slow = true
			if e.cbBase != 0 {
				err = errCallbackTailCall
				goto fail
			}
			if e.tailCall(regs) {
				pc = 0
				continue
			}
			// kernel: a failed tail call continues with the next instruction
		case opCallLocal:
			slow = true
			if err = e.pushFrame(pc+1, regs); err != nil {
				goto fail
			}
			pc = int(in.off)
			continue
		case opExit:
			if e.depth == e.cbBase && e.cbBase != 0 {
				e.cbLeft = left // the callback returns to its helper
				return regs[0], nil
			}
			if e.depth == 0 {
				e.executed = e.budget - left - e.rest
				if e.tracer != nil {
					copy(e.traceRegs[:], regs[:11])
					e.tracer(-1, insn.Instruction{}, &e.traceRegs)
				}
				return regs[0], nil
			}
			pc = e.popFrame(regs)
			continue
		case opAtomicW, opAtomicDW:
			if err = atomicOp(e, in, regs); err != nil {
				goto fail
			}
		case opLdxB, opLdxH, opLdxW, opLdxDW, opLdxSB, opLdxSH, opLdxSW, opLoadAcq:
			if err = e.load(in, regs); err != nil {
				if e.probeMemFault(in, err) { // a BPF_PROBE_MEM load reads 0 (trace.go)
					regs[in.dst], err = 0, nil
					break
				}
				goto fail
			}
		case opStB, opStH, opStW, opStDW, opStxB, opStxH, opStxW, opStxDW, opStoreRel:
			if err = e.store(in, regs); err != nil {
				goto fail
			}
		case opLdMapVal:
			var addr uint64
			if addr, err = e.mapValueAddr(e.curVM, int(in.imm), uint64(in.off)); err != nil {
				goto fail
			}
			regs[in.dst] = addr
			pc += 2
			continue
		case opLdAbsB, opLdAbsH, opLdAbsW, opLdIndB, opLdIndH, opLdIndW:
			v, ok := packetLoad(e.fc.pkt, in, regs) // what fast read
			if !ok {
				// The kernel's LD_ABS/LD_IND sequence exits with r0 = 0
				// on a read past the packet (net/core/filter.c,
				// bpf_gen_ld_abs).
				regs[0] = 0
				e.executed = e.budget - left - e.rest
				if e.cbBase != 0 {
					e.cbLeft = left
					return 0, errHalted
				}
				return 0, nil
			}
			regs[0] = v
		default:
			err = fmt.Errorf("%w: cannot execute opcode at this slot", ErrLoad)
			goto fail
		}
		pc++
	}
fail:
	e.executed = e.budget - left - e.rest
	e.cbLeft = left // for the helper that ran a failing callback
	e.regions[0].Start = e.mainLo()
	if re, ok := err.(*RunError); ok {
		return 0, re // from a callback, naming its slot
	}
	return 0, &RunError{PC: pc, Err: err}
}

// fastExit says why fast returned.
type fastExit uint8

const (
	fastSlow    fastExit = iota // the instruction at pc needs exec's slow path
	fastNoFit                   // the basic block at pc does not fit in the budget left
	fastStepped                 // step mode ran its one instruction
	fastDone                    // the program exited at depth 0; r0 is the result
)

// fast runs instructions from pc until one needs exec's slow path and
// returns that pc and the budget left (the instruction at pc has not run).
// The budget is charged per basic block on entry (p.runlen: the
// instructions from a slot to the end of its block) and the unexecuted
// rest refunded when it leaves early, so that counting is exact without a
// per-instruction check. A block that does not fit, and tracing, use step
// mode, which runs one instruction. fast makes no calls, so that the Go
// compiler keeps its state in registers. With cached, e.fc already holds
// the stack and hot regions (Env.rerun); otherwise fast records them.
func (e *Env) fast(pc int, left uint64, step, cached bool) (int, uint64, fastExit) {
	regs := &e.reg
	p := e.cur
	code, runs := p.code, p.runlen
	if step {
		code, runs = code[:pc+1], p.ones
	}
	c := &e.fc
	if !cached {
		c.stkLo = e.regions[0].Start
		c.stkN = e.regions[0].End - c.stkLo
		c.stack = e.stack[c.stkLo-e.stackBase:]
	}
	entered := false
outer:
	for {
		if uint(pc) >= uint(len(code)) || (step && entered) {
			return pc, left, fastStepped
		}
		rl := uint64(runs[pc])
		if rl > left {
			return pc, left, fastNoFit
		}
		left -= rl
		entered = true
		for uint(pc) < uint(len(code)) {
			in := &code[pc]
			switch in.op {
			case opInvalid:
				return pc, left + uint64(runs[pc]), fastSlow
			// 64-bit ALU
			case opAdd64X:
				regs[in.dst] += regs[in.src]
				pc++
				continue
			case opAdd64K:
				regs[in.dst] += uint64(in.imm)
				pc++
				continue
			case opSub64X:
				regs[in.dst] -= regs[in.src]
				pc++
				continue
			case opSub64K:
				regs[in.dst] -= uint64(in.imm)
				pc++
				continue
			case opMul64X:
				regs[in.dst] *= regs[in.src]
				pc++
				continue
			case opMul64K:
				regs[in.dst] *= uint64(in.imm)
				pc++
				continue
			case opDiv64X:
				regs[in.dst] = div64(regs[in.dst], regs[in.src])
				pc++
				continue
			case opDiv64K:
				regs[in.dst] = div64(regs[in.dst], uint64(in.imm))
				pc++
				continue
			case opSDiv64X:
				regs[in.dst] = sdiv64(regs[in.dst], regs[in.src])
				pc++
				continue
			case opSDiv64K:
				regs[in.dst] = sdiv64(regs[in.dst], uint64(in.imm))
				pc++
				continue
			case opOr64X:
				regs[in.dst] |= regs[in.src]
				pc++
				continue
			case opOr64K:
				regs[in.dst] |= uint64(in.imm)
				pc++
				continue
			case opAnd64X:
				regs[in.dst] &= regs[in.src]
				pc++
				continue
			case opAnd64K:
				regs[in.dst] &= uint64(in.imm)
				pc++
				continue
			case opLsh64X:
				regs[in.dst] <<= regs[in.src] & 63
				pc++
				continue
			case opLsh64K:
				regs[in.dst] <<= uint64(in.imm) & 63
				pc++
				continue
			case opRsh64X:
				regs[in.dst] >>= regs[in.src] & 63
				pc++
				continue
			case opRsh64K:
				regs[in.dst] >>= uint64(in.imm) & 63
				pc++
				continue
			case opNeg64:
				regs[in.dst] = -regs[in.dst]
				pc++
				continue
			case opMod64X:
				regs[in.dst] = mod64(regs[in.dst], regs[in.src])
				pc++
				continue
			case opMod64K:
				regs[in.dst] = mod64(regs[in.dst], uint64(in.imm))
				pc++
				continue
			case opSMod64X:
				regs[in.dst] = smod64(regs[in.dst], regs[in.src])
				pc++
				continue
			case opSMod64K:
				regs[in.dst] = smod64(regs[in.dst], uint64(in.imm))
				pc++
				continue
			case opXor64X:
				regs[in.dst] ^= regs[in.src]
				pc++
				continue
			case opXor64K:
				regs[in.dst] ^= uint64(in.imm)
				pc++
				continue
			case opMov64X:
				regs[in.dst] = regs[in.src]
				pc++
				continue
			case opMov64K:
				regs[in.dst] = uint64(in.imm)
				pc++
				continue
			case opMovSX8_64:
				regs[in.dst] = uint64(int64(int8(regs[in.src])))
				pc++
				continue
			case opMovSX16_64:
				regs[in.dst] = uint64(int64(int16(regs[in.src])))
				pc++
				continue
			case opMovSX32_64:
				regs[in.dst] = uint64(int64(int32(regs[in.src])))
				pc++
				continue
			case opArsh64X:
				regs[in.dst] = uint64(int64(regs[in.dst]) >> (regs[in.src] & 63))
				pc++
				continue
			case opArsh64K:
				regs[in.dst] = uint64(int64(regs[in.dst]) >> (uint64(in.imm) & 63))
				pc++
				continue
			case opBswap16:
				regs[in.dst] = uint64(bits.ReverseBytes16(uint16(regs[in.dst])))
				pc++
				continue
			case opBswap32:
				regs[in.dst] = uint64(bits.ReverseBytes32(uint32(regs[in.dst])))
				pc++
				continue
			case opBswap64:
				regs[in.dst] = bits.ReverseBytes64(regs[in.dst])

				// 32-bit ALU: results are zero-extended.
				pc++
				continue
			case opAdd32X:
				regs[in.dst] = uint64(uint32(regs[in.dst]) + uint32(regs[in.src]))
				pc++
				continue
			case opAdd32K:
				regs[in.dst] = uint64(uint32(regs[in.dst]) + uint32(in.imm))
				pc++
				continue
			case opSub32X:
				regs[in.dst] = uint64(uint32(regs[in.dst]) - uint32(regs[in.src]))
				pc++
				continue
			case opSub32K:
				regs[in.dst] = uint64(uint32(regs[in.dst]) - uint32(in.imm))
				pc++
				continue
			case opMul32X:
				regs[in.dst] = uint64(uint32(regs[in.dst]) * uint32(regs[in.src]))
				pc++
				continue
			case opMul32K:
				regs[in.dst] = uint64(uint32(regs[in.dst]) * uint32(in.imm))
				pc++
				continue
			case opDiv32X:
				regs[in.dst] = div32(regs[in.dst], regs[in.src])
				pc++
				continue
			case opDiv32K:
				regs[in.dst] = div32(regs[in.dst], uint64(in.imm))
				pc++
				continue
			case opSDiv32X:
				regs[in.dst] = sdiv32(regs[in.dst], regs[in.src])
				pc++
				continue
			case opSDiv32K:
				regs[in.dst] = sdiv32(regs[in.dst], uint64(in.imm))
				pc++
				continue
			case opOr32X:
				regs[in.dst] = uint64(uint32(regs[in.dst]) | uint32(regs[in.src]))
				pc++
				continue
			case opOr32K:
				regs[in.dst] = uint64(uint32(regs[in.dst]) | uint32(in.imm))
				pc++
				continue
			case opAnd32X:
				regs[in.dst] = uint64(uint32(regs[in.dst]) & uint32(regs[in.src]))
				pc++
				continue
			case opAnd32K:
				regs[in.dst] = uint64(uint32(regs[in.dst]) & uint32(in.imm))
				pc++
				continue
			case opLsh32X:
				regs[in.dst] = uint64(uint32(regs[in.dst]) << (regs[in.src] & 31))
				pc++
				continue
			case opLsh32K:
				regs[in.dst] = uint64(uint32(regs[in.dst]) << (uint64(in.imm) & 31))
				pc++
				continue
			case opRsh32X:
				regs[in.dst] = uint64(uint32(regs[in.dst]) >> (regs[in.src] & 31))
				pc++
				continue
			case opRsh32K:
				regs[in.dst] = uint64(uint32(regs[in.dst]) >> (uint64(in.imm) & 31))
				pc++
				continue
			case opNeg32:
				regs[in.dst] = uint64(-uint32(regs[in.dst]))
				pc++
				continue
			case opMod32X:
				regs[in.dst] = mod32(regs[in.dst], regs[in.src])
				pc++
				continue
			case opMod32K:
				regs[in.dst] = mod32(regs[in.dst], uint64(in.imm))
				pc++
				continue
			case opSMod32X:
				regs[in.dst] = smod32(regs[in.dst], regs[in.src])
				pc++
				continue
			case opSMod32K:
				regs[in.dst] = smod32(regs[in.dst], uint64(in.imm))
				pc++
				continue
			case opXor32X:
				regs[in.dst] = uint64(uint32(regs[in.dst]) ^ uint32(regs[in.src]))
				pc++
				continue
			case opXor32K:
				regs[in.dst] = uint64(uint32(regs[in.dst]) ^ uint32(in.imm))
				pc++
				continue
			case opMov32X:
				regs[in.dst] = uint64(uint32(regs[in.src]))
				pc++
				continue
			case opMov32K:
				regs[in.dst] = uint64(uint32(in.imm))
				pc++
				continue
			case opMovSX8_32:
				regs[in.dst] = uint64(uint32(int32(int8(regs[in.src]))))
				pc++
				continue
			case opMovSX16_32:
				regs[in.dst] = uint64(uint32(int32(int16(regs[in.src]))))
				pc++
				continue
			case opArsh32X:
				regs[in.dst] = uint64(uint32(int32(regs[in.dst]) >> (regs[in.src] & 31)))
				pc++
				continue
			case opArsh32K:
				regs[in.dst] = uint64(uint32(int32(regs[in.dst]) >> (uint64(in.imm) & 31)))
				pc++
				continue
			case opTrunc16:
				regs[in.dst] = uint64(uint16(regs[in.dst]))
				pc++
				continue
			case opTrunc32:
				regs[in.dst] = uint64(uint32(regs[in.dst]))
				pc++
				continue
			case opNop:

			// Jumps.
			case opJa:
				pc = int(in.off)
				continue outer
			case opJeq64X:
				if regs[in.dst] == regs[in.src] {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJeq64K:
				if regs[in.dst] == uint64(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJgt64X:
				if regs[in.dst] > regs[in.src] {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJgt64K:
				if regs[in.dst] > uint64(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJge64X:
				if regs[in.dst] >= regs[in.src] {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJge64K:
				if regs[in.dst] >= uint64(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJset64X:
				if regs[in.dst]&regs[in.src] != 0 {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJset64K:
				if regs[in.dst]&uint64(in.imm) != 0 {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJne64X:
				if regs[in.dst] != regs[in.src] {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJne64K:
				if regs[in.dst] != uint64(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsgt64X:
				if int64(regs[in.dst]) > int64(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsgt64K:
				if int64(regs[in.dst]) > in.imm {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsge64X:
				if int64(regs[in.dst]) >= int64(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsge64K:
				if int64(regs[in.dst]) >= in.imm {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJlt64X:
				if regs[in.dst] < regs[in.src] {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJlt64K:
				if regs[in.dst] < uint64(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJle64X:
				if regs[in.dst] <= regs[in.src] {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJle64K:
				if regs[in.dst] <= uint64(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJslt64X:
				if int64(regs[in.dst]) < int64(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJslt64K:
				if int64(regs[in.dst]) < in.imm {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsle64X:
				if int64(regs[in.dst]) <= int64(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsle64K:
				if int64(regs[in.dst]) <= in.imm {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJeq32X:
				if uint32(regs[in.dst]) == uint32(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJeq32K:
				if uint32(regs[in.dst]) == uint32(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJgt32X:
				if uint32(regs[in.dst]) > uint32(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJgt32K:
				if uint32(regs[in.dst]) > uint32(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJge32X:
				if uint32(regs[in.dst]) >= uint32(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJge32K:
				if uint32(regs[in.dst]) >= uint32(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJset32X:
				if uint32(regs[in.dst])&uint32(regs[in.src]) != 0 {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJset32K:
				if uint32(regs[in.dst])&uint32(in.imm) != 0 {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJne32X:
				if uint32(regs[in.dst]) != uint32(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJne32K:
				if uint32(regs[in.dst]) != uint32(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsgt32X:
				if int32(regs[in.dst]) > int32(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsgt32K:
				if int32(regs[in.dst]) > int32(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsge32X:
				if int32(regs[in.dst]) >= int32(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsge32K:
				if int32(regs[in.dst]) >= int32(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJlt32X:
				if uint32(regs[in.dst]) < uint32(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJlt32K:
				if uint32(regs[in.dst]) < uint32(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJle32X:
				if uint32(regs[in.dst]) <= uint32(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJle32K:
				if uint32(regs[in.dst]) <= uint32(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJslt32X:
				if int32(regs[in.dst]) < int32(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJslt32K:
				if int32(regs[in.dst]) < int32(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsle32X:
				if int32(regs[in.dst]) <= int32(regs[in.src]) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opJsle32K:
				if int32(regs[in.dst]) <= int32(in.imm) {
					pc = int(in.off)
					continue outer
				}
				pc++
				continue outer
			case opMayGoto:
				if e.loops == 0 {
					pc = int(in.off)
					continue outer
				}
				e.loops--
				pc++
				continue outer
			case opLdImm64:
				regs[in.dst] = uint64(in.imm)
				pc += 2
				continue
			case opExit:
				// The end of a run that is not traced (exec reports a
				// traced exit) and not in a bpf-to-bpf callee (exec
				// pops the frame). The exit is charged with its block.
				if step || e.depth != 0 {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				return pc, left, fastDone

			// Memory: the stack, the two hot regions and xdp_md's words
			// here, the rest in exec (mem.go).
			case opLdxB:
				a := loadAddr(in, regs)
				if i, ok := inStack[uint8](c, a); ok {
					load[uint8](in, regs, c.stack, i)
				} else if i, ok := inHot[uint8](c, a); ok {
					load[uint8](in, regs, c.hot, i)
				} else if i, ok := inHot2[uint8](c, a); ok {
					c.promote()
					load[uint8](in, regs, c.hot, i)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opLdxH:
				a := loadAddr(in, regs)
				if i, ok := inStack[uint16](c, a); ok {
					load[uint16](in, regs, c.stack, i)
				} else if i, ok := inHot[uint16](c, a); ok {
					load[uint16](in, regs, c.hot, i)
				} else if i, ok := inHot2[uint16](c, a); ok {
					c.promote()
					load[uint16](in, regs, c.hot, i)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opLdxW:
				a := loadAddr(in, regs)
				if i, ok := inStack[uint32](c, a); ok {
					load[uint32](in, regs, c.stack, i)
				} else if i, ok := inHot[uint32](c, a); ok {
					load[uint32](in, regs, c.hot, i)
				} else if i, ok := inHot2[uint32](c, a); ok {
					c.promote()
					load[uint32](in, regs, c.hot, i)
				} else if i := a - c.ctxLo; i < uint64(len(c.ctx)) && i%4 == 0 {
					load[uint32](in, regs, c.ctx, i)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opLdxDW:
				a := loadAddr(in, regs)
				if i, ok := inStack[uint64](c, a); ok {
					load[uint64](in, regs, c.stack, i)
				} else if i, ok := inHot[uint64](c, a); ok {
					load[uint64](in, regs, c.hot, i)
				} else if i, ok := inHot2[uint64](c, a); ok {
					c.promote()
					load[uint64](in, regs, c.hot, i)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opLdxSB:
				a := loadAddr(in, regs)
				if i, ok := inStack[int8](c, a); ok {
					load[int8](in, regs, c.stack, i)
				} else if i, ok := inHot[int8](c, a); ok {
					load[int8](in, regs, c.hot, i)
				} else if i, ok := inHot2[int8](c, a); ok {
					c.promote()
					load[int8](in, regs, c.hot, i)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opLdxSH:
				a := loadAddr(in, regs)
				if i, ok := inStack[int16](c, a); ok {
					load[int16](in, regs, c.stack, i)
				} else if i, ok := inHot[int16](c, a); ok {
					load[int16](in, regs, c.hot, i)
				} else if i, ok := inHot2[int16](c, a); ok {
					c.promote()
					load[int16](in, regs, c.hot, i)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opLdxSW:
				a := loadAddr(in, regs)
				if i, ok := inStack[int32](c, a); ok {
					load[int32](in, regs, c.stack, i)
				} else if i, ok := inHot[int32](c, a); ok {
					load[int32](in, regs, c.hot, i)
				} else if i, ok := inHot2[int32](c, a); ok {
					c.promote()
					load[int32](in, regs, c.hot, i)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opStB:
				a, v := storeAddr(in, regs), stValue(in)
				if i, ok := inStack[uint8](c, a); ok {
					store[uint8](c.stack, i, v)
				} else if i, ok := inHot[uint8](c, a); ok {
					store[uint8](c.hot, i, v)
				} else if i, ok := inHot2[uint8](c, a); ok {
					c.promote()
					store[uint8](c.hot, i, v)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opStH:
				a, v := storeAddr(in, regs), stValue(in)
				if i, ok := inStack[uint16](c, a); ok {
					store[uint16](c.stack, i, v)
				} else if i, ok := inHot[uint16](c, a); ok {
					store[uint16](c.hot, i, v)
				} else if i, ok := inHot2[uint16](c, a); ok {
					c.promote()
					store[uint16](c.hot, i, v)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opStW:
				a, v := storeAddr(in, regs), stValue(in)
				if i, ok := inStack[uint32](c, a); ok {
					store[uint32](c.stack, i, v)
				} else if i, ok := inHot[uint32](c, a); ok {
					store[uint32](c.hot, i, v)
				} else if i, ok := inHot2[uint32](c, a); ok {
					c.promote()
					store[uint32](c.hot, i, v)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opStDW:
				a, v := storeAddr(in, regs), stValue(in)
				if i, ok := inStack[uint64](c, a); ok {
					store[uint64](c.stack, i, v)
				} else if i, ok := inHot[uint64](c, a); ok {
					store[uint64](c.hot, i, v)
				} else if i, ok := inHot2[uint64](c, a); ok {
					c.promote()
					store[uint64](c.hot, i, v)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opStxB:
				a, v := storeAddr(in, regs), stxValue(in, regs)
				if i, ok := inStack[uint8](c, a); ok {
					store[uint8](c.stack, i, v)
				} else if i, ok := inHot[uint8](c, a); ok {
					store[uint8](c.hot, i, v)
				} else if i, ok := inHot2[uint8](c, a); ok {
					c.promote()
					store[uint8](c.hot, i, v)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opStxH:
				a, v := storeAddr(in, regs), stxValue(in, regs)
				if i, ok := inStack[uint16](c, a); ok {
					store[uint16](c.stack, i, v)
				} else if i, ok := inHot[uint16](c, a); ok {
					store[uint16](c.hot, i, v)
				} else if i, ok := inHot2[uint16](c, a); ok {
					c.promote()
					store[uint16](c.hot, i, v)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opStxW:
				a, v := storeAddr(in, regs), stxValue(in, regs)
				if i, ok := inStack[uint32](c, a); ok {
					store[uint32](c.stack, i, v)
				} else if i, ok := inHot[uint32](c, a); ok {
					store[uint32](c.hot, i, v)
				} else if i, ok := inHot2[uint32](c, a); ok {
					c.promote()
					store[uint32](c.hot, i, v)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue
			case opStxDW:
				a, v := storeAddr(in, regs), stxValue(in, regs)
				if i, ok := inStack[uint64](c, a); ok {
					store[uint64](c.stack, i, v)
				} else if i, ok := inHot[uint64](c, a); ok {
					store[uint64](c.hot, i, v)
				} else if i, ok := inHot2[uint64](c, a); ok {
					c.promote()
					store[uint64](c.hot, i, v)
				} else {
					return pc, left + uint64(runs[pc]), fastSlow
				}
				pc++
				continue

			// Legacy packet loads; a read past the packet ends the run
			// in exec.
			case opLdAbsB:
				v, ok := packetByte(c.pkt, absOffset(in))
				if !ok {
					return ldAbsOut(regs, pc, left+uint64(runs[pc])-1)
				}
				regs[0] = v
				pc++
				continue
			case opLdAbsH:
				v, ok := packetHalf(c.pkt, absOffset(in))
				if !ok {
					return ldAbsOut(regs, pc, left+uint64(runs[pc])-1)
				}
				regs[0] = v
				pc++
				continue
			case opLdAbsW:
				v, ok := packetWord(c.pkt, absOffset(in))
				if !ok {
					return ldAbsOut(regs, pc, left+uint64(runs[pc])-1)
				}
				regs[0] = v
				pc++
				continue
			case opLdIndB:
				v, ok := packetByte(c.pkt, indOffset(in, regs))
				if !ok {
					return ldAbsOut(regs, pc, left+uint64(runs[pc])-1)
				}
				regs[0] = v
				pc++
				continue
			case opLdIndH:
				v, ok := packetHalf(c.pkt, indOffset(in, regs))
				if !ok {
					return ldAbsOut(regs, pc, left+uint64(runs[pc])-1)
				}
				regs[0] = v
				pc++
				continue
			case opLdIndW:
				v, ok := packetWord(c.pkt, indOffset(in, regs))
				if !ok {
					return ldAbsOut(regs, pc, left+uint64(runs[pc])-1)
				}
				regs[0] = v
				pc++
				continue
			default:
				return pc, left + uint64(runs[pc]), fastSlow
			}
			pc++
		}
	}
}

// ldAbsOut ends a run at an LD_ABS or LD_IND at pc that read past the
// packet: the kernel's LD_ABS/LD_IND sequence exits with r0 = 0
// (net/core/filter.c, bpf_gen_ld_abs), at any call depth. left is the
// budget with the load charged and the rest of its block refunded.
func ldAbsOut(regs *regFile, pc int, left uint64) (int, uint64, fastExit) {
	regs[0] = 0
	return pc, left, fastDone
}

// packetLoad is LD_ABS and LD_IND for exec's slow path: the big-endian
// value of in.sz bytes at the instruction's offset in pkt, or false when
// the read is outside it. fast calls the same offset and read functions,
// one op per size.
func packetLoad(pkt []byte, in *dinsn, regs *regFile) (uint64, bool) {
	o := absOffset(in)
	switch in.op {
	case opLdIndB, opLdIndH, opLdIndW:
		o = indOffset(in, regs)
	}
	switch in.sz {
	case 1:
		return packetByte(pkt, o)
	case 2:
		return packetHalf(pkt, o)
	}
	return packetWord(pkt, o)
}

// absOffset is the packet offset LD_ABS reads: imm, as a signed 32-bit
// value (a negative one is outside the packet: the kernel's SKF_NET_OFF
// and SKF_LL_OFF ancillary offsets are not supported).
func absOffset(in *dinsn) int64 { return int64(int32(in.imm)) }

// indOffset is the packet offset LD_IND reads: the low 32 bits of src plus
// imm, wrapping, as a signed 32-bit value (net/core/filter.c,
// bpf_gen_ld_abs: the offset is an int).
func indOffset(in *dinsn, regs *regFile) int64 {
	return int64(int32(uint32(regs[in.src]) + uint32(in.imm)))
}

// packetByte, packetHalf and packetWord read 1, 2 and 4 big-endian bytes
// at offset o of pkt, or report false when they are not all inside it.
func packetByte(pkt []byte, o int64) (uint64, bool) {
	if uint64(o) >= uint64(len(pkt)) {
		return 0, false
	}
	return uint64(pkt[o]), true
}

func packetHalf(pkt []byte, o int64) (uint64, bool) {
	if o < 0 || o > int64(len(pkt))-2 {
		return 0, false
	}
	return uint64(binary.BigEndian.Uint16(pkt[o:])), true
}

func packetWord(pkt []byte, o int64) (uint64, bool) {
	if o < 0 || o > int64(len(pkt))-4 {
		return 0, false
	}
	return uint64(binary.BigEndian.Uint32(pkt[o:])), true
}

func div64(d, s uint64) uint64 {
	if s == 0 {
		return 0
	}
	return d / s
}

func sdiv64(d, s uint64) uint64 {
	if s == 0 {
		return 0
	}
	return uint64(int64(d) / int64(s)) // Go: MinInt64 / -1 == MinInt64
}

func mod64(d, s uint64) uint64 {
	if s == 0 {
		return d
	}
	return d % s
}

func smod64(d, s uint64) uint64 {
	if s == 0 {
		return d
	}
	return uint64(int64(d) % int64(s)) // Go: MinInt64 % -1 == 0
}

func div32(d, s uint64) uint64 {
	if uint32(s) == 0 {
		return 0
	}
	return uint64(uint32(d) / uint32(s))
}

func sdiv32(d, s uint64) uint64 {
	if uint32(s) == 0 {
		return 0
	}
	return uint64(uint32(int32(d) / int32(s)))
}

func mod32(d, s uint64) uint64 {
	if uint32(s) == 0 {
		return uint64(uint32(d))
	}
	return uint64(uint32(d) % uint32(s))
}

func smod32(d, s uint64) uint64 {
	if uint32(s) == 0 {
		return uint64(uint32(d))
	}
	return uint64(uint32(int32(d) % int32(s)))
}

// atomicOp executes a BPF_ATOMIC read-modify-write with sync/atomic, so
// that concurrent runs sharing a map see kernel-like atomicity.
func atomicOp(e *Env, in *dinsn, regs *regFile) error {
	a := storeAddr(in, regs)
	n := int(in.sz)
	b, err := e.find(a, n, true)
	if err != nil {
		return err
	}
	if a%uint64(n) != 0 {
		// The verifier rejects misaligned atomics (check_atomic ->
		// check_mem_access with strict alignment).
		return MisalignedAtomic(n, a)
	}
	op := insn.AtomicOp(in.imm)
	src := regs[in.src]
	if n == 4 {
		p := (*uint32)(unsafe.Pointer(&b[0]))
		s := uint32(src)
		var old uint32
		switch op &^ insn.Fetch {
		case insn.AtomicAdd:
			old = atomic.AddUint32(p, s) - s
		case insn.AtomicOr:
			old = atomic.OrUint32(p, s)
		case insn.AtomicAnd:
			old = atomic.AndUint32(p, s)
		case insn.AtomicXor:
			for {
				old = atomic.LoadUint32(p)
				if atomic.CompareAndSwapUint32(p, old, old^s) {
					break
				}
			}
		case insn.AtomicXchg &^ insn.Fetch:
			old = atomic.SwapUint32(p, s)
		case insn.AtomicCmpXchg &^ insn.Fetch:
			want := uint32(regs[0])
			for {
				old = atomic.LoadUint32(p)
				if old != want || atomic.CompareAndSwapUint32(p, old, s) {
					break
				}
			}
			regs[0] = uint64(old)
			return nil
		}
		if op&insn.Fetch != 0 {
			regs[in.src] = uint64(old)
		}
		return nil
	}
	p := (*uint64)(unsafe.Pointer(&b[0]))
	var old uint64
	switch op &^ insn.Fetch {
	case insn.AtomicAdd:
		old = atomic.AddUint64(p, src) - src
	case insn.AtomicOr:
		old = atomic.OrUint64(p, src)
	case insn.AtomicAnd:
		old = atomic.AndUint64(p, src)
	case insn.AtomicXor:
		for {
			old = atomic.LoadUint64(p)
			if atomic.CompareAndSwapUint64(p, old, old^src) {
				break
			}
		}
	case insn.AtomicXchg &^ insn.Fetch:
		old = atomic.SwapUint64(p, src)
	case insn.AtomicCmpXchg &^ insn.Fetch:
		for {
			old = atomic.LoadUint64(p)
			if old != regs[0] || atomic.CompareAndSwapUint64(p, old, src) {
				break
			}
		}
		regs[0] = old
		return nil
	}
	if op&insn.Fetch != 0 {
		regs[in.src] = old
	}
	return nil
}

// regFile is the register file. It has 256 entries so that indexing it
// with a uint8 register number needs no bounds check; only r0..r10 are
// used.
type regFile [256]uint64

// start sets the registers a run begins with: r1 and r2, r10 = top, and
// zero in the others (element by element: the compiler turns an array
// copy or clear into a call of memmove or memclr, which costs more).
func (f *regFile) start(r1, r2, top uint64) {
	f[0], f[1], f[2], f[3], f[4], f[5] = 0, r1, r2, 0, 0, 0
	f[6], f[7], f[8], f[9], f[10] = 0, 0, 0, 0, top
}

// errHalted is the internal marker of a helper that returned ErrHalt.
var errHalted = errors.New("halted")

// refill runs before every instruction of a traced run or one under
// coverage: it counts the instruction (Options.Coverage), reports it
// (Options.Trace) and grants it from the remaining budget.
func (e *Env) refill(pc int, regs *regFile) (uint64, error) {
	if e.rest == 0 {
		return 0, fmt.Errorf("%w after %d instructions", ErrBudgetExhausted, e.budget)
	}
	e.rest--
	if c := e.curVM.cover; c != nil { // coverage.go
		c.hit(pc)
	}
	if k := e.cur.slots[pc]; k >= 0 && e.tracer != nil {
		copy(e.traceRegs[:], regs[:11])
		e.tracer(pc, e.cur.insns[k], &e.traceRegs)
	}
	return 1, nil
}

// callHelper calls the helper of a call or callx instruction.
func (e *Env) callHelper(in *dinsn, regs *regFile) (uint64, error) {
	num := in.imm
	if in.op == opCallX {
		num = int64(regs[in.dst])
	}
	ret, err := e.callNum(num, in.op == opCallX, regs[1], regs[2], regs[3], regs[4], regs[5])
	if err == errHalted {
		regs[0] = ret
	}
	return ret, err
}

// callNum calls helper number num (a call's immediate or, with callx, a
// callx register) from the running VM's registry with r1..r5. A helper's ErrHalt
// comes back as errHalted with r0 as the result; other errors wrap
// ErrMemoryAccess, ErrHelper or ErrContext and name the helper. Both
// engines call helpers through it.
func (e *Env) callNum(num int64, callx bool, r1, r2, r3, r4, r5 uint64) (uint64, error) {
	vm := e.curVM
	h := vm.lookupCall(num, callx) // a helper, or a kfunc (kfunc.go)
	if h == nil {
		return 0, fmt.Errorf("%w %d (%s): not in the VM's helper registry", ErrUnknownHelper, num, vm.callName(num, callx))
	}
	ret, err := h(e, r1, r2, r3, r4, r5)
	if err != nil {
		if errors.Is(err, ErrHalt) {
			return ret, errHalted
		}
		if _, ok := err.(*RunError); ok {
			return 0, err // a callback's failure (callback.go)
		}
		name := vm.callName(num, callx)
		if errors.Is(err, ErrMemoryAccess) || errors.Is(err, ErrHelper) || errors.Is(err, ErrContext) {
			return 0, fmt.Errorf("helper %s: %w", name, err)
		}
		return 0, fmt.Errorf("%w: %s: %w", ErrHelper, name, err)
	}
	return ret, nil
}

// tailCall performs a tail call; false means it falls through.
func (e *Env) tailCall(regs *regFile) bool {
	np, nvm, ok := e.tailCallTarget(regs[2], regs[3])
	if !ok {
		return false
	}
	e.tailCalls++
	e.cur, e.curVM, e.loops = np, nvm, MaxLoops
	return true
}

// pushFrame enters a bpf-to-bpf call returning to slot ret.
func (e *Env) pushFrame(ret int, regs *regFile) error {
	if e.depth == MaxCallFrames-1 {
		return fmt.Errorf("%w: a bpf-to-bpf call would make %d frames, the limit is %d (MAX_CALL_FRAMES)", ErrCallDepth, e.depth+2, MaxCallFrames)
	}
	f := &e.frames[e.depth]
	f.p, f.vm, f.ret, f.loops = e.cur, e.curVM, ret, e.loops
	f.saved = [5]uint64{regs[6], regs[7], regs[8], regs[9], regs[10]}
	e.depth++
	e.loops = MaxLoops
	lo := e.frameLo(e.depth)
	e.regions[0].Start = lo
	off := lo - e.stackBase
	clear(e.stack[off : off+StackSize])
	regs[10] = lo + StackSize
	return nil
}

// popFrame returns from a bpf-to-bpf call.
func (e *Env) popFrame(regs *regFile) int {
	e.depth--
	f := &e.frames[e.depth]
	e.cur, e.curVM, e.loops = f.p, f.vm, f.loops
	regs[6], regs[7], regs[8], regs[9], regs[10] = f.saved[0], f.saved[1], f.saved[2], f.saved[3], f.saved[4]
	e.regions[0].Start = e.frameLo(e.depth)
	return f.ret
}
