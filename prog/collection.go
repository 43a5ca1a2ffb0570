package prog

import (
	"fmt"
	"sort"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/internal/mapvalue"
)

// CollectionSpec is what an object file holds: programs by function name,
// maps by name, global variables and the object's BTF. LoadCollectionSpec
// reads one from a clang-built ELF object; NewCollection loads it into the
// kernel.
type CollectionSpec struct {
	// Programs are the object's entry programs by function name. Each
	// one already contains the subprograms it calls.
	Programs map[string]*ProgramSpec
	// Maps are the object's maps by name: those of SEC(".maps") and
	// SEC("maps") under their variable names, the global data sections
	// under their section names (".data", ".rodata", ".bss",
	// ".rodata.table", ...) and ".kconfig" for kconfig externs.
	Maps map[string]*ObjectMapSpec
	// Variables are the global variables of the data sections by name.
	// Set a const volatile configuration variable before NewCollection.
	Variables map[string]*VariableSpec
	// License and Version come from the "license" and "version" sections.
	License string
	Version uint32
	// ObjectName is the file name up to its first dot ("minimal" for
	// minimal.bpf.o), the prefix of the kernel names of the global data
	// maps, as libbpf forms them. Empty when read from an io.ReaderAt.
	ObjectName string
	// Sections describe the object's ELF sections, for tools.
	Sections []SectionInfo
	// Externs are the object's kconfig and ksym externs.
	Externs []*Extern

	btf *objectBTF
}

// SectionInfo describes one ELF section of an object.
type SectionInfo struct {
	Index int
	Name  string
	// Kind says what the loader makes of it: "program", "maps",
	// "legacy maps", "data", "rodata", "bss", "license", "version",
	// "btf", "btf.ext", "relocations" or "other".
	Kind string
	Size uint64
	// Relocations is the number of relocation entries applied to it.
	Relocations int
}

// ProgramSpec is a program of an object file.
type ProgramSpec struct {
	// Spec holds the name (the C function's name), type, license and
	// linked instructions. Map loads refer to CollectionSpec.Maps by
	// name through Instruction.Ref, and Spec.Maps points at the MapSpecs
	// of those maps; calls and function pointers refer to their
	// subprogram's label, the callee's name.
	Spec
	// SectionName is the ELF section the function is in.
	SectionName string
	// AttachType is the expected_attach_type the section name implies.
	AttachType AttachType
	// AttachTo is the attach target from the section name (a kernel
	// function, tracepoint, ...), or "".
	AttachTo string
	// Flags are BPF_PROG_LOAD prog_flags (sleepable, XDP frags).
	Flags ProgramFlags
	// KernelVersion is the "version" section's value, for kprobes on
	// kernels before 5.0.
	KernelVersion uint32
	// Autoload is false for programs whose section name starts with "?"
	// (libbpf 1.0+): NewCollection leaves them out unless the caller
	// sets it.
	Autoload bool
	// Relocations lists what the loader resolved in this program, for
	// tools: map loads, data references, calls, externs, CO-RE.
	Relocations []Relocation

	funcs     []funcRange // the functions linked into Instructions
	funcInfos []funcInfo  // BTF func_info, by instruction index
	lineInfos []LineInfo  // BTF line_info, by instruction index
	coreRelos []coreRelo  // CO-RE relocation records, by instruction index
}

// funcInfo is a bpf_func_info record with the instruction as an index
// into ProgramSpec.Instructions.
type funcInfo struct {
	insn   int
	typeID uint32
	name   string // the BTF FUNC's name
}

// coreRelo is a bpf_core_relo record with the instruction as an index
// into ProgramSpec.Instructions.
type coreRelo struct {
	insn int
	relo btf.CORERelocation
}

// funcRange is one function linked into a program: its name and where
// its instructions start (as an instruction index).
type funcRange struct {
	name    string
	section string
	start   int // first instruction in ProgramSpec.Instructions
	secInsn int // first instruction in its section
	secSlot int // first slot in its section
	count   int // number of instructions
}

// Relocation is one relocated instruction of a program.
type Relocation struct {
	// Instruction is the index into ProgramSpec.Instructions.
	Instruction int
	// Kind is "map", "map value", "call", "func pointer", "kconfig",
	// "ksym", "kfunc" or "core".
	Kind string
	// Target names what the instruction refers to: a map, a function,
	// an extern, or a CO-RE access string.
	Target string
	// Offset is the offset into a map value, for "map value" and
	// "kconfig" relocations.
	Offset uint32
}

