package btf

import (
	"errors"
	"fmt"
	"math"
)

// TypeID is a type's index in its spec: 0 is void, the first real type is
// 1, and the types of a split spec (a module's) are numbered after its
// base's.
type TypeID uint32

// Type is one BTF type. The concrete types are the pointers *Void, *Int,
// *Pointer, *Array, *Struct, *Union, *Enum, *Fwd, *Typedef, *Volatile,
// *Const, *Restrict, *Func, *FuncProto, *Var, *Datasec, *Float, *DeclTag
// and *TypeTag. Types reference each other directly, so a spec is a graph
// (with cycles through pointers); compare types by identity.
type Type interface {
	// Kind is the wire kind the type is encoded as.
	Kind() Kind
	// TypeName is the type's name, "" for anonymous types.
	TypeName() string
	// children returns pointers to the types this one references, in
	// wire order, so that decoding and rewriting share one walk.
	children(yield func(*Type) bool)
}

// Void is the void type, type id 0.
type Void struct{}

// Int is an integer (BTF_KIND_INT): Size bytes, of which Bits are used
// starting at bit Offset (Offset and a Bits smaller than 8*Size are the
// pre-5.0 bitfield encoding, rare today).
type Int struct {
	Name     string
	Size     uint32
	Encoding IntEncoding
	Offset   uint8
	Bits     uint8
}

// Pointer is a pointer to Target.
type Pointer struct {
	Target Type
}

// Array is Nelems elements of Type, indexed by Index (an integer type).
type Array struct {
	Type   Type
	Index  Type
	Nelems uint32
}

// Member is a field of a Struct or Union. Offset is in bits from the start
// of the composite; BitfieldSize is the width of a bitfield, 0 otherwise.
type Member struct {
	Name         string
	Type         Type
	Offset       uint32
	BitfieldSize uint32
}

// Struct is a struct of Size bytes.
type Struct struct {
	Name    string
	Size    uint32
	Members []Member
}

// Union is a union of Size bytes.
type Union struct {
	Name    string
	Size    uint32
	Members []Member
}

// EnumValue is one enumerator. Value holds the bits of the value: for a
// signed enum, convert it with int64(Value) (and, for a 4-byte ENUM,
// int32(Value)).
type EnumValue struct {
	Name  string
	Value uint64
}

// Enum is an enumeration (BTF_KIND_ENUM, or BTF_KIND_ENUM64 when Is64).
// Signed is the kind flag (Linux 6.0+).
type Enum struct {
	Name   string
	Size   uint32
	Signed bool
	Is64   bool
	Values []EnumValue
}

// Fwd is a forward declaration of a struct, or of a union when Union.
type Fwd struct {
	Name  string
	Union bool
}

// Typedef names Type.
type Typedef struct {
	Name string
	Type Type
}

// Volatile qualifies Type.
type Volatile struct{ Type Type }

// Const qualifies Type.
type Const struct{ Type Type }

// Restrict qualifies Type.
type Restrict struct{ Type Type }

// TypeTag annotates Type with btf_type_tag(Value) (Linux 5.17), or with
// __attribute__((Value)) when Attribute (the kind flag, Linux 6.14).
type TypeTag struct {
	Value     string
	Type      Type
	Attribute bool
}

// Func is a function: Type is its *FuncProto.
type Func struct {
	Name    string
	Type    Type
	Linkage FuncLinkage
}

// FuncParam is a parameter of a FuncProto. A final parameter with void
// type and no name marks a variadic function.
type FuncParam struct {
	Name string
	Type Type
}

// FuncProto is a function signature.
type FuncProto struct {
	Return Type
	Params []FuncParam
}

// Var is a global or static variable.
type Var struct {
	Name    string
	Type    Type
	Linkage VarLinkage
}

// VarSecinfo places a *Var (or, in .ksyms, a *Func) in a Datasec.
type VarSecinfo struct {
	Type   Type
	Offset uint32
	Size   uint32
}

// Datasec is an ELF data section (.data, .bss, .rodata, .kconfig, ...).
type Datasec struct {
	Name string
	Size uint32
	Vars []VarSecinfo
}

// Float is a floating point type (Linux 5.13).
type Float struct {
	Name string
	Size uint32
}

// DeclTag attaches btf_decl_tag(Value) to Type, or to its member or
// parameter number Index when Index >= 0 (Linux 5.16). Attribute is the
// kind flag: the tag is an __attribute__((Value)) (Linux 6.14).
type DeclTag struct {
	Value     string
	Type      Type
	Index     int32
	Attribute bool
}

