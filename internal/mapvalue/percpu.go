package mapvalue

import "fmt"

// PerCPUStride returns the bytes one CPU's value takes in the kernel's
// per-CPU layout: valueSize rounded up to 8 (kernel/bpf/syscall.c,
// bpf_map_value_size, Linux 4.6 and later).
func PerCPUStride(valueSize int) int { return (valueSize + 7) &^ 7 }

// PerCPUSize returns the size of a whole per-CPU value in the kernel's
// layout: cpus × PerCPUStride(valueSize).
func PerCPUSize(valueSize, cpus int) int { return cpus * PerCPUStride(valueSize) }

// perCPUSlice returns the bytes of v, a slice (or pointer to an array) of
// exactly cpus plain elements of valueSize bytes each, aliasing v.
func perCPUSlice(v any, valueSize, cpus int, what string) ([]byte, error) {
	b, n, err := SliceView(v, valueSize, "per-CPU "+what)
	if err != nil {
		return nil, err
	}
	if n != cpus {
		return nil, fmt.Errorf("per-CPU %s has %d elements, want one per possible CPU (%d): %w", what, n, cpus, ErrSize)
	}
	return b, nil
}

// PerCPUEncode returns the kernel layout (PerCPUSize bytes, each CPU's value
// padded to 8) of an input per-CPU value v: either a []byte already in that
// layout, or a slice (or pointer to an array) with one plain element of
// valueSize bytes per CPU. The result aliases v when the layouts coincide
// (a []byte, or elements whose size is a multiple of 8), else it is built
// in scratch when it fits, else in a new slice.
func PerCPUEncode(v any, valueSize, cpus int, what string, scratch []byte) ([]byte, error) {
	size := PerCPUSize(valueSize, cpus)
	if b, ok := v.([]byte); ok {
		if len(b) != size {
			return nil, fmt.Errorf("per-CPU %s is %d bytes, map wants %d (%d CPUs × %d): %w", what, len(b), size, cpus, PerCPUStride(valueSize), ErrSize)
		}
		return b, nil
	}
	if v == nil {
		return nil, fmt.Errorf("per-CPU %s is nil: %w", what, ErrType)
	}
	src, err := perCPUSlice(v, valueSize, cpus, what)
	if err != nil {
		return nil, err
	}
	stride := PerCPUStride(valueSize)
	if stride == valueSize {
		return src, nil
	}
	var out []byte
	if cap(scratch) >= size {
		out = scratch[:size]
		clear(out)
	} else {
		out = make([]byte, size)
	}
	for c := 0; c < cpus; c++ {
		copy(out[c*stride:c*stride+valueSize], src[c*valueSize:(c+1)*valueSize])
	}
	return out, nil
}

// PerCPUView returns a buffer in the kernel layout for a lookup to fill
// before PerCPUDecode copies it into out. out is a []byte of PerCPUSize
// bytes or a slice (or pointer to an array) with one plain element of
// valueSize bytes per CPU. When the layouts coincide the buffer aliases out
// and PerCPUDecode has nothing left to do.
func PerCPUView(out any, valueSize, cpus int, what string) ([]byte, error) {
	size := PerCPUSize(valueSize, cpus)
	if b, ok := out.([]byte); ok {
		if len(b) != size {
			return nil, fmt.Errorf("per-CPU %s is %d bytes, map wants %d (%d CPUs × %d): %w", what, len(b), size, cpus, PerCPUStride(valueSize), ErrSize)
		}
		return b, nil
	}
	if out == nil {
		return nil, fmt.Errorf("per-CPU %s is nil: %w", what, ErrType)
	}
	dst, err := perCPUSlice(out, valueSize, cpus, what)
	if err != nil {
		return nil, err
	}
	if PerCPUStride(valueSize) == valueSize {
		return dst, nil
	}
	return make([]byte, size), nil
}

// PerCPUDecode copies buf, a per-CPU value in the kernel layout obtained
// from PerCPUView(out, ...), into out. It does nothing when buf aliases out.
func PerCPUDecode(buf []byte, out any, valueSize, cpus int, what string) error {
	size := PerCPUSize(valueSize, cpus)
	if len(buf) != size {
		return fmt.Errorf("per-CPU %s buffer is %d bytes, want %d: %w", what, len(buf), size, ErrSize)
	}
	if b, ok := out.([]byte); ok {
		if len(b) != size {
			return fmt.Errorf("per-CPU %s is %d bytes, map wants %d: %w", what, len(b), size, ErrSize)
		}
		if size > 0 && &b[0] != &buf[0] {
			copy(b, buf)
		}
		return nil
	}
	dst, err := perCPUSlice(out, valueSize, cpus, what)
	if err != nil {
		return err
	}
	if len(dst) == 0 {
		return nil
	}
	stride := PerCPUStride(valueSize)
	if stride == valueSize {
		if &dst[0] != &buf[0] {
			copy(dst, buf)
		}
		return nil
	}
	for c := 0; c < cpus; c++ {
		copy(dst[c*valueSize:(c+1)*valueSize], buf[c*stride:c*stride+valueSize])
	}
	return nil
}
