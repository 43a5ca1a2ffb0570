package prog

import (
	"debug/elf"
	"sort"
	"strings"

	"github.com/purebpf/purebpf/insn"
)

// linkPrograms builds a ProgramSpec for every entry function: its own
// instructions followed by every subprogram it reaches, appended in the
// order libbpf appends them (depth first, at the first call), with map,
// data, call, function pointer and extern references resolved.
func (er *elfReader) linkPrograms() error {
	var secs []*codeSection
	for _, cs := range er.code {
		secs = append(secs, cs)
	}
	sort.Slice(secs, func(i, j int) bool { return secs[i].index < secs[j].index })
	for _, cs := range secs {
		for _, fn := range cs.funcs {
			if !fn.entry {
				continue
			}
			secName, optional := strings.CutPrefix(cs.name, "?")
			st, known := ParseSectionName(secName)
			ps := &ProgramSpec{
				Spec:          Spec{Name: fn.name, Type: st.Type, License: er.cs.License},
				SectionName:   cs.name,
				AttachType:    st.AttachType,
				AttachTo:      st.AttachTo,
				Flags:         st.Flags,
				KernelVersion: er.cs.Version,
				Autoload:      !optional,
			}
			if !known {
				ps.Type = UnspecifiedProgram
			}
			l := &linker{er: er, ps: ps, placed: map[*elfFunc]int{}, insns: make(insn.Instructions, 0, fn.count+er.textInsns)}
			if err := l.add(fn); err != nil {
				return err
			}
			ps.Instructions = l.insns
			// Spec.Maps lists the maps the program refers to, so that the
			// Spec alone validates and runs (NewProgram, interp, jit).
			for _, name := range ps.Instructions.MapReferences() {
				ps.Maps = append(ps.Maps, &er.cs.Maps[name].MapSpec)
			}
			if err := er.attachBTFExt(ps); err != nil {
				return err
			}
			er.cs.Programs[fn.name] = ps
		}
	}
	return nil
}

type linker struct {
	er     *elfReader
	ps     *ProgramSpec
	insns  insn.Instructions
	placed map[*elfFunc]int // function -> first instruction in insns
}