func (*Void) Kind() Kind      { return KindUnknown }
func (*Int) Kind() Kind       { return KindInt }
func (*Pointer) Kind() Kind   { return KindPointer }
func (*Array) Kind() Kind     { return KindArray }
func (*Struct) Kind() Kind    { return KindStruct }
func (*Union) Kind() Kind     { return KindUnion }
func (*Fwd) Kind() Kind       { return KindFwd }
func (*Typedef) Kind() Kind   { return KindTypedef }
func (*Volatile) Kind() Kind  { return KindVolatile }
func (*Const) Kind() Kind     { return KindConst }
func (*Restrict) Kind() Kind  { return KindRestrict }
func (*TypeTag) Kind() Kind   { return KindTypeTag }
func (*Func) Kind() Kind      { return KindFunc }
func (*FuncProto) Kind() Kind { return KindFuncProto }
func (*Var) Kind() Kind       { return KindVar }
func (*Datasec) Kind() Kind   { return KindDatasec }
func (*Float) Kind() Kind     { return KindFloat }
func (*DeclTag) Kind() Kind   { return KindDeclTag }

// Kind is KindEnum64 for a 64-bit enum, KindEnum otherwise.
func (e *Enum) Kind() Kind {
	if e.Is64 {
		return KindEnum64
	}
	return KindEnum
}

func (*Void) TypeName() string      { return "" }
func (t *Int) TypeName() string     { return t.Name }
func (*Pointer) TypeName() string   { return "" }
func (*Array) TypeName() string     { return "" }
func (t *Struct) TypeName() string  { return t.Name }
func (t *Union) TypeName() string   { return t.Name }
func (t *Enum) TypeName() string    { return t.Name }
func (t *Fwd) TypeName() string     { return t.Name }
func (t *Typedef) TypeName() string { return t.Name }
func (*Volatile) TypeName() string  { return "" }
func (*Const) TypeName() string     { return "" }
func (*Restrict) TypeName() string  { return "" }
func (t *TypeTag) TypeName() string { return t.Value }
func (t *Func) TypeName() string    { return t.Name }
func (*FuncProto) TypeName() string { return "" }
func (t *Var) TypeName() string     { return t.Name }
func (t *Datasec) TypeName() string { return t.Name }
func (t *Float) TypeName() string   { return t.Name }
func (t *DeclTag) TypeName() string { return t.Value }

func (*Void) children(func(*Type) bool)             {}
func (*Int) children(func(*Type) bool)              {}
func (*Enum) children(func(*Type) bool)             {}
func (*Fwd) children(func(*Type) bool)              {}
func (*Float) children(func(*Type) bool)            {}
func (t *Pointer) children(yield func(*Type) bool)  { yield(&t.Target) }
func (t *Typedef) children(yield func(*Type) bool)  { yield(&t.Type) }
func (t *Volatile) children(yield func(*Type) bool) { yield(&t.Type) }
func (t *Const) children(yield func(*Type) bool)    { yield(&t.Type) }
func (t *Restrict) children(yield func(*Type) bool) { yield(&t.Type) }
func (t *TypeTag) children(yield func(*Type) bool)  { yield(&t.Type) }
func (t *Func) children(yield func(*Type) bool)     { yield(&t.Type) }
func (t *Var) children(yield func(*Type) bool)      { yield(&t.Type) }
func (t *DeclTag) children(yield func(*Type) bool)  { yield(&t.Type) }
func (t *Array) children(yield func(*Type) bool) {
	_ = yield(&t.Type) && yield(&t.Index)
}
func (t *Struct) children(yield func(*Type) bool) {
	for i := range t.Members {
		if !yield(&t.Members[i].Type) {
			return
		}
	}
}
func (t *Union) children(yield func(*Type) bool) {
	for i := range t.Members {
		if !yield(&t.Members[i].Type) {
			return
		}
	}
}
func (t *FuncProto) children(yield func(*Type) bool) {
	if !yield(&t.Return) {
		return
	}
	for i := range t.Params {
		if !yield(&t.Params[i].Type) {
			return
		}
	}
}
func (t *Datasec) children(yield func(*Type) bool) {
	for i := range t.Vars {
		if !yield(&t.Vars[i].Type) {
			return
		}
	}
}

// Children calls yield with each type t references directly, in wire
// order, and stops when yield returns false.
func Children(t Type, yield func(Type) bool) {
	t.children(func(p *Type) bool { return yield(*p) })
}

// maxResolveDepth bounds walks through chains of qualifiers, typedefs,
// pointers and arrays, as the kernel's MAX_RESOLVE_DEPTH (32) does.
const maxResolveDepth = 32

// ErrLoop reports a chain of qualifiers, typedefs or arrays that loops or
// is deeper than the kernel accepts.
var ErrLoop = errors.New("type chain loops or is too deep")

// Members returns the members of a *Struct or *Union, or nil for other
// types.
func Members(t Type) []Member {
	switch t := t.(type) {
	case *Struct:
		return t.Members
	case *Union:
		return t.Members
	}
	return nil
}

// unqualify returns the type a CONST, VOLATILE, RESTRICT or TYPE_TAG
// (and, if typedefs, a TYPEDEF) wraps, or false for other types.
func unqualify(t Type, typedefs bool) (Type, bool) {
	switch q := t.(type) {
	case *Const:
		return q.Type, true
	case *Volatile:
		return q.Type, true
	case *Restrict:
		return q.Type, true
	case *TypeTag:
		return q.Type, true
	case *Typedef:
		return q.Type, typedefs
	}
	return t, false
}

