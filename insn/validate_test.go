package insn_test

import (
	"errors"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

// TestUnmarshalErrors feeds hand-encoded programs that the kernel rejects
// and checks the sentinel and the slot of the error.
func TestUnmarshalErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		hex  string
		slot int
		err  error
	}{
		{"unknown opcode 0xff", exitHex + "ff 00 0000 00000000", 1, insn.ErrUnknownOpcode},
		{"opcode 0x00 (ld imm size w)", "00 00 0000 00000000", 0, insn.ErrUnknownOpcode},
		{"alu64 op 0xe0", "e7 01 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"alu op 0xf0", "f4 01 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"neg with source x", "8f 01 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"bswap with source x", "df 01 0000 10000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"jmp op 0xf0", "f5 01 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"exit with source x", "9d 00 0000 00000000", 0, insn.ErrUnknownOpcode},
		{"exit in jmp32", "96 00 0000 00000000", 0, insn.ErrUnknownOpcode},
		{"call in jmp32", "86 00 0000 01000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"may_goto in jmp32", "e6 00 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"ja with source x", "0d 00 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"st in abs mode", "22 01 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"ldsx of 64 bits", "99 12 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"ld_abs of 64 bits", "38 00 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"ld imm of 8 bits", "10 01 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"ldx mode 0xa0", "a1 12 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},
		{"stx mode 0x80", "83 21 0000 00000000" + exitHex, 0, insn.ErrUnknownOpcode},

		{"alu k with src", "07 21 0000 05000000" + exitHex, 0, insn.ErrReservedField},
		{"alu x with imm", "0f 21 0000 01000000" + exitHex, 0, insn.ErrReservedField},
		{"alu with offset", "07 01 0100 01000000" + exitHex, 0, insn.ErrInvalidField},
		{"mov k with offset", "b7 01 0800 01000000" + exitHex, 0, insn.ErrInvalidField},
		{"neg with imm", "87 01 0000 01000000" + exitHex, 0, insn.ErrReservedField},
		{"exit with imm", "95 00 0000 01000000", 0, insn.ErrReservedField},
		{"exit with offset", "95 00 0100 00000000", 0, insn.ErrReservedField},
		{"ja with dst", "05 01 0000 00000000" + exitHex, 0, insn.ErrReservedField},
		{"ja with imm", "05 00 0000 01000000" + exitHex, 0, insn.ErrReservedField},
		{"gotol with offset", "06 00 0100 00000000" + exitHex, 0, insn.ErrReservedField},
		{"helper call with offset", "85 00 0100 01000000" + exitHex, 0, insn.ErrReservedField},
		{"call with dst", "85 01 0000 01000000" + exitHex, 0, insn.ErrReservedField},
		{"callx with imm", "8d 02 0000 01000000" + exitHex, 0, insn.ErrReservedField},
		{"may_goto with imm", "e5 00 0000 01000000" + exitHex, 0, insn.ErrReservedField},
		{"jump k with src", "15 21 0000 00000000" + exitHex, 0, insn.ErrReservedField},
		{"jump x with imm", "1d 21 0000 01000000" + exitHex, 0, insn.ErrReservedField},
		{"ldx with imm", "61 12 0000 01000000" + exitHex, 0, insn.ErrReservedField},
		{"st with src", "62 21 0000 01000000" + exitHex, 0, insn.ErrReservedField},
		{"stx with imm", "63 21 0000 01000000" + exitHex, 0, insn.ErrReservedField},
		{"ld_abs with dst", "20 01 0000 00000000" + exitHex, 0, insn.ErrReservedField},
		{"ld_abs with src", "20 10 0000 00000000" + exitHex, 0, insn.ErrReservedField},
		{"ld_ind with offset", "40 10 0100 00000000" + exitHex, 0, insn.ErrReservedField},
		{"lddw with offset", "18 01 0100 00000000 0000000000000000" + exitHex, 0, insn.ErrReservedField},
		{"map_fd lddw with upper imm", "18 11 0000 05000000 00000000 01000000" + exitHex, 0, insn.ErrReservedField},
		{"map_idx lddw with upper imm", "18 51 0000 05000000 00000000 01000000" + exitHex, 0, insn.ErrReservedField},

		{"bswap width 8", "d7 01 0000 08000000" + exitHex, 0, insn.ErrInvalidField},
		{"sdiv offset 2", "3f 21 0200 00000000" + exitHex, 0, insn.ErrInvalidField},
		{"movsx32 in alu32", "bc 21 2000 00000000" + exitHex, 0, insn.ErrInvalidField},
		{"lddw src 7", "18 71 0000 00000000 0000000000000000" + exitHex, 0, insn.ErrInvalidField},
		{"call src 3", "85 30 0000 01000000" + exitHex, 0, insn.ErrInvalidField},
		{"atomic op 0x02", "db 1a f8ff 02000000" + exitHex, 0, insn.ErrInvalidField},
		{"atomic add of 8 bits", "d3 1a f8ff 00000000" + exitHex, 0, insn.ErrInvalidField},

		{"7 bytes", "95 00 0000 000000", 0, insn.ErrTruncated},
		{"12 bytes", exitHex + "95 00 0000", 1, insn.ErrTruncated},
		{"lddw without second slot", exitHex + "18 01 0000 01000000", 1, insn.ErrTruncated},
		{"lddw second slot opcode", "18 01 0000 01000000 18 00 0000 00000000" + exitHex, 1, insn.ErrReservedField},
		{"lddw second slot registers", "18 01 0000 01000000 00 10 0000 00000000" + exitHex, 1, insn.ErrReservedField},
		{"lddw second slot offset", "18 01 0000 01000000 00 00 0100 00000000" + exitHex, 1, insn.ErrReservedField},

		{"jump past the end", "05 00 0100 00000000" + exitHex, 0, insn.ErrJumpOutOfRange},
		{"jump before the start", exitHex + "05 00 fdff 00000000", 1, insn.ErrJumpOutOfRange},
		{"conditional jump past the end", "15 01 0200 00000000" + exitHex, 0, insn.ErrJumpOutOfRange},
		{"gotol past the end", "06 00 0000 05000000" + exitHex, 0, insn.ErrJumpOutOfRange},
		{"local call past the end", "85 10 0000 05000000" + exitHex, 0, insn.ErrJumpOutOfRange},
		{"func pointer past the end", "18 41 0000 05000000 0000000000000000" + exitHex, 0, insn.ErrJumpOutOfRange},
		{"jump into lddw", exitHex + "05 00 0100 00000000 18 01 0000 00000000 0000000000000000" + exitHex, 1, insn.ErrJumpIntoLdImm64},
		{"call into lddw", "85 10 0000 01000000 18 01 0000 00000000 0000000000000000" + exitHex, 0, insn.ErrJumpIntoLdImm64},

		{"alu writes r10", "07 0a 0000 01000000" + exitHex, 0, insn.ErrWriteFP},
		{"ldx writes r10", "79 1a 0000 00000000" + exitHex, 0, insn.ErrWriteFP},
		{"lddw writes r10", "18 0a 0000 00000000 0000000000000000" + exitHex, 0, insn.ErrWriteFP},
		{"atomic fetch writes r10", "db aa f8ff 01000000" + exitHex, 0, insn.ErrWriteFP},
		{"load-acquire writes r10", "db 1a 0000 00010000" + exitHex, 0, insn.ErrWriteFP},

		{"dst r11", "b7 0b 0000 00000000" + exitHex, 0, insn.ErrBadRegister},
		{"src r11", "bf b1 0000 00000000" + exitHex, 0, insn.ErrBadRegister},
		{"ldx src r15", "79 f1 0000 00000000" + exitHex, 0, insn.ErrBadRegister},
		{"jump src r12", exitHex + "1d c1 0000 00000000" + exitHex, 1, insn.ErrBadRegister},
	} {
		_, err := insn.Unmarshal(hexBytes(t, c.hex))
		var ie *insn.Error
		if !errors.As(err, &ie) {
			t.Errorf("%s: got %v, want an *insn.Error", c.name, err)
			continue
		}
		if !errors.Is(err, c.err) || ie.Slot != c.slot {
			t.Errorf("%s: got %v (slot %d), want %v at slot %d", c.name, err, ie.Slot, c.err, c.slot)
		}
	}
}

