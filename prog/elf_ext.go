package prog

// attachBTFExt gives ps the func_info, line_info and CO-RE records of
// the functions linked into it, with instruction offsets turned into
// indexes into ps.Instructions.
func (er *elfReader) attachBTFExt(ps *ProgramSpec) error {
	if er.btf == nil || er.btf.ext == nil {
		return nil
	}
	ext := er.btf.ext
	nf, nl := 0, 0
	for _, fr := range ps.funcs {
		nf += len(ext.FuncInfos[fr.section])
		nl += len(ext.LineInfos[fr.section])
	}
	ps.funcInfos = make([]funcInfo, 0, min(nf, 4*len(ps.funcs)))
	ps.lineInfos = make([]LineInfo, 0, min(nl, len(ps.Instructions)))
	for _, fr := range ps.funcs {
		fn := er.funcs[fr.name]
		cs := fn.sec
		// index maps a byte offset in the section to an instruction of
		// ps, or -1 outside the function or inside an LD_IMM64.
		index := func(off uint32) int {
			if off%8 != 0 {
				return -1
			}
			slot := int(off / 8)
			if slot < fn.slot || slot >= fn.slot+fn.slots || cs.slotTo[slot] < 0 {
				return -1
			}
			return fr.start + cs.slotTo[slot] - fn.first
		}
		for _, r := range ext.FuncInfos[cs.name] {
			if k := index(r.InsnOff); k >= 0 {
				ps.funcInfos = append(ps.funcInfos, funcInfo{insn: k, typeID: uint32(r.TypeID), name: r.Func.Name})
			}
		}
		for _, r := range ext.LineInfos[cs.name] {
			if k := index(r.InsnOff); k >= 0 {
				ps.lineInfos = append(ps.lineInfos, LineInfo{
					Instruction: k, File: r.FileName, Line: r.Line,
					LineNum: r.LineNumber, Column: r.Column, fileOff: r.FileNameOff, lineOff: r.LineOff,
				})
			}
		}
		for _, r := range ext.CORERelos[cs.name] {
			// As libbpf (bpf_object__relocate_core): a record that does not
			// start an instruction is an error; one outside every program
			// (a subprogram the linker dropped) is ignored.
			slot := int(r.InsnOff / 8)
			if r.InsnOff%8 != 0 {
				return objErr("CO-RE relocation at byte %d of section %q (%s of type [%d], access %q): not at an instruction boundary", r.InsnOff, cs.name, r.Kind, r.TypeID, r.Access)
			}
			if slot >= fn.slot && slot < fn.slot+fn.slots && cs.slotTo[slot] < 0 {
				return objErr("CO-RE relocation at byte %d of section %q (%s of type [%d], access %q): the second half of an LD_IMM64", r.InsnOff, cs.name, r.Kind, r.TypeID, r.Access)
			}
			k := index(r.InsnOff)
			if k < 0 {
				continue
			}
			ps.coreRelos = append(ps.coreRelos, coreRelo{insn: k, relo: r})
			ps.Relocations = append(ps.Relocations, Relocation{Instruction: k, Kind: "core", Target: r.Access})
		}
	}
	return nil
}
