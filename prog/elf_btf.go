package prog

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/purebpf/purebpf/btf"
)

// objectBTF is an object's .BTF (parsed by package btf) and the parts of
// its .BTF.ext the loader needs.
//
// Adapter note: package btf does not yet decode .BTF.ext or write BTF
// back, so this file reads the func_info, line_info and CO-RE records
// itself and patches the raw blob for the kernel (fixupRaw). Both move to
// package btf once it offers them.
type objectBTF struct {
	spec *btf.Spec
	raw  []byte // the .BTF section as clang wrote it
	strs []byte // its string section

	funcInfos map[string][]extFuncInfo
	lineInfos map[string][]extLineInfo
	coreRelos map[string][]extCoreRelo

	secSizes map[string]uint32            // ELF section sizes, for DATASEC fix-ups
	symOffs  map[string]map[string]uint32 // section -> symbol -> offset
}

type extFuncInfo struct {
	insnOff uint32 // bytes into the section
	typeID  uint32
}

type extLineInfo struct {
	insnOff  uint32
	fileOff  uint32
	lineOff  uint32
	lineCol  uint32
	fileName string
	line     string
}

type extCoreRelo struct {
	insnOff   uint32
	typeID    uint32
	accessOff uint32
	kind      uint32
}

func parseObjectBTF(raw, ext []byte) (*objectBTF, error) {
	spec, err := btf.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf(".BTF: %w", err)
	}
	ob := &objectBTF{spec: spec, raw: raw}
	// Header (include/uapi/linux/btf.h struct btf_header): magic u16,
	// version u8, flags u8, hdr_len, type_off, type_len, str_off, str_len.
	// btf.Parse has checked it.
	hl := binary.LittleEndian.Uint32(raw[4:])
	so := binary.LittleEndian.Uint32(raw[16:])
	sl := binary.LittleEndian.Uint32(raw[20:])
	ob.strs = raw[hl+so : hl+so+sl]
	if ext != nil {
		if err := ob.parseExt(ext); err != nil {
			return nil, fmt.Errorf(".BTF.ext: %w", err)
		}
	}
	return ob, nil
}

func (ob *objectBTF) str(off uint32) (string, bool) {
	if int(off) >= len(ob.strs) {
		return "", false
	}
	s := ob.strs[off:]
	for i, c := range s {
		if c == 0 {
			return string(s[:i]), true
		}
	}
	return "", false
}

var errBadExt = errors.New("malformed .BTF.ext")

// parseExt reads struct btf_ext_header and its func_info, line_info and
// core_relo subsections (each a record size, then per section a name
// offset, a count and the records).
func (ob *objectBTF) parseExt(b []byte) error {
	if len(b) < 24 {
		return fmt.Errorf("%w: %d bytes, shorter than its header", errBadExt, len(b))
	}
	if binary.LittleEndian.Uint16(b) != 0xeB9F {
		return fmt.Errorf("%w: magic %#x", errBadExt, binary.LittleEndian.Uint16(b))
	}
	hl := binary.LittleEndian.Uint32(b[4:])
	if hl < 24 || uint64(hl) > uint64(len(b)) {
		return fmt.Errorf("%w: header length %d", errBadExt, hl)
	}
	sub := func(offAt, lenAt uint32) ([]byte, error) {
		if offAt+8 > hl {
			return nil, nil
		}
		off := binary.LittleEndian.Uint32(b[offAt:])
		n := binary.LittleEndian.Uint32(b[lenAt:])
		start := uint64(hl) + uint64(off)
		if n == 0 {
			return nil, nil
		}
		if start+uint64(n) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: subsection at %d, %d bytes, is past the end (%d bytes)", errBadExt, start, n, len(b))
		}
		return b[start : start+uint64(n)], nil
	}
	fi, err := sub(8, 12)
	if err != nil {
		return err
	}
	li, err := sub(16, 20)
	if err != nil {
		return err
	}
	cr, err := sub(24, 28)
	if err != nil {
		return err
	}
	ob.funcInfos = map[string][]extFuncInfo{}
	ob.lineInfos = map[string][]extLineInfo{}
	ob.coreRelos = map[string][]extCoreRelo{}
	if err := ob.extRecords("func_info", fi, 8, func(sec string, r []byte) error {
		ob.funcInfos[sec] = append(ob.funcInfos[sec], extFuncInfo{binary.LittleEndian.Uint32(r), binary.LittleEndian.Uint32(r[4:])})
		return nil
	}); err != nil {
		return err
	}
	if err := ob.extRecords("line_info", li, 16, func(sec string, r []byte) error {
		l := extLineInfo{
			insnOff: binary.LittleEndian.Uint32(r), fileOff: binary.LittleEndian.Uint32(r[4:]),
			lineOff: binary.LittleEndian.Uint32(r[8:]), lineCol: binary.LittleEndian.Uint32(r[12:]),
		}
		var ok1, ok2 bool
		l.fileName, ok1 = ob.str(l.fileOff)
		l.line, ok2 = ob.str(l.lineOff)
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: line_info of section %q: string offset %d or %d is outside the string section", errBadExt, sec, l.fileOff, l.lineOff)
		}
		ob.lineInfos[sec] = append(ob.lineInfos[sec], l)
		return nil
	}); err != nil {
		return err
	}
	return ob.extRecords("core_relo", cr, 16, func(sec string, r []byte) error {
		ob.coreRelos[sec] = append(ob.coreRelos[sec], extCoreRelo{
			binary.LittleEndian.Uint32(r), binary.LittleEndian.Uint32(r[4:]),
			binary.LittleEndian.Uint32(r[8:]), binary.LittleEndian.Uint32(r[12:]),
		})
		return nil
	})
}

func (ob *objectBTF) extRecords(what string, b []byte, minSize uint32, rec func(sec string, r []byte) error) error {
	if len(b) == 0 {
		return nil
	}
	if len(b) < 4 {
		return fmt.Errorf("%w: %s: %d bytes", errBadExt, what, len(b))
	}
	size := binary.LittleEndian.Uint32(b)
	if size < minSize || size > 1024 {
		return fmt.Errorf("%w: %s: record size %d, want at least %d", errBadExt, what, size, minSize)
	}
	b = b[4:]
	for len(b) > 0 {
		if len(b) < 8 {
			return fmt.Errorf("%w: %s: %d trailing bytes", errBadExt, what, len(b))
		}
		sec, ok := ob.str(binary.LittleEndian.Uint32(b))
		if !ok {
			return fmt.Errorf("%w: %s: section name offset %d is outside the string section", errBadExt, what, binary.LittleEndian.Uint32(b))
		}
		n := binary.LittleEndian.Uint32(b[4:])
		b = b[8:]
		if uint64(n)*uint64(size) > uint64(len(b)) {
			return fmt.Errorf("%w: %s of section %q: %d records of %d bytes, only %d bytes left", errBadExt, what, sec, n, size, len(b))
		}
		for i := uint32(0); i < n; i++ {
			if err := rec(sec, b[:size]); err != nil {
				return err
			}
			b = b[size:]
		}
	}
	return nil
}

// datasecID returns the id of the DATASEC called name.
func (ob *objectBTF) datasecID(name string) (uint32, bool) {
	t, err := ob.spec.TypeByName(name, btf.KindDatasec)
	if err != nil {
		return 0, false
	}
	id, err := ob.spec.TypeID(t)
	if err != nil {
		return 0, false
	}
	return uint32(id), true
}

func (ob *objectBTF) typeID(t btf.Type) uint32 {
	id, err := ob.spec.TypeID(t)
	if err != nil {
		return 0
	}
	return uint32(id)
}
