package prog

import (
	"fmt"

	"github.com/purebpf/purebpf/btf"
)

// objectBTF is an object's .BTF and .BTF.ext, parsed by package btf and
// fixed up (btf.Spec.FixupELF, plus the .kconfig layout) so that
// Marshal gives what the kernel accepts.
type objectBTF struct {
	spec *btf.Spec
	ext  *btf.ExtInfo
}

func parseObjectBTF(raw, ext []byte) (*objectBTF, error) {
	spec, err := btf.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf(".BTF: %w", err)
	}
	ob := &objectBTF{spec: spec, ext: &btf.ExtInfo{}}
	if ext != nil {
		if ob.ext, err = btf.ParseExt(ext, spec); err != nil {
			return nil, fmt.Errorf(".BTF.ext: %w", err)
		}
	}
	return ob, nil
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
