package prog

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// BTF kinds and linkages the fix-up touches (include/uapi/linux/btf.h).
const (
	btfKindInt       = 1
	btfKindArray     = 3
	btfKindStruct    = 4
	btfKindUnion     = 5
	btfKindEnum      = 6
	btfKindFunc      = 12
	btfKindFuncProto = 13
	btfKindVar       = 14
	btfKindDatasec   = 15
	btfKindDeclTag   = 17
	btfKindEnum64    = 19

	btfFuncGlobal       = 1
	btfFuncExtern       = 2
	btfVarGlobalAlloced = 1
)

// btfRecord is one type of a raw type section: its header words and the
// words after them.
type btfRecord struct {
	nameOff, info, sizeType uint32
	extra                   []uint32
}

func (r *btfRecord) kind() uint32 { return r.info >> 24 & 0x1f }
func (r *btfRecord) vlen() int    { return int(r.info & 0xffff) }

// btfFixups is what the kernel needs changed in clang's BTF, as libbpf
// changes it: DATASEC sizes and variable offsets from the ELF symbol
// table, the .kconfig layout, .ksyms entries turned into allocated ints,
// and extern functions made global with named parameters.
type btfFixups struct {
	sectionSize func(name string) (uint32, bool)
	symbolOff   func(section, name string) (uint32, bool)
	kconfigOff  func(name string) (uint32, bool)
	kconfigSize uint32
}

// kernelBlob returns the object's BTF as the kernel accepts it.
func (ob *objectBTF) kernelBlob(fx btfFixups) ([]byte, error) {
	raw := ob.raw
	le := binary.LittleEndian
	hl := le.Uint32(raw[4:])
	to, tl := le.Uint32(raw[8:]), le.Uint32(raw[12:])
	tsec := raw[hl+to : hl+to+tl]
	strs := append([]byte(nil), ob.strs...)
	str := func(off uint32) string { s, _ := ob.str(off); return s }
	addStr := func(s string) uint32 {
		off := uint32(len(strs))
		strs = append(append(strs, s...), 0)
		return off
	}

	// Decode the records (btf.Parse has validated the layout).
	var recs []*btfRecord
	for off := 0; off+12 <= len(tsec); {
		r := &btfRecord{nameOff: le.Uint32(tsec[off:]), info: le.Uint32(tsec[off+4:]), sizeType: le.Uint32(tsec[off+8:])}
		off += 12
		var n int
		switch r.kind() {
		case btfKindInt, btfKindVar, btfKindDeclTag:
			n = 1
		case btfKindArray:
			n = 3
		case btfKindStruct, btfKindUnion, btfKindDatasec, btfKindEnum64:
			n = 3 * r.vlen()
		case btfKindEnum, btfKindFuncProto:
			n = 2 * r.vlen()
		}
		if off+4*n > len(tsec) {
			return nil, fmt.Errorf("BTF type %d runs past the type section", len(recs)+1)
		}
		r.extra = make([]uint32, n)
		for i := range r.extra {
			r.extra[i] = le.Uint32(tsec[off+4*i:])
		}
		off += 4 * n
		recs = append(recs, r)
	}
	byID := func(id uint32) *btfRecord {
		if id == 0 || int(id) > len(recs) {
			return nil
		}
		return recs[id-1]
	}
	intID := uint32(0)
	for i, r := range recs {
		if r.kind() == btfKindInt && r.sizeType == 4 && (intID == 0 || str(r.nameOff) == "int") {
			intID = uint32(i + 1)
		}
	}
	dummyVar := uint32(0)
	dummy := func() (uint32, error) {
		if dummyVar == 0 {
			if intID == 0 {
				return 0, fmt.Errorf("BTF has no 4-byte int to stand for ksyms")
			}
			recs = append(recs, &btfRecord{nameOff: addStr("dummy_ksym"), info: btfKindVar << 24, sizeType: intID, extra: []uint32{btfVarGlobalAlloced}})
			dummyVar = uint32(len(recs))
		}
		return dummyVar, nil
	}

	for _, r := range recs {
		switch r.kind() {
		case btfKindFunc:
			if r.vlen() != btfFuncExtern {
				continue
			}
			// An extern kfunc declaration: global, with named params.
			r.info = r.info&^0xffff | btfFuncGlobal
			if p := byID(r.sizeType); p != nil && p.kind() == btfKindFuncProto {
				for i := 0; i < p.vlen(); i++ {
					if p.extra[2*i] == 0 && p.extra[2*i+1] != 0 {
						if _, err := dummy(); err != nil {
							return nil, err
						}
						p.extra[2*i] = recs[dummyVar-1].nameOff
					}
				}
			}
		case btfKindDatasec:
			name := str(r.nameOff)
			switch name {
			case ".kconfig":
				r.sizeType = fx.kconfigSize
				for i := 0; i < r.vlen(); i++ {
					v := byID(r.extra[3*i])
					if v == nil || v.kind() != btfKindVar {
						continue
					}
					off, ok := fx.kconfigOff(str(v.nameOff))
					if !ok {
						return nil, fmt.Errorf("DATASEC .kconfig: no offset for %q", str(v.nameOff))
					}
					v.extra[0] = btfVarGlobalAlloced
					r.extra[3*i+1] = off
				}
			case ".ksyms":
				for i := 0; i < r.vlen(); i++ {
					t := byID(r.extra[3*i])
					if t == nil {
						continue
					}
					if t.kind() == btfKindVar {
						if intID == 0 {
							return nil, fmt.Errorf("BTF has no 4-byte int to stand for ksyms")
						}
						t.extra[0] = btfVarGlobalAlloced
						t.sizeType = intID
					} else {
						id, err := dummy()
						if err != nil {
							return nil, err
						}
						r.extra[3*i] = id
					}
					r.extra[3*i+1] = uint32(4 * i)
					r.extra[3*i+2] = 4
				}
				r.sizeType = uint32(4 * r.vlen())
			default:
				size, ok := fx.sectionSize(name)
				if !ok {
					continue
				}
				r.sizeType = size
				for i := 0; i < r.vlen(); i++ {
					v := byID(r.extra[3*i])
					if v == nil || v.kind() != btfKindVar {
						continue
					}
					if off, ok := fx.symbolOff(name, str(v.nameOff)); ok {
						r.extra[3*i+1] = off
					}
				}
			}
			// The kernel wants the variables in offset order.
			type vsi struct{ t, off, size uint32 }
			vs := make([]vsi, r.vlen())
			for i := range vs {
				vs[i] = vsi{r.extra[3*i], r.extra[3*i+1], r.extra[3*i+2]}
			}
			sort.SliceStable(vs, func(i, j int) bool { return vs[i].off < vs[j].off })
			for i, v := range vs {
				r.extra[3*i], r.extra[3*i+1], r.extra[3*i+2] = v.t, v.off, v.size
			}
		}
	}

	// Re-encode.
	var types []byte
	for _, r := range recs {
		types = le.AppendUint32(types, r.nameOff)
		types = le.AppendUint32(types, r.info)
		types = le.AppendUint32(types, r.sizeType)
		for _, w := range r.extra {
			types = le.AppendUint32(types, w)
		}
	}
	out := make([]byte, 24, 24+len(types)+len(strs))
	copy(out, raw[:8])
	le.PutUint32(out[4:], 24)
	le.PutUint32(out[8:], 0)
	le.PutUint32(out[12:], uint32(len(types)))
	le.PutUint32(out[16:], uint32(len(types)))
	le.PutUint32(out[20:], uint32(len(strs)))
	out = append(append(out, types...), strs...)
	return out, nil
}
