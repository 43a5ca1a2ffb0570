package engine

import "syscall"

// mmapLow maps n bytes of zeroed, private memory below 4 GiB (MAP_32BIT,
// which gives addresses in the low 2 GiB on x86-64), so that a 32-bit
// value can hold an address into it: the XDP packet pointers of xdp_md.
func mmapLow(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_32BIT)
}
