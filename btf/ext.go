package btf

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
)

// ExtInfo is a parsed .BTF.ext section: per ELF code section, the function
// info, line info and CO-RE relocation records clang emitted. Offsets are
// byte offsets into the section's instructions.
type ExtInfo struct {
	FuncInfos map[string][]FuncInfo
	LineInfos map[string][]LineInfo
	CORERelos map[string][]CORERelocation
}

// FuncInfo is a bpf_func_info record: the function starting at InsnOff.
type FuncInfo struct {
	InsnOff uint32 // byte offset in the section
	TypeID  TypeID // the *Func in the object's spec
	Func    *Func
}

// LineInfo is a bpf_line_info record: the source line an instruction
// comes from. FileNameOff and LineOff are the string offsets in the
// object's BTF, which Spec.Marshal keeps, so the records can be passed to
// the kernel as they are.
type LineInfo struct {
	InsnOff     uint32 // byte offset in the section
	FileName    string
	Line        string // the source text of the line
	LineNumber  uint32
	Column      uint32
	FileNameOff uint32
	LineOff     uint32
}

// COREKind is a CO-RE relocation kind (enum bpf_core_relo_kind).
type COREKind uint32

// The relocation kinds, with the spelling of libbpf's messages.
const (
	FieldByteOffset COREKind = 0  // field_byte_offset
	FieldByteSize   COREKind = 1  // field_byte_size
	FieldExists     COREKind = 2  // field_exists
	FieldSigned     COREKind = 3  // field_signed
	FieldLShiftU64  COREKind = 4  // field_lshift_u64
	FieldRShiftU64  COREKind = 5  // field_rshift_u64
	TypeIDLocal     COREKind = 6  // local_type_id
	TypeIDTarget    COREKind = 7  // target_type_id
	TypeExists      COREKind = 8  // type_exists
	TypeSize        COREKind = 9  // type_size
	EnumValueExists COREKind = 10 // enumval_exists
	EnumValueValue  COREKind = 11 // enumval_value
	TypeMatches     COREKind = 12 // type_matches (Linux 6.2 / libbpf 1.1)
)

var coreKindNames = [...]string{
	"byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64",
	"local_type_id", "target_type_id", "type_exists", "type_size",
	"enumval_exists", "enumval_value", "type_matches",
}

// String is the kind as libbpf names it.
func (k COREKind) String() string {
	if int(k) < len(coreKindNames) {
		return coreKindNames[k]
	}
	return fmt.Sprintf("unknown_relo_kind(%d)", uint32(k))
}

func (k COREKind) fieldBased() bool { return k <= FieldRShiftU64 }
func (k COREKind) typeBased() bool {
	return k >= TypeIDLocal && k <= TypeSize || k == TypeMatches
}
func (k COREKind) enumBased() bool { return k == EnumValueExists || k == EnumValueValue }

// CORERelocation is a bpf_core_relo record: the instruction at InsnOff
// refers, through the access string Access ("0:1:2"), to Type.
type CORERelocation struct {
	InsnOff uint32 // byte offset in the section
	TypeID  TypeID
	Type    Type
	Access  string
	Kind    COREKind
}

const (
	extHeaderMin  = 24
	funcInfoMin   = 8
	lineInfoMin   = 16
	coreReloMin   = 16
	lineColBits   = 10
	maxExtRecords = 1 << 24
)

