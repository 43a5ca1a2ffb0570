package maps

import (
	"encoding/binary"
	"fmt"
	"sync"
	"syscall"

	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/prog"
)

// OfMaps is a map of maps: BPF_MAP_TYPE_ARRAY_OF_MAPS (Linux 4.12) or
// BPF_MAP_TYPE_HASH_OF_MAPS (Linux 4.12). Its values are maps of this
// package whose specs match the template MapSpec.InnerMap.
//
// The kernel's user-space API passes maps by file descriptor: an update
// takes an inner map's fd as its 4-byte value, a lookup writes the inner
// map's ID (kernel/bpf/map_in_map.c, bpf_map_fd_sys_lookup_elem). A
// userspace map has neither, so here:
//   - Set (or Update with a Map value) stores a Map; Update with a
//     number validates as the kernel does and then fails with EBADF;
//   - Inner (or Lookup with a *Map valueOut) returns the Map; Lookup into
//     bytes or a number fails with ErrNotSupported, as there is no ID;
//   - Delete, NextKey and LookupAndDelete (ENOTSUPP) behave as the
//     kernel's for the type.
//
// A program's bpf_map_lookup_elem gets the inner map (InnerRaw), which it
// can pass to the other map helpers; programs cannot update or delete
// entries (the verifier allows only map_lookup_elem on these maps,
// check_map_func_compatibility), so UpdateRaw and DeleteRaw fail.
type OfMaps struct {
	spec  prog.MapSpec
	inner prog.MapSpec

	mu  sync.RWMutex
	arr []Map // ArrayOfMaps: the slots

	// HashOfMaps: hash maps serial numbers of the maps in byID. The
	// Hash gives the kernel's key handling, max_entries, update flags
	// and key order.
	hash   *Hash
	byID   map[uint64]Map
	serial uint64
}

var _ Map = (*OfMaps)(nil)

func newOfMaps(spec prog.MapSpec, opts *Options) (*OfMaps, error) {
	if spec.InnerMap == nil {
		return nil, invalid("InnerMap is nil; a %s needs the spec of the maps it holds (inner_map_fd)", spec.Type)
	}
	if err := innerTemplateCheck(*spec.InnerMap); err != nil {
		return nil, err
	}
	o := &OfMaps{spec: spec, inner: *spec.InnerMap}
	o.spec.InnerMap = &o.inner
	if spec.Type == prog.ArrayOfMaps {
		if err := fdArrayCheck(spec); err != nil {
			return nil, err
		}
		if uint64(spec.MaxEntries)*16 > maxPrealloc {
			return nil, fmt.Errorf("max_entries %d: %w", spec.MaxEntries, syscall.ENOMEM)
		}
		o.arr = make([]Map, spec.MaxEntries)
		return o, nil
	}
	// fd_htab_map_alloc_check: 4-byte fd values, then the hash checks.
	if spec.ValueSize != 4 {
		return nil, invalid("value_size %d, %s values are 4-byte fds", spec.ValueSize, spec.Type)
	}
	hs := spec
	hs.Type, hs.ValueSize, hs.InnerMap = prog.Hash, 8, nil
	if err := hashCheck(spec); err != nil {
		return nil, err
	}
	h, err := newHash(hs, opts)
	if err != nil {
		return nil, err
	}
	o.hash, o.byID = h, map[uint64]Map{}
	return o, nil
}

// innerTemplateCheck is what bpf_map_meta_alloc refuses of an inner map
// (Linux 5.9, commit f4d05259213f): maps of maps (no nesting) and map
// types without map_meta_equal (program arrays, struct_ops and the
// storage maps; of this package's types, program arrays). A template that
// New itself refuses is refused too.
func innerTemplateCheck(t prog.MapSpec) error {
	switch t.Type {
	case prog.ArrayOfMaps, prog.HashOfMaps:
		return invalid("inner map: type %s, maps of maps do not nest", t.Type)
	case prog.ProgArray:
		return fmt.Errorf("inner map: type %s cannot be an inner map: %w", t.Type, ENOTSUPP)
	}
	if _, err := New(t, &Options{CPUs: 1}); err != nil {
		return fmt.Errorf("inner map: %w", err)
	}
	return nil
}

// MapSpec returns the map's spec (with InnerMap).
func (o *OfMaps) MapSpec() prog.MapSpec {
	s := o.spec
	in := o.inner
	s.InnerMap = &in
	return s
}

