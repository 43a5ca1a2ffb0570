//go:build linux && (386 || arm || mipsle)

package sys

import "unsafe"

// Pointer is a pointer field of a bpf attribute: 64 bits wide, like the
// kernel's __aligned_u64, on every architecture. On little-endian 32-bit
// platforms the pointer is the low word. It holds an unsafe.Pointer (not a
// uintptr) so the garbage collector keeps the pointed-to memory alive for as
// long as the attribute is reachable. The zero value is NULL.
type Pointer struct {
	ptr unsafe.Pointer
	_   uint32
}
