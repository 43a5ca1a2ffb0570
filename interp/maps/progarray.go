package maps

import (
	"encoding/binary"
	"fmt"
	"sync"
	"syscall"

	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/prog"
)

// fdArrayCheck is fd_array_map_alloc_check followed by
// array_map_alloc_check, for prog and perf event arrays.
func fdArrayCheck(spec prog.MapSpec) error {
	const mask = flagNUMANode | flagAccessMask | flagPreserveElem
	switch {
	case spec.ValueSize != 4:
		return invalid("value_size %d, %s values are 4-byte fds", spec.ValueSize, spec.Type)
	case spec.Flags&(flagRdOnlyProg|flagWrOnlyProg) != 0:
		return invalid("flags %#x: BPF_F_RDONLY_PROG/BPF_F_WRONLY_PROG not allowed on %s", spec.Flags, spec.Type)
	case spec.MaxEntries == 0:
		return invalid("max_entries is 0")
	case spec.KeySize != 4:
		return invalid("key_size %d, array keys are 4 bytes", spec.KeySize)
	case spec.Flags&^mask != 0:
		return invalid("flags %#x has bits %#x not valid for %s", spec.Flags, spec.Flags&^mask, spec.Type)
	case spec.Type != prog.PerfEventArray && spec.Flags&flagPreserveElem != 0:
		return invalid("flags %#x: BPF_F_PRESERVE_ELEMS is for perf event arrays only", spec.Flags)
	}
	return checkAccessFlags(spec.Flags)
}

// fdArrayIndex decodes a user-space key of an fd array.
func fdArrayIndex(spec *prog.MapSpec, key any) (uint32, error) {
	var scratch [8]byte
	k, err := keyBytes(spec, key, scratch[:])
	if err != nil {
		return 0, err
	}
	return binary.NativeEndian.Uint32(k), nil
}

// fdArrayUpdate is bpf_fd_array_map_update_elem for a map whose entries
// cannot be set from user space here: flags other than BPF_ANY are EINVAL,
// an index out of range E2BIG, and the fd itself EBADF, since a userspace
// map has no file descriptor table to resolve it in.
func fdArrayUpdate(spec *prog.MapSpec, key, value any, flags prog.UpdateFlags, how string) error {
	if err := userWrite(spec); err != nil {
		return err
	}
	if flags&prog.UpdateLock != 0 {
		return fmt.Errorf("flag BPF_F_LOCK on a map without bpf_spin_lock: %w", syscall.EINVAL)
	}
	i, err := fdArrayIndex(spec, key)
	if err != nil {
		return err
	}
	var scratch [8]byte
	v, err := mapvalue.Encode(value, 4, "value", scratch[:])
	if err != nil {
		return err
	}
	if flags != prog.UpdateAny {
		return fmt.Errorf("flags %#x, %s updates take BPF_ANY only: %w", uint64(flags), spec.Type, syscall.EINVAL)
	}
	if i >= spec.MaxEntries {
		return fmt.Errorf("index %d >= max_entries %d: %w", i, spec.MaxEntries, syscall.E2BIG)
	}
	return fmt.Errorf("fd %d: a userspace %s cannot resolve file descriptors, %s: %w", binary.NativeEndian.Uint32(v), spec.Type, how, syscall.EBADF)
}

// ProgArray is a program array (BPF_MAP_TYPE_PROG_ARRAY, Linux 4.2) for
// tail calls.
// Its entries are the VM's own program handles, set with SetProgram.
//
// Through prog.Mapper it behaves as the kernel does for user space (checked
// against Linux 6.18): Lookup of an empty slot or an index out of range is
// ErrKeyNotExist, of a set slot writes the program's ID (its handle's
// ID() uint32 method; a handle without one is ErrNotSupported); Update only
// validates (flags other than UpdateAny EINVAL, index E2BIG) and then fails
// with EBADF, as there are no program fds to resolve; Delete of an index out
// of range is E2BIG, of an empty slot ErrKeyNotExist; LookupAndDelete is
// ENOTSUPP; NextKey is the array walk.
type ProgArray struct {
	spec  prog.MapSpec
	mu    sync.RWMutex
	progs []any
}

func newProgArray(spec prog.MapSpec) (*ProgArray, error) {
	if err := fdArrayCheck(spec); err != nil {
		return nil, err
	}
	if uint64(spec.MaxEntries)*16 > maxPrealloc {
		return nil, fmt.Errorf("max_entries %d: %w", spec.MaxEntries, syscall.ENOMEM)
	}
	return &ProgArray{spec: spec, progs: make([]any, spec.MaxEntries)}, nil
}