// MetaEqual reports, as an error naming the first field that differs,
// whether m may be stored in a map of maps with inner template t:
// bpf_map_meta_equal compares type, key_size, value_size and map_flags,
// and array maps (array_map_meta_equal, Linux 5.10) also max_entries
// unless the template has BPF_F_INNER_MAP. The error wraps EINVAL, the
// kernel's answer to an update with such a map.
func MetaEqual(t prog.MapSpec, m prog.MapSpec) error {
	switch {
	case m.Type != t.Type:
		return invalid("inner map %q: type %s, the template's is %s", m.Name, m.Type, t.Type)
	case m.KeySize != t.KeySize:
		return invalid("inner map %q: key_size %d, the template's is %d", m.Name, m.KeySize, t.KeySize)
	case m.ValueSize != t.ValueSize:
		return invalid("inner map %q: value_size %d, the template's is %d", m.Name, m.ValueSize, t.ValueSize)
	case m.Flags != t.Flags:
		return invalid("inner map %q: map_flags %#x, the template's are %#x", m.Name, m.Flags, t.Flags)
	case (t.Type == prog.Array || t.Type == prog.PerCPUArray) && t.Flags&flagInnerMap == 0 && m.MaxEntries != t.MaxEntries:
		return invalid("inner map %q: max_entries %d, the template's is %d (set BPF_F_INNER_MAP on the template to allow any)", m.Name, m.MaxEntries, t.MaxEntries)
	}
	return nil
}

// Set stores inner at key with flags (UpdateAny, UpdateNoExist or
// UpdateExist for a hash of maps; UpdateAny for an array of maps). inner
// must match the template (MetaEqual). A nil inner deletes key.
func (o *OfMaps) Set(key any, inner Map, flags prog.UpdateFlags) error {
	if inner == nil {
		return o.Delete(key)
	}
	if err := o.set(key, inner, flags); err != nil {
		return opError(o.spec.Name, "update", err)
	}
	return nil
}

func (o *OfMaps) set(key any, inner Map, flags prog.UpdateFlags) error {
	if err := userWrite(&o.spec); err != nil {
		return err
	}
	if flags&prog.UpdateLock != 0 {
		return fmt.Errorf("flag BPF_F_LOCK on a map without bpf_spin_lock: %w", syscall.EINVAL)
	}
	var scratch [16]byte
	k, err := keyBytes(&o.spec, key, scratch[:])
	if err != nil {
		return err
	}
	if o.arr != nil {
		if flags != prog.UpdateAny {
			return fmt.Errorf("flags %#x, %s updates take BPF_ANY only: %w", uint64(flags), o.spec.Type, syscall.EINVAL)
		}
		i := binary.NativeEndian.Uint32(k)
		if i >= o.spec.MaxEntries {
			return fmt.Errorf("index %d >= max_entries %d: %w", i, o.spec.MaxEntries, syscall.E2BIG)
		}
		if err := MetaEqual(o.inner, inner.MapSpec()); err != nil {
			return err
		}
		o.mu.Lock()
		o.arr[i] = inner
		o.mu.Unlock()
		return nil
	}
	if err := checkUpdateFlags(flags); err != nil {
		return err
	}
	if err := MetaEqual(o.inner, inner.MapSpec()); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	old := o.hash.LookupRaw(k, 0)
	o.serial++
	var v [8]byte
	binary.NativeEndian.PutUint64(v[:], o.serial)
	if err := o.hash.updateRaw(k, v[:], flags, 0); err != nil {
		return err
	}
	if old != nil {
		delete(o.byID, binary.NativeEndian.Uint64(old))
	}
	o.byID[o.serial] = inner
	return nil
}

// Inner returns the map at key, or an error matching ErrKeyNotExist when
// there is none.
func (o *OfMaps) Inner(key any) (Map, error) {
	if err := userRead(&o.spec); err != nil {
		return nil, opError(o.spec.Name, "lookup", err)
	}
	var scratch [16]byte
	k, err := keyBytes(&o.spec, key, scratch[:])
	if err != nil {
		return nil, opError(o.spec.Name, "lookup", err)
	}
	m := o.InnerRaw(k)
	if m == nil {
		return nil, opError(o.spec.Name, "lookup", errno(syscall.ENOENT))
	}
	return m, nil
}

