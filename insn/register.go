package insn

import "fmt"

// Register is one of the eleven eBPF registers R0 to R10.
type Register uint8

// The registers. R0 holds return values, R1 to R5 arguments, R6 to R9 are
// callee-saved and R10 is the read-only frame pointer.
const (
	R0 Register = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10
	// RFP is the frame pointer, R10.
	RFP = R10
)

// MaxRegister is the highest valid register number.
const MaxRegister = R10

// String returns "r0" to "r10".
func (r Register) String() string {
	if r > MaxRegister {
		return fmt.Sprintf("r?%d", uint8(r))
	}
	return fmt.Sprintf("r%d", uint8(r))
}
