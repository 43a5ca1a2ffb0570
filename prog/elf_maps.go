package prog

import (
	"debug/elf"
	"fmt"
	"math"
	"sort"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/insn"
)

// readBTFMaps reads the BTF-defined maps of SEC(".maps"): each variable
// of the .maps DATASEC is a struct whose members encode the map's
// attributes, as libbpf's bpf_helpers.h macros write them (__uint(name,
// n) is a pointer to an array of n elements, __type(name, T) a pointer to
// T, __array(values, T) an array of pointers to T).
func (er *elfReader) readBTFMaps() error {
	if er.btf == nil {
		return objErr("section \".maps\" needs the object's BTF, but it has no .BTF section (compile with clang -g)")
	}
	t, err := er.btf.spec.TypeByName(".maps", btf.KindDatasec)
	if err != nil {
		return objErr("section \".maps\": no DATASEC \".maps\" in the object's BTF: %v", err)
	}
	ds := t.(*btf.Datasec)
	for _, vs := range ds.Vars {
		v, ok := vs.Type.(*btf.Var)
		if !ok {
			return objErr("DATASEC \".maps\": entry of kind %v, want a VAR", vs.Type.Kind())
		}
		sym, ok := er.symbolIn(er.mapsIdx, v.Name)
		if !ok {
			return objErr("section \".maps\": map %q has BTF but no symbol", v.Name)
		}
		m, valuesOff, err := er.btfMapDef(v.Name, v.Type)
		if err != nil {
			return objErr("section \".maps\": %w", err)
		}
		m.Section = ".maps"
		if _, dup := er.cs.Maps[v.Name]; dup {
			return objErr("section \".maps\": map %q is defined twice", v.Name)
		}
		er.cs.Maps[v.Name] = m
		// values initialisers: relocations into the values array.
		for _, r := range er.mapRelocs {
			if r.off < sym.Value || r.off >= sym.Value+sym.Size {
				continue
			}
			if valuesOff < 0 || r.off < sym.Value+uint64(valuesOff) {
				return objErr("section \".maps\": map %q: relocation at offset %d is not in its values array", v.Name, r.off-sym.Value)
			}
			idx := (r.off - sym.Value - uint64(valuesOff)) / 8
			if idx >= uint64(m.MaxEntries) {
				return objErr("section \".maps\": map %q: initial value %d is past max_entries %d", v.Name, idx, m.MaxEntries)
			}
			switch m.Type {
			case ProgArray:
				if er.code[r.sym.Section] == nil || elf.ST_TYPE(r.sym.Info) != elf.STT_FUNC {
					return objErr("section \".maps\": prog array %q: value %d refers to %q, which is not a program", v.Name, idx, r.sym.Name)
				}
			case ArrayOfMaps, HashOfMaps:
				if r.sym.Section != er.mapsIdx {
					return objErr("section \".maps\": map-in-map %q: value %d refers to %q, which is not a map of .maps", v.Name, idx, r.sym.Name)
				}
			default:
				return objErr("section \".maps\": map %q of type %s cannot have initial values", v.Name, m.Type)
			}
			m.Contents = append(m.Contents, MapEntry{Key: uint32(idx), Value: r.sym.Name})
		}
		sort.Slice(m.Contents, func(i, j int) bool { return m.Contents[i].Key < m.Contents[j].Key })
	}
	for _, c := range er.cs.Maps {
		for _, e := range c.Contents {
			if name, ok := e.Value.(string); ok && (c.Type == ArrayOfMaps || c.Type == HashOfMaps) && er.cs.Maps[name] == nil {
				return objErr("section \".maps\": map-in-map %q: value %d refers to map %q, which is not defined", c.Name, e.Key, name)
			}
		}
	}
	return nil
}

func (er *elfReader) symbolIn(sec elf.SectionIndex, name string) (elf.Symbol, bool) {
	for _, s := range er.syms {
		if s.Section == sec && s.Name == name {
			return s, true
		}
	}
	return elf.Symbol{}, false
}

