package insn

import (
	"errors"
	"fmt"
)

// Sentinel errors, wrapped by *Error and *ParseError so that errors.Is
// tells the cause.
var (
	ErrUnknownOpcode    = errors.New("unknown opcode")
	ErrReservedField    = errors.New("reserved field is not zero")
	ErrInvalidField     = errors.New("invalid field value")
	ErrTruncated        = errors.New("truncated instruction")
	ErrJumpOutOfRange   = errors.New("jump out of range")
	ErrJumpIntoLdImm64  = errors.New("jump into the middle of lddw")
	ErrWriteFP          = errors.New("write to read-only frame pointer r10")
	ErrBadRegister      = errors.New("invalid register")
	ErrUnresolvedLabel  = errors.New("unresolved label")
	ErrDuplicateLabel   = errors.New("duplicate label")
	ErrImmediateOverrun = errors.New("immediate does not fit in 32 bits")
)

// Error is an encoding or validation error of one instruction.
type Error struct {
	// Slot is the index of the 8-byte slot the error is about.
	Slot int
	// Err is the cause; it wraps one of the sentinel errors.
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("insn: slot %d: %v", e.Slot, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func errAt(slot int, sentinel error, format string, args ...any) *Error {
	if format == "" {
		return &Error{Slot: slot, Err: sentinel}
	}
	return &Error{Slot: slot, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}
