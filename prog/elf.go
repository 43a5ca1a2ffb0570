package prog

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/insn"
)

// ErrInvalidObject is wrapped by every error about a malformed or
// unsupported object file.
var ErrInvalidObject = errors.New("invalid object file")

// BPF relocation types (llvm/BinaryFormat/ELFRelocs/BPF.def) the loader
// applies; R_BPF_64_ABS32 and R_BPF_64_NODYLD32 only occur in debug
// info and .BTF.ext, which it does not relocate.
const (
	relBPF64_64   = 1  // R_BPF_64_64: LD_IMM64
	relBPF64Abs64 = 2  // R_BPF_64_ABS64: 64-bit data (.maps values)
	relBPF64_32   = 10 // R_BPF_64_32: call
)

// LoadCollectionSpec reads the ELF object file at path, as clang -target
// bpf writes it.
func LoadCollectionSpec(path string) (*CollectionSpec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load collection spec: %w", err)
	}
	defer f.Close()
	name := filepath.Base(path)
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	cs, err := loadCollectionSpec(f, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

// LoadCollectionSpecFromReader reads an ELF object file from r.
func LoadCollectionSpecFromReader(r io.ReaderAt) (*CollectionSpec, error) {
	return loadCollectionSpec(r, "")
}

// elfReader holds the state of one object being read.
type elfReader struct {
	f       *elf.File
	syms    []elf.Symbol // symtab[i] is symbol i+1
	cs      *CollectionSpec
	btf     *objectBTF
	code    map[elf.SectionIndex]*codeSection
	funcs   map[string]*elfFunc
	dataSec map[elf.SectionIndex]*ObjectMapSpec
	mapsIdx elf.SectionIndex // .maps
	legacy  elf.SectionIndex // maps
	externs map[string]*Extern

	pendingCode []pendingCode
	textInsns   int // instructions in .text, which programs may link in

	kconfigExterns []*Extern

	structOps       []elf.SectionIndex // .struct_ops and .struct_ops.link
	structOpsRelocs map[elf.SectionIndex][]mapReloc
	mapRelocs       []mapReloc
	imms            map[elf.SectionIndex]map[int]int32 // original immediates of relocated instructions
}

// codeSection is an executable section: its decoded instructions and
// functions.
type codeSection struct {
	name     string
	index    elf.SectionIndex
	insns    insn.Instructions
	slotTo   []int // slot -> instruction index, -1 for LD_IMM64 second halves
	slotOffs []int // instruction index -> first slot
	funcs    []*elfFunc
	relocs   map[int]elf.Symbol // by slot
}

// elfFunc is a function symbol in an executable section.
type elfFunc struct {
	name   string
	sec    *codeSection
	slot   int // first slot in the section
	slots  int
	first  int // first instruction index in the section
	count  int
	global bool
	weak   bool
	entry  bool
}

func objErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidObject}, args...)...)
}

// guardELF turns a panic inside debug/elf, which some malformed headers
// still cause, into an error.
func guardELF(what string, err *error) {
	if r := recover(); r != nil {
		*err = objErr("%s: debug/elf failed: %v", what, r)
	}
}

func newELFFile(r io.ReaderAt) (f *elf.File, err error) {
	defer guardELF("ELF header", &err)
	return elf.NewFile(r)
}

func elfSymbols(f *elf.File) (syms []elf.Symbol, err error) {
	defer guardELF("symbol table", &err)
	return f.Symbols()
}