// ObjectMapSpec is a map of an object file: a MapSpec plus what only
// objects say about maps.
type ObjectMapSpec struct {
	MapSpec
	// Pinning is PinByName when the map is pinned under its name in
	// the pin path given to NewCollection (libbpf's LIBBPF_PIN_BY_NAME).
	Pinning PinType
	// NumaNode is the NUMA node of the map, with BPF_F_NUMA_NODE.
	NumaNode uint32
	// MapExtra is the map_extra attribute (bloom filter hash count, ...).
	MapExtra uint64
	// InnerMap is the template of the maps an array or hash of maps
	// holds.
	InnerMap *ObjectMapSpec
	// Contents are initial entries written after creation: prog array
	// values (program names), map-in-map values (map names) and the
	// bytes of global data sections.
	Contents []MapEntry
	// Freeze makes the map read-only to user space after Contents are
	// written (.rodata and .kconfig).
	Freeze bool
	// Section is the ELF section the map comes from.
	Section string
	// KeyTypeID and ValueTypeID are the BTF type ids of the key and
	// value in the object's BTF, 0 without BTF.
	KeyTypeID, ValueTypeID uint32
	// Data is the initial value of a global data section's single
	// element; Variables are views into it.
	Data []byte
	// StructOps is set for struct_ops maps (SEC(".struct_ops")): the
	// kernel structure and the programs implementing its members.
	StructOps *StructOpsSpec
}

// PinType says whether and how a map is pinned.
type PinType uint32

// Pin types (enum libbpf_pin_type).
const (
	PinNone   PinType = 0
	PinByName PinType = 1
)

// MapEntry is one initial entry of a map. Key is a uint32 index for
// arrays; Value is a []byte, or the name of a program (prog arrays) or map
// (map-in-map) of the same collection.
type MapEntry struct {
	Key   uint32
	Value any
}

// VariableSpec is a global variable of an object: a named range in one of
// its global data sections.
type VariableSpec struct {
	Name string
	// Map is the name of the global data map holding it (".data",
	// ".rodata", ".bss", ...).
	Map    string
	Offset uint32
	Size   uint32
	// ReadOnly is set for variables in .rodata sections: the program
	// cannot change them, and they are frozen after load.
	ReadOnly bool

	m *ObjectMapSpec
}

// Extern is a kconfig or ksym extern of an object.
type Extern struct {
	Name string
	// Kind is "kconfig" or "ksym".
	Kind string
	// Weak externs that cannot be resolved stay zero instead of failing.
	Weak bool
	// Offset and Size place a kconfig extern in the .kconfig map.
	Offset, Size uint32
	// Func is set for kfuncs.
	Func bool

	typeID    uint32   // BTF VAR or FUNC in the object
	typeless  bool     // ksym: `extern const void x __ksym`, an address from kallsyms
	valueType btf.Type // kconfig: the variable's type
}

// Value returns a copy of the variable's initial bytes.
func (v *VariableSpec) Value() []byte {
	return append([]byte(nil), v.m.Data[v.Offset:v.Offset+v.Size]...)
}

// Set changes the variable's initial value, to be loaded by NewCollection.
// value is a []byte of the variable's size or plain fixed-size data of the
// same size (an integer, an array, a struct without pointers).
func (v *VariableSpec) Set(value any) error {
	b, err := mapvalue.Encode(value, int(v.Size), "variable "+v.Name, nil)
	if err != nil {
		return fmt.Errorf("set variable %q: %w", v.Name, err)
	}
	copy(v.m.Data[v.Offset:v.Offset+v.Size], b)
	return nil
}

// Get copies the variable's initial value into out, a []byte or a
// pointer to plain fixed-size data of the variable's size.
func (v *VariableSpec) Get(out any) error {
	b, err := mapvalue.View(out, int(v.Size), "variable "+v.Name)
	if err != nil {
		return fmt.Errorf("get variable %q: %w", v.Name, err)
	}
	copy(b, v.m.Data[v.Offset:v.Offset+v.Size])
	return nil
}

// ProgramNames returns the names of the programs, sorted.
func (cs *CollectionSpec) ProgramNames() []string { return sortedKeys(cs.Programs) }

// MapNames returns the names of the maps, sorted.
func (cs *CollectionSpec) MapNames() []string { return sortedKeys(cs.Maps) }

// VariableNames returns the names of the variables, sorted.
func (cs *CollectionSpec) VariableNames() []string { return sortedKeys(cs.Variables) }

