package btf

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"
)

// Spec is a parsed BTF blob: an object's .BTF, a raw blob, vmlinux, or a
// module's split BTF on top of a base Spec.
//
// Parsing validates every type but decodes none: types become Go values
// on first use (TypeByID, TypeByName, ...), and the name index is built on
// the first lookup by name. A Spec is safe for concurrent use.
type Spec struct {
	base    *Spec
	firstID TypeID // id of the first type in raw (1, or the base's NextID)
	le      bool   // little-endian

	raw     []byte   // the type section
	strs    []byte   // this spec's string section
	strBase uint32   // string offsets below this belong to the base
	offsets []uint32 // offsets[i]: offset in raw of type firstID+i
	typeOff int      // offset of raw in the blob, for errors

	mu    sync.Mutex
	types []Type // decoded types, by id-firstID (allocated on first use); nil entries not decoded yet
	ids   map[Type]TypeID

	indexOnce sync.Once
	index     []uint64 // hash(essential name)<<32 | id, sorted
}

var voidType Type = &Void{}

const (
	btfMagic     = 0xeB9F
	btfHeaderLen = 24
	typeHeadLen  = 12
	maxVlen      = 0xffff
)

// Parse parses a raw BTF blob (header, types, strings). The Spec keeps
// referring to b, which must not be modified afterwards.
func Parse(b []byte) (*Spec, error) { return parse(b, nil) }

// ParseSplit parses split BTF, such as a kernel module's
// /sys/kernel/btf/<module>, whose types and strings continue base's.
func ParseSplit(b []byte, base *Spec) (*Spec, error) {
	if base == nil {
		return nil, fmt.Errorf("btf: split BTF needs a base spec")
	}
	if base.base != nil {
		return nil, fmt.Errorf("btf: a split spec cannot be a base")
	}
	return parse(b, base)
}

type header struct {
	hdrLen, typeOff, typeLen, strOff, strLen uint32
	le                                       bool
}

func parseHeader(b []byte) (header, error) {
	var h header
	if len(b) < 8 {
		return h, &ParseError{Err: fmt.Errorf("blob of %d bytes is shorter than the BTF header", len(b))}
	}
	switch {
	case b[0] == 0x9f && b[1] == 0xeb:
		h.le = true
	case b[0] == 0xeb && b[1] == 0x9f:
	default:
		return h, &ParseError{Err: fmt.Errorf("bad magic %#02x%02x", b[0], b[1])}
	}
	if b[2] != 1 {
		return h, &ParseError{Offset: 2, Err: fmt.Errorf("unsupported version %d", b[2])}
	}
	bo := byteOrder(h.le)
	h.hdrLen = bo.Uint32(b[4:])
	if h.hdrLen < btfHeaderLen || uint64(h.hdrLen) > uint64(len(b)) {
		return h, &ParseError{Offset: 4, Err: fmt.Errorf("header length %d out of range (blob is %d bytes)", h.hdrLen, len(b))}
	}
	for i := btfHeaderLen; i < int(h.hdrLen); i++ {
		if b[i] != 0 {
			return h, &ParseError{Offset: i, Err: fmt.Errorf("unknown non-zero header field")}
		}
	}
	h.typeOff = bo.Uint32(b[8:])
	h.typeLen = bo.Uint32(b[12:])
	h.strOff = bo.Uint32(b[16:])
	h.strLen = bo.Uint32(b[20:])
	rest := uint64(len(b)) - uint64(h.hdrLen)
	if uint64(h.typeOff)+uint64(h.typeLen) > rest {
		return h, &ParseError{Offset: 8, Err: fmt.Errorf("type section [%d, +%d) past the end (%d bytes)", h.typeOff, h.typeLen, rest)}
	}
	if uint64(h.strOff)+uint64(h.strLen) > rest {
		return h, &ParseError{Offset: 16, Err: fmt.Errorf("string section [%d, +%d) past the end (%d bytes)", h.strOff, h.strLen, rest)}
	}
	if h.typeOff%4 != 0 {
		return h, &ParseError{Offset: 8, Err: fmt.Errorf("type section offset %d is not 4-byte aligned", h.typeOff)}
	}
	if h.typeOff < h.strOff && uint64(h.typeOff)+uint64(h.typeLen) > uint64(h.strOff) ||
		h.strOff < h.typeOff && uint64(h.strOff)+uint64(h.strLen) > uint64(h.typeOff) {
		return h, &ParseError{Offset: 8, Err: fmt.Errorf("type and string sections overlap")}
	}
	return h, nil
}

func byteOrder(le bool) binary.ByteOrder {
	if le {
		return binary.LittleEndian
	}
	return binary.BigEndian
}