func loadCollectionSpec(r io.ReaderAt, objName string) (cs *CollectionSpec, err error) {
	f, err := newELFFile(r)
	if err != nil {
		var fe *elf.FormatError
		switch {
		case errors.Is(err, ErrInvalidObject):
			return nil, err
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("%w: truncated: the file ends inside its ELF header or section headers (%w)", ErrInvalidObject, err)
		case errors.As(err, &fe) && strings.Contains(fe.Error(), "bad magic"):
			return nil, fmt.Errorf("%w: not an ELF file (%v)", ErrInvalidObject, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidObject, err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 {
		return nil, objErr("ELF class %v, want ELFCLASS64", f.Class)
	}
	if f.Data != elf.ELFDATA2LSB {
		return nil, objErr("%v object (big-endian BPF, clang -target bpfeb): the kernel on this machine takes little-endian BPF", f.Data)
	}
	if f.Machine != elf.EM_BPF {
		return nil, objErr("machine %v, want EM_BPF (built without clang -target bpf?)", f.Machine)
	}
	if f.Type != elf.ET_REL {
		return nil, objErr("ELF type %v, want ET_REL (a relocatable object from clang -c)", f.Type)
	}
	syms, err := elfSymbols(f)
	if err != nil {
		return nil, objErr("missing or bad .symtab: %v", err)
	}
	cs = &CollectionSpec{
		Programs:   map[string]*ProgramSpec{},
		Maps:       map[string]*ObjectMapSpec{},
		Variables:  map[string]*VariableSpec{},
		ObjectName: objName,
	}
	er := &elfReader{
		f: f, syms: syms, cs: cs,
		code:    map[elf.SectionIndex]*codeSection{},
		funcs:   map[string]*elfFunc{},
		dataSec: map[elf.SectionIndex]*ObjectMapSpec{},
		externs: map[string]*Extern{},
		imms:    map[elf.SectionIndex]map[int]int32{},

		structOpsRelocs: map[elf.SectionIndex][]mapReloc{},
	}
	if err := er.read(); err != nil {
		return nil, err
	}
	cs.btf = er.btf
	return cs, nil
}

func (er *elfReader) sectionData(s *elf.Section) (b []byte, err error) {
	defer guardELF("section "+strconvQuote(s.Name), &err)
	if s.Type == elf.SHT_NOBITS {
		if s.Size > maxDataSection {
			return nil, objErr("section %q: size %d is larger than the %d bytes the loader takes for a global data map", s.Name, s.Size, maxDataSection)
		}
		return make([]byte, s.Size), nil
	}
	b, err = s.Data()
	if err != nil {
		return nil, objErr("section %q: %v", s.Name, err)
	}
	return b, nil
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

func (er *elfReader) read() error {
	f := er.f
	// BTF first: maps and externs are described by it.
	if s := f.Section(".BTF"); s != nil {
		b, err := er.sectionData(s)
		if err != nil {
			return err
		}
		var ext []byte
		if se := f.Section(".BTF.ext"); se != nil {
			if ext, err = er.sectionData(se); err != nil {
				return err
			}
		}
		if er.btf, err = parseObjectBTF(b, ext); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidObject, err)
		}
	}
	relocCount := map[elf.SectionIndex]int{}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_REL {
			if int(s.Info) >= len(f.Sections) {
				return objErr("relocation section %q applies to section %d, which does not exist", s.Name, s.Info)
			}
			relocCount[elf.SectionIndex(s.Info)] += int(s.Size / 16)
		}
	}
	for i, s := range f.Sections {
		idx := elf.SectionIndex(i)
		kind := "other"
		switch {
		case s.Type == elf.SHT_NULL:
			continue
		case s.Name == "license":
			kind = "license"
			b, err := er.sectionData(s)
			if err != nil {
				return err
			}
			er.cs.License = string(bytes.TrimRight(b, "\x00"))
			if i := bytes.IndexByte(b, 0); i >= 0 {
				er.cs.License = string(b[:i])
			}
		case s.Name == "version":
			kind = "version"
			b, err := er.sectionData(s)
			if err != nil {
				return err
			}
			if len(b) != 4 {
				return objErr("section \"version\" is %d bytes, want 4", len(b))
			}
			er.cs.Version = binary.LittleEndian.Uint32(b)
		case s.Name == ".maps":
			kind = "maps"
			er.mapsIdx = idx
		case s.Name == ".struct_ops" || s.Name == ".struct_ops.link":
			kind = "struct_ops"
			er.structOps = append(er.structOps, idx)
		case s.Name == "maps":
			kind = "legacy maps"
			er.legacy = idx
		case s.Name == ".BTF":
			kind = "btf"
		case s.Name == ".BTF.ext":
			kind = "btf.ext"
		case s.Type == elf.SHT_REL:
			kind = "relocations"
		case s.Type == elf.SHT_PROGBITS && s.Flags&elf.SHF_EXECINSTR != 0:
			kind = "program"
			if s.Size > 0 {
				if err := er.readCode(s, idx); err != nil {
					return err
				}
			}
		case isDataSection(s):
			kind = dataKind(s.Name)
			if err := er.readData(s, idx); err != nil {
				return err
			}
		}
		er.cs.Sections = append(er.cs.Sections, SectionInfo{Index: i, Name: s.Name, Kind: kind, Size: s.Size, Relocations: relocCount[idx]})
	}
	if err := er.readRelocations(); err != nil {
		return err
	}
	if err := er.readExterns(); err != nil {
		return err
	}
	if er.btf != nil {
		// After readExterns, which needs the .ksyms entries as clang
		// wrote them.
		if err := er.btf.spec.FixupELF(er.layout()); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidObject, err)
		}
		if err := er.layoutKconfig(); err != nil {
			return err
		}
	}
	if er.legacy != 0 {
		if err := er.readLegacyMaps(); err != nil {
			return err
		}
	}
	if er.mapsIdx != 0 {
		if err := er.readBTFMaps(); err != nil {
			return err
		}
	}
	if err := er.readVariables(); err != nil {
		return err
	}
	if err := er.readStructOps(); err != nil {
		return err
	}
	return er.linkPrograms()
}

