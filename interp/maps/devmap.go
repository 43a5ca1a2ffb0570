package maps

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"syscall"

	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/prog"
)

// The value of a device map entry, struct bpf_devmap_val
// (include/uapi/linux/bpf.h, Linux 5.8+): the interface index, then a
// devmap program's fd (from user space) or id (read back).
const (
	devmapIfindexSize = 4 // offsetofend(struct bpf_devmap_val, ifindex)
	devmapValSize     = 8 // offsetofend(struct bpf_devmap_val, bpf_prog.fd)
	devCreateFlags    = flagNUMANode | flagRdOnly | flagWrOnly
)

// DevMap is a device map for bpf_redirect_map in XDP programs:
// BPF_MAP_TYPE_DEVMAP (an array of interfaces, Linux 4.14) or
// BPF_MAP_TYPE_DEVMAP_HASH (keyed by any u32, Linux 5.4). Its entries
// are struct bpf_devmap_val: a 4-byte ifindex, and with an 8-byte value
// the id of a program to run on the redirected frame.
//
// A userspace run has no network devices, so any nonzero ifindex is
// accepted as an interface (the kernel checks that the device exists,
// ENODEV); a redirected frame goes nowhere, and the run reports the
// target (interp.XDPMeta.Redirect). Devmap programs cannot be attached:
// a value whose program fd is positive is an error wrapping
// ErrNotSupported. The rest is kernel/bpf/devmap.c's behaviour (checked
// against Linux 6.18): creation wants 4-byte keys, 4- or 8-byte values
// and flags among BPF_F_NUMA_NODE, BPF_F_RDONLY and BPF_F_WRONLY, and
// adds BPF_F_RDONLY_PROG (programs read entries but cannot write them).
// For DEVMAP, updates take BPF_ANY or BPF_EXIST (BPF_NOEXIST is EEXIST,
// an index out of range E2BIG), an ifindex of 0 empties the slot, Delete
// of an index out of range is EINVAL and of an empty slot succeeds, and
// NextKey walks every index as for an array. For DEVMAP_HASH, an ifindex
// of 0 is EINVAL, BPF_NOEXIST on an existing key EEXIST, a new key past
// max_entries E2BIG, Delete of a missing key ENOENT, and NextKey walks
// the keys in ascending order (the kernel walks its hash buckets) and
// starts over from the first for a missing key. Programs may only look
// entries up (and redirect through them); their updates and deletes fail
// as the verifier would refuse them.
type DevMap struct {
	spec prog.MapSpec
	hash bool
	mu   sync.RWMutex
	// slots holds DEVMAP entries by index (nil: empty); entries holds
	// DEVMAP_HASH entries and keys their keys in ascending order. An
	// entry's bytes are never changed once stored, so that a program's
	// lookup result stays valid memory after an update replaces it.
	slots   [][]byte
	entries map[uint32][]byte
	keys    []uint32
}

func newDevMap(spec prog.MapSpec) (*DevMap, error) {
	switch {
	case spec.MaxEntries == 0:
		return nil, invalid("max_entries is 0")
	case spec.KeySize != 4:
		return nil, invalid("key_size %d, %s keys are 4 bytes", spec.KeySize, spec.Type)
	case spec.ValueSize != devmapIfindexSize && spec.ValueSize != devmapValSize:
		return nil, invalid("value_size %d, %s values are struct bpf_devmap_val (4 or 8 bytes)", spec.ValueSize, spec.Type)
	case spec.Flags&^devCreateFlags != 0:
		return nil, invalid("flags %#x has bits %#x not valid for %s", spec.Flags, spec.Flags&^devCreateFlags, spec.Type)
	}
	if err := checkAccessFlags(spec.Flags); err != nil {
		return nil, err
	}
	if uint64(spec.MaxEntries)*8 > maxPrealloc {
		return nil, fmt.Errorf("max_entries %d: %w", spec.MaxEntries, syscall.ENOMEM)
	}
	// dev_map_init_map: lookups return a pointer into the entry, so the
	// verifier must keep programs from writing through it.
	spec.Flags |= flagRdOnlyProg
	d := &DevMap{spec: spec, hash: spec.Type == prog.DevMapHash}
	if d.hash {
		d.entries = map[uint32][]byte{}
	} else {
		d.slots = make([][]byte, spec.MaxEntries)
	}
	return d, nil
}