// btfMapDef decodes one map definition struct. valuesOff is the byte
// offset of the values member, -1 without one.
func (er *elfReader) btfMapDef(name string, t btf.Type) (*ObjectMapSpec, int, error) {
	ut, err := btf.UnderlyingType(t)
	if err != nil {
		return nil, -1, fmt.Errorf("map %q: %w", name, err)
	}
	st, ok := ut.(*btf.Struct)
	if !ok {
		return nil, -1, fmt.Errorf("map %q: BTF type is a %v, want a struct", name, ut.Kind())
	}
	m := &ObjectMapSpec{MapSpec: MapSpec{Name: name}}
	valuesOff := -1
	var keySize, valueSize uint32
	for _, mem := range st.Members {
		switch mem.Name {
		case "type", "max_entries", "map_flags", "numa_node", "pinning", "key_size", "value_size", "map_extra":
			n64, err := btfMapUint(mem.Type)
			if err != nil {
				return nil, -1, fmt.Errorf("map %q: member %q: %w", name, mem.Name, err)
			}
			if n64 > math.MaxUint32 && mem.Name != "map_extra" {
				return nil, -1, fmt.Errorf("map %q: member %q: %d does not fit 32 bits", name, mem.Name, n64)
			}
			n := uint32(n64)
			switch mem.Name {
			case "type":
				m.Type = MapType(n)
			case "max_entries":
				m.MaxEntries = n
			case "map_flags":
				m.Flags = MapFlags(n)
			case "numa_node":
				m.NumaNode = n
			case "pinning":
				if n > uint32(PinByName) {
					return nil, -1, fmt.Errorf("map %q: pinning %d is not supported (0 none, 1 by name)", name, n)
				}
				m.Pinning = PinType(n)
			case "key_size":
				keySize = n
			case "value_size":
				valueSize = n
			case "map_extra":
				m.MapExtra = n64
			}
		case "key", "value":
			p, ok := btf.SkipQualifiers(mem.Type).(*btf.Pointer)
			if !ok {
				return nil, -1, fmt.Errorf("map %q: member %q is a %v, want a pointer (__type)", name, mem.Name, mem.Type.Kind())
			}
			size, err := btf.Sizeof(p.Target)
			if err != nil {
				return nil, -1, fmt.Errorf("map %q: %s type: %w", name, mem.Name, err)
			}
			if size <= 0 || size > math.MaxUint32 {
				return nil, -1, fmt.Errorf("map %q: %s type has size %d", name, mem.Name, size)
			}
			id := er.btf.typeID(p.Target)
			if mem.Name == "key" {
				m.KeySize, m.KeyTypeID = uint32(size), id
			} else {
				m.ValueSize, m.ValueTypeID = uint32(size), id
			}
		case "values":
			arr, ok := btf.SkipQualifiers(mem.Type).(*btf.Array)
			if !ok {
				return nil, -1, fmt.Errorf("map %q: member \"values\" is a %v, want an array (__array)", name, mem.Type.Kind())
			}
			p, ok := btf.SkipQualifiers(arr.Type).(*btf.Pointer)
			if !ok {
				return nil, -1, fmt.Errorf("map %q: values are %v, want pointers", name, arr.Type.Kind())
			}
			valuesOff = int(mem.Offset / 8)
			target, err := btf.UnderlyingType(p.Target)
			if err != nil {
				return nil, -1, fmt.Errorf("map %q: values: %w", name, err)
			}
			if _, ok := target.(*btf.Struct); ok {
				inner, _, err := er.btfMapDef(name+".inner", target)
				if err != nil {
					return nil, -1, err
				}
				m.InnerMap = inner
			}
		default:
			return nil, -1, fmt.Errorf("map %q: unknown member %q", name, mem.Name)
		}
	}
	if keySize != 0 {
		if m.KeySize != 0 && m.KeySize != keySize {
			return nil, -1, fmt.Errorf("map %q: key_size %d disagrees with the key type's size %d", name, keySize, m.KeySize)
		}
		m.KeySize = keySize
	}
	if valueSize != 0 {
		if m.ValueSize != 0 && m.ValueSize != valueSize {
			return nil, -1, fmt.Errorf("map %q: value_size %d disagrees with the value type's size %d", name, valueSize, m.ValueSize)
		}
		m.ValueSize = valueSize
	}
	switch m.Type {
	case ArrayOfMaps, HashOfMaps:
		if m.InnerMap == nil {
			return nil, -1, fmt.Errorf("map %q: a %s needs an inner map definition (__array(values, ...))", name, m.Type)
		}
		if m.KeySize == 0 {
			m.KeySize = 4
		}
		m.ValueSize = 4
	case ProgArray:
		if m.KeySize == 0 {
			m.KeySize = 4
		}
		m.ValueSize = 4
	case PerfEventArray:
		if m.KeySize == 0 {
			m.KeySize = 4
		}
		if m.ValueSize == 0 {
			m.ValueSize = 4
		}
	}
	if valuesOff >= 0 && m.Type != ProgArray && m.Type != ArrayOfMaps && m.Type != HashOfMaps {
		return nil, -1, fmt.Errorf("map %q: only prog arrays and maps of maps take values, not a %s", name, m.Type)
	}
	return m, valuesOff, nil
}

