// Package kmem lays out simulated kernel memory for tracing programs run
// in interp and jit: objects of BTF types (the running kernel's, a file's,
// or a spec the test builds) whose fields a test sets by name, with the
// offsets of that BTF. A program whose CO-RE relocations were resolved
// against the same spec (interp.CollectionOptions.CORETargets) then
// reads the fields where they are:
//
//	m := kmem.New(spec)
//	task, _ := m.New("task_struct")
//	task.Set("pid", 42)
//	task.Set("comm", "init")
//	parent, _ := m.New("task_struct")
//	task.Set("real_parent", parent) // a pointer to another object
//	opts := &interp.Options{KernelMemory: m.Regions()}
//
// The objects are Go memory, so their addresses are host addresses, and a
// pointer field holds the address of the object it points to. Regions
// gives them to interp.Options.KernelMemory as regions whose Addr is the
// address of their Data: bpf_probe_read_kernel (and probe_read,
// probe_read_kernel_str, which BPF_CORE_READ uses) read them, and so do
// the direct loads of tp_btf, fentry, fexit and LSM programs through
// BTF pointers; all of them read-only. A read anywhere else behaves as in
// the kernel (probe_read returns -EFAULT and zeroes its destination; a
// BTF-pointer load reads 0) and never touches other host memory.
//
// A Memory is not safe for concurrent changes; set the objects up before
// the runs that read them. The VM keeps the regions (and so the objects)
// alive.
//
// Package kmem may import btf, interp and the standard library.
package kmem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/interp"
)

// ErrField is wrapped by the errors of Set and Field for a field path
// the object's type does not have, or a value that does not fit it.
var ErrField = errors.New("kmem: bad field")

// Memory is a set of simulated kernel objects laid out from the types of
// one BTF spec.
type Memory struct {
	spec *btf.Spec
	objs []*Object
}

// New returns an empty Memory whose objects take their layout from spec.
// The zero Memory has no spec: it holds untyped objects (Bytes, String).
func New(spec *btf.Spec) *Memory { return &Memory{spec: spec} }

// Spec returns the spec the Memory lays objects out with.
func (m *Memory) Spec() *btf.Spec { return m.spec }

// Object is one object of simulated kernel memory: zeroed bytes of a
// type, at a fixed address.
type Object struct {
	typ  btf.Type
	data []byte
}

// New adds a zeroed object of the struct, union or typedef called name
// (as in C: "task_struct" for struct task_struct).
func (m *Memory) New(name string) (*Object, error) {
	if m.spec == nil {
		return nil, fmt.Errorf("kmem: New(%q): the Memory has no BTF spec", name)
	}
	var t btf.Type
	for _, k := range []btf.Kind{btf.KindStruct, btf.KindUnion, btf.KindTypedef} {
		if c, err := m.spec.TypeByName(name, k); err == nil {
			t = c
			break
		}
	}
	if t == nil {
		return nil, fmt.Errorf("kmem: New(%q): the spec has no struct, union or typedef of that name", name)
	}
	return m.NewOf(t)
}

// NewOf adds a zeroed object of type t.
func (m *Memory) NewOf(t btf.Type) (*Object, error) {
	size, err := btf.Sizeof(t)
	if err != nil {
		return nil, fmt.Errorf("kmem: %w", err)
	}
	if size <= 0 || size > 1<<24 {
		return nil, fmt.Errorf("kmem: type %q has size %d", t.TypeName(), size)
	}
	o := &Object{typ: t, data: alloc(size)}
	m.objs = append(m.objs, o)
	return o, nil
}

// Bytes adds an untyped object holding a copy of b (for instance a
// buffer a char * field points to).
func (m *Memory) Bytes(b []byte) *Object {
	o := &Object{data: alloc(max(len(b), 1))}
	copy(o.data, b)
	m.objs = append(m.objs, o)
	return o
}

// String adds s as a NUL-terminated string object.
func (m *Memory) String(s string) *Object { return m.Bytes(append([]byte(s), 0)) }

// alloc returns n zeroed bytes aligned to 8, as kernel objects are.
func alloc(n int) []byte {
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(w)*8)[:n:n]
}

// Regions returns the objects as regions for interp.Options.KernelMemory:
// each one's Addr is the address of its Data.
func (m *Memory) Regions() []interp.MemoryRegion {
	out := make([]interp.MemoryRegion, len(m.objs))
	for k, o := range m.objs {
		out[k] = interp.MemoryRegion{Addr: o.Addr(), Data: o.data}
	}
	return out
}

