package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

func init() {
	commands["objdump"] = command{usage: "objdump [-d] FILE.o   describe an object: sections, programs, maps, variables, relocations, BTF (-d: disassemble with C source lines)", run: runObjdump}
}

// runObjdump implements "objdump [-d] FILE.o".
func runObjdump(args []string, stdout io.Writer) error {
	disasm := false
	var path string
	for _, a := range args {
		switch {
		case a == "-d":
			disasm = true
		case strings.HasPrefix(a, "-"):
			return fmt.Errorf("unknown flag %q; usage: purebpf objdump [-d] FILE.o", a)
		case path != "":
			return errors.New("usage: purebpf objdump [-d] FILE.o")
		default:
			path = a
		}
	}
	if path == "" {
		return errors.New("usage: purebpf objdump [-d] FILE.o")
	}
	cs, err := prog.LoadCollectionSpec(path)
	if err != nil {
		return err
	}
	return writeObjdump(stdout, path, cs, disasm)
}

func writeObjdump(w io.Writer, path string, cs *prog.CollectionSpec, disasm bool) error {
	fmt.Fprintf(w, "%s: license %q", path, cs.License)
	if cs.Version != 0 {
		fmt.Fprintf(w, ", version %#x", cs.Version)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "\nSections:")
	fmt.Fprintf(w, "  %3s  %-28s %-12s %8s %7s\n", "idx", "name", "kind", "size", "relocs")
	for _, s := range cs.Sections {
		fmt.Fprintf(w, "  %3d  %-28s %-12s %8d %7d\n", s.Index, s.Name, s.Kind, s.Size, s.Relocations)
	}

	fmt.Fprintln(w, "\nPrograms:")
	for _, name := range cs.ProgramNames() {
		p := cs.Programs[name]
		typ := p.Type.String()
		if p.Type == prog.UnspecifiedProgram {
			typ = "unknown (section name not recognised)"
		}
		fmt.Fprintf(w, "  %-24s %-18s section %-32q insns %d", name, typ, p.SectionName, p.Instructions.Slots())
		if p.AttachTo != "" {
			fmt.Fprintf(w, "  attach %s", p.AttachTo)
		}
		if p.AttachType != 0 {
			fmt.Fprintf(w, "  attach_type %d", p.AttachType)
		}
		if p.Flags != 0 {
			fmt.Fprintf(w, "  flags %#x", p.Flags)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w, "\nMaps:")
	for _, name := range cs.MapNames() {
		m := cs.Maps[name]
		fmt.Fprintf(w, "  %-20s %-16s key %-4d value %-6d max_entries %-7d flags %#-6x section %s",
			name, m.Type, m.KeySize, m.ValueSize, m.MaxEntries, m.Flags, m.Section)
		if m.Pinning == prog.PinByName {
			fmt.Fprint(w, "  pinned by name")
		}
		if m.KeyTypeID != 0 || m.ValueTypeID != 0 {
			fmt.Fprintf(w, "  btf key %d value %d", m.KeyTypeID, m.ValueTypeID)
		}
		if m.InnerMap != nil {
			fmt.Fprintf(w, "  inner %s key %d value %d max_entries %d", m.InnerMap.Type, m.InnerMap.KeySize, m.InnerMap.ValueSize, m.InnerMap.MaxEntries)
		}
		if m.Freeze {
			fmt.Fprint(w, "  frozen")
		}
		fmt.Fprintln(w)
		for _, e := range m.Contents {
			fmt.Fprintf(w, "      [%d] = %v\n", e.Key, e.Value)
		}
		if so := m.StructOps; so != nil {
			members := make([]string, 0, len(so.Programs))
			for member := range so.Programs {
				members = append(members, member)
			}
			sort.Strings(members)
			fmt.Fprintf(w, "      struct %s\n", so.TypeName)
			for _, member := range members {
				fmt.Fprintf(w, "      .%s = %s\n", member, so.Programs[member])
			}
		}
	}

	if len(cs.Variables) > 0 {
		fmt.Fprintln(w, "\nVariables:")
		for _, name := range cs.VariableNames() {
			v := cs.Variables[name]
			ro := ""
			if v.ReadOnly {
				ro = " read-only"
			}
			fmt.Fprintf(w, "  %-24s %-16s offset %-5d size %-4d%s  = %s\n", name, v.Map, v.Offset, v.Size, ro, hexBytes(v.Value(), 32))
		}
	}

	if len(cs.Externs) > 0 {
		fmt.Fprintln(w, "\nExterns:")
		ext := append([]*prog.Extern(nil), cs.Externs...)
		sort.Slice(ext, func(i, j int) bool { return ext[i].Name < ext[j].Name })
		for _, e := range ext {
			what := e.Kind
			if e.Func {
				what = "kfunc"
			}
			fmt.Fprintf(w, "  %-32s %-8s", e.Name, what)
			if e.Kind == "kconfig" {
				fmt.Fprintf(w, " offset %d size %d", e.Offset, e.Size)
			}
			if e.Weak {
				fmt.Fprint(w, " weak")
			}
			fmt.Fprintln(w)
		}
	}

	fmt.Fprintln(w, "\nRelocations:")
	for _, name := range cs.ProgramNames() {
		p := cs.Programs[name]
		if len(p.Relocations) == 0 {
			continue
		}
		fmt.Fprintf(w, "  %s:\n", name)
		offs := p.Instructions.SlotOffsets()
		relocs := append([]prog.Relocation(nil), p.Relocations...)
		sort.SliceStable(relocs, func(i, j int) bool { return relocs[i].Instruction < relocs[j].Instruction })
		for _, r := range relocs {
			fmt.Fprintf(w, "    insn %-5d %-13s %s", offs[r.Instruction], r.Kind, r.Target)
			if r.Kind == "map value" || r.Kind == "kconfig" {
				fmt.Fprintf(w, " + %d", r.Offset)
			}
			fmt.Fprintln(w)
		}
	}

	fmt.Fprintln(w, "\nBTF:")
	if s := cs.BTFSummary(); s == "" {
		fmt.Fprintln(w, "  none")
	} else {
		fmt.Fprintf(w, "  %s\n", s)
	}

	if disasm {
		for _, name := range cs.ProgramNames() {
			p := cs.Programs[name]
			fmt.Fprintf(w, "\nDisassembly of %s (section %s):\n", name, p.SectionName)
			writeDisasm(w, p)
		}
	}
	return nil
}

// writeDisasm prints a program with its labels and, from line_info, the C
// source line above the instructions it compiled to.
func writeDisasm(w io.Writer, p *prog.ProgramSpec) {
	lines := map[int]prog.LineInfo{}
	for _, l := range p.LineInfos() {
		lines[l.Instruction] = l
	}
	offs := p.Instructions.SlotOffsets()
	for k, i := range p.Instructions {
		if i.Label != "" {
			fmt.Fprintf(w, "%s:\n", i.Label)
		}
		if l, ok := lines[k]; ok {
			fmt.Fprintf(w, "; %s\t[%s:%d:%d]\n", strings.TrimSpace(l.Line), l.File, l.LineNum, l.Column)
		}
		s := i
		s.Label = ""
		fmt.Fprintf(w, "%6d: %s\n", offs[k], insnString(s))
	}
}

func insnString(i insn.Instruction) string { return i.String() }

// hexBytes prints b as bpftool does, two hex digits a byte, spaced,
// and " ..." after limit bytes (never, for a negative limit).
func hexBytes(b []byte, limit int) string {
	var sb strings.Builder
	for k, c := range b {
		if k == limit {
			sb.WriteString(" ...")
			break
		}
		if k > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}