// InnerRaw is bpf_map_lookup_elem from a program: the map at key (which
// must be KeySize bytes), or nil.
func (o *OfMaps) InnerRaw(key []byte) Map {
	if len(key) != int(o.spec.KeySize) {
		return nil
	}
	if o.arr != nil {
		i := binary.NativeEndian.Uint32(key)
		if i >= o.spec.MaxEntries {
			return nil
		}
		o.mu.RLock()
		m := o.arr[i]
		o.mu.RUnlock()
		return m
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	v := o.hash.LookupRaw(key, 0)
	if v == nil {
		return nil
	}
	return o.byID[binary.NativeEndian.Uint64(v)]
}

// LookupRaw returns nil: a program's lookup gets a map, not bytes
// (InnerRaw, which the engine calls).
func (o *OfMaps) LookupRaw(key []byte, cpu int) []byte { return nil }

// UpdateRaw fails with EINVAL: the verifier refuses map_update_elem on a
// map of maps.
func (o *OfMaps) UpdateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error {
	return opError(o.spec.Name, "update", fmt.Errorf("programs cannot update a %s (the verifier allows only map_lookup_elem): %w", o.spec.Type, syscall.EINVAL))
}

// DeleteRaw fails with EINVAL: the verifier refuses map_delete_elem on a
// map of maps.
func (o *OfMaps) DeleteRaw(key []byte) error {
	return opError(o.spec.Name, "delete", fmt.Errorf("programs cannot delete from a %s (the verifier allows only map_lookup_elem): %w", o.spec.Type, syscall.EINVAL))
}

// Lookup stores the map at key in valueOut, which must be a *Map. The
// kernel writes the inner map's ID, which a userspace map does not have:
// any other valueOut is ErrNotSupported.
func (o *OfMaps) Lookup(key, valueOut any) error {
	p, ok := valueOut.(*Map)
	if !ok || p == nil {
		return opError(o.spec.Name, "lookup", fmt.Errorf("valueOut %T: a userspace %s holds maps, not IDs; pass a *maps.Map or use Inner: %w", valueOut, o.spec.Type, ErrNotSupported))
	}
	m, err := o.Inner(key)
	if err != nil {
		return err
	}
	*p = m
	return nil
}

// Update stores value, a Map, at key (Set). A number (the kernel's inner
// map fd) is validated as the kernel does and then fails with EBADF.
func (o *OfMaps) Update(key, value any, flags prog.UpdateFlags) error {
	if m, ok := value.(Map); ok {
		return o.Set(key, m, flags)
	}
	if o.arr != nil {
		return opError(o.spec.Name, "update", fdArrayUpdate(&o.spec, key, value, flags, "pass a maps.Map"))
	}
	if err := userWrite(&o.spec); err != nil {
		return opError(o.spec.Name, "update", err)
	}
	var scratch [8]byte
	v, err := mapvalue.Encode(value, 4, "value", scratch[:])
	if err != nil {
		return opError(o.spec.Name, "update", err)
	}
	return opError(o.spec.Name, "update", fmt.Errorf("fd %d: a userspace %s cannot resolve file descriptors, pass a maps.Map: %w", binary.NativeEndian.Uint32(v), o.spec.Type, syscall.EBADF))
}

// Delete removes the map at key: an index out of range is E2BIG, an
// empty slot or missing key ErrKeyNotExist.
func (o *OfMaps) Delete(key any) error {
	if err := o.delete(key); err != nil {
		return opError(o.spec.Name, "delete", err)
	}
	return nil
}

func (o *OfMaps) delete(key any) error {
	if err := userWrite(&o.spec); err != nil {
		return err
	}
	var scratch [16]byte
	k, err := keyBytes(&o.spec, key, scratch[:])
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.arr != nil {
		i := binary.NativeEndian.Uint32(k)
		if i >= o.spec.MaxEntries {
			return fmt.Errorf("index %d >= max_entries %d: %w", i, o.spec.MaxEntries, syscall.E2BIG)
		}
		if o.arr[i] == nil {
			return fmt.Errorf("index %d: %w", i, errno(syscall.ENOENT))
		}
		o.arr[i] = nil
		return nil
	}
	old := o.hash.LookupRaw(k, 0)
	if old == nil {
		return errno(syscall.ENOENT)
	}
	delete(o.byID, binary.NativeEndian.Uint64(old))
	_ = o.hash.DeleteRaw(k) // present: o.mu serialises the writers
	return nil
}

// LookupAndDelete fails with ENOTSUPP, as in the kernel (map_lookup_and_delete_elem
// serves queues, stacks and plain hashes only).
func (o *OfMaps) LookupAndDelete(key, valueOut any) error {
	return noLookupAndDelete(&o.spec)
}

// NextKey walks the indexes of an array of maps, or the keys of a hash of
// maps in the order of a hash map.
func (o *OfMaps) NextKey(key, nextKeyOut any) error {
	if o.arr != nil {
		if err := arrayNextKey(&o.spec, key, nextKeyOut); err != nil {
			return opError(o.spec.Name, "next key", err)
		}
		return nil
	}
	if err := userRead(&o.spec); err != nil {
		return opError(o.spec.Name, "next key", err)
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.hash.NextKey(key, nextKeyOut)
}
