package engine

import "unsafe"

// The semantics of loads and stores, written once for both levels of the
// run loop. fast finds the bytes of an access in the stack window or the
// hot regions (inStack, inHot, inHot2) and exec in any region (Env.find); both then read
// or write them with the same functions. Each function is generic over
// the access's Go type, which gives its size and, for loads, its
// extension, so that the compiler makes one small copy per size that
// inlines into fast.

// word is the Go type of an access: uint8, uint16, uint32 and uint64
// zero-extend into a register, int8, int16 and int32 sign-extend (ldsx).
type word interface {
	uint8 | uint16 | uint32 | uint64 | int8 | int16 | int32
}

// sizeOf is the size in bytes of an access of a T.
func sizeOf[T word]() uint64 {
	var v T
	return uint64(unsafe.Sizeof(v))
}

// loadAddr is the address a load (ldx, ldsx, load-acquire) reads: src+off.
func loadAddr(in *dinsn, regs *regFile) uint64 { return regs[in.src] + uint64(in.off) }

// storeAddr is the address a store (st, stx, store-release) or an atomic
// writes: dst+off.
func storeAddr(in *dinsn, regs *regFile) uint64 { return regs[in.dst] + uint64(in.off) }

// stValue is the value st writes: the immediate.
func stValue(in *dinsn) uint64 { return uint64(in.imm) }

// stxValue is the value stx and store-release write: src.
func stxValue(in *dinsn, regs *regFile) uint64 { return regs[in.src] }

// load sets a load's dst from the T at buf[i:] (in the host's byte order,
// as the kernel's loads), extended to 64 bits by T.
func load[T word](in *dinsn, regs *regFile, buf []byte, i uint64) {
	var v T
	switch unsafe.Sizeof(v) {
	case 1:
		v = T(buf[i])
	case 2:
		v = T(ne.Uint16(buf[i:]))
	case 4:
		v = T(ne.Uint32(buf[i:]))
	default:
		v = T(ne.Uint64(buf[i:]))
	}
	regs[in.dst] = uint64(v)
}

// store writes the low bytes of v as a T at buf[i:].
func store[T word](buf []byte, i uint64, v uint64) {
	var w T
	switch unsafe.Sizeof(w) {
	case 1:
		buf[i] = uint8(v)
	case 2:
		ne.PutUint16(buf[i:], uint16(v))
	case 4:
		ne.PutUint32(buf[i:], uint32(v))
	default:
		ne.PutUint64(buf[i:], v)
	}
}

// inStack reports whether all bytes of a T at address a lie in fast's
// stack window (which is at least 8 bytes: stackReach), and where they
// start in c.stack.
func inStack[T word](c *fastCache, a uint64) (uint64, bool) {
	i := a - c.stkLo
	return i, i < c.stkN-(sizeOf[T]()-1) // i+n <= stkN, without overflow
}

// inHot reports whether all bytes of a T at address a lie in the hot
// region, and where they start in c.hot. What is in neither, exec finds
// (or refuses) by searching every region.
func inHot[T word](c *fastCache, a uint64) (uint64, bool) {
	i := a - c.hotLo
	return i, i < uint64(len(c.hot)) && uint64(len(c.hot))-i >= sizeOf[T]()
}

// inHot2 is inHot for the second hot region.
func inHot2[T word](c *fastCache, a uint64) (uint64, bool) {
	i := a - c.hot2Lo
	return i, i < uint64(len(c.hot2)) && uint64(len(c.hot2))-i >= sizeOf[T]()
}

// slowLoad runs a load of a T in exec, in whatever region holds it.
func slowLoad[T word](e *Env, in *dinsn, regs *regFile) error {
	b, err := e.find(loadAddr(in, regs), int(sizeOf[T]()), false)
	if err != nil {
		return err
	}
	load[T](in, regs, b, 0)
	return nil
}

// slowStore runs a store of v as a T in exec.
func slowStore[T word](e *Env, in *dinsn, regs *regFile, v uint64) error {
	b, err := e.find(storeAddr(in, regs), int(sizeOf[T]()), true)
	if err != nil {
		return err
	}
	store[T](b, 0, v)
	return nil
}

// load runs a load op in exec: the ops of fast's load cases, with the
// same types, and load-acquire (any size, zero-extended).
func (e *Env) load(in *dinsn, regs *regFile) error {
	switch in.op {
	case opLdxSB:
		return slowLoad[int8](e, in, regs)
	case opLdxSH:
		return slowLoad[int16](e, in, regs)
	case opLdxSW:
		return slowLoad[int32](e, in, regs)
	}
	switch in.sz { // ldx, load-acquire
	case 1:
		return slowLoad[uint8](e, in, regs)
	case 2:
		return slowLoad[uint16](e, in, regs)
	case 4:
		return slowLoad[uint32](e, in, regs)
	}
	return slowLoad[uint64](e, in, regs)
}

// store runs a store op in exec: st, stx and store-release.
func (e *Env) store(in *dinsn, regs *regFile) error {
	v := stxValue(in, regs)
	if in.op.kind() == kindStoreImm {
		v = stValue(in)
	}
	switch in.sz {
	case 1:
		return slowStore[uint8](e, in, regs, v)
	case 2:
		return slowStore[uint16](e, in, regs, v)
	case 4:
		return slowStore[uint32](e, in, regs, v)
	}
	return slowStore[uint64](e, in, regs, v)
}