// MapSpec returns the map's spec, with BPF_F_RDONLY_PROG added as the
// kernel adds it.
func (d *DevMap) MapSpec() prog.MapSpec { return d.spec }

// get returns the entry of key k, or nil.
func (d *DevMap) get(k uint32) []byte {
	if d.hash {
		return d.entries[k]
	}
	if k >= d.spec.MaxEntries {
		return nil
	}
	return d.slots[k]
}

// Ifindex returns the interface of the entry at key, and false when
// there is none: where bpf_redirect_map through key sends a frame.
func (d *DevMap) Ifindex(key uint32) (uint32, bool) {
	d.mu.RLock()
	v := d.get(key)
	d.mu.RUnlock()
	if v == nil {
		return 0, false
	}
	return binary.NativeEndian.Uint32(v), true
}

// LookupRaw returns the entry of key as a program reads it (struct
// bpf_devmap_val with the program id 0), or nil when there is none. The
// program must not write it (BPF_F_RDONLY_PROG).
func (d *DevMap) LookupRaw(key []byte, cpu int) []byte {
	if len(key) != 4 {
		return nil
	}
	d.mu.RLock()
	v := d.get(binary.NativeEndian.Uint32(key))
	d.mu.RUnlock()
	return v
}

// UpdateRaw fails as the verifier refuses it: programs cannot update
// device maps.
func (d *DevMap) UpdateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error {
	return opError(d.spec.Name, "update", fmt.Errorf("programs cannot update a %s (only bpf_map_lookup_elem and bpf_redirect_map): %w", d.spec.Type, syscall.EINVAL))
}

// DeleteRaw fails as the verifier refuses it: programs cannot delete
// from device maps.
func (d *DevMap) DeleteRaw(key []byte) error {
	return opError(d.spec.Name, "delete", fmt.Errorf("programs cannot delete from a %s (only bpf_map_lookup_elem and bpf_redirect_map): %w", d.spec.Type, syscall.EINVAL))
}

func (d *DevMap) key(key any) (uint32, error) {
	var scratch [8]byte
	k, err := keyBytes(&d.spec, key, scratch[:])
	if err != nil {
		return 0, err
	}
	return binary.NativeEndian.Uint32(k), nil
}

// Lookup copies the entry of key (struct bpf_devmap_val) into valueOut;
// a missing entry is ErrKeyNotExist.
func (d *DevMap) Lookup(key, valueOut any) error {
	if err := d.lookup(key, valueOut); err != nil {
		return opError(d.spec.Name, "lookup", err)
	}
	return nil
}

func (d *DevMap) lookup(key, valueOut any) error {
	if err := userRead(&d.spec); err != nil {
		return err
	}
	k, err := d.key(key)
	if err != nil {
		return err
	}
	out, err := mapvalue.View(valueOut, int(d.spec.ValueSize), "value")
	if err != nil {
		return err
	}
	d.mu.RLock()
	v := d.get(k)
	d.mu.RUnlock()
	if v == nil {
		return fmt.Errorf("key %d: %w", k, errno(syscall.ENOENT))
	}
	copy(out, v)
	return nil
}

// Update sets the entry of key to value, a struct bpf_devmap_val (a
// uint32 ifindex for 4-byte values).
func (d *DevMap) Update(key, value any, flags prog.UpdateFlags) error {
	if err := d.update(key, value, flags); err != nil {
		return opError(d.spec.Name, "update", err)
	}
	return nil
}

