package btf

import (
	"errors"
	"fmt"
	"os"

	"github.com/purebpf/purebpf/sys"
)

var (
	// ErrMalformed is wrapped by every error about bytes that are not
	// valid BTF or .BTF.ext.
	ErrMalformed = errors.New("malformed BTF")
	// ErrNotFound is returned when a type, a section or a kernel BTF
	// object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrMultipleTypes is returned by TypeByName when the name is
	// ambiguous.
	ErrMultipleTypes = errors.New("multiple types match")
	// ErrNotSupported is returned when the kernel lacks BTF support. It
	// is sys.ErrNotSupported, the module's one sentinel for that.
	ErrNotSupported = sys.ErrNotSupported
)

// ParseError describes malformed BTF: where (the byte offset in the blob
// and, when known, the type id) and what.
type ParseError struct {
	Offset int    // byte offset from the start of the blob
	TypeID TypeID // the type being read, 0 if none
	Err    error
}

func (e *ParseError) Error() string {
	if e.TypeID != 0 {
		return fmt.Sprintf("btf: type [%d] at offset %d: %v", e.TypeID, e.Offset, e.Err)
	}
	return fmt.Sprintf("btf: offset %d: %v", e.Offset, e.Err)
}

// Unwrap returns ErrMalformed and the cause.
func (e *ParseError) Unwrap() []error { return []error{ErrMalformed, e.Err} }

// errNilSpec is returned by the methods of a nil *Spec.
func errNilSpec(op string) error {
	return fmt.Errorf("btf: %s on a nil *Spec: %w", op, os.ErrInvalid)
}
