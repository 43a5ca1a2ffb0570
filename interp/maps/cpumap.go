package maps

import (
	"encoding/binary"
	"fmt"
	"sync"
	"syscall"

	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/prog"
)

const (
	// cpumapMaxQsize is the largest queue size a CPU map entry takes
	// (cpu_map_update_elem's sanity limit).
	cpumapMaxQsize = 16384
	// cpumapMaxEntries stands for NR_CPUS, the kernel's build-time
	// limit on a CPU map's max_entries (8192 in Debian's x86-64 kernels,
	// lower in smaller builds).
	cpumapMaxEntries = 8192
)

// CPUMap is a CPU map (BPF_MAP_TYPE_CPUMAP, Linux 4.15) for
// bpf_redirect_map in XDP programs: an array indexed by CPU whose
// entries are struct bpf_cpumap_val, a queue size and, with an 8-byte
// value, the id of a program to run on the redirected frame. A userspace
// run redirects to no CPU; it reports the target (interp.XDPMeta.Redirect,
// with the CPU as the key).
//
// It behaves as kernel/bpf/cpumap.c (checked against Linux 6.18):
// creation wants 4-byte keys, 4- or 8-byte values, no flag but
// BPF_F_NUMA_NODE, and at most NR_CPUS entries (E2BIG; 8192 here).
// Updates take BPF_ANY or BPF_EXIST (other flags EINVAL), an index out of
// range is E2BIG, BPF_NOEXIST EEXIST, a queue size above 16384 EOVERFLOW,
// a CPU that is not possible (Options.CPUs) ENODEV, and a queue size of
// 0 empties the entry. Delete of an index out of range is EINVAL, of an
// empty one succeeds; NextKey walks every index; LookupAndDelete is
// ENOTSUPP. CPU map programs cannot be attached: a positive program fd
// is an error wrapping ErrNotSupported. Programs may only redirect
// through the map (the verifier refuses every other helper on it).
type CPUMap struct {
	spec    prog.MapSpec
	cpus    int
	mu      sync.RWMutex
	entries [][]byte // nil: empty; an entry is never changed once stored
}

func newCPUMap(spec prog.MapSpec, opts *Options) (*CPUMap, error) {
	switch {
	case spec.MaxEntries == 0:
		return nil, invalid("max_entries is 0")
	case spec.KeySize != 4:
		return nil, invalid("key_size %d, %s keys are 4 bytes", spec.KeySize, spec.Type)
	case spec.ValueSize != 4 && spec.ValueSize != 8:
		return nil, invalid("value_size %d, %s values are struct bpf_cpumap_val (4 or 8 bytes)", spec.ValueSize, spec.Type)
	case spec.Flags&^flagNUMANode != 0:
		return nil, invalid("flags %#x: %s takes only BPF_F_NUMA_NODE", spec.Flags, spec.Type)
	case spec.MaxEntries > cpumapMaxEntries:
		return nil, fmt.Errorf("max_entries %d is more than NR_CPUS (%d): %w", spec.MaxEntries, cpumapMaxEntries, syscall.E2BIG)
	}
	return &CPUMap{spec: spec, cpus: opts.cpus(), entries: make([][]byte, spec.MaxEntries)}, nil
}

// MapSpec returns the map's spec.
func (c *CPUMap) MapSpec() prog.MapSpec { return c.spec }

// LookupRaw returns the entry of CPU key, or nil: what bpf_redirect_map
// looks up.
func (c *CPUMap) LookupRaw(key []byte, cpu int) []byte {
	return slotOf(&c.mu, c.entries, key)
}

// UpdateRaw fails as the verifier refuses it: programs cannot update CPU
// maps.
func (c *CPUMap) UpdateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error {
	return programCannot(c.spec, "update", "bpf_redirect_map")
}

// DeleteRaw fails as the verifier refuses it: programs cannot delete
// from CPU maps.
func (c *CPUMap) DeleteRaw(key []byte) error {
	return programCannot(c.spec, "delete", "bpf_redirect_map")
}

func (c *CPUMap) key(key any) (uint32, error) {
	var scratch [8]byte
	k, err := keyBytes(&c.spec, key, scratch[:])
	if err != nil {
		return 0, err
	}
	return binary.NativeEndian.Uint32(k), nil
}

// Lookup copies the entry of CPU key (struct bpf_cpumap_val, program id
// 0) into valueOut; an empty or out-of-range one is ErrKeyNotExist.
func (c *CPUMap) Lookup(key, valueOut any) error {
	if err := c.lookup(key, valueOut); err != nil {
		return opError(c.spec.Name, "lookup", err)
	}
	return nil
}

