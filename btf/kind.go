package btf

import "fmt"

// Kind is a BTF type kind (BTF_KIND_* in include/uapi/linux/btf.h).
type Kind uint8

// The kinds, with the kernel version that introduced each.
const (
	KindUnknown   Kind = 0  // BTF_KIND_UNKN: void (type id 0)
	KindInt       Kind = 1  // BTF_KIND_INT (4.18)
	KindPointer   Kind = 2  // BTF_KIND_PTR
	KindArray     Kind = 3  // BTF_KIND_ARRAY
	KindStruct    Kind = 4  // BTF_KIND_STRUCT
	KindUnion     Kind = 5  // BTF_KIND_UNION
	KindEnum      Kind = 6  // BTF_KIND_ENUM
	KindFwd       Kind = 7  // BTF_KIND_FWD
	KindTypedef   Kind = 8  // BTF_KIND_TYPEDEF
	KindVolatile  Kind = 9  // BTF_KIND_VOLATILE
	KindConst     Kind = 10 // BTF_KIND_CONST
	KindRestrict  Kind = 11 // BTF_KIND_RESTRICT
	KindFunc      Kind = 12 // BTF_KIND_FUNC (5.0; global linkage 5.6)
	KindFuncProto Kind = 13 // BTF_KIND_FUNC_PROTO (5.0)
	KindVar       Kind = 14 // BTF_KIND_VAR (5.2)
	KindDatasec   Kind = 15 // BTF_KIND_DATASEC (5.2)
	KindFloat     Kind = 16 // BTF_KIND_FLOAT (5.13)
	KindDeclTag   Kind = 17 // BTF_KIND_DECL_TAG (5.16)
	KindTypeTag   Kind = 18 // BTF_KIND_TYPE_TAG (5.17)
	KindEnum64    Kind = 19 // BTF_KIND_ENUM64 (6.0)
)

var kindNames = [...]string{
	KindUnknown:   "UNKNOWN",
	KindInt:       "INT",
	KindPointer:   "PTR",
	KindArray:     "ARRAY",
	KindStruct:    "STRUCT",
	KindUnion:     "UNION",
	KindEnum:      "ENUM",
	KindFwd:       "FWD",
	KindTypedef:   "TYPEDEF",
	KindVolatile:  "VOLATILE",
	KindConst:     "CONST",
	KindRestrict:  "RESTRICT",
	KindFunc:      "FUNC",
	KindFuncProto: "FUNC_PROTO",
	KindVar:       "VAR",
	KindDatasec:   "DATASEC",
	KindFloat:     "FLOAT",
	KindDeclTag:   "DECL_TAG",
	KindTypeTag:   "TYPE_TAG",
	KindEnum64:    "ENUM64",
}

// String returns the kind's name as bpftool prints it ("STRUCT", "PTR").
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("KIND(%d)", uint8(k))
}

// IntEncoding is the encoding bits of an INT (BTF_INT_SIGNED, _CHAR, _BOOL).
type IntEncoding uint8

// Integer encodings.
const (
	Unsigned IntEncoding = 0
	Signed   IntEncoding = 1 << 0 // BTF_INT_SIGNED
	Char     IntEncoding = 1 << 1 // BTF_INT_CHAR
	Bool     IntEncoding = 1 << 2 // BTF_INT_BOOL
)

// String returns the encoding as bpftool prints it.
func (e IntEncoding) String() string {
	switch e {
	case Unsigned:
		return "(none)"
	case Signed:
		return "SIGNED"
	case Char:
		return "CHAR"
	case Bool:
		return "BOOL"
	}
	return "UNKN"
}

// FuncLinkage is the linkage of a FUNC (its vlen field).
type FuncLinkage uint16

// Function linkages (enum btf_func_linkage).
const (
	StaticFunc FuncLinkage = 0 // BTF_FUNC_STATIC
	GlobalFunc FuncLinkage = 1 // BTF_FUNC_GLOBAL (5.6)
	ExternFunc FuncLinkage = 2 // BTF_FUNC_EXTERN
)

// String returns the linkage as bpftool prints it.
func (l FuncLinkage) String() string {
	switch l {
	case StaticFunc:
		return "static"
	case GlobalFunc:
		return "global"
	case ExternFunc:
		return "extern"
	}
	return "(unknown)"
}

// VarLinkage is the linkage of a VAR.
type VarLinkage uint32

// Variable linkages (BTF_VAR_*).
const (
	StaticVar VarLinkage = 0 // BTF_VAR_STATIC
	GlobalVar VarLinkage = 1 // BTF_VAR_GLOBAL_ALLOCATED
	ExternVar VarLinkage = 2 // BTF_VAR_GLOBAL_EXTERN
)

// String returns the linkage as bpftool prints it.
func (l VarLinkage) String() string {
	switch l {
	case StaticVar:
		return "static"
	case GlobalVar:
		return "global"
	case ExternVar:
		return "extern"
	}
	return "(unknown)"
}