// layout describes the object's sections and symbols to btf.FixupELF.
func (er *elfReader) layout() btf.ELFLayout {
	byName := make(map[string]btf.ELFSymbol, len(er.syms))
	for _, s := range er.syms {
		typ := elf.ST_TYPE(s.Info)
		if typ != elf.STT_OBJECT && typ != elf.STT_FUNC && typ != elf.STT_NOTYPE || s.Name == "" ||
			s.Section == elf.SHN_UNDEF || s.Section >= elf.SHN_LORESERVE {
			continue
		}
		vis := elf.ST_VISIBILITY(s.Other)
		byName[s.Name] = btf.ELFSymbol{Value: s.Value, Hidden: vis == elf.STV_HIDDEN || vis == elf.STV_INTERNAL}
	}
	return btf.ELFLayout{
		SectionSize: func(name string) (uint64, bool) {
			if s := er.f.Section(name); s != nil {
				return s.Size, true
			}
			return 0, false
		},
		Symbol: func(name string) (btf.ELFSymbol, bool) {
			s, ok := byName[name]
			return s, ok
		},
	}
}

// isDataSection reports whether s is global data that libbpf turns into
// an array map: .data, .rodata, .bss and their ".name" variants.
func isDataSection(s *elf.Section) bool {
	if s.Flags&elf.SHF_ALLOC == 0 {
		return false
	}
	for _, p := range []string{".data", ".rodata", ".bss"} {
		if s.Name == p || strings.HasPrefix(s.Name, p+".") {
			return (s.Type == elf.SHT_PROGBITS) == (p != ".bss") && (p != ".bss" || s.Type == elf.SHT_NOBITS)
		}
	}
	return false
}

func dataKind(name string) string {
	switch {
	case strings.HasPrefix(name, ".rodata"):
		return "rodata"
	case strings.HasPrefix(name, ".bss"):
		return "bss"
	}
	return "data"
}