func parse(b []byte, base *Spec) (*Spec, error) {
	h, err := parseHeader(b)
	if err != nil {
		return nil, err
	}
	body := b[h.hdrLen:]
	s := &Spec{
		base:    base,
		firstID: 1,
		le:      h.le,
		raw:     body[h.typeOff : h.typeOff+h.typeLen],
		strs:    body[h.strOff : h.strOff+h.strLen],
		typeOff: int(h.hdrLen + h.typeOff),
	}
	strOff := int(h.hdrLen + h.strOff)
	if base != nil {
		if base.le != s.le {
			return nil, &ParseError{Err: fmt.Errorf("split BTF byte order differs from its base's")}
		}
		s.firstID = base.NextID()
		s.strBase = uint32(len(base.strs))
		if len(s.strs) > 0 && s.strs[len(s.strs)-1] != 0 {
			return nil, &ParseError{Offset: strOff + len(s.strs) - 1, Err: fmt.Errorf("string section does not end with NUL")}
		}
	} else {
		if len(s.strs) == 0 || s.strs[0] != 0 {
			return nil, &ParseError{Offset: strOff, Err: fmt.Errorf("string section does not start with an empty string")}
		}
		if s.strs[len(s.strs)-1] != 0 {
			return nil, &ParseError{Offset: strOff + len(s.strs) - 1, Err: fmt.Errorf("string section does not end with NUL")}
		}
	}
	if err := s.scan(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Spec) u32(off uint32) uint32 {
	b := s.raw[off : off+4]
	if s.le {
		return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	}
	return uint32(b[3]) | uint32(b[2])<<8 | uint32(b[1])<<16 | uint32(b[0])<<24
}

// extraLen is the size of the data following a type's 12-byte header.
func extraLen(kind Kind, vlen uint32) (uint32, bool) {
	switch kind {
	case KindInt, KindVar, KindDeclTag:
		return 4, true
	case KindPointer, KindFwd, KindTypedef, KindVolatile, KindConst, KindRestrict,
		KindFunc, KindFloat, KindTypeTag:
		return 0, true
	case KindArray:
		return 12, true
	case KindStruct, KindUnion, KindDatasec, KindEnum64:
		return 12 * vlen, true
	case KindEnum, KindFuncProto:
		return 8 * vlen, true
	}
	return 0, false
}

// validName reports whether off is a valid string offset.
func (s *Spec) validName(off uint32) bool {
	if off < s.strBase {
		return s.base.validName(off)
	}
	return uint64(off-s.strBase) < uint64(len(s.strs))
}

// scan records each type's offset and validates headers, sizes, string
// offsets and type references, then checks for reference loops.
func (s *Spec) scan() error {
	n := 0
	for off := uint32(0); int(off) < len(s.raw); n++ {
		if len(s.raw)-int(off) < typeHeadLen {
			return s.errAt(off, s.firstID+TypeID(n), "truncated type header (%d bytes left)", len(s.raw)-int(off))
		}
		info := s.u32(off + 4)
		kind, vlen := Kind(info>>24&0x1f), info&0xffff
		extra, ok := extraLen(kind, vlen)
		if !ok || kind == KindUnknown {
			return s.errAt(off, s.firstID+TypeID(n), "unknown kind %d", kind)
		}
		off += typeHeadLen + extra
		if int(off) > len(s.raw) || off < extra {
			return s.errAt(off-typeHeadLen-extra, s.firstID+TypeID(n), "%s with vlen %d runs past the end of the type section", kind, vlen)
		}
	}
	if uint64(s.firstID)+uint64(n) > 1<<31 {
		return s.errAt(0, 0, "too many types")
	}
	s.offsets = make([]uint32, 0, n)
	total := uint32(s.firstID) + uint32(n)
	for off := uint32(0); int(off) < len(s.raw); {
		id := s.firstID + TypeID(len(s.offsets))
		s.offsets = append(s.offsets, off)
		next, err := s.check(off, id, total)
		if err != nil {
			return err
		}
		off = next
	}
	return s.checkLoops()
}

func (s *Spec) errAt(off uint32, id TypeID, format string, args ...any) error {
	return &ParseError{Offset: s.typeOff + int(off), TypeID: id, Err: fmt.Errorf(format, args...)}
}

// check validates the type at off and returns the next type's offset.
func (s *Spec) check(off uint32, id TypeID, total uint32) (uint32, error) {
	nameOff, info, sizeType := s.u32(off), s.u32(off+4), s.u32(off+8)
	kind, vlen := Kind(info>>24&0x1f), info&0xffff
	if !s.validName(nameOff) {
		return 0, s.errAt(off, id, "%s name offset %d is past the string section", kind, nameOff)
	}
	// The kernel's rules on which kinds take a name, a vlen and a kind
	// flag; Marshal relies on them to write back what it read.
	switch kind {
	case KindPointer, KindArray, KindVolatile, KindConst, KindRestrict, KindFuncProto:
		if nameOff != 0 {
			return 0, s.errAt(off, id, "%s has a name (%q); the kernel requires it anonymous", kind, s.name(nameOff))
		}
	}
	switch kind {
	case KindStruct, KindUnion, KindEnum, KindEnum64, KindFuncProto, KindDatasec, KindFunc:
	default:
		if vlen != 0 {
			return 0, s.errAt(off, id, "%s has vlen %d, must be 0", kind, vlen)
		}
	}
	switch kind {
	case KindStruct, KindUnion, KindEnum, KindEnum64, KindFwd, KindDeclTag, KindTypeTag:
	default:
		if info>>31 != 0 {
			return 0, s.errAt(off, id, "%s has the kind flag set", kind)
		}
	}
	if info&0x60ff0000 != 0 {
		return 0, s.errAt(off, id, "%s has unused info bits set (%#x)", kind, info)
	}
	ref := func(at uint32, r uint32, what string, i uint32) error {
		if r < total {
			return nil
		}
		if what == "member" || what == "parameter" || what == "variable" {
			what = fmt.Sprintf("%s %d", what, i)
		}
		return s.errAt(at, id, "%s %s refers to type [%d], but the last type is [%d]", kind, what, r, total-1)
	}
	p := off + typeHeadLen
	switch kind {
	case KindInt:
		v := s.u32(p)
		bits, bitOff := v&0xff, v>>16&0xff
		if sizeType > 16 || sizeType == 0 || bits+bitOff > 8*sizeType || bits == 0 {
			return 0, s.errAt(off, id, "INT of size %d with %d bits at offset %d is invalid", sizeType, bits, bitOff)
		}
		return p + 4, nil
	case KindPointer, KindTypedef, KindVolatile, KindConst, KindRestrict, KindTypeTag, KindFunc, KindVar, KindDeclTag:
		if err := ref(off+8, sizeType, "type", 0); err != nil {
			return 0, err
		}
		if kind == KindVar || kind == KindDeclTag {
			return p + 4, nil
		}
		return p, nil
	case KindFwd, KindFloat:
		return p, nil
	case KindArray:
		if err := ref(p, s.u32(p), "element type", 0); err != nil {
			return 0, err
		}
		if err := ref(p+4, s.u32(p+4), "index type", 0); err != nil {
			return 0, err
		}
		return p + 12, nil
	case KindStruct, KindUnion, KindDatasec:
		for i := range vlen {
			m := p + 12*i
			if kind == KindDatasec {
				if err := ref(m, s.u32(m), "variable", i); err != nil {
					return 0, err
				}
				continue
			}
			if !s.validName(s.u32(m)) {
				return 0, s.errAt(m, id, "%s member %d name offset %d is past the string section", kind, i, s.u32(m))
			}
			if err := ref(m+4, s.u32(m+4), "member", i); err != nil {
				return 0, err
			}
		}
		return p + 12*vlen, nil
	case KindEnum, KindEnum64:
		step := uint32(8)
		if kind == KindEnum64 {
			step = 12
		}
		for i := range vlen {
			if !s.validName(s.u32(p + step*i)) {
				return 0, s.errAt(p+step*i, id, "%s value %d name offset %d is past the string section", kind, i, s.u32(p+step*i))
			}
		}
		return p + step*vlen, nil
	case KindFuncProto:
		if err := ref(off+8, sizeType, "return type", 0); err != nil {
			return 0, err
		}
		for i := range vlen {
			m := p + 8*i
			if !s.validName(s.u32(m)) {
				return 0, s.errAt(m, id, "FUNC_PROTO parameter %d name offset %d is past the string section", i, s.u32(m))
			}
			if err := ref(m+4, s.u32(m+4), "parameter", i); err != nil {
				return 0, err
			}
		}
		return p + 8*vlen, nil
	}
	return 0, s.errAt(off, id, "unknown kind %d", kind)
}

// valueRef returns the k-th type reference of type id that is followed by
// value (not through a pointer), or false when there are no more.
func (s *Spec) valueRef(id TypeID, k uint32) (TypeID, bool) {
	off := s.offsets[id-s.firstID]
	info := s.u32(off + 4)
	kind, vlen := Kind(info>>24&0x1f), info&0xffff
	p := off + typeHeadLen
	switch kind {
	case KindTypedef, KindVolatile, KindConst, KindRestrict, KindTypeTag, KindVar, KindDeclTag, KindFunc:
		if k == 0 {
			return TypeID(s.u32(off + 8)), true
		}
	case KindArray:
		if k == 0 {
			return TypeID(s.u32(p)), true
		}
	case KindStruct, KindUnion, KindDatasec:
		if k < vlen {
			if kind == KindDatasec {
				return TypeID(s.u32(p + 12*k)), true
			}
			return TypeID(s.u32(p + 12*k + 4)), true
		}
	}
	return 0, false
}

// checkLoops rejects cycles that do not pass through a pointer or a
// function prototype: a typedef or qualifier chain that loops, or a
// struct that contains itself by value. The kernel rejects both.
func (s *Spec) checkLoops() error {
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(s.offsets))
	type frame struct {
		id TypeID
		k  uint32
	}
	var stack []frame
	for i := range s.offsets {
		if color[i] != white {
			continue
		}
		stack = append(stack[:0], frame{s.firstID + TypeID(i), 0})
		color[i] = grey
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			ref, ok := s.valueRef(top.id, top.k)
			if !ok {
				color[top.id-s.firstID] = black
				stack = stack[:len(stack)-1]
				continue
			}
			top.k++
			if ref < s.firstID {
				continue // void or a base type
			}
			switch color[ref-s.firstID] {
			case grey:
				return s.errAt(s.offsets[top.id-s.firstID], top.id, "type loop through [%d]", ref)
			case white:
				color[ref-s.firstID] = grey
				stack = append(stack, frame{ref, 0})
			}
		}
	}
	return nil
}