// btfMapUint decodes __uint(name, n): a pointer to an array of n elements,
// or __ulong(name, n) (libbpf 1.3+): an anonymous enum whose one value is n.
func btfMapUint(t btf.Type) (uint64, error) {
	if e, ok := btf.SkipQualifiers(t).(*btf.Enum); ok {
		if len(e.Values) != 1 {
			return 0, fmt.Errorf("BTF enum has %d values, want 1 (__ulong)", len(e.Values))
		}
		return e.Values[0].Value, nil
	}
	p, ok := btf.SkipQualifiers(t).(*btf.Pointer)
	if !ok {
		return 0, fmt.Errorf("BTF type is a %v, want a pointer to an array (__uint)", t.Kind())
	}
	a, ok := btf.SkipQualifiers(p.Target).(*btf.Array)
	if !ok {
		return 0, fmt.Errorf("BTF type points to a %v, want an array (__uint)", p.Target.Kind())
	}
	return uint64(a.Nelems), nil
}

// readExterns finds the object's kconfig and ksym externs: undefined
// symbols whose BTF VAR or FUNC sits in the .kconfig or .ksyms DATASEC.
func (er *elfReader) readExterns() error {
	var undef []elf.Symbol
	for _, s := range er.syms {
		if s.Section == elf.SHN_UNDEF && s.Name != "" && elf.ST_TYPE(s.Info) != elf.STT_SECTION && elf.ST_TYPE(s.Info) != elf.STT_FILE {
			undef = append(undef, s)
		}
	}
	if len(undef) == 0 {
		return nil
	}
	if er.btf == nil {
		return objErr("extern %q needs the object's BTF, but it has no .BTF section", undef[0].Name)
	}
	secOf := map[string]string{}
	typeOf := map[string]btf.Type{}
	for _, sec := range []string{".kconfig", ".ksyms"} {
		t, err := er.btf.spec.TypeByName(sec, btf.KindDatasec)
		if err != nil {
			continue
		}
		for _, vs := range t.(*btf.Datasec).Vars {
			name := vs.Type.TypeName()
			secOf[name] = sec
			typeOf[name] = vs.Type
		}
	}
	var kconfig []*Extern
	for _, s := range undef {
		sec, ok := secOf[s.Name]
		if !ok {
			return objErr("extern %q is neither __kconfig nor __ksym (no .kconfig or .ksyms DATASEC entry in BTF)", s.Name)
		}
		e := &Extern{Name: s.Name, Weak: elf.ST_BIND(s.Info) == elf.STB_WEAK, typeID: er.btf.typeID(typeOf[s.Name])}
		switch sec {
		case ".kconfig":
			e.Kind = "kconfig"
			v, ok := typeOf[s.Name].(*btf.Var)
			if !ok {
				return objErr("kconfig extern %q is not a variable", s.Name)
			}
			size, err := btf.Sizeof(v.Type)
			if err != nil {
				return objErr("kconfig extern %q: %v", s.Name, err)
			}
			if size <= 0 || size > 1<<16 {
				return objErr("kconfig extern %q: size %d", s.Name, size)
			}
			e.Size = uint32(size)
			e.valueType = v.Type
			kconfig = append(kconfig, e)
		case ".ksyms":
			e.Kind = "ksym"
			_, e.Func = typeOf[s.Name].(*btf.Func)
			if v, ok := typeOf[s.Name].(*btf.Var); ok {
				if ut, err := btf.UnderlyingType(v.Type); err == nil {
					_, e.typeless = ut.(*btf.Void)
				}
			}
		}
		er.externs[s.Name] = e
		er.cs.Externs = append(er.cs.Externs, e)
	}
	er.kconfigExterns = kconfig
	return nil
}

