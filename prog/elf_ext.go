package prog

// attachBTFExt gives ps the func_info, line_info and CO-RE records of
// the functions linked into it, with instruction offsets turned into
// indexes into ps.Instructions.
func (er *elfReader) attachBTFExt(ps *ProgramSpec) error {
	if er.btf == nil {
		return nil
	}
	ob := er.btf
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
		for _, r := range ob.funcInfos[cs.name] {
			if k := index(r.insnOff); k >= 0 {
				ps.funcInfos = append(ps.funcInfos, funcInfo{insn: k, typeID: r.typeID})
			}
		}
		for _, r := range ob.lineInfos[cs.name] {
			if k := index(r.insnOff); k >= 0 {
				ps.lineInfos = append(ps.lineInfos, LineInfo{
					Instruction: k, File: r.fileName, Line: r.line,
					LineNum: r.lineCol >> 10, Column: r.lineCol & 0x3ff,
					fileOff: r.fileOff, lineOff: r.lineOff,
				})
			}
		}
		for _, r := range ob.coreRelos[cs.name] {
			k := index(r.insnOff)
			if k < 0 {
				continue
			}
			access, ok := ob.str(r.accessOff)
			if !ok {
				return objErr("section %q: CO-RE relocation at offset %d: access string offset %d is outside the string section", cs.name, r.insnOff, r.accessOff)
			}
			ps.coreRelos = append(ps.coreRelos, coreRelo{insn: k, typeID: r.typeID, access: access, kind: r.kind})
			ps.Relocations = append(ps.Relocations, Relocation{Instruction: k, Kind: "core", Target: access})
		}
	}
	return nil
}