func (d *DevMap) update(key, value any, flags prog.UpdateFlags) error {
	if err := userWrite(&d.spec); err != nil {
		return err
	}
	if flags&prog.UpdateLock != 0 {
		return fmt.Errorf("flag BPF_F_LOCK on a map without bpf_spin_lock: %w", syscall.EINVAL)
	}
	k, err := d.key(key)
	if err != nil {
		return err
	}
	var scratch [8]byte
	v, err := mapvalue.Encode(value, int(d.spec.ValueSize), "value", scratch[:])
	if err != nil {
		return err
	}
	ifindex := binary.NativeEndian.Uint32(v)
	if flags > prog.UpdateExist {
		return fmt.Errorf("flags %#x, %s updates take BPF_ANY, BPF_NOEXIST or BPF_EXIST: %w", uint64(flags), d.spec.Type, syscall.EINVAL)
	}
	if d.hash && ifindex == 0 {
		return fmt.Errorf("key %d: ifindex 0: %w", k, syscall.EINVAL)
	}
	if !d.hash {
		if k >= d.spec.MaxEntries {
			return fmt.Errorf("index %d >= max_entries %d: %w", k, d.spec.MaxEntries, syscall.E2BIG)
		}
		if flags == prog.UpdateNoExist {
			return fmt.Errorf("index %d: array slots always exist: %w", k, errno(syscall.EEXIST))
		}
	}
	if len(v) == devmapValSize {
		if fd := int32(binary.NativeEndian.Uint32(v[4:])); fd > 0 {
			return fmt.Errorf("key %d: program fd %d: a userspace %s cannot run devmap programs: %w", k, fd, d.spec.Type, ErrNotSupported)
		}
	}
	entry := make([]byte, d.spec.ValueSize) // the program id stays 0
	binary.NativeEndian.PutUint32(entry, ifindex)
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.hash {
		if ifindex == 0 {
			entry = nil // __dev_map_update_elem: ifindex 0 clears the slot
		}
		d.slots[k] = entry
		return nil
	}
	old := d.entries[k]
	if old != nil && flags == prog.UpdateNoExist {
		return fmt.Errorf("key %d: %w", k, errno(syscall.EEXIST))
	}
	if old == nil {
		if len(d.entries) >= int(d.spec.MaxEntries) {
			return fmt.Errorf("map is full (%d entries): %w", d.spec.MaxEntries, syscall.E2BIG)
		}
		i, _ := slices.BinarySearch(d.keys, k)
		d.keys = slices.Insert(d.keys, i, k)
	}
	d.entries[k] = entry
	return nil
}

// Delete removes the entry of key.
func (d *DevMap) Delete(key any) error {
	if err := d.delete(key); err != nil {
		return opError(d.spec.Name, "delete", err)
	}
	return nil
}

func (d *DevMap) delete(key any) error {
	if err := userWrite(&d.spec); err != nil {
		return err
	}
	k, err := d.key(key)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.hash {
		if k >= d.spec.MaxEntries {
			return fmt.Errorf("index %d >= max_entries %d: %w", k, d.spec.MaxEntries, syscall.EINVAL)
		}
		d.slots[k] = nil
		return nil
	}
	if d.entries[k] == nil {
		return fmt.Errorf("key %d: %w", k, errno(syscall.ENOENT))
	}
	delete(d.entries, k)
	i, _ := slices.BinarySearch(d.keys, k)
	d.keys = slices.Delete(d.keys, i, i+1)
	return nil
}

// LookupAndDelete fails with ENOTSUPP, as in the kernel.
func (d *DevMap) LookupAndDelete(key, valueOut any) error {
	return noLookupAndDelete(&d.spec)
}

// NextKey walks the indexes of a DEVMAP as for an array, and the keys of
// a DEVMAP_HASH in ascending order.
func (d *DevMap) NextKey(key, nextKeyOut any) error {
	if err := d.nextKey(key, nextKeyOut); err != nil {
		return opError(d.spec.Name, "next key", err)
	}
	return nil
}

func (d *DevMap) nextKey(key, nextKeyOut any) error {
	if !d.hash {
		return arrayNextKey(&d.spec, key, nextKeyOut)
	}
	if err := userRead(&d.spec); err != nil {
		return err
	}
	out, err := mapvalue.View(nextKeyOut, 4, "next key")
	if err != nil {
		return err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	i := 0
	if key != nil {
		k, err := d.key(key)
		if err != nil {
			return err
		}
		if j, found := slices.BinarySearch(d.keys, k); found {
			i = j + 1
		}
	}
	if i >= len(d.keys) {
		return fmt.Errorf("no key after this one: %w", errno(syscall.ENOENT))
	}
	binary.NativeEndian.PutUint32(out, d.keys[i])
	return nil
}