// Addr returns the object's address, the value a pointer to it holds.
func (o *Object) Addr() uint64 { return uint64(uintptr(unsafe.Pointer(&o.data[0]))) }

// Data returns the object's bytes (not a copy).
func (o *Object) Data() []byte { return o.data }

// Type returns the object's BTF type (nil for Bytes and String objects).
func (o *Object) Type() btf.Type { return o.typ }

// Field is where a field lies in an object.
type Field struct {
	Offset int // bytes from the start of the object
	Size   int // bytes
	// BitOffset and Bits place a bitfield inside its Size bytes; Bits is
	// 0 for ordinary fields.
	BitOffset, Bits int
	Type            btf.Type // the field's type, qualifiers and typedefs resolved
}

// Field finds the field path names: member names joined by dots, with
// [N] for array elements ("pid", "se.vruntime", "comm[0]",
// "thread_info.flags"). Members of anonymous structs and unions are found
// by their own names, as C finds them.
func (o *Object) Field(path string) (Field, error) {
	if o.typ == nil {
		return Field{}, fmt.Errorf("%w: %q: the object has no type", ErrField, path)
	}
	t, err := btf.UnderlyingType(o.typ)
	if err != nil {
		return Field{}, err
	}
	f := Field{Type: t}
	rest := path
	for rest != "" {
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return Field{}, fmt.Errorf("%w: %q: unclosed [", ErrField, path)
			}
			n, err := strconv.Atoi(rest[1:end])
			a, ok := f.Type.(*btf.Array)
			if err != nil || !ok || n < 0 || uint32(n) >= a.Nelems {
				return Field{}, fmt.Errorf("%w: %q: %s is not an index of %s", ErrField, path, rest[:end+1], typeString(f.Type))
			}
			elem, err := btf.UnderlyingType(a.Type)
			if err != nil {
				return Field{}, err
			}
			size, err := btf.Sizeof(elem)
			if err != nil {
				return Field{}, err
			}
			f.Offset += n * size
			f.Type = elem
			rest = strings.TrimPrefix(rest[end+1:], ".")
			continue
		}
		name := rest
		if k := strings.IndexAny(rest, ".["); k >= 0 {
			name, rest = rest[:k], rest[k:]
			rest = strings.TrimPrefix(rest, ".")
		} else {
			rest = ""
		}
		bits, m, ok := member(f.Type, name)
		if !ok {
			return Field{}, fmt.Errorf("%w: %q: %s has no member %q", ErrField, path, typeString(f.Type), name)
		}
		mt, err := btf.UnderlyingType(m.Type)
		if err != nil {
			return Field{}, err
		}
		f.Type = mt
		if m.BitfieldSize > 0 {
			if rest != "" {
				return Field{}, fmt.Errorf("%w: %q: %q is a bitfield", ErrField, path, name)
			}
			size, _ := btf.Sizeof(mt)
			// The bitfield's storage unit: the field type's size, aligned.
			unit := int(bits) / (8 * size) * size
			f.Offset += unit
			f.BitOffset, f.Bits = int(bits)-8*unit, int(m.BitfieldSize)
			if f.BitOffset+f.Bits > 8*size {
				f.Offset += f.BitOffset / 8
				f.BitOffset %= 8
				size = (f.BitOffset + f.Bits + 7) / 8
			}
			f.Size = size
			return f, nil
		}
		if bits%8 != 0 {
			return Field{}, fmt.Errorf("%w: %q: member %q is not byte-aligned", ErrField, path, name)
		}
		f.Offset += int(bits / 8)
	}
	size, err := btf.Sizeof(f.Type)
	if err != nil {
		return Field{}, fmt.Errorf("%w: %q: %v", ErrField, path, err)
	}
	f.Size = size
	return f, nil
}

// member finds the member called name in composite t, looking into
// anonymous members, and returns its bit offset from t's start.
func member(t btf.Type, name string) (uint32, btf.Member, bool) {
	var ms []btf.Member
	switch c := t.(type) {
	case *btf.Struct:
		ms = c.Members
	case *btf.Union:
		ms = c.Members
	default:
		return 0, btf.Member{}, false
	}
	for _, m := range ms {
		if m.Name == name {
			return m.Offset, m, true
		}
	}
	for _, m := range ms {
		if m.Name != "" {
			continue
		}
		mt, err := btf.UnderlyingType(m.Type)
		if err != nil {
			continue
		}
		if off, f, ok := member(mt, name); ok {
			return m.Offset + off, f, true
		}
	}
	return 0, btf.Member{}, false
}

