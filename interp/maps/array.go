package maps

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"syscall"

	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/prog"
)

// Array is an array map (BPF_MAP_TYPE_ARRAY, Linux 3.19) or a per-CPU
// array map (BPF_MAP_TYPE_PERCPU_ARRAY, Linux 4.6), as in
// kernel/bpf/arraymap.c (Linux 6.x; errnos checked against 6.18).
//
// Keys are uint32 indexes; every element always exists, zeroed at
// creation. Each CPU's values are one contiguous []byte, allocated once,
// whose address never changes: element i starts at i × the value size
// rounded up to 8, the kernel's elem_size. LookupRaw does not lock, since
// the storage is fixed; concurrent writes to the same element race exactly
// as they do in the kernel.
type Array struct {
	spec    prog.MapSpec
	percpu  bool
	stride  int
	cpus    int
	storage [][]byte // one per CPU (one in all for a plain array)
	mu      sync.Mutex
}

func arrayCheck(spec prog.MapSpec, cpus int) error {
	const mask = flagNUMANode | flagMmapable | flagAccessMask | flagPreserveElem | flagInnerMap
	percpu := spec.Type == prog.PerCPUArray
	switch {
	case spec.MaxEntries == 0:
		return invalid("max_entries is 0")
	case spec.KeySize != 4:
		return invalid("key_size %d, array keys are 4 bytes", spec.KeySize)
	case spec.ValueSize == 0:
		return invalid("value_size is 0")
	case spec.Flags&^mask != 0:
		return invalid("flags %#x has bits %#x not valid for %s", spec.Flags, spec.Flags&^mask, spec.Type)
	case percpu && spec.Flags&flagNUMANode != 0:
		return invalid("flags %#x: BPF_F_NUMA_NODE on a per-CPU array", spec.Flags)
	case spec.Type != prog.Array && spec.Flags&(flagMmapable|flagInnerMap) != 0:
		return invalid("flags %#x: BPF_F_MMAPABLE and BPF_F_INNER_MAP are for plain arrays only", spec.Flags)
	case spec.Type != prog.PerfEventArray && spec.Flags&flagPreserveElem != 0:
		return invalid("flags %#x: BPF_F_PRESERVE_ELEMS is for perf event arrays only", spec.Flags)
	}
	if err := checkAccessFlags(spec.Flags); err != nil {
		return err
	}
	if spec.ValueSize > math.MaxInt32 {
		return fmt.Errorf("value_size %d exceeds INT_MAX: %w", spec.ValueSize, syscall.E2BIG)
	}
	if percpu && mapvalue.PerCPUStride(int(spec.ValueSize)) > pcpuMinUnitSize {
		return fmt.Errorf("value_size %d rounded to 8 exceeds the per-CPU limit %d: %w", spec.ValueSize, pcpuMinUnitSize, syscall.E2BIG)
	}
	total := uint64(spec.MaxEntries) * uint64(mapvalue.PerCPUStride(int(spec.ValueSize)))
	if percpu {
		total *= uint64(cpus)
	}
	if total > maxPrealloc {
		return fmt.Errorf("max_entries %d × value_size %d needs %d bytes: %w", spec.MaxEntries, spec.ValueSize, total, syscall.ENOMEM)
	}
	return nil
}

func newArray(spec prog.MapSpec, opts *Options) (*Array, error) {
	cpus := 1
	percpu := spec.Type == prog.PerCPUArray
	if percpu {
		cpus = opts.cpus()
	}
	if err := arrayCheck(spec, cpus); err != nil {
		return nil, err
	}
	a := &Array{
		spec:    spec,
		percpu:  percpu,
		stride:  mapvalue.PerCPUStride(int(spec.ValueSize)),
		cpus:    cpus,
		storage: make([][]byte, cpus),
	}
	for c := range a.storage {
		a.storage[c] = make([]byte, int(spec.MaxEntries)*a.stride)
	}
	return a, nil
}

// MapSpec returns the map's spec.
func (a *Array) MapSpec() prog.MapSpec { return a.spec }

// CPUs returns the number of CPUs the map holds values for: Options.CPUs
// for a per-CPU array, 1 for a plain one.
func (a *Array) CPUs() int { return a.cpus }