// add appends fn and, depth first, the functions it refers to.
func (l *linker) add(fn *elfFunc) error {
	start := len(l.insns)
	l.placed[fn] = start
	l.ps.funcs = append(l.ps.funcs, funcRange{name: fn.name, section: fn.sec.name, start: start, secInsn: fn.first, secSlot: fn.slot, count: fn.count})
	l.insns = append(l.insns, fn.sec.insns[fn.first:fn.first+fn.count]...)
	l.insns[start].Label = fn.name
	offs := fn.sec.slotOffs
	for k := 0; k < fn.count; k++ {
		secIdx := fn.first + k
		slot := offs[secIdx]
		target, err := l.relocate(fn, start+k, slot)
		if err != nil {
			return err
		}
		if target != nil {
			if _, done := l.placed[target]; !done {
				if err := l.add(target); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// relocate resolves instruction at (the section's) slot, placed at index
// at of the program. It returns the function a call or function pointer
// refers to.
func (l *linker) relocate(fn *elfFunc, at, slot int) (*elfFunc, error) {
	er := l.er
	cs := fn.sec
	i := &l.insns[at]
	sym, hasReloc := cs.relocs[slot]
	origImm := er.imms[cs.index][slot]
	fail := func(format string, args ...any) error {
		return objErr("section %q, function %q, instruction %d (%v): "+format,
			append([]any{cs.name, fn.name, at, *i}, args...)...)
	}
	if !hasReloc {
		if i.IsLocalCall() {
			t := cs.funcAt(slot + 1 + int(int32(i.Imm)))
			if t == nil {
				return nil, fail("call to slot %d of the section, where no function starts", slot+1+int(int32(i.Imm)))
			}
			i.Ref = t.name
			l.ps.Relocations = append(l.ps.Relocations, Relocation{Instruction: at, Kind: "call", Target: t.name})
			return t, nil
		}
		return nil, nil
	}
	symDesc := sym.Name
	if symDesc == "" {
		symDesc = "section symbol " + sectionName(er.f, sym.Section)
	}
	switch {
	case i.OpCode == insn.OpCall && sym.Section == elf.SHN_UNDEF:
		return nil, l.externCall(i, at, sym, fail)
	case i.IsLocalCall():
		tcs := er.code[sym.Section]
		if tcs == nil {
			return nil, fail("call relocation to %s, which is not in an executable section", symDesc)
		}
		tslot := int(sym.Value/insn.SlotSize) + int(origImm) + 1
		t := tcs.funcAt(tslot)
		if t == nil {
			return nil, fail("call relocation to %s + slot %d, where no function starts", symDesc, tslot)
		}
		i.Imm = -1
		i.Ref = t.name
		l.ps.Relocations = append(l.ps.Relocations, Relocation{Instruction: at, Kind: "call", Target: t.name})
		return t, nil
	case i.IsLoadImm64():
		switch {
		case sym.Section == elf.SHN_UNDEF:
			return nil, l.externLoad(i, at, sym, fail)
		case sym.Section == er.mapsIdx && er.mapsIdx != 0, sym.Section == er.legacy && er.legacy != 0:
			name := sym.Name
			if elf.ST_TYPE(sym.Info) == elf.STT_SECTION {
				name = er.mapAtOffset(sym.Section, uint64(origImm))
			}
			if er.cs.Maps[name] == nil {
				return nil, fail("relocation to map %s, which is not defined", symDesc)
			}
			*i = insn.LoadMapPtr(i.Dst, name).WithLabel(i.Label)
			l.ps.Relocations = append(l.ps.Relocations, Relocation{Instruction: at, Kind: "map", Target: name})
			return nil, nil
		case er.dataSec[sym.Section] != nil:
			m := er.dataSec[sym.Section]
			off := uint64(origImm) + sym.Value
			if elf.ST_TYPE(sym.Info) == elf.STT_SECTION || elf.ST_TYPE(sym.Info) == elf.STT_NOTYPE {
				off = uint64(uint32(origImm)) + sym.Value
			}
			if off >= uint64(len(m.Data)) && !(off == uint64(len(m.Data)) && len(m.Data) == 0) {
				return nil, fail("relocation to %s + %d, past the end of section %q (%d bytes)", symDesc, off-sym.Value, m.Section, len(m.Data))
			}
			*i = insn.LoadMapValue(i.Dst, m.Name, uint32(off)).WithLabel(i.Label)
			l.ps.Relocations = append(l.ps.Relocations, Relocation{Instruction: at, Kind: "map value", Target: m.Name, Offset: uint32(off)})
			return nil, nil
		case er.code[sym.Section] != nil:
			tcs := er.code[sym.Section]
			off := sym.Value + uint64(uint32(origImm))
			if off%insn.SlotSize != 0 {
				return nil, fail("function pointer to %s + %d is not at an instruction", symDesc, origImm)
			}
			t := tcs.funcAt(int(off / insn.SlotSize))
			if t == nil {
				return nil, fail("function pointer to %s + %d, where no function starts", symDesc, origImm)
			}
			*i = insn.LoadPseudo(i.Dst, insn.PseudoFunc, 0).WithLabel(i.Label)
			i.Ref = t.name
			l.ps.Relocations = append(l.ps.Relocations, Relocation{Instruction: at, Kind: "func pointer", Target: t.name})
			return t, nil
		default:
			return nil, fail("relocation to %s in section %q, which is neither a map, global data nor code", symDesc, sectionName(er.f, sym.Section))
		}
	}
	return nil, fail("relocation to %s on an instruction that is neither LD_IMM64 nor a call", symDesc)
}

// mapAtOffset names the map symbol at off in a maps section.
func (er *elfReader) mapAtOffset(sec elf.SectionIndex, off uint64) string {
	for _, s := range er.syms {
		if s.Section == sec && elf.ST_TYPE(s.Info) == elf.STT_OBJECT && s.Value == off {
			return s.Name
		}
	}
	return ""
}

func sectionName(f *elf.File, i elf.SectionIndex) string {
	switch {
	case i == elf.SHN_UNDEF:
		return "(undefined)"
	case i == elf.SHN_ABS:
		return "(absolute)"
	case i == elf.SHN_COMMON:
		return "(common)"
	case int(i) < len(f.Sections):
		return f.Sections[i].Name
	}
	return "(bad section index)"
}
