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
	// ErrSyntax is wrapped by every *ParseError about text that does not
	// follow the assembler syntax.
	ErrSyntax = errors.New("syntax error")
)

// Error is an encoding or validation error of one instruction.
type Error struct {
	// Slot is the index of the 8-byte slot the error is about.
	Slot int
	// Err is the cause; it wraps one of the sentinel errors.
	Err error
}

// Error formats the error as "insn: slot N: cause".
func (e *Error) Error() string { return fmt.Sprintf("insn: slot %d: %v", e.Slot, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func errAt(slot int, sentinel error, format string, args ...any) *Error {
	if format == "" {
		return &Error{Slot: slot, Err: sentinel}
	}
	return &Error{Slot: slot, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// ParseError is an error of Parse, naming the 1-based line and column
// (in bytes) of the offending token.
type ParseError struct {
	Line, Column int
	// Msg describes the problem, for example `expected register, found "x"`.
	Msg string
	// Err is the cause: ErrSyntax for text that does not follow the
	// syntax, or the sentinel (or *Error) of a semantic problem such as
	// ErrBadRegister, ErrUnresolvedLabel or ErrImmediateOverrun.
	Err error
}

// Error formats the error as "line L, column C: message".
func (e *ParseError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }
