package interp

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
// instruction with the slot about to run and the registers. It may read
// the registers but must not keep the pointer.
type Tracer func(pc int, ins insn.Instruction, regs *[11]uint64)

// frame is a suspended caller of a bpf-to-bpf call.
type frame struct {
	p     *program
	vm    *VM
	ret   int
	saved [5]uint64 // r6..r10
	loops uint64    // the caller's may_goto allowance
}

var ne = binary.NativeEndian

// exec runs p with the registers in r until exit. It returns r0.
func (e *Env) exec(p *program, r *[11]uint64) (uint64, error) {
	var (
		regs   = *r
		code   = p.code
		pc     = 0
		vm     = e.vm
		depth  = 0
		frames [MaxCallFrames - 1]frame
		loops  = uint64(MaxLoops)
		stack  = e.stack
		sbase  = e.stackBase
		stkLo  = e.regions[0].Start
		stkN   = e.regions[0].End - stkLo
		budget = vm.budget
		left   = budget
		rest   = uint64(0)
		err    error
		tracer = e.tracer
	)
	if tracer != nil {
		left, rest = 0, budget
	}
	for {
		if left == 0 {
			if tracer == nil || rest == 0 {
				err = fmt.Errorf("%w after %d instructions", ErrBudgetExhausted, budget)
				goto fail
			}
			rest--
			left = 1
			if k := p.slots[pc]; k >= 0 {
				e.traceRegs = regs
				tracer(pc, p.insns[k], &e.traceRegs)
			}
		}
		left--
		in := &code[pc]
		switch in.op {
		// 64-bit ALU
		case opAdd64X:
			regs[in.dst] += regs[in.src]
		case opAdd64K:
			regs[in.dst] += uint64(in.imm)
		case opSub64X:
			regs[in.dst] -= regs[in.src]
		case opSub64K:
			regs[in.dst] -= uint64(in.imm)
		case opMul64X:
			regs[in.dst] *= regs[in.src]
		case opMul64K:
			regs[in.dst] *= uint64(in.imm)
		case opDiv64X:
			regs[in.dst] = div64(regs[in.dst], regs[in.src])
		case opDiv64K:
			regs[in.dst] = div64(regs[in.dst], uint64(in.imm))
		case opSDiv64X:
			regs[in.dst] = sdiv64(regs[in.dst], regs[in.src])
		case opSDiv64K:
			regs[in.dst] = sdiv64(regs[in.dst], uint64(in.imm))
		case opOr64X:
			regs[in.dst] |= regs[in.src]
		case opOr64K:
			regs[in.dst] |= uint64(in.imm)
		case opAnd64X:
			regs[in.dst] &= regs[in.src]
		case opAnd64K:
			regs[in.dst] &= uint64(in.imm)
		case opLsh64X:
			regs[in.dst] <<= regs[in.src] & 63
		case opLsh64K:
			regs[in.dst] <<= uint64(in.imm) & 63
		case opRsh64X:
			regs[in.dst] >>= regs[in.src] & 63
		case opRsh64K:
			regs[in.dst] >>= uint64(in.imm) & 63
		case opNeg64:
			regs[in.dst] = -regs[in.dst]
		case opMod64X:
			regs[in.dst] = mod64(regs[in.dst], regs[in.src])
		case opMod64K:
			regs[in.dst] = mod64(regs[in.dst], uint64(in.imm))
		case opSMod64X:
			regs[in.dst] = smod64(regs[in.dst], regs[in.src])
		case opSMod64K:
			regs[in.dst] = smod64(regs[in.dst], uint64(in.imm))
		case opXor64X:
			regs[in.dst] ^= regs[in.src]
		case opXor64K:
			regs[in.dst] ^= uint64(in.imm)
		case opMov64X:
			regs[in.dst] = regs[in.src]
		case opMov64K:
			regs[in.dst] = uint64(in.imm)
		case opMovSX8_64:
			regs[in.dst] = uint64(int64(int8(regs[in.src])))
		case opMovSX16_64:
			regs[in.dst] = uint64(int64(int16(regs[in.src])))
		case opMovSX32_64:
			regs[in.dst] = uint64(int64(int32(regs[in.src])))
		case opArsh64X:
			regs[in.dst] = uint64(int64(regs[in.dst]) >> (regs[in.src] & 63))
		case opArsh64K:
			regs[in.dst] = uint64(int64(regs[in.dst]) >> (uint64(in.imm) & 63))
		case opBswap16:
			regs[in.dst] = uint64(bits.ReverseBytes16(uint16(regs[in.dst])))
		case opBswap32:
			regs[in.dst] = uint64(bits.ReverseBytes32(uint32(regs[in.dst])))
		case opBswap64:
			regs[in.dst] = bits.ReverseBytes64(regs[in.dst])

		// 32-bit ALU: results are zero-extended.
		case opAdd32X:
			regs[in.dst] = uint64(uint32(regs[in.dst]) + uint32(regs[in.src]))
		case opAdd32K:
			regs[in.dst] = uint64(uint32(regs[in.dst]) + uint32(in.imm))
		case opSub32X:
			regs[in.dst] = uint64(uint32(regs[in.dst]) - uint32(regs[in.src]))
		case opSub32K:
			regs[in.dst] = uint64(uint32(regs[in.dst]) - uint32(in.imm))
		case opMul32X:
			regs[in.dst] = uint64(uint32(regs[in.dst]) * uint32(regs[in.src]))
		case opMul32K:
			regs[in.dst] = uint64(uint32(regs[in.dst]) * uint32(in.imm))
		case opDiv32X:
			regs[in.dst] = div32(regs[in.dst], regs[in.src])
		case opDiv32K:
			regs[in.dst] = div32(regs[in.dst], uint64(in.imm))
		case opSDiv32X:
			regs[in.dst] = sdiv32(regs[in.dst], regs[in.src])
		case opSDiv32K:
			regs[in.dst] = sdiv32(regs[in.dst], uint64(in.imm))
		case opOr32X:
			regs[in.dst] = uint64(uint32(regs[in.dst]) | uint32(regs[in.src]))
		case opOr32K:
			regs[in.dst] = uint64(uint32(regs[in.dst]) | uint32(in.imm))
		case opAnd32X:
			regs[in.dst] = uint64(uint32(regs[in.dst]) & uint32(regs[in.src]))
		case opAnd32K:
			regs[in.dst] = uint64(uint32(regs[in.dst]) & uint32(in.imm))
		case opLsh32X:
			regs[in.dst] = uint64(uint32(regs[in.dst]) << (regs[in.src] & 31))
		case opLsh32K:
			regs[in.dst] = uint64(uint32(regs[in.dst]) << (uint64(in.imm) & 31))
		case opRsh32X:
			regs[in.dst] = uint64(uint32(regs[in.dst]) >> (regs[in.src] & 31))
		case opRsh32K:
			regs[in.dst] = uint64(uint32(regs[in.dst]) >> (uint64(in.imm) & 31))
		case opNeg32:
			regs[in.dst] = uint64(-uint32(regs[in.dst]))
		case opMod32X:
			regs[in.dst] = mod32(regs[in.dst], regs[in.src])
		case opMod32K:
			regs[in.dst] = mod32(regs[in.dst], uint64(in.imm))
		case opSMod32X:
			regs[in.dst] = smod32(regs[in.dst], regs[in.src])
		case opSMod32K:
			regs[in.dst] = smod32(regs[in.dst], uint64(in.imm))
		case opXor32X:
			regs[in.dst] = uint64(uint32(regs[in.dst]) ^ uint32(regs[in.src]))
		case opXor32K:
			regs[in.dst] = uint64(uint32(regs[in.dst]) ^ uint32(in.imm))
		case opMov32X:
			regs[in.dst] = uint64(uint32(regs[in.src]))
		case opMov32K:
			regs[in.dst] = uint64(uint32(in.imm))
		case opMovSX8_32:
			regs[in.dst] = uint64(uint32(int32(int8(regs[in.src]))))
		case opMovSX16_32:
			regs[in.dst] = uint64(uint32(int32(int16(regs[in.src]))))
		case opArsh32X:
			regs[in.dst] = uint64(uint32(int32(regs[in.dst]) >> (regs[in.src] & 31)))
		case opArsh32K:
			regs[in.dst] = uint64(uint32(int32(regs[in.dst]) >> (uint64(in.imm) & 31)))
		case opTrunc16:
			regs[in.dst] = uint64(uint16(regs[in.dst]))
		case opTrunc32:
			regs[in.dst] = uint64(uint32(regs[in.dst]))
		case opNop:

		// Jumps.
		case opJa:
			pc = int(in.off)
			continue
		case opJeq64X:
			if regs[in.dst] == regs[in.src] {
				pc = int(in.off)
				continue
			}
		case opJeq64K:
			if regs[in.dst] == uint64(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJgt64X:
			if regs[in.dst] > regs[in.src] {
				pc = int(in.off)
				continue
			}
		case opJgt64K:
			if regs[in.dst] > uint64(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJge64X:
			if regs[in.dst] >= regs[in.src] {
				pc = int(in.off)
				continue
			}
		case opJge64K:
			if regs[in.dst] >= uint64(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJset64X:
			if regs[in.dst]&regs[in.src] != 0 {
				pc = int(in.off)
				continue
			}
		case opJset64K:
			if regs[in.dst]&uint64(in.imm) != 0 {
				pc = int(in.off)
				continue
			}
		case opJne64X:
			if regs[in.dst] != regs[in.src] {
				pc = int(in.off)
				continue
			}
		case opJne64K:
			if regs[in.dst] != uint64(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJsgt64X:
			if int64(regs[in.dst]) > int64(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJsgt64K:
			if int64(regs[in.dst]) > in.imm {
				pc = int(in.off)
				continue
			}
		case opJsge64X:
			if int64(regs[in.dst]) >= int64(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJsge64K:
			if int64(regs[in.dst]) >= in.imm {
				pc = int(in.off)
				continue
			}
		case opJlt64X:
			if regs[in.dst] < regs[in.src] {
				pc = int(in.off)
				continue
			}
		case opJlt64K:
			if regs[in.dst] < uint64(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJle64X:
			if regs[in.dst] <= regs[in.src] {
				pc = int(in.off)
				continue
			}
		case opJle64K:
			if regs[in.dst] <= uint64(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJslt64X:
			if int64(regs[in.dst]) < int64(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJslt64K:
			if int64(regs[in.dst]) < in.imm {
				pc = int(in.off)
				continue
			}
		case opJsle64X:
			if int64(regs[in.dst]) <= int64(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJsle64K:
			if int64(regs[in.dst]) <= in.imm {
				pc = int(in.off)
				continue
			}
		case opJeq32X:
			if uint32(regs[in.dst]) == uint32(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJeq32K:
			if uint32(regs[in.dst]) == uint32(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJgt32X:
			if uint32(regs[in.dst]) > uint32(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJgt32K:
			if uint32(regs[in.dst]) > uint32(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJge32X:
			if uint32(regs[in.dst]) >= uint32(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJge32K:
			if uint32(regs[in.dst]) >= uint32(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJset32X:
			if uint32(regs[in.dst])&uint32(regs[in.src]) != 0 {
				pc = int(in.off)
				continue
			}
		case opJset32K:
			if uint32(regs[in.dst])&uint32(in.imm) != 0 {
				pc = int(in.off)
				continue
			}
		case opJne32X:
			if uint32(regs[in.dst]) != uint32(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJne32K:
			if uint32(regs[in.dst]) != uint32(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJsgt32X:
			if int32(regs[in.dst]) > int32(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJsgt32K:
			if int32(regs[in.dst]) > int32(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJsge32X:
			if int32(regs[in.dst]) >= int32(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJsge32K:
			if int32(regs[in.dst]) >= int32(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJlt32X:
			if uint32(regs[in.dst]) < uint32(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJlt32K:
			if uint32(regs[in.dst]) < uint32(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJle32X:
			if uint32(regs[in.dst]) <= uint32(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJle32K:
			if uint32(regs[in.dst]) <= uint32(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJslt32X:
			if int32(regs[in.dst]) < int32(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJslt32K:
			if int32(regs[in.dst]) < int32(in.imm) {
				pc = int(in.off)
				continue
			}
		case opJsle32X:
			if int32(regs[in.dst]) <= int32(regs[in.src]) {
				pc = int(in.off)
				continue
			}
		case opJsle32K:
			if int32(regs[in.dst]) <= int32(in.imm) {
				pc = int(in.off)
				continue
			}
		case opMayGoto:
			if loops == 0 {
				pc = int(in.off)
				continue
			}
			loops--

		// Calls.
		case opCall, opCallX:
			num := in.imm
			if in.op == opCallX {
				num = int64(regs[in.dst])
			}
			h := vm.helpers.lookup(insn.HelperFunc(num))
			if h == nil {
				err = fmt.Errorf("%w %d: callx target is not in the VM's helper registry", ErrUnknownHelper, num)
				goto fail
			}
			var ret uint64
			ret, err = h(e, regs[1], regs[2], regs[3], regs[4], regs[5])
			if err != nil {
				if errors.Is(err, ErrHalt) {
					regs[0] = ret
					*r = regs
					e.executed = budget - left - rest
					return ret, nil
				}
				if !errors.Is(err, ErrMemoryAccess) {
					err = fmt.Errorf("%w: %s: %w", ErrHelper, insn.HelperFunc(num), err)
				} else {
					err = fmt.Errorf("helper %s: %w", insn.HelperFunc(num), err)
				}
				goto fail
			}
			regs[0] = ret
		case opTailCall:
			np, nvm, ok := e.tailCallTarget(regs[2], regs[3])
			if !ok {
				break // kernel: a failed tail call continues with the next instruction
			}
			e.tailCalls++
			vm, p, code, pc = nvm, np, np.code, 0
			loops = MaxLoops
			continue
		case opCallLocal:
			if depth == MaxCallFrames-1 {
				err = fmt.Errorf("%w: a bpf-to-bpf call would make %d frames, the limit is %d (MAX_CALL_FRAMES)", ErrCallDepth, depth+2, MaxCallFrames)
				goto fail
			}
			f := &frames[depth]
			f.p, f.vm, f.ret, f.loops = p, vm, pc+1, loops
			f.saved = [5]uint64{regs[6], regs[7], regs[8], regs[9], regs[10]}
			depth++
			loops = MaxLoops
			stkLo -= StackSize
			stkN += StackSize
			e.regions[0].Start = stkLo
			clear(stack[stkLo-sbase : stkLo-sbase+StackSize])
			regs[10] = stkLo + StackSize
			pc = int(in.off)
			continue
		case opExit:
			if depth == 0 {
				*r = regs
				e.executed = budget - left - rest
				if tracer != nil {
					e.traceRegs = regs
					tracer(-1, insn.Instruction{}, &e.traceRegs)
				}
				return regs[0], nil
			}
			depth--
			f := &frames[depth]
			p, vm, pc, loops = f.p, f.vm, f.ret, f.loops
			code = p.code
			regs[6], regs[7], regs[8], regs[9], regs[10] = f.saved[0], f.saved[1], f.saved[2], f.saved[3], f.saved[4]
			stkLo += StackSize
			stkN -= StackSize
			e.regions[0].Start = stkLo
			continue

		// Memory.
		case opLdxB, opLdxSB:
			a := regs[in.src] + uint64(in.off)
			var v uint8
			if a-stkLo < stkN {
				v = stack[a-sbase]
			} else {
				var b []byte
				if b, err = e.find(a, 1, false); err != nil {
					goto fail
				}
				v = b[0]
			}
			if in.op == opLdxSB {
				regs[in.dst] = uint64(int64(int8(v)))
			} else {
				regs[in.dst] = uint64(v)
			}
		case opLdxH, opLdxSH:
			a := regs[in.src] + uint64(in.off)
			var b []byte
			if a-stkLo <= stkN-2 {
				b = stack[a-sbase:]
			} else if b, err = e.find(a, 2, false); err != nil {
				goto fail
			}
			v := ne.Uint16(b)
			if in.op == opLdxSH {
				regs[in.dst] = uint64(int64(int16(v)))
			} else {
				regs[in.dst] = uint64(v)
			}
		case opLdxW, opLdxSW:
			a := regs[in.src] + uint64(in.off)
			var b []byte
			if a-stkLo <= stkN-4 {
				b = stack[a-sbase:]
			} else if b, err = e.find(a, 4, false); err != nil {
				goto fail
			}
			v := ne.Uint32(b)
			if in.op == opLdxSW {
				regs[in.dst] = uint64(int64(int32(v)))
			} else {
				regs[in.dst] = uint64(v)
			}
		case opLdxDW:
			a := regs[in.src] + uint64(in.off)
			var b []byte
			if a-stkLo <= stkN-8 {
				b = stack[a-sbase:]
			} else if b, err = e.find(a, 8, false); err != nil {
				goto fail
			}
			regs[in.dst] = ne.Uint64(b)
		case opStB, opStxB:
			v := regs[in.src]
			if in.op == opStB {
				v = uint64(in.imm)
			}
			a := regs[in.dst] + uint64(in.off)
			if a-stkLo < stkN {
				stack[a-sbase] = uint8(v)
			} else {
				var b []byte
				if b, err = e.find(a, 1, true); err != nil {
					goto fail
				}
				b[0] = uint8(v)
			}
		case opStH, opStxH:
			v := regs[in.src]
			if in.op == opStH {
				v = uint64(in.imm)
			}
			a := regs[in.dst] + uint64(in.off)
			var b []byte
			if a-stkLo <= stkN-2 {
				b = stack[a-sbase:]
			} else if b, err = e.find(a, 2, true); err != nil {
				goto fail
			}
			ne.PutUint16(b, uint16(v))
		case opStW, opStxW:
			v := regs[in.src]
			if in.op == opStW {
				v = uint64(in.imm)
			}
			a := regs[in.dst] + uint64(in.off)
			var b []byte
			if a-stkLo <= stkN-4 {
				b = stack[a-sbase:]
			} else if b, err = e.find(a, 4, true); err != nil {
				goto fail
			}
			ne.PutUint32(b, uint32(v))
		case opStDW, opStxDW:
			v := regs[in.src]
			if in.op == opStDW {
				v = uint64(in.imm)
			}
			a := regs[in.dst] + uint64(in.off)
			var b []byte
			if a-stkLo <= stkN-8 {
				b = stack[a-sbase:]
			} else if b, err = e.find(a, 8, true); err != nil {
				goto fail
			}
			ne.PutUint64(b, v)
		case opAtomicW, opAtomicDW:
			if err = atomicOp(e, in, &regs); err != nil {
				goto fail
			}
		case opLoadAcq:
			var b []byte
			a := regs[in.src] + uint64(in.off)
			if b, err = e.find(a, int(in.sz), false); err != nil {
				goto fail
			}
			regs[in.dst] = loadN(b)
		case opStoreRel:
			var b []byte
			a := regs[in.dst] + uint64(in.off)
			if b, err = e.find(a, int(in.sz), true); err != nil {
				goto fail
			}
			storeN(b, regs[in.src])
		case opLdImm64:
			regs[in.dst] = uint64(in.imm)
			pc += 2
			continue
		case opLdMapPtr:
			regs[in.dst] = MapHandle(int(in.imm))
			pc += 2
			continue
		case opLdMapVal:
			var addr uint64
			if addr, err = e.mapValueAddr(vm, int(in.imm), uint64(in.off)); err != nil {
				goto fail
			}
			regs[in.dst] = addr
			pc += 2
			continue
		case opLdAbs, opLdInd:
			off := int64(int32(in.imm))
			if in.op == opLdInd {
				off = int64(int32(uint32(regs[in.src]) + uint32(in.imm)))
			}
			pkt := e.Packet()
			n := int64(in.sz)
			if off < 0 || off > int64(len(pkt))-n {
				// The kernel's LD_ABS/LD_IND sequence exits with r0 = 0
				// on a read past the packet (net/core/filter.c,
				// bpf_gen_ld_abs).
				regs[0] = 0
				*r = regs
				e.executed = budget - left - rest
				return 0, nil
			}
			b := pkt[off : off+n]
			switch n {
			case 1:
				regs[0] = uint64(b[0])
			case 2:
				regs[0] = uint64(binary.BigEndian.Uint16(b))
			default:
				regs[0] = uint64(binary.BigEndian.Uint32(b))
			}
		default:
			err = fmt.Errorf("%w: cannot execute opcode at this slot", ErrLoad)
			goto fail
		}
		pc++
	}
fail:
	*r = regs
	e.executed = budget - left - rest
	e.regions[0].Start = e.StackTop() - StackSize
	return 0, &RunError{PC: pc, Err: err}
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

func loadN(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(ne.Uint16(b))
	case 4:
		return uint64(ne.Uint32(b))
	}
	return ne.Uint64(b)
}

func storeN(b []byte, v uint64) {
	switch len(b) {
	case 1:
		b[0] = uint8(v)
	case 2:
		ne.PutUint16(b, uint16(v))
	case 4:
		ne.PutUint32(b, uint32(v))
	default:
		ne.PutUint64(b, v)
	}
}

// atomicOp executes a BPF_ATOMIC read-modify-write with sync/atomic, so
// that concurrent runs sharing a map see kernel-like atomicity.
func atomicOp(e *Env, in *dinsn, regs *[11]uint64) error {
	a := regs[in.dst] + uint64(in.off)
	n := int(in.sz)
	b, err := e.find(a, n, true)
	if err != nil {
		return err
	}
	if a%uint64(n) != 0 {
		// The verifier rejects misaligned atomics (check_atomic ->
		// check_mem_access with strict alignment).
		return accessErr(true, n, a, "misaligned atomic access")
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
