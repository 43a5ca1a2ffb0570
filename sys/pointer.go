//go:build linux

package sys

import (
	"fmt"
	"strings"
	"unsafe"
)

// NewPointer wraps an arbitrary pointer for use in an attribute struct.
// A nil p gives the zero Pointer, which the kernel reads as NULL.
func NewPointer(p unsafe.Pointer) Pointer {
	return Pointer{ptr: p}
}

// NewSlicePointer points at the first element of s. An empty or nil slice
// gives the zero Pointer (NULL), so the kernel never sees a pointer to
// zero bytes that might alias other memory.
func NewSlicePointer[T any](s []T) Pointer {
	if len(s) == 0 {
		return Pointer{}
	}
	return Pointer{ptr: unsafe.Pointer(unsafe.SliceData(s))}
}

// NewBytePointer points at b. A nil b gives the zero Pointer (NULL).
func NewBytePointer(b *byte) Pointer {
	return Pointer{ptr: unsafe.Pointer(b)}
}

// NewStringPointer copies s into a new NUL-terminated buffer and points at
// it, for C string fields such as a license or a pin path. It fails with an
// error if s contains a NUL byte, because the kernel would silently see a
// shorter string.
func NewStringPointer(s string) (Pointer, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return Pointer{}, fmt.Errorf("string %q contains a NUL byte", s)
	}
	buf := make([]byte, len(s)+1)
	copy(buf, s)
	return Pointer{ptr: unsafe.Pointer(&buf[0])}, nil
}

// Unsafe returns the wrapped pointer.
func (p Pointer) Unsafe() unsafe.Pointer {
	return p.ptr
}

// IsNil reports whether p is NULL.
func (p Pointer) IsNil() bool {
	return p.ptr == nil
}
