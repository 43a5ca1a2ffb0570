package insn

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// SlotSize is the size in bytes of one instruction slot.
const SlotSize = 8

// Instruction is one logical eBPF instruction. An LD_IMM64 is a single
// Instruction that occupies two slots and holds its full 64-bit constant in
// Imm; every other instruction occupies one slot and holds its sign-extended
// 32-bit immediate in Imm.
type Instruction struct {
	OpCode OpCode
	Dst    Register
	Src    Register
	// Offset is the signed 16-bit offset field: a memory displacement, a
	// jump distance in slots, or a variant selector for sdiv, smod and movsx.
	Offset int16
	// Imm is the immediate. For LD_IMM64 it is the whole 64-bit value (low
	// 32 bits from the first slot, high 32 bits from the second).
	Imm int64

	// Label names this instruction, so that jumps and local calls can
	// target it. It is not encoded.
	Label string
	// Ref names the target of this instruction: the label of a jump, gotol,
	// may_goto or local call, or the map of an LD_IMM64 map load. It is not
	// encoded; Resolve turns jump and call references into offsets.
	Ref string
}

// Instructions is an eBPF program or a fragment of one.
type Instructions []Instruction

// IsLoadImm64 reports whether i is a two-slot LD_IMM64.
func (i Instruction) IsLoadImm64() bool { return i.OpCode == OpLdImm64 }

// Slots returns how many 8-byte slots i occupies: 2 for LD_IMM64, else 1.
func (i Instruction) Slots() int {
	if i.IsLoadImm64() {
		return 2
	}
	return 1
}

// WithLabel returns a copy of i that carries the label name.
func (i Instruction) WithLabel(name string) Instruction {
	i.Label = name
	return i
}

// IsExit reports whether i is an exit.
func (i Instruction) IsExit() bool { return i.OpCode == OpExit }

// IsLocalCall reports whether i is a bpf-to-bpf call (call with src 1).
func (i Instruction) IsLocalCall() bool { return i.OpCode == OpCall && i.Src == callLocal }

// IsHelperCall reports whether i calls a helper by number (call with src 0).
func (i Instruction) IsHelperCall() bool { return i.OpCode == OpCall && i.Src == callHelper }

// IsKfuncCall reports whether i calls a kernel function by BTF id.
func (i Instruction) IsKfuncCall() bool { return i.OpCode == OpCall && i.Src == callKfunc }

// IsJump reports whether i is a jump with an offset: ja, gotol, may_goto or
// a conditional jump. Calls and exit are not jumps.
func (i Instruction) IsJump() bool {
	c := i.OpCode.Class()
	if c != ClassJmp && c != ClassJmp32 {
		return false
	}
	switch JumpOp(i.OpCode.Code()) {
	case call, exit:
		return false
	}
	return true
}

// IsMapReference reports whether i is an LD_IMM64 whose constant refers to a
// map (src 1, 2, 5 or 6).
func (i Instruction) IsMapReference() bool {
	if !i.IsLoadImm64() {
		return false
	}
	switch PseudoSrc(i.Src) {
	case PseudoMapFD, PseudoMapValue, PseudoMapIdx, PseudoMapIdxValue:
		return true
	}
	return false
}

// SetMapFD stores a map fd (or index, for src 5 and 6) in the low 32 bits of
// an LD_IMM64 map reference, keeping the value offset in the high 32 bits.
func (i *Instruction) SetMapFD(fd int32) {
	i.Imm = int64(uint64(i.Imm)&^0xffffffff | uint64(uint32(fd)))
}

// MapFD returns the low 32 bits of an LD_IMM64: the map fd or index.
func (i Instruction) MapFD() int32 { return int32(uint32(i.Imm)) }

// MapValueOffset returns the high 32 bits of an LD_IMM64 map value load:
// the offset into the map value.
func (i Instruction) MapValueOffset() uint32 { return uint32(uint64(i.Imm) >> 32) }

// jumpTarget returns the slot an instruction at slot pc transfers control
// to (or, for a function pointer load, names), and whether it is a jump,
// local call or function pointer load at all.
func (i Instruction) jumpTarget(pc int) (int, bool) {
	switch {
	case i.OpCode == OpGotol:
		return pc + 1 + int(int32(i.Imm)), true
	case i.IsLocalCall():
		return pc + 1 + int(int32(i.Imm)), true
	case i.IsLoadImm64() && PseudoSrc(i.Src) == PseudoFunc:
		// The kernel takes the function at slot pc + 1 + imm
		// (kernel/bpf/verifier.c, add_subprog_and_kfunc).
		return pc + 1 + int(i.MapFD()), true
	case i.IsJump():
		return pc + 1 + int(i.Offset), true
	}
	return 0, false
}