// MapSpec returns the map's spec.
func (a *ProgArray) MapSpec() prog.MapSpec { return a.spec }

// SetProgram stores p, a VM program handle, at index; a nil p clears the
// slot. An index out of range is E2BIG.
func (a *ProgArray) SetProgram(index uint32, p any) error {
	if index >= a.spec.MaxEntries {
		return opError(a.spec.Name, "set program", fmt.Errorf("index %d >= max_entries %d: %w", index, a.spec.MaxEntries, syscall.E2BIG))
	}
	a.mu.Lock()
	a.progs[index] = p
	a.mu.Unlock()
	return nil
}

// Program returns the handle at index, or nil when the slot is empty or
// out of range (a tail call to it falls through, as in the kernel).
func (a *ProgArray) Program(index uint32) any {
	if index >= a.spec.MaxEntries {
		return nil
	}
	a.mu.RLock()
	p := a.progs[index]
	a.mu.RUnlock()
	return p
}

// LookupRaw returns nil: programs cannot look up program arrays (the
// verifier rejects it).
func (a *ProgArray) LookupRaw(key []byte, cpu int) []byte { return nil }

// UpdateRaw fails with ENOTSUPP: programs cannot update program arrays.
func (a *ProgArray) UpdateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error {
	return opError(a.spec.Name, "update", fmt.Errorf("programs cannot update a %s: %w", a.spec.Type, ENOTSUPP))
}

// DeleteRaw fails with ENOTSUPP: programs cannot delete from program
// arrays.
func (a *ProgArray) DeleteRaw(key []byte) error {
	return opError(a.spec.Name, "delete", fmt.Errorf("programs cannot delete from a %s: %w", a.spec.Type, ENOTSUPP))
}

// Lookup writes the ID of the program at index key.
func (a *ProgArray) Lookup(key, valueOut any) error {
	if err := a.lookup(key, valueOut); err != nil {
		return opError(a.spec.Name, "lookup", err)
	}
	return nil
}

func (a *ProgArray) lookup(key, valueOut any) error {
	if err := userRead(&a.spec); err != nil {
		return err
	}
	i, err := fdArrayIndex(&a.spec, key)
	if err != nil {
		return err
	}
	out, err := mapvalue.View(valueOut, 4, "value")
	if err != nil {
		return err
	}
	p := a.Program(i)
	if p == nil {
		return fmt.Errorf("index %d: %w", i, errno(syscall.ENOENT))
	}
	ider, ok := p.(interface{ ID() uint32 })
	if !ok {
		return fmt.Errorf("index %d: program handle %T has no ID() uint32: %w", i, p, ErrNotSupported)
	}
	binary.NativeEndian.PutUint32(out, ider.ID())
	return nil
}

// Update validates like the kernel and then fails with EBADF: use
// SetProgram.
func (a *ProgArray) Update(key, value any, flags prog.UpdateFlags) error {
	return opError(a.spec.Name, "update", fdArrayUpdate(&a.spec, key, value, flags, "use SetProgram"))
}

// Delete clears the slot at index key.
func (a *ProgArray) Delete(key any) error {
	if err := a.delete(key); err != nil {
		return opError(a.spec.Name, "delete", err)
	}
	return nil
}

func (a *ProgArray) delete(key any) error {
	if err := userWrite(&a.spec); err != nil {
		return err
	}
	i, err := fdArrayIndex(&a.spec, key)
	if err != nil {
		return err
	}
	if i >= a.spec.MaxEntries {
		return fmt.Errorf("index %d >= max_entries %d: %w", i, a.spec.MaxEntries, syscall.E2BIG)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.progs[i] == nil {
		return fmt.Errorf("index %d: %w", i, errno(syscall.ENOENT))
	}
	a.progs[i] = nil
	return nil
}

// LookupAndDelete fails with ENOTSUPP, as in the kernel.
func (a *ProgArray) LookupAndDelete(key, valueOut any) error {
	return noLookupAndDelete(&a.spec)
}

// NextKey walks indexes as for an array.
func (a *ProgArray) NextKey(key, nextKeyOut any) error {
	if err := arrayNextKey(&a.spec, key, nextKeyOut); err != nil {
		return opError(a.spec.Name, "next key", err)
	}
	return nil
}