// Storage returns the map's values for CPU cpu (any cpu for a plain
// array): one contiguous slice of MaxEntries × round8(ValueSize) bytes
// whose address never changes, for the VM to expose as a memory region
// (direct value access through LD_IMM64 BPF_PSEUDO_MAP_VALUE). It returns
// nil for a cpu out of range.
func (a *Array) Storage(cpu int) []byte {
	if !a.percpu {
		return a.storage[0]
	}
	if cpu < 0 || cpu >= a.cpus {
		return nil
	}
	return a.storage[cpu]
}

// ElemSize returns the distance between elements in Storage: ValueSize
// rounded up to 8.
func (a *Array) ElemSize() int { return a.stride }

func (a *Array) index(key []byte) (uint32, bool) {
	if len(key) != 4 {
		return 0, false
	}
	return binary.NativeEndian.Uint32(key), true
}

func (a *Array) elem(cpu int, i uint32) []byte {
	s := a.storage[cpu]
	off := int(i) * a.stride
	return s[off : off+int(a.spec.ValueSize) : off+int(a.spec.ValueSize)]
}

// LookupRaw returns element key for CPU cpu, aliasing Storage, or nil
// when the index is out of range (or cpu is, for a per-CPU array).
func (a *Array) LookupRaw(key []byte, cpu int) []byte {
	i, ok := a.index(key)
	if !ok || i >= a.spec.MaxEntries {
		return nil
	}
	if !a.percpu {
		cpu = 0
	} else if cpu < 0 || cpu >= a.cpus {
		return nil
	}
	return a.elem(cpu, i)
}

// update is array_map_update_elem: flags beyond BPF_EXIST (other than
// BPF_F_LOCK) are EINVAL, then an index out of range is E2BIG, BPF_NOEXIST
// EEXIST since every element exists, and only then BPF_F_LOCK EINVAL (no
// bpf_spin_lock); the order matters for programs, which reach this check
// without the syscall's earlier BPF_F_LOCK check (Linux 6.x).
func (a *Array) update(key []byte, flags prog.UpdateFlags) (uint32, error) {
	if flags&^prog.UpdateLock > prog.UpdateExist {
		return 0, fmt.Errorf("flags %#x: %w", uint64(flags), syscall.EINVAL)
	}
	i, ok := a.index(key)
	if !ok {
		return 0, fmt.Errorf("key is %d bytes, want 4: %w", len(key), mapvalue.ErrSize)
	}
	if i >= a.spec.MaxEntries {
		return 0, fmt.Errorf("index %d >= max_entries %d: %w", i, a.spec.MaxEntries, syscall.E2BIG)
	}
	if flags&prog.UpdateNoExist != 0 {
		return 0, fmt.Errorf("index %d: array elements always exist: %w", i, errno(syscall.EEXIST))
	}
	if flags&prog.UpdateLock != 0 {
		return 0, fmt.Errorf("flag BPF_F_LOCK on a map without bpf_spin_lock: %w", syscall.EINVAL)
	}
	return i, nil
}

// UpdateRaw stores value at index key (for CPU cpu in a per-CPU array).
func (a *Array) UpdateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error {
	i, err := a.update(key, flags)
	if err != nil {
		return opError(a.spec.Name, "update", err)
	}
	if len(value) != int(a.spec.ValueSize) {
		return opError(a.spec.Name, "update", fmt.Errorf("value is %d bytes, map wants %d: %w", len(value), a.spec.ValueSize, mapvalue.ErrSize))
	}
	if !a.percpu {
		cpu = 0
	} else if cpu < 0 || cpu >= a.cpus {
		return opError(a.spec.Name, "update", fmt.Errorf("cpu %d out of range [0,%d): %w", cpu, a.cpus, syscall.EINVAL))
	}
	a.mu.Lock()
	copy(a.elem(cpu, i), value)
	a.mu.Unlock()
	return nil
}

// DeleteRaw fails with EINVAL: array elements cannot be deleted.
func (a *Array) DeleteRaw(key []byte) error {
	return opError(a.spec.Name, "delete", fmt.Errorf("array elements cannot be deleted: %w", syscall.EINVAL))
}

// Lookup copies the value at index key into valueOut (all CPUs' values
// for a per-CPU array). An index out of range is ErrKeyNotExist.
func (a *Array) Lookup(key, valueOut any) error {
	if err := a.lookup(key, valueOut); err != nil {
		return opError(a.spec.Name, "lookup", err)
	}
	return nil
}