// SkipQualifiers returns t without its CONST, VOLATILE, RESTRICT and
// TYPE_TAG wrappers.
func SkipQualifiers(t Type) Type {
	for range maxResolveDepth {
		u, ok := unqualify(t, false)
		if !ok {
			return t
		}
		t = u
	}
	return t
}

// UnderlyingType returns t without its qualifiers and typedefs, or an
// error wrapping ErrLoop if the chain does not end.
func UnderlyingType(t Type) (Type, error) {
	for range maxResolveDepth + 1 {
		u, ok := unqualify(t, true)
		if !ok {
			return t, nil
		}
		t = u
	}
	return nil, fmt.Errorf("underlying type of %s: %w", describe(t), ErrLoop)
}

// skipModsAndTypedefs is UnderlyingType for walks that tolerate loops: it
// returns the last type reached.
func skipModsAndTypedefs(t Type) Type {
	u, err := UnderlyingType(t)
	if err != nil {
		return t
	}
	return u
}

// Sizeof returns the size in bytes of a value of type t, as the kernel's
// btf_resolve_size computes it: qualifiers and typedefs are skipped, an
// array is its element size times its length, a pointer is 8 bytes.
// Functions, void, forward declarations and variables have no size.
func Sizeof(t Type) (int, error) {
	n := uint64(1)
	for range maxResolveDepth + 1 {
		var size uint64
		switch v := t.(type) {
		case *Int:
			size = uint64(v.Size)
		case *Pointer:
			size = 8
		case *Struct:
			size = uint64(v.Size)
		case *Union:
			size = uint64(v.Size)
		case *Enum:
			size = uint64(v.Size)
		case *Float:
			size = uint64(v.Size)
		case *Datasec:
			size = uint64(v.Size)
		case *Array:
			n *= uint64(v.Nelems)
			if n > math.MaxUint32 {
				return 0, fmt.Errorf("size of %s: array too large", describe(t))
			}
			t = v.Type
			continue
		case *Typedef:
			t = v.Type
			continue
		case *Var:
			t = v.Type
			continue
		case *Const, *Volatile, *Restrict, *TypeTag:
			t = SkipQualifiers(t)
			continue
		default:
			return 0, fmt.Errorf("size of %s: %w", describe(t), ErrNoSize)
		}
		size *= n
		if size > math.MaxUint32 {
			return 0, fmt.Errorf("size of %s: too large", describe(t))
		}
		return int(size), nil
	}
	return 0, fmt.Errorf("size of %s: %w", describe(t), ErrLoop)
}

// ErrNoSize is returned by Sizeof for types without a size (void,
// functions, forward declarations).
var ErrNoSize = errors.New("type has no size")

// Alignof returns the alignment in bytes of type t, as libbpf's
// btf__align_of computes it: the size of an integer, float, pointer or
// enum (at most 8), an array's element alignment, and for a struct or
// union the largest member alignment, or 1 if a member is misaligned for
// its type (a packed struct).
func Alignof(t Type) (int, error) {
	return alignof(t, maxResolveDepth)
}

func alignof(t Type, depth int) (int, error) {
	if depth < 0 {
		return 0, fmt.Errorf("alignment of %s: %w", describe(t), ErrLoop)
	}
	u, err := UnderlyingType(t)
	if err != nil {
		return 0, err
	}
	switch v := u.(type) {
	case *Int:
		return int(min(max(v.Size, 1), 8)), nil
	case *Enum:
		return int(min(max(v.Size, 1), 8)), nil
	case *Float:
		return int(min(max(v.Size, 1), 8)), nil
	case *Pointer:
		return 8, nil
	case *Array:
		return alignof(v.Type, depth-1)
	case *Struct, *Union:
		align := 1
		for _, m := range Members(v) {
			a, err := alignof(m.Type, depth-1)
			if err != nil {
				return 0, err
			}
			if m.BitfieldSize == 0 && m.Offset%uint32(8*a) != 0 {
				return 1, nil
			}
			align = max(align, a)
		}
		if sz, _ := Sizeof(v); sz%align != 0 {
			return 1, nil
		}
		return align, nil
	}
	return 0, fmt.Errorf("alignment of %s: %w", describe(t), ErrNoSize)
}

// describe names a type in errors: kind and name.
func describe(t Type) string {
	if t == nil {
		return "<nil type>"
	}
	if n := t.TypeName(); n != "" {
		return fmt.Sprintf("%s '%s'", t.Kind(), n)
	}
	return t.Kind().String() + " (anon)"
}

// essentialName returns name without a "___flavor" suffix, the way libbpf
// matches CO-RE candidates: the suffix starts at the last "___" that
// follows a character other than '_' and is followed by one.
func essentialName(name string) string {
	for i := len(name) - 5; i >= 0; i-- {
		if name[i] != '_' && name[i+1] == '_' && name[i+2] == '_' && name[i+3] == '_' && name[i+4] != '_' {
			return name[:i+1]
		}
	}
	return name
}