func (er *elfReader) readCode(s *elf.Section, idx elf.SectionIndex) error {
	raw, err := er.sectionData(s)
	if err != nil {
		return err
	}
	if len(raw)%insn.SlotSize != 0 {
		return objErr("section %q: size %d is not a multiple of %d", s.Name, len(raw), insn.SlotSize)
	}
	cs := &codeSection{name: s.Name, index: idx, relocs: map[int]elf.Symbol{}}
	er.code[idx] = cs
	// Instructions are decoded once relocations are known (readRelocations
	// zeroes relocated call immediates first); keep the bytes until then.
	cs.insns = nil
	er.pendingCode = append(er.pendingCode, pendingCode{cs, raw})
	return nil
}

type pendingCode struct {
	cs  *codeSection
	raw []byte
}

func (er *elfReader) readData(s *elf.Section, idx elf.SectionIndex) error {
	b, err := er.sectionData(s)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	if len(b) > maxDataSection {
		return objErr("section %q: %d bytes is larger than the %d bytes the loader takes for a global data map", s.Name, len(b), maxDataSection)
	}
	m := &ObjectMapSpec{
		MapSpec: MapSpec{Name: s.Name, Type: Array, KeySize: 4, ValueSize: uint32(len(b)), MaxEntries: 1, Flags: MapMmapable},
		Section: s.Name,
		Data:    append([]byte(nil), b...),
	}
	if strings.HasPrefix(s.Name, ".rodata") {
		m.Flags |= MapRdonlyProg
		m.Freeze = true
	}
	if er.btf != nil {
		if id, ok := er.btf.datasecID(s.Name); ok {
			m.ValueTypeID = id
		}
	}
	er.dataSec[idx] = m
	er.cs.Maps[s.Name] = m
	return nil
}

// maxDataSection bounds a global data section. The kernel caps an array
// map's value at KMALLOC_MAX_SIZE (4 MiB with 4 KiB pages on x86-64,
// minus the stack for BPF_F_MMAPABLE bookkeeping); 16 MiB leaves room.
const maxDataSection = 16 << 20

func (er *elfReader) symbol(i uint32) (elf.Symbol, error) {
	if i == 0 || int(i) > len(er.syms) {
		return elf.Symbol{}, fmt.Errorf("symbol index %d is outside the symbol table's %d entries", i, len(er.syms))
	}
	return er.syms[i-1], nil
}

func (er *elfReader) readRelocations() error {
	for _, s := range er.f.Sections {
		if s.Type != elf.SHT_REL {
			continue
		}
		target := elf.SectionIndex(s.Info)
		cs := er.code[target]
		isStructOps := slices.Contains(er.structOps, target)
		if cs == nil && target != er.mapsIdx && !isStructOps {
			// Debug info, BTF.ext and data relocations are not needed.
			continue
		}
		b, err := er.sectionData(s)
		if err != nil {
			return err
		}
		if len(b)%16 != 0 {
			return objErr("relocation section %q: size %d is not a multiple of 16", s.Name, len(b))
		}
		for off := 0; off < len(b); off += 16 {
			roff := binary.LittleEndian.Uint64(b[off:])
			info := binary.LittleEndian.Uint64(b[off+8:])
			sym, err := er.symbol(uint32(info >> 32))
			if err != nil {
				return objErr("relocation section %q, entry %d: %v", s.Name, off/16, err)
			}
			typ := uint32(info)
			if target == er.mapsIdx || isStructOps {
				if typ != relBPF64Abs64 {
					return objErr("relocation section %q, entry %d: type %d, want R_BPF_64_ABS64", s.Name, off/16, typ)
				}
				if isStructOps {
					er.structOpsRelocs[target] = append(er.structOpsRelocs[target], mapReloc{off: roff, sym: sym})
				} else {
					er.mapRelocs = append(er.mapRelocs, mapReloc{off: roff, sym: sym})
				}
				continue
			}
			if typ != relBPF64_64 && typ != relBPF64_32 {
				return objErr("relocation section %q, entry %d: type %d, want R_BPF_64_64 or R_BPF_64_32 in code", s.Name, off/16, typ)
			}
			if roff%insn.SlotSize != 0 {
				return objErr("relocation section %q, entry %d: offset %d in %q is not at an instruction", s.Name, off/16, roff, cs.name)
			}
			cs.relocs[int(roff/insn.SlotSize)] = sym
		}
	}
	for _, pc := range er.pendingCode {
		if err := er.decodeCode(pc.cs, pc.raw); err != nil {
			return err
		}
	}
	return nil
}