func (c *CPUMap) lookup(key, valueOut any) error {
	k, err := c.key(key)
	if err != nil {
		return err
	}
	out, err := mapvalue.View(valueOut, int(c.spec.ValueSize), "value")
	if err != nil {
		return err
	}
	v := c.LookupRaw(binary.NativeEndian.AppendUint32(nil, k), 0)
	if v == nil {
		return fmt.Errorf("cpu %d: %w", k, errno(syscall.ENOENT))
	}
	copy(out, v)
	return nil
}

// Update sets the entry of CPU key to value, a struct bpf_cpumap_val (a
// uint32 queue size for 4-byte values).
func (c *CPUMap) Update(key, value any, flags prog.UpdateFlags) error {
	if err := c.update(key, value, flags); err != nil {
		return opError(c.spec.Name, "update", err)
	}
	return nil
}

func (c *CPUMap) update(key, value any, flags prog.UpdateFlags) error {
	if flags&prog.UpdateLock != 0 {
		return fmt.Errorf("flag BPF_F_LOCK on a map without bpf_spin_lock: %w", syscall.EINVAL)
	}
	k, err := c.key(key)
	if err != nil {
		return err
	}
	var scratch [8]byte
	v, err := mapvalue.Encode(value, int(c.spec.ValueSize), "value", scratch[:])
	if err != nil {
		return err
	}
	qsize := binary.NativeEndian.Uint32(v)
	switch {
	case flags > prog.UpdateExist:
		return fmt.Errorf("flags %#x, %s updates take BPF_ANY or BPF_EXIST: %w", uint64(flags), c.spec.Type, syscall.EINVAL)
	case k >= c.spec.MaxEntries:
		return fmt.Errorf("cpu %d >= max_entries %d: %w", k, c.spec.MaxEntries, syscall.E2BIG)
	case flags == prog.UpdateNoExist:
		return fmt.Errorf("cpu %d: array slots always exist: %w", k, errno(syscall.EEXIST))
	case qsize > cpumapMaxQsize:
		return fmt.Errorf("cpu %d: qsize %d is more than %d: %w", k, qsize, cpumapMaxQsize, syscall.EOVERFLOW)
	case int(k) >= c.cpus:
		return fmt.Errorf("cpu %d is not a possible CPU (%d): %w", k, c.cpus, syscall.ENODEV)
	}
	var entry []byte
	if qsize != 0 {
		if len(v) == 8 {
			if fd := int32(binary.NativeEndian.Uint32(v[4:])); fd > 0 {
				return fmt.Errorf("cpu %d: program fd %d: a userspace %s cannot run cpumap programs: %w", k, fd, c.spec.Type, ErrNotSupported)
			}
		}
		entry = make([]byte, c.spec.ValueSize) // the program id stays 0
		binary.NativeEndian.PutUint32(entry, qsize)
	}
	c.mu.Lock()
	c.entries[k] = entry
	c.mu.Unlock()
	return nil
}

// Delete empties the entry of CPU key.
func (c *CPUMap) Delete(key any) error {
	k, err := c.key(key)
	if err == nil && k >= c.spec.MaxEntries {
		err = fmt.Errorf("cpu %d >= max_entries %d: %w", k, c.spec.MaxEntries, syscall.EINVAL)
	}
	if err != nil {
		return opError(c.spec.Name, "delete", err)
	}
	c.mu.Lock()
	c.entries[k] = nil
	c.mu.Unlock()
	return nil
}

// LookupAndDelete fails with ENOTSUPP, as in the kernel.
func (c *CPUMap) LookupAndDelete(key, valueOut any) error {
	return opError(c.spec.Name, "lookup and delete", fmt.Errorf("%s maps: %w", c.spec.Type, ENOTSUPP))
}

// NextKey walks the CPU indexes as for an array.
func (c *CPUMap) NextKey(key, nextKeyOut any) error {
	if err := arrayNextKey(&c.spec, key, nextKeyOut); err != nil {
		return opError(c.spec.Name, "next key", err)
	}
	return nil
}

// slotOf returns the slot of slots that a 4-byte array key names, under
// mu, or nil for a key of another size or past the slots: the program's
// lookup of CPU and socket maps.
func slotOf(mu *sync.RWMutex, slots [][]byte, key []byte) []byte {
	if len(key) != 4 {
		return nil
	}
	k := binary.NativeEndian.Uint32(key)
	if k >= uint32(len(slots)) {
		return nil
	}
	mu.RLock()
	v := slots[k]
	mu.RUnlock()
	return v
}

// programCannot is the error of a program's update or delete (op) of a
// map of spec, which the verifier refuses: only the helpers named in only
// take such a map.
func programCannot(spec prog.MapSpec, op, only string) error {
	prep := map[string]string{"update": "update a", "delete": "delete from a"}[op]
	return opError(spec.Name, op, fmt.Errorf("programs cannot %s %s (only %s): %w", prep, spec.Type, only, syscall.EINVAL))
}