// NextID returns the id the next type appended to s would get: the number
// of types in s and its base, plus one for void.
func (s *Spec) NextID() TypeID {
	if s == nil {
		return 0
	}
	return s.firstID + TypeID(len(s.offsets))
}

// FirstID returns the id of the first type s itself holds: 1 for a base
// spec, the base's NextID for split BTF.
func (s *Spec) FirstID() TypeID {
	if s == nil {
		return 0
	}
	return s.firstID
}

// Base returns the base of split BTF, or nil.
func (s *Spec) Base() *Spec {
	if s == nil {
		return nil
	}
	return s.base
}

// ByteOrder returns the byte order of the blob s was parsed from.
func (s *Spec) ByteOrder() binary.ByteOrder {
	if s == nil {
		return binary.LittleEndian
	}
	return byteOrder(s.le)
}

// name returns the string at off, aliasing the string section.
func (s *Spec) name(off uint32) string {
	if off < s.strBase {
		return s.base.name(off)
	}
	b := s.strs[off-s.strBase:]
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	if n == 0 {
		return ""
	}
	return unsafe.String(&b[0], n)
}

// TypeByID returns the type with the given id (void for 0).
func (s *Spec) TypeByID(id TypeID) (Type, error) {
	if s == nil {
		return nil, errNilSpec("TypeByID")
	}
	if id == 0 {
		return voidType, nil
	}
	if id < s.firstID {
		return s.base.TypeByID(id)
	}
	if id >= s.NextID() {
		return nil, fmt.Errorf("btf: type id %d: %w (last id is %d)", id, ErrNotFound, s.NextID()-1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.typeLocked(id), nil
}

// TypeID returns the id of a type decoded from s (or its base).
func (s *Spec) TypeID(t Type) (TypeID, error) {
	if s == nil {
		return 0, errNilSpec("TypeID")
	}
	if _, ok := t.(*Void); ok {
		return 0, nil
	}
	s.mu.Lock()
	id, ok := s.ids[t]
	s.mu.Unlock()
	if ok {
		return id, nil
	}
	if s.base != nil {
		return s.base.TypeID(t)
	}
	return 0, fmt.Errorf("btf: %s is not a type of this spec: %w", describe(t), ErrNotFound)
}

// kindAt returns the wire kind of a type id of s (or its base) without
// decoding it.
func (s *Spec) kindAt(id TypeID) Kind {
	if id == 0 {
		return KindUnknown
	}
	if id < s.firstID {
		return s.base.kindAt(id)
	}
	return Kind(s.u32(s.offsets[id-s.firstID]+4) >> 24 & 0x1f)
}

// nameAt returns the name of a type id of s (or its base) without
// decoding it.
func (s *Spec) nameAt(id TypeID) string {
	if id == 0 {
		return ""
	}
	if id < s.firstID {
		return s.base.nameAt(id)
	}
	return s.name(s.u32(s.offsets[id-s.firstID]))
}

// nameOffAt returns the name offset of a type id of s (or its base).
func (s *Spec) nameOffAt(id TypeID) uint32 {
	if id == 0 {
		return 0
	}
	if id < s.firstID {
		return s.base.nameOffAt(id)
	}
	return s.u32(s.offsets[id-s.firstID])
}
