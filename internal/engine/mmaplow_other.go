//go:build !(linux && amd64)

package engine

import "errors"

// mmapLow is only implemented on linux/amd64 (MAP_32BIT), where the XDP
// context's 32-bit packet pointers can address a userspace buffer.
func mmapLow(n int) ([]byte, error) {
	return nil, errors.New("XDP contexts need memory below 4 GiB, which only linux/amd64 maps here")
}
