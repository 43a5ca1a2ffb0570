package btf

import (
	"bufio"
	"io"
	"strconv"
)

// DumpRaw writes the types of s (not of its base) one per line in the
// format of bpftool's "btf dump file FILE" (format raw, bpftool 7.1), so
// that the outputs of the two tools can be diffed. It prints the wire
// fields as they are, kind flags and all.
func (s *Spec) DumpRaw(w io.Writer) error {
	if s == nil {
		return errNilSpec("DumpRaw")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var b []byte
	for i, off := range s.offsets {
		b = s.appendRaw(b[:0], s.firstID+TypeID(i), off)
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func (s *Spec) quotedName(b []byte, off uint32) []byte {
	b = append(b, '\'')
	if off == 0 {
		b = append(b, "(anon)"...)
	} else {
		b = append(b, s.name(off)...)
	}
	return append(b, '\'')
}

func appendU(b []byte, s string, v uint32) []byte {
	b = append(b, s...)
	return strconv.AppendUint(b, uint64(v), 10)
}

func (s *Spec) appendRaw(b []byte, id TypeID, off uint32) []byte {
	nameOff, info, sizeType := s.u32(off), s.u32(off+4), s.u32(off+8)
	kind, vlen, kflag := Kind(info>>24&0x1f), info&0xffff, info>>31 == 1
	p := off + typeHeadLen
	b = append(b, '[')
	b = strconv.AppendUint(b, uint64(id), 10)
	b = append(b, "] "...)
	b = append(b, kind.String()...)
	b = append(b, ' ')
	b = s.quotedName(b, nameOff)
	switch kind {
	case KindInt:
		v := s.u32(p)
		b = appendU(b, " size=", sizeType)
		b = appendU(b, " bits_offset=", v>>16&0xff)
		b = appendU(b, " nr_bits=", v&0xff)
		b = append(b, " encoding="...)
		b = append(b, IntEncoding(v>>24&0xf).String()...)
	case KindPointer, KindConst, KindVolatile, KindRestrict, KindTypedef, KindTypeTag:
		b = appendU(b, " type_id=", sizeType)
	case KindArray:
		b = appendU(b, " type_id=", s.u32(p))
		b = appendU(b, " index_type_id=", s.u32(p+4))
		b = appendU(b, " nr_elems=", s.u32(p+8))
	case KindStruct, KindUnion:
		b = appendU(b, " size=", sizeType)
		b = appendU(b, " vlen=", vlen)
		for i := range vlen {
			m := p + 12*i
			bitOff, bitSize := s.u32(m+8), uint32(0)
			if kflag {
				bitOff, bitSize = bitOff&0xffffff, bitOff>>24
			}
			b = append(b, "\n\t"...)
			b = s.quotedName(b, s.u32(m))
			b = appendU(b, " type_id=", s.u32(m+4))
			b = appendU(b, " bits_offset=", bitOff)
			if bitSize != 0 {
				b = appendU(b, " bitfield_size=", bitSize)
			}
		}
	case KindEnum, KindEnum64:
		if kflag {
			b = append(b, " encoding=SIGNED"...)
		} else {
			b = append(b, " encoding=UNSIGNED"...)
		}
		b = appendU(b, " size=", sizeType)
		b = appendU(b, " vlen=", vlen)
		for i := range vlen {
			b = append(b, "\n\t"...)
			if kind == KindEnum {
				e := p + 8*i
				b = s.quotedName(b, s.u32(e))
				b = append(b, " val="...)
				if kflag {
					b = strconv.AppendInt(b, int64(int32(s.u32(e+4))), 10)
				} else {
					b = strconv.AppendUint(b, uint64(s.u32(e+4)), 10)
				}
				continue
			}
			e := p + 12*i
			v := uint64(s.u32(e+4)) | uint64(s.u32(e+8))<<32
			b = s.quotedName(b, s.u32(e))
			b = append(b, " val="...)
			if kflag {
				b = strconv.AppendInt(b, int64(v), 10)
				b = append(b, "LL"...)
			} else {
				b = strconv.AppendUint(b, v, 10)
				b = append(b, "ULL"...)
			}
		}
	case KindFwd:
		if kflag {
			b = append(b, " fwd_kind=union"...)
		} else {
			b = append(b, " fwd_kind=struct"...)
		}
	case KindFunc:
		b = appendU(b, " type_id=", sizeType)
		b = append(b, " linkage="...)
		b = append(b, FuncLinkage(vlen).String()...)
	case KindFuncProto:
		b = appendU(b, " ret_type_id=", sizeType)
		b = appendU(b, " vlen=", vlen)
		for i := range vlen {
			m := p + 8*i
			b = append(b, "\n\t"...)
			b = s.quotedName(b, s.u32(m))
			b = appendU(b, " type_id=", s.u32(m+4))
		}
	case KindVar:
		b = appendU(b, " type_id=", sizeType)
		b = append(b, ", linkage="...)
		b = append(b, VarLinkage(s.u32(p)).String()...)
	case KindDatasec:
		b = appendU(b, " size=", sizeType)
		b = appendU(b, " vlen=", vlen)
		for i := range vlen {
			v := p + 12*i
			b = appendU(b, "\n\ttype_id=", s.u32(v))
			b = appendU(b, " offset=", s.u32(v+4))
			b = appendU(b, " size=", s.u32(v+8))
			vid := TypeID(s.u32(v))
			b = append(b, " ("...)
			b = append(b, s.kindAt(vid).String()...)
			b = append(b, ' ')
			b = s.quotedName(b, s.nameOffAt(vid))
			b = append(b, ')')
		}
	case KindFloat:
		b = appendU(b, " size=", sizeType)
	case KindDeclTag:
		b = appendU(b, " type_id=", sizeType)
		b = append(b, " component_idx="...)
		b = strconv.AppendInt(b, int64(int32(s.u32(p))), 10)
	}
	return append(b, '\n')
}
