package prog

import (
	"debug/elf"

	"github.com/purebpf/purebpf/btf"
)

// mapFlagLink is BPF_F_LINK: a struct_ops map registered through a BPF
// link rather than by its update (.struct_ops.link, Linux 6.4).
const mapFlagLink = 1 << 13

// StructOpsSpec describes a struct_ops map: a kernel structure of
// function pointers (such as tcp_congestion_ops) whose members the
// object's programs implement.
type StructOpsSpec struct {
	// TypeName is the kernel structure, e.g. "tcp_congestion_ops".
	TypeName string
	// Programs maps member names to the programs that implement them.
	Programs map[string]string
	// Data is the variable as the object initialises it, in the object's
	// layout of the structure; NewCollection copies its non-function
	// members into the kernel's layout by name.
	Data []byte

	local *btf.Struct // the structure in the object's BTF
}

// structOpsUse is how a struct_ops map uses a program: as member Member
// of the kernel structure TypeName.
type structOpsUse struct {
	typeName, member string
}

// readStructOps reads the variables of .struct_ops and .struct_ops.link
// into struct_ops maps, as libbpf does: each variable is a kernel
// structure (its BTF type gives the name), and each relocation in it
// points a function-pointer member at a program.
func (er *elfReader) readStructOps() error {
	for _, idx := range er.structOps {
		sec := er.f.Sections[idx]
		if er.btf == nil {
			return objErr("section %q needs the object's BTF", sec.Name)
		}
		data, err := er.sectionData(sec)
		if err != nil {
			return err
		}
		t, err := er.btf.spec.TypeByName(sec.Name, btf.KindDatasec)
		if err != nil {
			return objErr("section %q: no DATASEC of that name in the object's BTF: %v", sec.Name, err)
		}
		for _, vs := range t.(*btf.Datasec).Vars {
			v, ok := vs.Type.(*btf.Var)
			if !ok {
				return objErr("DATASEC %q: entry of kind %v, want a VAR", sec.Name, vs.Type.Kind())
			}
			ut, err := btf.UnderlyingType(v.Type)
			if err != nil {
				return objErr("struct_ops %q: %v", v.Name, err)
			}
			st, ok := ut.(*btf.Struct)
			if !ok {
				return objErr("struct_ops %q is a %v, want a struct", v.Name, ut.Kind())
			}
			sym, ok := er.symbolIn(idx, v.Name)
			if !ok || sym.Value+uint64(st.Size) > uint64(len(data)) {
				return objErr("struct_ops %q: no symbol for it inside section %q", v.Name, sec.Name)
			}
			so := &StructOpsSpec{
				TypeName: st.Name, Programs: map[string]string{}, local: st,
				Data: append([]byte(nil), data[sym.Value:sym.Value+uint64(st.Size)]...),
			}
			for _, r := range er.structOpsRelocs[idx] {
				if r.off < sym.Value || r.off >= sym.Value+uint64(st.Size) {
					continue
				}
				bit := uint32(r.off-sym.Value) * 8
				var member string
				for _, m := range st.Members {
					if m.Offset == bit {
						member = m.Name
					}
				}
				fn := er.funcs[r.sym.Name]
				if member == "" || fn == nil || elf.ST_TYPE(r.sym.Info) != elf.STT_FUNC {
					return objErr("struct_ops %q: relocation at offset %d to %q is not a program in a member", v.Name, r.off-sym.Value, r.sym.Name)
				}
				so.Programs[member] = r.sym.Name
			}
			flags := uint32(0)
			if sec.Name == ".struct_ops.link" {
				flags = mapFlagLink
			}
			if _, dup := er.cs.Maps[v.Name]; dup {
				return objErr("struct_ops %q: a map of that name exists", v.Name)
			}
			er.cs.Maps[v.Name] = &ObjectMapSpec{
				MapSpec:   MapSpec{Name: v.Name, Type: StructOpsMap, KeySize: 4, MaxEntries: 1, Flags: MapFlags(flags)},
				Section:   sec.Name,
				StructOps: so,
			}
		}
	}
	return nil
}

// structOpsUseOf returns how a struct_ops map of cs uses program name.
func (cs *CollectionSpec) structOpsUseOf(name string) (structOpsUse, bool) {
	for _, mname := range cs.MapNames() {
		so := cs.Maps[mname].StructOps
		if so == nil {
			continue
		}
		for member, p := range so.Programs {
			if p == name {
				return structOpsUse{so.TypeName, member}, true
			}
		}
	}
	return structOpsUse{}, false
}
