//go:build amd64 && unix

package jit

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// execMem is a mapping of machine code. It is mapped writable, filled,
// then made read-execute (W^X); it is never writable and executable at
// the same time.
type execMem struct {
	mem []byte
}

func newExecMem(code []byte) (*execMem, error) {
	size := (len(code) + unix.Getpagesize() - 1) &^ (unix.Getpagesize() - 1)
	if size == 0 {
		size = unix.Getpagesize()
	}
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, fmt.Errorf("jit: mmap %d bytes for code: %w", size, err)
	}
	copy(mem, code)
	// Pad with int3 so a stray jump past the end traps.
	for k := len(code); k < len(mem); k++ {
		mem[k] = 0xcc
	}
	if err := unix.Mprotect(mem, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("jit: mprotect code read-execute: %w", err)
	}
	return &execMem{mem: mem}, nil
}

func (m *execMem) addr() uintptr { return uintptr(unsafe.Pointer(&m.mem[0])) }

func (m *execMem) free() error {
	if m.mem == nil {
		return nil
	}
	err := unix.Munmap(m.mem)
	m.mem = nil
	return err
}