// layoutKconfig places the kconfig externs where btf.Spec.FixupELF put
// them in the .kconfig DATASEC (libbpf's layout: by alignment, largest
// first, then size, then name) and adds the .kconfig map they live in.
func (er *elfReader) layoutKconfig() error {
	if len(er.kconfigExterns) == 0 {
		return nil
	}
	t, err := er.btf.spec.TypeByName(btf.KconfigSection, btf.KindDatasec)
	if err != nil {
		return objErr("kconfig externs but no .kconfig DATASEC: %v", err)
	}
	ds := t.(*btf.Datasec)
	off := map[string]uint32{}
	for _, vs := range ds.Vars {
		off[vs.Type.TypeName()] = vs.Offset
	}
	for _, e := range er.kconfigExterns {
		o, ok := off[e.Name]
		if !ok || uint64(o)+uint64(e.Size) > uint64(ds.Size) {
			return objErr("kconfig extern %q is not laid out in the .kconfig DATASEC", e.Name)
		}
		e.Offset = o
	}
	m := &ObjectMapSpec{
		MapSpec: MapSpec{Name: ".kconfig", Type: Array, KeySize: 4, ValueSize: ds.Size, MaxEntries: 1, Flags: MapMmapable | MapRdonlyProg},
		Section: ".kconfig", Freeze: true, Data: make([]byte, ds.Size),
	}
	m.ValueTypeID = er.btf.typeID(ds)
	er.cs.Maps[".kconfig"] = m
	return nil
}

// externLoad relocates an LD_IMM64 of an extern: a kconfig value becomes
// a load from the .kconfig map; a ksym is resolved against the kernel's
// BTF at load time (PseudoBTFID, or 0 for a missing __weak one).
func (l *linker) externLoad(i *insn.Instruction, at int, sym elf.Symbol, fail func(string, ...any) error) error {
	e := l.er.externs[sym.Name]
	if e == nil {
		return fail("relocation to undefined symbol %q", sym.Name)
	}
	switch e.Kind {
	case "kconfig":
		*i = insn.LoadMapValue(i.Dst, ".kconfig", e.Offset).WithLabel(i.Label)
		l.ps.Relocations = append(l.ps.Relocations, Relocation{Instruction: at, Kind: "kconfig", Target: e.Name, Offset: e.Offset})
	default:
		*i = insn.LoadPseudo(i.Dst, insn.PseudoBTFID, 0).WithLabel(i.Label)
		i.Ref = e.Name
		l.ps.Relocations = append(l.ps.Relocations, Relocation{Instruction: at, Kind: "ksym", Target: e.Name})
	}
	return nil
}

// externCall relocates a call to a kfunc, resolved at load time.
func (l *linker) externCall(i *insn.Instruction, at int, sym elf.Symbol, fail func(string, ...any) error) error {
	e := l.er.externs[sym.Name]
	if e == nil || e.Kind != "ksym" || !e.Func {
		return fail("call to undefined function %q, which is not a __ksym kfunc", sym.Name)
	}
	*i = insn.CallBTF(0).WithLabel(i.Label)
	i.Ref = e.Name
	l.ps.Relocations = append(l.ps.Relocations, Relocation{Instruction: at, Kind: "kfunc", Target: e.Name})
	return nil
}