type mapReloc struct {
	off uint64
	sym elf.Symbol
}

// decodeCode decodes a code section and finds its functions. The
// immediates of relocated instructions are read first and zeroed, so that
// placeholder call offsets do not fail validation.
func (er *elfReader) decodeCode(cs *codeSection, raw []byte) error {
	nslots := len(raw) / insn.SlotSize
	b := append([]byte(nil), raw...)
	imms := map[int]int32{}
	for slot := range cs.relocs {
		if slot >= nslots {
			return objErr("section %q: relocation at slot %d is past the section's %d slots", cs.name, slot, nslots)
		}
		p := b[slot*insn.SlotSize+4:]
		imms[slot] = int32(binary.LittleEndian.Uint32(p))
		if b[slot*insn.SlotSize] == byte(insn.OpCall) {
			binary.LittleEndian.PutUint32(p, 0xffffffff)
		}
	}
	insns, err := insn.Unmarshal(b)
	if err != nil {
		return objErr("section %q: %w", cs.name, err)
	}
	cs.insns = insns
	cs.slotTo = make([]int, nslots)
	cs.slotOffs = insns.SlotOffsets()
	if cs.name == ".text" {
		er.textInsns = len(insns)
	}
	for k, off := range cs.slotOffs {
		cs.slotTo[off] = k
		if insns[k].IsLoadImm64() {
			cs.slotTo[off+1] = -1
		}
	}
	er.imms[cs.index] = imms

	// Functions.
	for _, sym := range er.syms {
		if sym.Section != cs.index || elf.ST_TYPE(sym.Info) != elf.STT_FUNC {
			continue
		}
		if sym.Value%insn.SlotSize != 0 || sym.Size%insn.SlotSize != 0 || sym.Value+sym.Size > uint64(len(raw)) || sym.Value+sym.Size < sym.Value {
			return objErr("section %q: function %q at offset %d, size %d, does not fit the section's %d bytes", cs.name, sym.Name, sym.Value, sym.Size, len(raw))
		}
		if sym.Name == "" {
			return objErr("section %q: function at offset %d has no name", cs.name, sym.Value)
		}
		if _, dup := er.funcs[sym.Name]; dup {
			return objErr("section %q: function %q is defined twice", cs.name, sym.Name)
		}
		slot := int(sym.Value / insn.SlotSize)
		if cs.slotTo[slot] < 0 {
			return objErr("section %q: function %q starts inside an LD_IMM64", cs.name, sym.Name)
		}
		fn := &elfFunc{
			name: sym.Name, sec: cs, slot: slot, slots: int(sym.Size / insn.SlotSize),
			global: elf.ST_BIND(sym.Info) != elf.STB_LOCAL, weak: elf.ST_BIND(sym.Info) == elf.STB_WEAK,
		}
		fn.entry = cs.name != ".text"
		er.funcs[sym.Name] = fn
		cs.funcs = append(cs.funcs, fn)
	}
	sort.Slice(cs.funcs, func(i, j int) bool { return cs.funcs[i].slot < cs.funcs[j].slot })
	for i, fn := range cs.funcs {
		end := nslots
		if i+1 < len(cs.funcs) {
			end = cs.funcs[i+1].slot
		}
		if fn.slots == 0 || fn.slot+fn.slots > end {
			fn.slots = end - fn.slot
		}
		if fn.slots == 0 {
			return objErr("section %q: function %q is empty", cs.name, fn.name)
		}
		fn.first = cs.slotTo[fn.slot]
		last := fn.slot + fn.slots
		if last < nslots && cs.slotTo[last] < 0 {
			return objErr("section %q: function %q ends inside an LD_IMM64", cs.name, fn.name)
		}
		endInsn := len(cs.insns)
		if last < nslots {
			endInsn = cs.slotTo[last]
		}
		fn.count = endInsn - fn.first
		if fn.entry && !fn.global {
			// libbpf: "program 'x' is static and not supported".
			return objErr("section %q: function %q is static; only global functions can be programs outside .text (make it non-static or move it to .text)", cs.name, fn.name)
		}
	}
	if len(cs.funcs) == 0 {
		return objErr("section %q: %d instructions but no function symbol", cs.name, len(cs.insns))
	}
	if cs.funcs[0].slot != 0 {
		return objErr("section %q: instructions before the first function %q", cs.name, cs.funcs[0].name)
	}
	return nil
}