func (a *Array) lookup(key, valueOut any) error {
	if err := userRead(&a.spec); err != nil {
		return err
	}
	var scratch [8]byte
	k, err := keyBytes(&a.spec, key, scratch[:])
	if err != nil {
		return err
	}
	i, _ := a.index(k)
	vs := int(a.spec.ValueSize)
	if !a.percpu {
		out, err := mapvalue.View(valueOut, vs, "value")
		if err != nil {
			return err
		}
		if i >= a.spec.MaxEntries {
			return fmt.Errorf("index %d >= max_entries %d: %w", i, a.spec.MaxEntries, errno(syscall.ENOENT))
		}
		a.mu.Lock()
		copy(out, a.elem(0, i))
		a.mu.Unlock()
		return nil
	}
	buf, err := mapvalue.PerCPUView(valueOut, vs, a.cpus, "value")
	if err != nil {
		return err
	}
	if i >= a.spec.MaxEntries {
		return fmt.Errorf("index %d >= max_entries %d: %w", i, a.spec.MaxEntries, errno(syscall.ENOENT))
	}
	a.mu.Lock()
	for c := 0; c < a.cpus; c++ {
		copy(buf[c*a.stride:(c+1)*a.stride], a.storage[c][int(i)*a.stride:int(i+1)*a.stride])
	}
	a.mu.Unlock()
	return mapvalue.PerCPUDecode(buf, valueOut, vs, a.cpus, "value")
}

// Update stores value at index key: for a per-CPU array, value holds every
// CPU's value (mapvalue.PerCPUEncode's forms).
func (a *Array) Update(key, value any, flags prog.UpdateFlags) error {
	if err := a.userUpdate(key, value, flags); err != nil {
		return opError(a.spec.Name, "update", err)
	}
	return nil
}

func (a *Array) userUpdate(key, value any, flags prog.UpdateFlags) error {
	if err := userWrite(&a.spec); err != nil {
		return err
	}
	if flags&prog.UpdateLock != 0 {
		return fmt.Errorf("flag BPF_F_LOCK on a map without bpf_spin_lock: %w", syscall.EINVAL)
	}
	var kscratch [8]byte
	k, err := keyBytes(&a.spec, key, kscratch[:])
	if err != nil {
		return err
	}
	vs := int(a.spec.ValueSize)
	var v []byte
	if a.percpu {
		v, err = mapvalue.PerCPUEncode(value, vs, a.cpus, "value", nil)
	} else {
		var vscratch [16]byte
		v, err = mapvalue.Encode(value, vs, "value", vscratch[:])
	}
	if err != nil {
		return err
	}
	i, err := a.update(k, flags)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.percpu {
		copy(a.elem(0, i), v)
		return nil
	}
	for c := 0; c < a.cpus; c++ {
		copy(a.elem(c, i), v[c*a.stride:c*a.stride+vs])
	}
	return nil
}

// Delete fails with EINVAL, as in the kernel.
func (a *Array) Delete(key any) error {
	if err := userWrite(&a.spec); err != nil {
		return opError(a.spec.Name, "delete", err)
	}
	var scratch [8]byte
	if _, err := keyBytes(&a.spec, key, scratch[:]); err != nil {
		return opError(a.spec.Name, "delete", err)
	}
	return a.DeleteRaw(nil)
}

// LookupAndDelete fails with ENOTSUPP: the kernel supports it only for
// hash, queue and stack maps.
func (a *Array) LookupAndDelete(key, valueOut any) error {
	return noLookupAndDelete(&a.spec)
}

// NextKey writes the index after key: 0 for a nil key or one out of range
// (array_map_get_next_key), ErrKeyNotExist after the last index.
func (a *Array) NextKey(key, nextKeyOut any) error {
	if err := arrayNextKey(&a.spec, key, nextKeyOut); err != nil {
		return opError(a.spec.Name, "next key", err)
	}
	return nil
}

func arrayNextKey(spec *prog.MapSpec, key, nextKeyOut any) error {
	if err := userRead(spec); err != nil {
		return err
	}
	out, err := mapvalue.View(nextKeyOut, 4, "next key")
	if err != nil {
		return err
	}
	next := uint32(0)
	if key != nil {
		var scratch [8]byte
		k, err := keyBytes(spec, key, scratch[:])
		if err != nil {
			return err
		}
		i := binary.NativeEndian.Uint32(k)
		if i < spec.MaxEntries {
			if i == spec.MaxEntries-1 {
				return fmt.Errorf("index %d is the last: %w", i, errno(syscall.ENOENT))
			}
			next = i + 1
		}
	}
	binary.NativeEndian.PutUint32(out, next)
	return nil
}
