//go:build linux && (amd64 || arm64 || loong64 || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package sys

import "unsafe"

// Pointer is a pointer field of a bpf attribute: 64 bits wide, like the
// kernel's __aligned_u64, on every architecture. It holds an
// unsafe.Pointer (not a uintptr) so the garbage collector keeps the
// pointed-to memory alive for as long as the attribute is reachable.
// The zero value is NULL.
type Pointer struct {
	ptr unsafe.Pointer
}
