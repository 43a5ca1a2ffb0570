package insn

import "math"

// Resolve returns a copy of the program in which every jump, gotol, may_goto,
// local call and "func(label) ll" function pointer load that has a Ref gets
// the offset of the instruction labelled so. A reference to a missing label and a label defined twice are errors.
// Map references are left alone: they are resolved by the loader.
func (is Instructions) Resolve() (Instructions, error) {
	offs := is.SlotOffsets()
	labels := make(map[string]int)
	for k, i := range is {
		if i.Label == "" {
			continue
		}
		if _, dup := labels[i.Label]; dup {
			return nil, errAt(offs[k], ErrDuplicateLabel, "%q", i.Label)
		}
		labels[i.Label] = offs[k]
	}
	out := make(Instructions, len(is))
	copy(out, is)
	for k := range out {
		i := &out[k]
		isFunc := i.IsLoadImm64() && PseudoSrc(i.Src) == PseudoFunc
		if i.Ref == "" || (!isFunc && !i.IsJump() && !i.IsLocalCall()) {
			continue
		}
		target, ok := labels[i.Ref]
		if !ok {
			return nil, errAt(offs[k], ErrUnresolvedLabel, "%q", i.Ref)
		}
		delta := target - offs[k] - 1
		switch {
		case isFunc:
			// The low 32 bits of "func(label) ll" are the distance in
			// slots; the high 32 bits are kept.
			i.Imm = int64(uint64(i.Imm)&^0xffffffff | uint64(uint32(int32(delta))))
		case i.OpCode == OpGotol || i.IsLocalCall():
			i.Imm = int64(delta)
		case delta < math.MinInt16 || delta > math.MaxInt16:
			return nil, errAt(offs[k], ErrJumpOutOfRange, "%q is %d slots away, beyond a 16-bit offset (use Gotol)", i.Ref, delta)
		default:
			i.Offset = int16(delta)
		}
	}
	return out, nil
}

// Validate resolves the program's labels and checks every instruction: known
// opcodes, zero reserved fields, valid registers, no write to r10, and jump
// targets inside the program and not in the middle of an LD_IMM64. Errors
// are *Error values naming the slot.
func (is Instructions) Validate() error {
	resolved, err := is.Resolve()
	if err != nil {
		return err
	}
	return resolved.validate()
}

func (is Instructions) validate() error {
	offs := is.SlotOffsets()
	n := is.Slots()
	// secondSlot marks slots that hold the upper half of an LD_IMM64.
	var secondSlot map[int]bool
	for k, i := range is {
		if err := i.check(); err != nil {
			return &Error{Slot: offs[k], Err: err}
		}
		if i.IsLoadImm64() {
			if secondSlot == nil {
				secondSlot = make(map[int]bool)
			}
			secondSlot[offs[k]+1] = true
		}
	}
	for k, i := range is {
		target, ok := i.jumpTarget(offs[k])
		if !ok {
			continue
		}
		if target < 0 || target >= n {
			return errAt(offs[k], ErrJumpOutOfRange, "target slot %d is outside the program's %d slots", target, n)
		}
		if secondSlot[target] {
			return errAt(offs[k], ErrJumpIntoLdImm64, "target slot %d", target)
		}
	}
	return nil
}
