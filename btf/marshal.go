package btf

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// MarshalOptions controls Spec.Marshal.
type MarshalOptions struct {
	// ByteOrder of the output; nil means the host's (the kernel's).
	ByteOrder binary.ByteOrder
	// Missing lists what the target kernel lacks; those kinds are
	// replaced as libbpf's bpf_object__sanitize_btf does. KernelMissing
	// probes the running kernel.
	Missing Features
}

// Features is a set of BTF features that appeared in later kernels.
type Features uint32

// The features Marshal can replace, with the kernel that added each.
const (
	FeatFunc         Features = 1 << iota // FUNC and FUNC_PROTO (5.0): FUNC_PROTO becomes an ENUM, FUNC a TYPEDEF
	FeatGlobalFunc                        // global FUNC linkage (5.6): becomes static
	FeatDatasec                           // VAR and DATASEC (5.2): VAR becomes an INT, DATASEC a STRUCT
	FeatFloat                             // FLOAT (5.13): an empty STRUCT of the same size
	FeatDeclTag                           // DECL_TAG (5.16): an INT
	FeatTypeTag                           // TYPE_TAG (5.17): a CONST
	FeatEnum64                            // ENUM64 and signed enums (6.0): a UNION of placeholders; ENUM loses its sign flag
	FeatQmarkDatasec                      // '?' in DATASEC names (5.19?): replaced by '_'

	AllFeatures = FeatFunc | FeatGlobalFunc | FeatDatasec | FeatFloat | FeatDeclTag | FeatTypeTag | FeatEnum64 | FeatQmarkDatasec
)

// encoder writes types in the wire format.
type encoder struct {
	bo      binary.AppendByteOrder
	missing Features
	buf     []byte
	strs    []byte
	strBase uint32
	strIdx  map[string]uint32

	ids     map[Type]TypeID // types added beyond spec's
	queue   []Type          // types still to encode, in id order
	nextID  TypeID
	baseIDs func(Type) (TypeID, bool)

	placeholder Type // enum64 placeholder INT
}

func newEncoder(bo binary.ByteOrder, missing Features) *encoder {
	abo, ok := bo.(binary.AppendByteOrder)
	if !ok {
		abo = binary.NativeEndian
	}
	return &encoder{bo: abo, missing: missing, ids: map[Type]TypeID{}, nextID: 1, strs: []byte{0}}
}

// str returns the offset of name in the string table, adding it.
func (e *encoder) str(name string) uint32 {
	if name == "" {
		return 0
	}
	if e.strIdx == nil {
		e.strIdx = make(map[string]uint32)
		for off := 0; off < len(e.strs); {
			end := off
			for end < len(e.strs) && e.strs[end] != 0 {
				end++
			}
			if end > off {
				if _, ok := e.strIdx[string(e.strs[off:end])]; !ok {
					e.strIdx[string(e.strs[off:end])] = uint32(off) + e.strBase
				}
			}
			off = end + 1
		}
	}
	if off, ok := e.strIdx[name]; ok {
		return off
	}
	off := uint32(len(e.strs)) + e.strBase
	e.strs = append(append(e.strs, name...), 0)
	e.strIdx[name] = off
	return off
}

// id returns the id of t, queueing it for encoding if it is new.
func (e *encoder) id(t Type) (TypeID, error) {
	if t == nil {
		return 0, fmt.Errorf("btf: marshal: nil type reference")
	}
	if _, ok := t.(*Void); ok {
		return 0, nil
	}
	if id, ok := e.ids[t]; ok {
		return id, nil
	}
	if e.baseIDs != nil {
		if id, ok := e.baseIDs(t); ok {
			return id, nil
		}
	}
	id := e.nextID
	e.nextID++
	e.ids[t] = id
	e.queue = append(e.queue, t)
	return id, nil
}

func (e *encoder) u32(v uint32) { e.buf = e.bo.AppendUint32(e.buf, v) }

