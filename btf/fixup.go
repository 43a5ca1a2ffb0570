package btf

import (
	"debug/elf"
	"fmt"
	"slices"
	"strings"
)

// ELFSymbol is what FixupELF needs to know about an ELF symbol.
type ELFSymbol struct {
	Value  uint64 // st_value: the offset in its section
	Hidden bool   // visibility STV_HIDDEN or STV_INTERNAL
}

// ELFLayout describes an object's ELF sections and symbols to FixupELF. A
// loader that has parsed the ELF itself fills it from its own tables;
// ELFLayoutOf fills it from a *elf.File.
type ELFLayout struct {
	// SectionSize returns the size of the named ELF section.
	SectionSize func(section string) (uint64, bool)
	// Symbol returns the global or static symbol of a variable or
	// function by name.
	Symbol func(name string) (ELFSymbol, bool)
}

// ELFLayoutOf builds an ELFLayout from f's section headers and symbol
// table.
func ELFLayoutOf(f *elf.File) (ELFLayout, error) {
	syms, err := f.Symbols()
	if err != nil && err != elf.ErrNoSymbols {
		return ELFLayout{}, fmt.Errorf("btf: ELF symbols: %w", err)
	}
	byName := make(map[string]ELFSymbol, len(syms))
	for _, s := range syms {
		typ := elf.ST_TYPE(s.Info)
		if typ != elf.STT_OBJECT && typ != elf.STT_FUNC && typ != elf.STT_NOTYPE || s.Name == "" {
			continue
		}
		if s.Section == elf.SHN_UNDEF || s.Section >= elf.SHN_LORESERVE {
			continue
		}
		vis := elf.ST_VISIBILITY(s.Other)
		byName[s.Name] = ELFSymbol{Value: s.Value, Hidden: vis == elf.STV_HIDDEN || vis == elf.STV_INTERNAL}
	}
	return ELFLayout{
		SectionSize: func(name string) (uint64, bool) {
			sec := f.Section(name)
			if sec == nil {
				return 0, false
			}
			return sec.Size, true
		},
		Symbol: func(name string) (ELFSymbol, bool) {
			s, ok := byName[name]
			return s, ok
		},
	}, nil
}

// KsymsSection and KconfigSection are the DATASECs of extern symbols,
// which the loader resolves (libbpf's externs).
const (
	KsymsSection   = ".ksyms"
	KconfigSection = ".kconfig"
)

// FixupELF makes the types of an object's .BTF loadable, as libbpf does
// between opening and loading an object (Linux 5.2+ semantics):
//
//   - a DATASEC of size 0 (clang leaves sizes and offsets to the linker)
//     gets its ELF section's size and its variables' offsets from their
//     symbols; its entries are sorted by offset;
//   - a global variable or function whose symbol is hidden
//     (__attribute__((visibility("hidden"))), libbpf's __hidden) becomes
//     static, which lets the verifier check callers and callee together;
//   - in .ksyms, extern functions are replaced by a dummy int variable
//     and become global, and extern variables get int type and global
//     linkage, each 4 bytes at consecutive offsets, since the kernel
//     accepts neither FUNC entries in a DATASEC nor extern linkage there;
//   - in .kconfig, the extern variables are laid out as libbpf lays out
//     its kconfig map (by alignment, largest first, then by size, then by
//     name, each at its alignment) and become global; the loader reads the
//     offsets back from the DATASEC to fill the map.
//
// Errors name the section and the variable.
func (s *Spec) FixupELF(layout ELFLayout) error {
	if s == nil {
		return errNilSpec("FixupELF")
	}
	var intType Type
	var dummy *Var
	for id, t := range s.All() {
		switch t := t.(type) {
		case *Func:
			if t.Linkage == GlobalFunc && layout.Symbol != nil {
				if sym, ok := layout.Symbol(t.Name); ok && sym.Hidden {
					t.Linkage = StaticFunc
				}
			}
		case *Datasec:
			if t.Name == KconfigSection {
				if err := layoutKconfig(t, id); err != nil {
					return err
				}
				continue
			}
			if t.Name == KsymsSection {
				if intType == nil {
					intType = s.findInt()
				}
				off := uint32(0)
				for i := range t.Vars {
					v := &t.Vars[i]
					switch vt := v.Type.(type) {
					case *Func:
						if dummy == nil {
							dummy = &Var{Name: "dummy_ksym", Type: intType, Linkage: GlobalVar}
						}
						if p, ok := vt.Type.(*FuncProto); ok {
							for j := range p.Params {
								if p.Params[j].Name == "" {
									p.Params[j].Name = dummy.Name
								}
							}
						}
						vt.Linkage = GlobalFunc
						v.Type = dummy
					case *Var:
						vt.Linkage = GlobalVar
						vt.Type = intType
					default:
						return fmt.Errorf("btf: DATASEC %s [%d] entry %d is %s, not a VAR or FUNC", t.Name, id, i, describe(v.Type))
					}
					v.Offset, v.Size = off, 4
					off += 4
				}
				t.Size = off
				continue
			}
			if err := fixupDatasec(t, id, layout); err != nil {
				return err
			}
		}
	}
	return nil
}

