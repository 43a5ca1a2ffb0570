//go:build linux

package prog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/sys"
)

// kernelStruct returns a vmlinux structure by name with its type id.
func kernelStruct(name string) (*btf.Struct, uint32, error) {
	ks, err := btf.KernelSpec()
	if err != nil {
		return nil, 0, fmt.Errorf("kernel BTF: %w", err)
	}
	t, err := ks.TypeByName(name, btf.KindStruct)
	if err != nil {
		return nil, 0, fmt.Errorf("struct %s is not in the kernel's BTF (vmlinux; struct_ops of modules are not supported): %w", name, err)
	}
	id, err := ks.TypeID(t)
	return t.(*btf.Struct), uint32(id), err
}

// structOpsMapAttr sets what BPF_MAP_CREATE needs for a struct_ops map:
// the kernel's wrapper type bpf_struct_ops_<name> (Linux 5.6) as
// btf_vmlinux_value_type_id, its size as the value size, and the object's
// BTF.
func (c *Collection) structOpsMapAttr(ms *ObjectMapSpec, attr *sys.MapCreateAttr) error {
	wrapper, id, err := kernelStruct("bpf_struct_ops_" + ms.StructOps.TypeName)
	if err != nil {
		return fmt.Errorf("struct_ops map %q: %w", ms.Name, err)
	}
	if c.btfFD == nil {
		return fmt.Errorf("struct_ops map %q: the object's BTF did not load into the kernel", ms.Name)
	}
	attr.ValueSize = wrapper.Size
	attr.BTFVmlinuxValueTypeID = id
	attr.BTFFD = c.btfFD.Uint()
	return nil
}

// structOpsAttach gives a struct_ops program its attach_btf_id (the
// kernel structure) and expected_attach_type (the index of the member it
// implements), which come from the struct_ops map that uses it.
func (c *Collection) structOpsAttach(ps *ProgramSpec) (uint32, sys.AttachType, error) {
	use, ok := c.spec.structOpsUseOf(ps.Name)
	if !ok {
		return 0, 0, fmt.Errorf("%w: struct_ops program %q is used by no struct_ops map", ErrInvalidSpec, ps.Name)
	}
	st, id, err := kernelStruct(use.typeName)
	if err != nil {
		return 0, 0, err
	}
	for i, m := range st.Members {
		if m.Name == use.member {
			return id, sys.AttachType(i), nil
		}
	}
	return 0, 0, fmt.Errorf("struct_ops program %q: the kernel's struct %s has no member %q", ps.Name, use.typeName, use.member)
}

// fillStructOps writes a struct_ops map's value, as libbpf does: the
// kernel's structure inside its bpf_struct_ops_<name> wrapper, with each
// implemented member holding its program's fd and the other members
// copied by name from the object's initialiser. For a plain .struct_ops
// map the update registers the structure with the kernel, so
// NewCollection registers it where libbpf waits for
// bpf_map__attach_struct_ops; Collection.Close unregisters it. A
// .struct_ops.link map is only filled: a BPF link registers it.
func (c *Collection) fillStructOps(ms *ObjectMapSpec) error {
	so := ms.StructOps
	wrapper, _, err := kernelStruct("bpf_struct_ops_" + so.TypeName)
	if err != nil {
		return err
	}
	var dataOff uint32
	var kst *btf.Struct
	for _, m := range wrapper.Members {
		if m.Name == "data" {
			dataOff = m.Offset / 8
			kst, _ = btf.SkipQualifiers(m.Type).(*btf.Struct)
		}
	}
	if kst == nil {
		return fmt.Errorf("struct_ops map %q: bpf_struct_ops_%s has no data member", ms.Name, so.TypeName)
	}
	value := make([]byte, wrapper.Size)
	local := map[string]btf.Member{}
	for _, m := range so.local.Members {
		local[m.Name] = m
	}
	for _, km := range kst.Members {
		off := dataOff + km.Offset/8
		if pname, ok := so.Programs[km.Name]; ok {
			p := c.Programs[pname]
			if p == nil {
				return fmt.Errorf("struct_ops map %q: member %s: program %q is not loaded", ms.Name, km.Name, pname)
			}
			binary.LittleEndian.PutUint64(value[off:], uint64(p.FD()))
			continue
		}
		lm, ok := local[km.Name]
		if !ok {
			continue
		}
		lsize, err := btf.Sizeof(lm.Type)
		if err != nil {
			return fmt.Errorf("struct_ops map %q: member %s: %w", ms.Name, km.Name, err)
		}
		src := so.Data[lm.Offset/8 : lm.Offset/8+uint32(lsize)]
		if bytes.Count(src, []byte{0}) == len(src) {
			continue
		}
		ksize, err := btf.Sizeof(km.Type)
		if err != nil || ksize != lsize || km.BitfieldSize != 0 || lm.BitfieldSize != 0 {
			return fmt.Errorf("struct_ops map %q: member %s is %d bytes in the object and %d in the kernel", ms.Name, km.Name, lsize, ksize)
		}
		copy(value[off:], src)
	}
	for member := range so.Programs {
		found := false
		for _, km := range kst.Members {
			found = found || km.Name == member
		}
		if !found {
			return fmt.Errorf("struct_ops map %q: the kernel's struct %s has no member %q", ms.Name, so.TypeName, member)
		}
	}
	if err := c.Maps[ms.Name].Update(uint32(0), value, UpdateAny); err != nil {
		return fmt.Errorf("struct_ops map %q: register %s: %w", ms.Name, so.TypeName, err)
	}
	if ms.Flags&mapFlagLink == 0 {
		c.registered = append(c.registered, c.Maps[ms.Name])
	}
	return nil
}

// unregisterStructOps undoes the registrations of fillStructOps: the
// kernel keeps a registered structure (and its map) until the map's
// element is deleted, whatever happens to the fds.
func (c *Collection) unregisterStructOps() error {
	var errs []error
	for _, m := range c.registered {
		if err := m.Delete(uint32(0)); err != nil {
			errs = append(errs, fmt.Errorf("unregister struct_ops: %w", err))
		}
	}
	c.registered = nil
	return errors.Join(errs...)
}