func sortedKeys[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LineInfo is a C source line attached to an instruction.
type LineInfo struct {
	// Instruction is the index into the program's Instructions.
	Instruction int
	// File and Line are the source file name and the text of the line.
	File, Line string
	// LineNum and Column locate it (1-based).
	LineNum, Column uint32

	fileOff, lineOff uint32 // string offsets in the object's BTF
}

// LineInfos returns the program's source lines from the object's
// .BTF.ext, in instruction order, or nil without line info.
func (ps *ProgramSpec) LineInfos() []LineInfo {
	return ps.lineInfos
}

// FuncInfo is a function of a program, from the object's BTF func_info:
// the C function whose code starts at an instruction.
type FuncInfo struct {
	// Instruction is the index into the program's Instructions of the
	// function's first instruction.
	Instruction int
	// Name is the function's name (its BTF FUNC).
	Name string
}

// FuncInfos returns the functions linked into the program (the program
// itself first, then the subprograms it calls), from the object's
// .BTF.ext func_info, or nil without it.
func (ps *ProgramSpec) FuncInfos() []FuncInfo {
	if len(ps.funcInfos) == 0 {
		return nil
	}
	out := make([]FuncInfo, len(ps.funcInfos))
	for k, f := range ps.funcInfos {
		out[k] = FuncInfo{Instruction: f.insn, Name: f.name}
	}
	return out
}

// BTF returns the object's BTF (fixed up for the kernel), or nil.
func (cs *CollectionSpec) BTF() *btf.Spec {
	if cs.btf == nil {
		return nil
	}
	return cs.btf.spec
}

// BTFSummary describes the object's BTF in one line: the number of
// types of each kind and the .BTF.ext record counts; "" without BTF.
func (cs *CollectionSpec) BTFSummary() string {
	if cs.btf == nil {
		return ""
	}
	counts := map[btf.Kind]int{}
	n := 0
	for _, t := range cs.btf.spec.All() {
		counts[t.Kind()]++
		n++
	}
	kinds := make([]btf.Kind, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	s := fmt.Sprintf("%d types (", n)
	for i, k := range kinds {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", k, counts[k])
	}
	s += ")"
	if ext := cs.btf.ext; ext != nil {
		var fi, li, cr int
		for _, v := range ext.FuncInfos {
			fi += len(v)
		}
		for _, v := range ext.LineInfos {
			li += len(v)
		}
		for _, v := range ext.CORERelos {
			cr += len(v)
		}
		s += fmt.Sprintf("; .BTF.ext: %d func_info, %d line_info, %d CO-RE relocations", fi, li, cr)
	}
	return s
}

// checkMetadata reports func_info, line_info or CO-RE records that point
// past the program, which happens when Instructions were shortened after
// LoadCollectionSpec.
func (ps *ProgramSpec) checkMetadata() error {
	n := len(ps.Instructions)
	bad := func(what string, k int) error {
		return fmt.Errorf("%w: program %q: %s record for instruction %d, but the program has %d (were its Instructions edited?)", ErrInvalidSpec, ps.Name, what, k, n)
	}
	for _, f := range ps.funcInfos {
		if f.insn >= n {
			return bad("func_info", f.insn)
		}
	}
	for _, l := range ps.lineInfos {
		if l.Instruction >= n {
			return bad("line_info", l.Instruction)
		}
	}
	for _, r := range ps.coreRelos {
		if r.insn >= n {
			return bad("CO-RE", r.insn)
		}
	}
	return nil
}

// Copy returns a deep copy of the spec: programs, maps, their initial
// data and variables can be changed in the copy without touching cs. The
// object's BTF, which loading only reads, is shared.
func (cs *CollectionSpec) Copy() *CollectionSpec {
	if cs == nil {
		return nil
	}
	out := *cs
	out.Maps = make(map[string]*ObjectMapSpec, len(cs.Maps))
	for name, m := range cs.Maps {
		out.Maps[name] = m.copy()
	}
	out.Programs = make(map[string]*ProgramSpec, len(cs.Programs))
	for name, p := range cs.Programs {
		q := *p
		q.Instructions = append(p.Instructions[:0:0], p.Instructions...)
		q.Relocations = append(p.Relocations[:0:0], p.Relocations...)
		q.Maps = nil
		for _, ref := range q.Instructions.MapReferences() {
			if m := out.Maps[ref]; m != nil {
				q.Maps = append(q.Maps, &m.MapSpec)
			}
		}
		out.Programs[name] = &q
	}
	out.Variables = make(map[string]*VariableSpec, len(cs.Variables))
	for name, v := range cs.Variables {
		w := *v
		w.m = out.Maps[v.Map]
		out.Variables[name] = &w
	}
	out.Sections = append(cs.Sections[:0:0], cs.Sections...)
	out.Externs = make([]*Extern, len(cs.Externs))
	for i, e := range cs.Externs {
		f := *e
		out.Externs[i] = &f
	}
	return &out
}

func (m *ObjectMapSpec) copy() *ObjectMapSpec {
	if m == nil {
		return nil
	}
	c := *m
	c.Data = append(m.Data[:0:0], m.Data...)
	c.Contents = append(m.Contents[:0:0], m.Contents...)
	c.InnerMap = m.InnerMap.copy()
	if m.StructOps != nil {
		so := *m.StructOps
		so.Data = append(m.StructOps.Data[:0:0], m.StructOps.Data...)
		so.Programs = make(map[string]string, len(m.StructOps.Programs))
		for k, v := range m.StructOps.Programs {
			so.Programs[k] = v
		}
		c.StructOps = &so
	}
	return &c
}