// funcAt returns the function of a code section that starts at slot.
func (cs *codeSection) funcAt(slot int) *elfFunc {
	for _, fn := range cs.funcs {
		if fn.slot == slot {
			return fn
		}
	}
	return nil
}

func (er *elfReader) readLegacyMaps() error {
	s := er.f.Sections[er.legacy]
	b, err := er.sectionData(s)
	if err != nil {
		return err
	}
	var syms []elf.Symbol
	for _, sym := range er.syms {
		if sym.Section == er.legacy && elf.ST_TYPE(sym.Info) == elf.STT_OBJECT {
			syms = append(syms, sym)
		}
	}
	if len(syms) == 0 {
		return objErr("section \"maps\": no map symbols")
	}
	for _, sym := range syms {
		// struct bpf_map_def: type, key_size, value_size, max_entries,
		// map_flags (u32 each); later fields are ignored.
		if sym.Size < 16 || sym.Value+sym.Size > uint64(len(b)) || sym.Value+sym.Size < sym.Value {
			return objErr("section \"maps\": map %q at offset %d, size %d, is not a bpf_map_def inside the section's %d bytes", sym.Name, sym.Value, sym.Size, len(b))
		}
		d := b[sym.Value : sym.Value+sym.Size]
		var w [5]uint32
		for i := range w {
			if 4*i+4 <= len(d) {
				w[i] = binary.LittleEndian.Uint32(d[4*i:])
			}
		}
		if _, dup := er.cs.Maps[sym.Name]; dup {
			return objErr("section \"maps\": map %q is defined twice", sym.Name)
		}
		er.cs.Maps[sym.Name] = &ObjectMapSpec{
			MapSpec: MapSpec{Name: sym.Name, Type: MapType(w[0]), KeySize: w[1], ValueSize: w[2], MaxEntries: w[3], Flags: MapFlags(w[4])},
			Section: "maps",
		}
	}
	return nil
}

// readVariables lists the global variables of the data sections.
func (er *elfReader) readVariables() error {
	for _, sym := range er.syms {
		m := er.dataSec[sym.Section]
		if m == nil || elf.ST_TYPE(sym.Info) != elf.STT_OBJECT || sym.Name == "" {
			continue
		}
		if sym.Value+sym.Size > uint64(len(m.Data)) || sym.Value+sym.Size < sym.Value {
			return objErr("section %q: variable %q at offset %d, size %d, is outside the section's %d bytes", m.Section, sym.Name, sym.Value, sym.Size, len(m.Data))
		}
		if elf.ST_BIND(sym.Info) == elf.STB_LOCAL && strings.HasPrefix(sym.Name, ".") {
			continue
		}
		if _, dup := er.cs.Variables[sym.Name]; dup {
			continue
		}
		er.cs.Variables[sym.Name] = &VariableSpec{
			Name: sym.Name, Map: m.Name, Offset: uint32(sym.Value), Size: uint32(sym.Size),
			ReadOnly: strings.HasPrefix(m.Section, ".rodata"), m: m,
		}
	}
	return nil
}
