//go:build amd64 && unix

package jit

import (
	"fmt"
	"io"

	"golang.org/x/arch/x86/x86asm"
)

// Code returns a copy of the generated machine code (nil after a Fallback
// to interp).
func (vm *VM) Code() []byte {
	if vm.code == nil {
		return nil
	}
	return append([]byte(nil), vm.code.comp.code...)
}

// Disassemble writes the generated code as x86-64 assembly (Intel syntax,
// decoded with golang.org/x/arch/x86/x86asm), each BPF instruction
// followed by the machine instructions compiled from it, then the
// out-of-line stubs and shared routines.
func (vm *VM) Disassemble(w io.Writer) error {
	if vm.code == nil {
		_, err := fmt.Fprintln(w, "; not compiled: the program runs in interp (Fallback)")
		return err
	}
	comp := vm.code.comp
	is := vm.ivm.Instructions()
	slotIns := map[int]string{}
	for k, s := range is.SlotOffsets() {
		slotIns[s] = is[k].String()
	}
	starts := map[int]int{} // code offset -> slot
	for s, off := range comp.starts {
		if off >= 0 {
			if _, dup := starts[off]; !dup {
				starts[off] = s
			}
		}
	}
	codeEnd := len(comp.code)
	base := uint64(vm.code.mem.addr())
	code := comp.code
	for pc := 0; pc < codeEnd; {
		if s, ok := starts[pc]; ok {
			if _, err := fmt.Fprintf(w, "; %4d: %s\n", s, slotIns[s]); err != nil {
				return err
			}
		}
		in, err := x86asm.Decode(code[pc:], 64)
		text := ""
		n := 1
		if err != nil {
			text = fmt.Sprintf(".byte 0x%02x", code[pc])
		} else {
			text = x86asm.IntelSyntax(in, base+uint64(pc), nil)
			n = in.Len
		}
		if _, err := fmt.Fprintf(w, "  %#x  %-30x %s\n", base+uint64(pc), code[pc:pc+n], text); err != nil {
			return err
		}
		pc += n
	}
	return nil
}
