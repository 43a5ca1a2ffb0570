package mapvalue

import (
	"fmt"
	"reflect"
	"unsafe"
)

// SliceView returns the bytes of v, a slice (or pointer to an array) of
// plain elements of size bytes each, aliasing v, and the number of
// elements. Batch map operations use it for their key and value buffers.
// what names the argument in errors.
func SliceView(v any, size int, what string) ([]byte, int, error) {
	if v == nil {
		return nil, 0, fmt.Errorf("%s is nil: %w", what, ErrType)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Type().Elem().Kind() == reflect.Array {
		rv = rv.Elem()
	} else if rv.Kind() != reflect.Slice {
		return nil, 0, fmt.Errorf("%s of type %s must be a []byte, a slice or a pointer to an array: %w", what, typeName(v), ErrType)
	}
	et := rv.Type().Elem()
	if !plain(et) {
		return nil, 0, fmt.Errorf("%s element type %s holds pointers, padding or variable-size data: %w", what, et, ErrType)
	}
	if int(et.Size()) != size {
		return nil, 0, fmt.Errorf("%s element is %d bytes, map wants %d: %w", what, et.Size(), size, ErrSize)
	}
	n := rv.Len()
	if n == 0 {
		return nil, 0, nil
	}
	var p unsafe.Pointer
	if rv.Kind() == reflect.Array {
		p = rv.Addr().UnsafePointer()
	} else {
		p = rv.UnsafePointer()
	}
	return unsafe.Slice((*byte)(p), n*size), n, nil
}