func (e *encoder) head(name string, kind Kind, kflag bool, vlen int, sizeType uint32) error {
	if vlen > maxVlen {
		return fmt.Errorf("btf: marshal: %s '%s' has %d members, more than %d", kind, name, vlen, maxVlen)
	}
	info := uint32(kind)<<24 | uint32(vlen)
	if kflag {
		info |= 1 << 31
	}
	e.u32(e.str(name))
	e.u32(info)
	e.u32(sizeType)
	return nil
}

// run encodes queued types until none are left.
func (e *encoder) run() error {
	for i := 0; i < len(e.queue); i++ {
		if err := e.encode(e.queue[i]); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) ref(t Type) uint32 {
	id, err := e.id(t)
	if err != nil {
		return 0
	}
	return uint32(id)
}

func (e *encoder) encode(t Type) error {
	m := e.missing
	switch t := t.(type) {
	case *Int:
		if err := e.head(t.Name, KindInt, false, 0, t.Size); err != nil {
			return err
		}
		e.u32(uint32(t.Encoding)<<24 | uint32(t.Offset)<<16 | uint32(t.Bits))
	case *Pointer:
		return e.refHead(t.Target, "", KindPointer)
	case *Array:
		if err := e.head("", KindArray, false, 0, 0); err != nil {
			return err
		}
		if t.Type == nil || t.Index == nil {
			return fmt.Errorf("btf: marshal: ARRAY with nil element or index type")
		}
		e.u32(e.ref(t.Type))
		e.u32(e.ref(t.Index))
		e.u32(t.Nelems)
	case *Struct:
		return e.composite(t.Name, KindStruct, t.Size, t.Members)
	case *Union:
		return e.composite(t.Name, KindUnion, t.Size, t.Members)
	case *Enum:
		return e.enum(t)
	case *Fwd:
		return e.head(t.Name, KindFwd, t.Union, 0, 0)
	case *Typedef:
		return e.refHead(t.Type, t.Name, KindTypedef)
	case *Volatile:
		return e.refHead(t.Type, "", KindVolatile)
	case *Const:
		return e.refHead(t.Type, "", KindConst)
	case *Restrict:
		return e.refHead(t.Type, "", KindRestrict)
	case *TypeTag:
		if m&FeatTypeTag != 0 {
			return e.refHead(t.Type, "", KindConst)
		}
		return e.refHeadFlag(t.Type, t.Value, KindTypeTag, t.Attribute)
	case *Func:
		if m&FeatFunc != 0 {
			return e.refHead(t.Type, t.Name, KindTypedef)
		}
		link := t.Linkage
		if m&FeatGlobalFunc != 0 && link == GlobalFunc {
			link = StaticFunc
		}
		if t.Type == nil {
			return fmt.Errorf("btf: marshal: FUNC '%s' has no prototype", t.Name)
		}
		if err := e.head(t.Name, KindFunc, false, int(link), 0); err != nil {
			return err
		}
		e.buf = e.bo.AppendUint32(e.buf[:len(e.buf)-4], e.ref(t.Type))
	case *FuncProto:
		if m&FeatFunc != 0 {
			if err := e.head("", KindEnum, false, len(t.Params), 4); err != nil {
				return err
			}
			for i, p := range t.Params {
				// Each parameter becomes an enumerator named after it
				// whose value is its type id, as in libbpf. The kernel
				// insists on enumerator names: clang names parameters,
				// vmlinux does not, so unnamed ones become argN.
				name := p.Name
				if name == "" {
					name = "arg" + strconv.Itoa(i)
				}
				e.u32(e.str(name))
				e.u32(e.ref(p.Type))
			}
			return nil
		}
		if t.Return == nil {
			return fmt.Errorf("btf: marshal: FUNC_PROTO with nil return type")
		}
		if err := e.head("", KindFuncProto, false, len(t.Params), e.ref(t.Return)); err != nil {
			return err
		}
		for _, p := range t.Params {
			if p.Type == nil {
				return fmt.Errorf("btf: marshal: FUNC_PROTO parameter %q with nil type", p.Name)
			}
			e.u32(e.str(p.Name))
			e.u32(e.ref(p.Type))
		}
	case *Var:
		if m&FeatDatasec != 0 {
			if err := e.head(t.Name, KindInt, false, 0, 1); err != nil {
				return err
			}
			e.u32(8)
			return nil
		}
		if err := e.refHead(t.Type, t.Name, KindVar); err != nil {
			return err
		}
		e.u32(uint32(t.Linkage))
	case *Datasec:
		name := t.Name
		if m&(FeatQmarkDatasec|FeatDatasec) != 0 {
			name = strings.ReplaceAll(name, "?", "_")
		}
		if m&FeatDatasec != 0 {
			// A struct whose members are the variables, at their offsets.
			name = strings.ReplaceAll(name, ".", "_")
			if err := e.head(name, KindStruct, false, len(t.Vars), t.Size); err != nil {
				return err
			}
			for _, v := range t.Vars {
				// Members named after the variables, whose types are
				// the VARs themselves (replaced by INTs), as in libbpf.
				e.u32(e.str(v.Type.TypeName()))
				e.u32(e.ref(v.Type))
				e.u32(v.Offset * 8)
			}
			return nil
		}
		if err := e.head(name, KindDatasec, false, len(t.Vars), t.Size); err != nil {
			return err
		}
		for _, v := range t.Vars {
			if v.Type == nil {
				return fmt.Errorf("btf: marshal: DATASEC '%s' has a nil variable", t.Name)
			}
			e.u32(e.ref(v.Type))
			e.u32(v.Offset)
			e.u32(v.Size)
		}
	case *Float:
		if m&FeatFloat != 0 {
			return e.head("", KindStruct, false, 0, t.Size)
		}
		return e.head(t.Name, KindFloat, false, 0, t.Size)
	case *DeclTag:
		if m&FeatDeclTag != 0 {
			if err := e.head("", KindInt, false, 0, 1); err != nil {
				return err
			}
			e.u32(8)
			return nil
		}
		if err := e.refHeadFlag(t.Type, t.Value, KindDeclTag, t.Attribute); err != nil {
			return err
		}
		e.u32(uint32(t.Index))
	case *Void:
		return fmt.Errorf("btf: marshal: void cannot be encoded as a type")
	default:
		return fmt.Errorf("btf: marshal: unknown type %T", t)
	}
	return nil
}

func (e *encoder) refHead(target Type, name string, kind Kind) error {
	return e.refHeadFlag(target, name, kind, false)
}

func (e *encoder) refHeadFlag(target Type, name string, kind Kind, kflag bool) error {
	if target == nil {
		return fmt.Errorf("btf: marshal: %s '%s' refers to a nil type", kind, name)
	}
	return e.head(name, kind, kflag, 0, e.ref(target))
}

func (e *encoder) composite(name string, kind Kind, size uint32, ms []Member) error {
	kflag := false
	for _, m := range ms {
		if m.BitfieldSize != 0 {
			kflag = true
		}
	}
	if err := e.head(name, kind, kflag, len(ms), size); err != nil {
		return err
	}
	for _, m := range ms {
		if m.Type == nil {
			return fmt.Errorf("btf: marshal: %s '%s' member %q has a nil type", kind, name, m.Name)
		}
		e.u32(e.str(m.Name))
		e.u32(e.ref(m.Type))
		if kflag {
			if m.BitfieldSize > 0xff || m.Offset > 0xffffff {
				return fmt.Errorf("btf: marshal: %s '%s' member %q: bitfield offset %d or size %d out of range", kind, name, m.Name, m.Offset, m.BitfieldSize)
			}
			e.u32(m.BitfieldSize<<24 | m.Offset)
		} else {
			e.u32(m.Offset)
		}
	}
	return nil
}

func (e *encoder) enum(t *Enum) error {
	signed := t.Signed
	if e.missing&FeatEnum64 != 0 {
		signed = false
		if t.Is64 {
			// A union of the same size whose members, named after the
			// enumerators, are one-byte placeholder integers.
			if e.placeholder == nil {
				e.placeholder = &Int{Name: "enum64_placeholder", Size: 1, Bits: 8}
			}
			if err := e.head(t.Name, KindUnion, false, len(t.Values), t.Size); err != nil {
				return err
			}
			for _, v := range t.Values {
				e.u32(e.str(v.Name))
				e.u32(e.ref(e.placeholder))
				e.u32(0)
			}
			return nil
		}
	}
	if err := e.head(t.Name, t.Kind(), signed, len(t.Values), t.Size); err != nil {
		return err
	}
	for _, v := range t.Values {
		e.u32(e.str(v.Name))
		e.u32(uint32(v.Value))
		if t.Is64 {
			e.u32(uint32(v.Value >> 32))
		}
	}
	return nil
}

// blob assembles header, types and strings.
func (e *encoder) blob() []byte {
	out := make([]byte, 0, btfHeaderLen+len(e.buf)+len(e.strs))
	out = e.bo.AppendUint16(out, btfMagic)
	out = append(out, 1, 0)
	out = e.bo.AppendUint32(out, btfHeaderLen)
	out = e.bo.AppendUint32(out, 0)
	out = e.bo.AppendUint32(out, uint32(len(e.buf)))
	out = e.bo.AppendUint32(out, uint32(len(e.buf)))
	out = e.bo.AppendUint32(out, uint32(len(e.strs)))
	out = append(out, e.buf...)
	return append(out, e.strs...)
}

// Marshal writes s in the wire format. Type ids are kept (types that
// replacements add, such as the ENUM64 placeholder, come after the last
// one), and so are string offsets: the original string section is copied
// and new strings are appended, so line info string offsets stay valid.
// Fix-ups made on the decoded types (FixupELF, or edits by the caller)
// are written out.
func (s *Spec) Marshal(opts *MarshalOptions) ([]byte, error) {
	if s == nil {
		return nil, errNilSpec("Marshal")
	}
	if opts == nil {
		opts = &MarshalOptions{}
	}
	e := newEncoder(opts.ByteOrder, opts.Missing)
	e.strs = append([]byte(nil), s.strs...)
	if len(e.strs) == 0 {
		e.strs = []byte{0}
	}
	e.strBase = s.strBase
	if s.base != nil {
		e.baseIDs = func(t Type) (TypeID, bool) {
			id, err := s.base.TypeID(t)
			return id, err == nil
		}
	}
	s.mu.Lock()
	for id := s.firstID; id < s.NextID(); id++ {
		t := s.typeLocked(id)
		e.ids[t] = id
		e.queue = append(e.queue, t)
	}
	s.mu.Unlock()
	e.nextID = s.NextID()
	if err := e.run(); err != nil {
		return nil, err
	}
	return e.blob(), nil
}

// MarshalTypes writes types, and every type they reference, as a new
// base blob. Types are numbered from 1 in the order given, then in the
// order they are first referenced.
func MarshalTypes(types []Type, opts *MarshalOptions) ([]byte, error) {
	if opts == nil {
		opts = &MarshalOptions{}
	}
	e := newEncoder(opts.ByteOrder, opts.Missing)
	for _, t := range types {
		if _, err := e.id(t); err != nil {
			return nil, err
		}
	}
	if err := e.run(); err != nil {
		return nil, err
	}
	return e.blob(), nil
}

// NewSpec builds a spec from Go types, numbered as MarshalTypes numbers
// them. The spec holds new copies of the types.
func NewSpec(types ...Type) (*Spec, error) {
	b, err := MarshalTypes(types, nil)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}