// TestValidateErrors checks the errors of programs built in Go, which
// Marshal and Validate report alike.
func TestValidateErrors(t *testing.T) {
	far := insn.Instructions{insn.Ja("end")}
	for range 40000 {
		far = append(far, insn.Mov.Imm(insn.R0, 0))
	}
	far = append(far, insn.Exit().WithLabel("end"))
	farGotol := append(insn.Instructions{insn.Gotol("end")}, far[1:]...)

	for _, c := range []struct {
		name string
		is   insn.Instructions
		slot int
		err  error
	}{
		{"duplicate label", insn.Instructions{
			insn.LoadImm64(insn.R0, 1).WithLabel("a"), insn.Exit().WithLabel("a")}, 2, insn.ErrDuplicateLabel},
		{"unresolved label", insn.Instructions{
			insn.Mov.Imm(insn.R0, 0), insn.JEq.Imm(insn.R0, 0, "nowhere"), insn.Exit()}, 1, insn.ErrUnresolvedLabel},
		{"unresolved call", insn.Instructions{insn.CallLocal("f"), insn.Exit()}, 0, insn.ErrUnresolvedLabel},
		{"unresolved func pointer", insn.Instructions{
			{OpCode: insn.OpLdImm64, Dst: insn.R1, Src: insn.Register(insn.PseudoFunc), Ref: "f"}, insn.Exit()}, 0, insn.ErrUnresolvedLabel},
		{"jump too far for 16 bits", far, 0, insn.ErrJumpOutOfRange},
		{"immediate beyond 32 bits", insn.Instructions{
			{OpCode: 0xb7, Imm: 1 << 40}, insn.Exit()}, 0, insn.ErrImmediateOverrun},
		{"bad register", insn.Instructions{insn.Mov.Reg(insn.R0, 12), insn.Exit()}, 0, insn.ErrBadRegister},
		{"write to r10", insn.Instructions{insn.Exit(), insn.Mov.Imm(insn.R10, 0)}, 1, insn.ErrWriteFP},
	} {
		for what, err := range map[string]error{"Validate": c.is.Validate(), "Marshal": marshalErr(c.is)} {
			var ie *insn.Error
			if !errors.As(err, &ie) {
				t.Errorf("%s: %s: got %v, want an *insn.Error", c.name, what, err)
				continue
			}
			if !errors.Is(err, c.err) || ie.Slot != c.slot {
				t.Errorf("%s: %s: got %v (slot %d), want %v at slot %d", c.name, what, err, ie.Slot, c.err, c.slot)
			}
		}
	}
	// A gotol carries 32 bits and reaches the same label.
	b, err := farGotol.Marshal()
	if err != nil {
		t.Fatalf("gotol over 40000 slots: %v", err)
	}
	if want := hexBytes(t, "06 00 0000 409c0000"); string(b[:8]) != string(want) {
		t.Errorf("gotol over 40000 slots encodes as %x, want %x", b[:8], want)
	}
}

func marshalErr(is insn.Instructions) error {
	_, err := is.Marshal()
	return err
}

// Resolve turns "func(label) ll" into the distance to the label, keeping the
// upper half of the constant.
func TestResolveFuncPointer(t *testing.T) {
	is := insn.Instructions{
		{OpCode: insn.OpLdImm64, Dst: insn.R2, Src: insn.Register(insn.PseudoFunc), Ref: "cb"},
		insn.Exit(),
		insn.Mov.Imm(insn.R0, 0).WithLabel("cb"),
		insn.Exit(),
	}
	b, err := is.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The function starts at slot 3; the lddw is at slot 0: imm = 3-0-1.
	want := hexBytes(t, "18 42 0000 02000000 0000000000000000"+exitHex+"b7 00 0000 00000000"+exitHex)
	if string(b) != string(want) {
		t.Fatalf("got %x, want %x", b, want)
	}
}