// ParseExt parses a .BTF.ext section whose strings and types are spec's.
// Errors name the byte offset in b.
func ParseExt(b []byte, spec *Spec) (*ExtInfo, error) {
	if len(b) < 8 {
		return nil, &ParseError{Err: fmt.Errorf(".BTF.ext of %d bytes is shorter than its header", len(b))}
	}
	var bo binary.ByteOrder
	switch {
	case b[0] == 0x9f && b[1] == 0xeb:
		bo = binary.LittleEndian
	case b[0] == 0xeb && b[1] == 0x9f:
		bo = binary.BigEndian
	default:
		return nil, &ParseError{Err: fmt.Errorf("bad .BTF.ext magic %#02x%02x", b[0], b[1])}
	}
	if b[2] != 1 {
		return nil, &ParseError{Offset: 2, Err: fmt.Errorf("unsupported .BTF.ext version %d", b[2])}
	}
	hdrLen := bo.Uint32(b[4:])
	if hdrLen < extHeaderMin || uint64(hdrLen) > uint64(len(b)) {
		return nil, &ParseError{Offset: 4, Err: fmt.Errorf(".BTF.ext header length %d out of range (%d bytes)", hdrLen, len(b))}
	}
	ext := &ExtInfo{
		FuncInfos: map[string][]FuncInfo{},
		LineInfos: map[string][]LineInfo{},
		CORERelos: map[string][]CORERelocation{},
	}
	p := &extParser{b: b, bo: bo, spec: spec, hdrLen: hdrLen}
	if err := p.section(8, funcInfoMin, func(sec string, n int) {
		ext.FuncInfos[sec] = slices.Grow(ext.FuncInfos[sec], n)
	}, func(sec string, off int, r []byte) error {
		id := TypeID(bo.Uint32(r[4:]))
		t, err := spec.TypeByID(id)
		if err != nil {
			return &ParseError{Offset: off + 4, TypeID: id, Err: fmt.Errorf("func_info of section %s: %w", sec, err)}
		}
		fn, ok := t.(*Func)
		if !ok {
			return &ParseError{Offset: off + 4, TypeID: id, Err: fmt.Errorf("func_info of section %s refers to %s, not a FUNC", sec, describe(t))}
		}
		ext.FuncInfos[sec] = append(ext.FuncInfos[sec], FuncInfo{InsnOff: bo.Uint32(r), TypeID: id, Func: fn})
		return nil
	}); err != nil {
		return nil, err
	}
	if err := p.section(16, lineInfoMin, func(sec string, n int) {
		ext.LineInfos[sec] = slices.Grow(ext.LineInfos[sec], n)
	}, func(sec string, off int, r []byte) error {
		fileOff, lineOff, lc := bo.Uint32(r[4:]), bo.Uint32(r[8:]), bo.Uint32(r[12:])
		if !spec.validName(fileOff) {
			return &ParseError{Offset: off + 4, Err: fmt.Errorf("line_info of section %s: file name offset %d is past the string section", sec, fileOff)}
		}
		if !spec.validName(lineOff) {
			return &ParseError{Offset: off + 8, Err: fmt.Errorf("line_info of section %s: line offset %d is past the string section", sec, lineOff)}
		}
		ext.LineInfos[sec] = append(ext.LineInfos[sec], LineInfo{
			InsnOff: bo.Uint32(r), FileName: spec.name(fileOff), Line: spec.name(lineOff),
			LineNumber: lc >> lineColBits, Column: lc & (1<<lineColBits - 1),
			FileNameOff: fileOff, LineOff: lineOff,
		})
		return nil
	}); err != nil {
		return nil, err
	}
	if hdrLen >= 32 {
		if err := p.section(24, coreReloMin, func(sec string, n int) {
			ext.CORERelos[sec] = slices.Grow(ext.CORERelos[sec], n)
		}, func(sec string, off int, r []byte) error {
			id, accOff, kind := TypeID(bo.Uint32(r[4:])), bo.Uint32(r[8:]), COREKind(bo.Uint32(r[12:]))
			if kind > TypeMatches {
				return &ParseError{Offset: off + 12, TypeID: id, Err: fmt.Errorf("CO-RE relocation of section %s has unknown kind %d", sec, uint32(kind))}
			}
			t, err := spec.TypeByID(id)
			if err != nil {
				return &ParseError{Offset: off + 4, TypeID: id, Err: fmt.Errorf("CO-RE relocation of section %s: %w", sec, err)}
			}
			if !spec.validName(accOff) {
				return &ParseError{Offset: off + 8, TypeID: id, Err: fmt.Errorf("CO-RE relocation of section %s: access string offset %d is past the string section", sec, accOff)}
			}
			ext.CORERelos[sec] = append(ext.CORERelos[sec], CORERelocation{
				InsnOff: bo.Uint32(r), TypeID: id, Type: t, Access: spec.name(accOff), Kind: kind,
			})
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return ext, nil
}

type extParser struct {
	b      []byte
	bo     binary.ByteOrder
	spec   *Spec
	hdrLen uint32
}

// section walks the info section whose offset and length are at header
// offset at: a record size, then per ELF section its name, record count
// and records.
// reserve, if not nil, is told each section's record count before its
// records, so that the caller can size its slice once (n is bounded by
// the bytes present: the records were checked to fit).
func (p *extParser) section(at int, minRec uint32, reserve func(sec string, n int), rec func(sec string, off int, r []byte) error) error {
	if at+8 > int(p.hdrLen) {
		return nil
	}
	off, length := p.bo.Uint32(p.b[at:]), p.bo.Uint32(p.b[at+4:])
	if length == 0 {
		return nil
	}
	start := uint64(p.hdrLen) + uint64(off)
	end := start + uint64(length)
	if end > uint64(len(p.b)) {
		return &ParseError{Offset: at, Err: fmt.Errorf("info section [%d, +%d) past the end of .BTF.ext (%d bytes)", start, length, len(p.b))}
	}
	if length < 4 {
		return &ParseError{Offset: int(start), Err: fmt.Errorf("info section of %d bytes has no record size", length)}
	}
	recSize := p.bo.Uint32(p.b[start:])
	if recSize < minRec || recSize%4 != 0 || recSize > 1<<16 {
		return &ParseError{Offset: int(start), Err: fmt.Errorf("record size %d is invalid (at least %d, multiple of 4)", recSize, minRec)}
	}
	pos := start + 4
	for pos < end {
		if end-pos < 8 {
			return &ParseError{Offset: int(pos), Err: fmt.Errorf("truncated section header")}
		}
		nameOff, n := p.bo.Uint32(p.b[pos:]), p.bo.Uint32(p.b[pos+4:])
		if !p.spec.validName(nameOff) {
			return &ParseError{Offset: int(pos), Err: fmt.Errorf("section name offset %d is past the string section", nameOff)}
		}
		name := p.spec.name(nameOff)
		if n == 0 || n > maxExtRecords {
			return &ParseError{Offset: int(pos + 4), Err: fmt.Errorf("section %s has %d records", name, n)}
		}
		pos += 8
		if uint64(n)*uint64(recSize) > end-pos {
			return &ParseError{Offset: int(pos - 4), Err: fmt.Errorf("section %s: %d records of %d bytes run past the end of the info section", name, n, recSize)}
		}
		if reserve != nil {
			reserve(name, int(n))
		}
		for range n {
			if err := rec(name, int(pos), p.b[pos:pos+uint64(recSize)]); err != nil {
				return err
			}
			pos += uint64(recSize)
		}
	}
	return nil
}

// Sections returns the names of the ELF sections that have records, sorted.
func (e *ExtInfo) Sections() []string {
	seen := map[string]bool{}
	for s := range e.FuncInfos {
		seen[s] = true
	}
	for s := range e.LineInfos {
		seen[s] = true
	}
	for s := range e.CORERelos {
		seen[s] = true
	}
	names := make([]string, 0, len(seen))
	for s := range seen {
		names = append(names, s)
	}
	sort.Strings(names)
	return names
}

// MarshalFuncInfos encodes func_info records for BPF_PROG_LOAD
// (func_info, func_info_rec_size 8): insn_off in instruction slots
// relative to base (the byte offset of the program in its section), and
// the type id.
func MarshalFuncInfos(infos []FuncInfo, base uint32) []byte {
	b := make([]byte, 0, 8*len(infos))
	for _, fi := range infos {
		b = binary.NativeEndian.AppendUint32(b, (fi.InsnOff-base)/8)
		b = binary.NativeEndian.AppendUint32(b, uint32(fi.TypeID))
	}
	return b
}

// MarshalLineInfos encodes line_info records for BPF_PROG_LOAD
// (line_info, line_info_rec_size 16), insn_off in slots relative to base.
// The string offsets are those of the spec's Marshal output.
func MarshalLineInfos(infos []LineInfo, base uint32) []byte {
	b := make([]byte, 0, 16*len(infos))
	for _, li := range infos {
		b = binary.NativeEndian.AppendUint32(b, (li.InsnOff-base)/8)
		b = binary.NativeEndian.AppendUint32(b, li.FileNameOff)
		b = binary.NativeEndian.AppendUint32(b, li.LineOff)
		b = binary.NativeEndian.AppendUint32(b, li.LineNumber<<lineColBits|li.Column&(1<<lineColBits-1))
	}
	return b
}