// Slots returns the number of 8-byte slots the program occupies.
func (is Instructions) Slots() int {
	n := 0
	for _, i := range is {
		n += i.Slots()
	}
	return n
}

// SlotOffsets returns, for each instruction, the index of its first slot.
func (is Instructions) SlotOffsets() []int {
	offs := make([]int, len(is))
	n := 0
	for k, i := range is {
		offs[k] = n
		n += i.Slots()
	}
	return offs
}

// MapReferences returns the distinct map names that LD_IMM64 instructions
// refer to, in order of first use.
func (is Instructions) MapReferences() []string {
	var names []string
	seen := map[string]bool{}
	for _, i := range is {
		if i.IsMapReference() && i.Ref != "" && !seen[i.Ref] {
			seen[i.Ref] = true
			names = append(names, i.Ref)
		}
	}
	return names
}

// String disassembles the program, one instruction per line. Labels are
// printed on their own line, as "name:".
func (is Instructions) String() string {
	var sb strings.Builder
	var labels map[string]bool // only when a label is also a helper's name
	for _, i := range is {
		if _, ok := helperByName[i.Label]; ok {
			if labels == nil {
				labels = map[string]bool{}
			}
			labels[i.Label] = true
		}
	}
	for _, i := range is {
		if i.Label != "" {
			sb.WriteString(i.Label)
			sb.WriteString(":\n")
		}
		if name, ok := helperName(i.Imm); ok && i.IsHelperCall() && labels[name] {
			// "call name" would read back as a call of the label.
			fmt.Fprintf(&sb, "call %d", i.Imm)
		} else {
			sb.WriteString(i.String())
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// Marshal resolves the program's labels, validates it and encodes it in the
// kernel's little-endian format.
func (is Instructions) Marshal() ([]byte, error) {
	return is.AppendMarshal(make([]byte, 0, is.Slots()*SlotSize))
}

// AppendMarshal is Marshal appending to buf.
func (is Instructions) AppendMarshal(buf []byte) ([]byte, error) {
	resolved, err := is.Resolve()
	if err != nil {
		return nil, err
	}
	if err := resolved.validate(); err != nil {
		return nil, err
	}
	for _, i := range resolved {
		buf = i.appendSlots(buf)
	}
	return buf, nil
}

func (i Instruction) appendSlots(buf []byte) []byte {
	buf = appendSlot(buf, i.OpCode, i.Dst, i.Src, i.Offset, int32(i.Imm))
	if i.IsLoadImm64() {
		buf = appendSlot(buf, 0, 0, 0, 0, int32(uint64(i.Imm)>>32))
	}
	return buf
}

func appendSlot(buf []byte, op OpCode, dst, src Register, off int16, imm int32) []byte {
	buf = append(buf, byte(op), byte(dst&0x0f)|byte(src&0x0f)<<4)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(off))
	return binary.LittleEndian.AppendUint32(buf, uint32(imm))
}

// Unmarshal decodes and validates a program in the kernel's little-endian
// format. Errors are *Error values naming the slot.
func Unmarshal(b []byte) (Instructions, error) {
	if len(b)%SlotSize != 0 {
		return nil, &Error{Slot: len(b) / SlotSize, Err: fmt.Errorf("%w: %d trailing bytes are not a whole slot", ErrTruncated, len(b)%SlotSize)}
	}
	n := len(b) / SlotSize
	is := make(Instructions, 0, n)
	for pc := 0; pc < n; pc++ {
		s := b[pc*SlotSize:]
		i := Instruction{
			OpCode: OpCode(s[0]),
			Dst:    Register(s[1] & 0x0f),
			Src:    Register(s[1] >> 4),
			Offset: int16(binary.LittleEndian.Uint16(s[2:])),
			Imm:    int64(int32(binary.LittleEndian.Uint32(s[4:]))),
		}
		if i.IsLoadImm64() {
			if pc+1 >= n {
				return nil, &Error{Slot: pc, Err: fmt.Errorf("%w: lddw is missing its second slot", ErrTruncated)}
			}
			s2 := b[(pc+1)*SlotSize:]
			if s2[0] != 0 || s2[1] != 0 || s2[2] != 0 || s2[3] != 0 {
				return nil, &Error{Slot: pc + 1, Err: fmt.Errorf("%w: second slot of lddw must have zero opcode, registers and offset", ErrReservedField)}
			}
			i.Imm = int64(uint64(uint32(i.Imm)) | uint64(binary.LittleEndian.Uint32(s2[4:]))<<32)
			pc++
		}
		is = append(is, i)
	}
	if err := is.validate(); err != nil {
		return nil, err
	}
	return is, nil
}