func typeString(t btf.Type) string {
	switch t := t.(type) {
	case *btf.Struct:
		return "struct " + t.Name
	case *btf.Union:
		return "union " + t.Name
	case *btf.Array:
		return fmt.Sprintf("an array of %d", t.Nelems)
	}
	if n := t.TypeName(); n != "" {
		return n
	}
	return fmt.Sprintf("a %v", t.Kind())
}

// Set writes v into the field path names (see Field), in the host's byte
// order as the kernel stores it. v may be:
//   - a Go integer or bool, for integer, enum and pointer fields and
//     bitfields (it must fit the field: negative values for signed types);
//   - an *Object, for pointer fields: the address of that object;
//   - a string, for char arrays: copied and NUL-padded, at most one byte
//     less than the array (the NUL);
//   - a []byte of the field's size, for any field.
func (o *Object) Set(path string, v any) error {
	f, err := o.Field(path)
	if err != nil {
		return err
	}
	out := o.data[f.Offset : f.Offset+f.Size]
	bad := func(why string) error {
		return fmt.Errorf("%w: %q (%s, %d bytes): %s", ErrField, path, typeString(f.Type), f.Size, why)
	}
	switch v := v.(type) {
	case []byte:
		if f.Bits != 0 || len(v) != f.Size {
			return bad(fmt.Sprintf("%d bytes do not fill it", len(v)))
		}
		copy(out, v)
		return nil
	case string:
		a, ok := f.Type.(*btf.Array)
		if !ok || f.Size != int(a.Nelems) {
			return bad("a string needs a char array")
		}
		if len(v) >= len(out) {
			return bad(fmt.Sprintf("%q and its NUL do not fit", v))
		}
		clear(out)
		copy(out, v)
		return nil
	case *Object:
		if _, ok := f.Type.(*btf.Pointer); !ok {
			return bad("an object's address needs a pointer field")
		}
		if v == nil {
			clear(out)
			return nil
		}
		binary.NativeEndian.PutUint64(out, v.Addr())
		return nil
	}
	n, signed, ok := integer(v)
	if !ok {
		return bad(fmt.Sprintf("cannot store a %T", v))
	}
	switch ft := f.Type.(type) {
	case *btf.Int, *btf.Enum, *btf.Pointer:
		_ = ft
	default:
		return bad("an integer needs an integer, enum or pointer field")
	}
	width := 8 * f.Size
	if f.Bits != 0 {
		width = f.Bits
	}
	if width < 64 {
		lo, hi := int64(-1)<<(width-1), uint64(1)<<width
		if signed && int64(n) < lo || !signed && n >= hi {
			return bad(fmt.Sprintf("%v does not fit %d bits", v, width))
		}
	}
	if f.Bits == 0 {
		var buf [8]byte
		binary.NativeEndian.PutUint64(buf[:], n)
		copy(out, buf[:f.Size]) // little-endian hosts (amd64): the low bytes
		return nil
	}
	var buf [8]byte
	copy(buf[:], out)
	word := binary.LittleEndian.Uint64(buf[:])
	mask := (uint64(1)<<f.Bits - 1) << f.BitOffset
	word = word&^mask | n<<f.BitOffset&mask
	binary.LittleEndian.PutUint64(buf[:], word)
	copy(out, buf[:])
	return nil
}

// integer returns v's bits and whether it is a signed negative value.
func integer(v any) (uint64, bool, bool) {
	switch v := v.(type) {
	case bool:
		if v {
			return 1, false, true
		}
		return 0, false, true
	case int:
		return uint64(v), v < 0, true
	case int8:
		return uint64(v), v < 0, true
	case int16:
		return uint64(v), v < 0, true
	case int32:
		return uint64(v), v < 0, true
	case int64:
		return uint64(v), v < 0, true
	case uint:
		return uint64(v), false, true
	case uint8:
		return uint64(v), false, true
	case uint16:
		return uint64(v), false, true
	case uint32:
		return uint64(v), false, true
	case uint64:
		return v, false, true
	case uintptr:
		return uint64(v), false, true
	}
	return 0, false, false
}
