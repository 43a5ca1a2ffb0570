// Package mapvalue turns the Go values that users pass as map keys and
// values into the fixed-size byte strings that BPF maps hold. Kernel maps
// (package prog) and userspace maps (package interp) share it, so both
// accept the same Go values and reject the same mistakes. It imports only
// the standard library.
//
// A key or value is one of:
//   - a []byte of exactly the map's size;
//   - a pointer to plain data: fixed-size integers, floats, bools, arrays
//     and structs of them without padding;
//   - for inputs only, such plain data by value (uint32(7), a struct).
//
// Bytes are in host order, as the kernel stores them.
package mapvalue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"
)

// ErrSize is wrapped by errors about a key or value of the wrong size.
// Users match it as prog.ErrValueSize, the same value.
var ErrSize = errors.New("wrong size")

// ErrType is wrapped by errors about a Go type that cannot be a key or
// value. Users match it as prog.ErrValueType, the same value.
var ErrType = errors.New("unsupported type")

var plainCache sync.Map // reflect.Type -> bool

// plain reports whether values of t are fixed-size data without pointers or
// padding, so that their memory is their encoding.
func plain(t reflect.Type) bool {
	if v, ok := plainCache.Load(t); ok {
		return v.(bool)
	}
	ok := isPlain(t)
	plainCache.Store(t, ok)
	return ok
}

func isPlain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Array:
		return isPlain(t.Elem())
	case reflect.Struct:
		var sum uintptr
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !isPlain(f.Type) {
				return false
			}
			sum += f.Type.Size()
		}
		return sum == t.Size() // no padding
	}
	return false
}

// View returns the bytes of v for a key or value of exactly size bytes. For
// a []byte or a pointer to plain data the result aliases v, so a map lookup
// can write straight into the caller's value. what names the argument in
// errors ("key", "value").
func View(v any, size int, what string) ([]byte, error) {
	switch v := v.(type) {
	case []byte:
		if len(v) != size {
			return nil, fmt.Errorf("%s is %d bytes, map wants %d: %w", what, len(v), size, ErrSize)
		}
		return v, nil
	case *uint32:
		if v != nil {
			return checkLen(unsafe.Slice((*byte)(unsafe.Pointer(v)), 4), size, what)
		}
	case *uint64:
		if v != nil {
			return checkLen(unsafe.Slice((*byte)(unsafe.Pointer(v)), 8), size, what)
		}
	case nil:
		return nil, fmt.Errorf("%s is nil: %w", what, ErrType)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, fmt.Errorf("%s of type %s must be a []byte or a non-nil pointer: %w", what, typeName(v), ErrType)
	}
	t := rv.Type().Elem()
	if !plain(t) {
		return nil, fmt.Errorf("%s of type %s holds pointers, padding or variable-size data: %w", what, typeName(v), ErrType)
	}
	return checkLen(unsafe.Slice((*byte)(rv.UnsafePointer()), t.Size()), size, what)
}

func checkLen(b []byte, size int, what string) ([]byte, error) {
	if len(b) != size {
		return nil, fmt.Errorf("%s is %d bytes, map wants %d: %w", what, len(b), size, ErrSize)
	}
	return b, nil
}

// Encode returns the bytes of an input key or value. Like View it aliases a
// []byte or pointer; plain data passed by value is encoded into scratch
// when it fits, else into a new slice.
func Encode(v any, size int, what string, scratch []byte) ([]byte, error) {
	switch x := v.(type) {
	case uint32:
		return checkLen(binary.NativeEndian.AppendUint32(scratch[:0], x), size, what)
	case uint64:
		return checkLen(binary.NativeEndian.AppendUint64(scratch[:0], x), size, what)
	case int32:
		return checkLen(binary.NativeEndian.AppendUint32(scratch[:0], uint32(x)), size, what)
	case int64:
		return checkLen(binary.NativeEndian.AppendUint64(scratch[:0], uint64(x)), size, what)
	case uint16:
		return checkLen(binary.NativeEndian.AppendUint16(scratch[:0], x), size, what)
	case uint8:
		return checkLen(append(scratch[:0], x), size, what)
	case []byte, nil:
		return View(v, size, what)
	}
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		return View(v, size, what)
	}
	if !plain(t) {
		return nil, fmt.Errorf("%s of type %s holds pointers, padding or variable-size data: %w", what, typeName(v), ErrType)
	}
	n := int(t.Size())
	if n != size {
		return nil, fmt.Errorf("%s is %d bytes, map wants %d: %w", what, n, size, ErrSize)
	}
	// Plain data's memory is its host-order encoding. An interface holding
	// a value that is not pointer-shaped (plain data never is) keeps a
	// pointer to a copy of it in its data word, so the bytes are read from
	// there. Neither reflect.Value.Set nor binary.Append is used: both
	// would make every argument of Encode escape to the heap, so that even
	// a []byte key would cost an allocation per call.
	data := (*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1]
	var out []byte
	if cap(scratch) >= n {
		out = scratch[:n]
	} else {
		out = make([]byte, n)
	}
	if n > 0 {
		copy(out, unsafe.Slice((*byte)(data), n))
	}
	return out, nil
}

// typeName is fmt's %T of v, without making v escape to the heap.
func typeName(v any) string {
	if t := reflect.TypeOf(v); t != nil {
		return t.String()
	}
	return "<nil>"
}