// findInt returns the spec's 4-byte signed "int", or a new one.
func (s *Spec) findInt() Type {
	if ts, err := s.TypesByName("int"); err == nil {
		for _, t := range ts {
			if i, ok := t.(*Int); ok && i.Size == 4 && i.Encoding == Signed {
				return i
			}
		}
	}
	return &Int{Name: "int", Size: 4, Encoding: Signed, Bits: 32}
}

// layoutKconfig places the .kconfig externs as libbpf's
// bpf_object__collect_externs does.
func layoutKconfig(t *Datasec, id TypeID) error {
	type ext struct {
		v           *VarSecinfo
		name        string
		size, align int
	}
	exts := make([]ext, len(t.Vars))
	for i := range t.Vars {
		v, ok := t.Vars[i].Type.(*Var)
		if !ok {
			return fmt.Errorf("btf: DATASEC %s [%d] entry %d is %s, not a VAR", t.Name, id, i, describe(t.Vars[i].Type))
		}
		size, err := Sizeof(v.Type)
		if err != nil {
			return fmt.Errorf("btf: DATASEC %s [%d]: extern %q: %w", t.Name, id, v.Name, err)
		}
		align, err := Alignof(v.Type)
		if err != nil {
			return fmt.Errorf("btf: DATASEC %s [%d]: extern %q: %w", t.Name, id, v.Name, err)
		}
		exts[i] = ext{v: &t.Vars[i], name: v.Name, size: size, align: align}
		v.Linkage = GlobalVar
	}
	order := slices.Clone(exts)
	slices.SortStableFunc(order, func(a, b ext) int {
		switch {
		case a.align != b.align:
			return b.align - a.align
		case a.size != b.size:
			return a.size - b.size
		}
		return strings.Compare(a.name, b.name)
	})
	off := 0
	for _, e := range order {
		off = (off + e.align - 1) / e.align * e.align
		e.v.Offset, e.v.Size = uint32(off), uint32(e.size)
		off += e.size
	}
	t.Size = uint32(off)
	slices.SortStableFunc(t.Vars, func(a, b VarSecinfo) int { return int(int64(a.Offset) - int64(b.Offset)) })
	return nil
}

func fixupDatasec(t *Datasec, id TypeID, layout ELFLayout) error {
	fixOffsets := false
	if t.Size == 0 {
		if layout.SectionSize == nil {
			return fmt.Errorf("btf: DATASEC %s [%d]: no ELF section sizes given", t.Name, id)
		}
		size, ok := layout.SectionSize(t.Name)
		if !ok {
			return fmt.Errorf("btf: DATASEC %s [%d]: no ELF section of that name: %w", t.Name, id, ErrNotFound)
		}
		if size > 1<<32-1 {
			return fmt.Errorf("btf: DATASEC %s [%d]: section size %d too large", t.Name, id, size)
		}
		t.Size = uint32(size)
		fixOffsets = true
	}
	for i := range t.Vars {
		v, ok := t.Vars[i].Type.(*Var)
		if !ok {
			return fmt.Errorf("btf: DATASEC %s [%d] entry %d is %s, not a VAR", t.Name, id, i, describe(t.Vars[i].Type))
		}
		if v.Linkage == StaticVar || v.Linkage == ExternVar {
			continue
		}
		if layout.Symbol == nil {
			return fmt.Errorf("btf: DATASEC %s [%d]: no ELF symbols given", t.Name, id)
		}
		sym, ok := layout.Symbol(v.Name)
		if !ok {
			return fmt.Errorf("btf: DATASEC %s [%d]: no ELF symbol for variable %q: %w", t.Name, id, v.Name, ErrNotFound)
		}
		if fixOffsets {
			if sym.Value > 1<<32-1 {
				return fmt.Errorf("btf: DATASEC %s [%d]: variable %q at offset %d out of range", t.Name, id, v.Name, sym.Value)
			}
			t.Vars[i].Offset = uint32(sym.Value)
		}
		if sym.Hidden {
			v.Linkage = StaticVar
		}
	}
	slices.SortStableFunc(t.Vars, func(a, b VarSecinfo) int { return int(int64(a.Offset) - int64(b.Offset)) })
	return nil
}
