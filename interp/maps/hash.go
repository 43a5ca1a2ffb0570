package maps

import (
	"fmt"
	"sync"
	"syscall"
	"unsafe"

	"github.com/purebpf/purebpf/internal/hashprobe"
	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/prog"
)

// Hash is a hash map: BPF_MAP_TYPE_HASH (Linux 3.19), PERCPU_HASH (4.6),
// LRU_HASH or LRU_PERCPU_HASH (4.10), as in kernel/bpf/hashtab.c (Linux
// 6.x; errnos checked against 6.18).
//
// Inserting a new key into a full map fails with E2BIG, except in the LRU
// types, which evict the least recently used element instead. The kernel's
// LRU is approximate (per-CPU free lists, a reference bit, batch eviction
// that may evict before the map is full); this one is exact: the element
// evicted is always the one least recently inserted, updated or looked up
// by a program (LookupRaw). As in the kernel, lookups from user space
// (Lookup) do not count as uses.
//
// Replacing the value of a key in a plain (not per-CPU) hash installs new
// storage, as the kernel installs a new element: a slice returned by an
// earlier LookupRaw keeps the old value. Per-CPU values are updated in
// place, as in the kernel.
//
// NextKey walks keys in insertion order (a key that is deleted and
// re-inserted moves to the end); the kernel walks its buckets instead, so
// the two orders differ but both visit each key once.
type Hash struct {
	spec   prog.MapSpec
	percpu bool
	lru    bool
	cpus   int
	stride int

	mu    sync.Mutex
	elems map[string]*helem
	order list // insertion order, for NextKey
	lruL  list // recency order, most recent at the back
	// probe is the machine-probe index of elems (ProbeIndex), nil until
	// the JIT asks for it; kept in step with elems under mu.
	probe *hashprobe.Index
}

type helem struct {
	key  string
	val  []byte // ValueSize bytes, or CPUs × stride for per-CPU maps
	ord  node
	lruN node
}

// node links an element into a list.
type node struct {
	prev, next *helem
}

type list struct {
	head, tail *helem
	get        func(*helem) *node
}

func (l *list) pushBack(e *helem) {
	n := l.get(e)
	n.prev, n.next = l.tail, nil
	if l.tail != nil {
		l.get(l.tail).next = e
	} else {
		l.head = e
	}
	l.tail = e
}

func (l *list) remove(e *helem) {
	n := l.get(e)
	if n.prev != nil {
		l.get(n.prev).next = n.next
	} else {
		l.head = n.next
	}
	if n.next != nil {
		l.get(n.next).prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = nil, nil
}

func (l *list) moveToBack(e *helem) {
	if l.tail == e {
		return
	}
	l.remove(e)
	l.pushBack(e)
}

func hashCheck(spec prog.MapSpec) error {
	const mask = flagNoPrealloc | flagNoCommonLRU | flagNUMANode | flagAccessMask | flagZeroSeed
	lru := spec.Type == prog.LRUHash || spec.Type == prog.LRUPerCPUHash
	percpu := spec.Type == prog.PerCPUHash || spec.Type == prog.LRUPerCPUHash
	switch {
	case spec.Flags&^mask != 0:
		return invalid("flags %#x has bits %#x not valid for %s", spec.Flags, spec.Flags&^mask, spec.Type)
	case lru && spec.Flags&flagNoPrealloc != 0:
		return fmt.Errorf("flags %#x: BPF_F_NO_PREALLOC on an LRU map: %w", spec.Flags, ENOTSUPP)
	case !lru && spec.Flags&flagNoCommonLRU != 0:
		return invalid("flags %#x: BPF_F_NO_COMMON_LRU on a non-LRU map", spec.Flags)
	case percpu && spec.Flags&flagNUMANode != 0:
		// MapSpec has no numa_node, so the flag means node 0.
		return invalid("flags %#x: BPF_F_NUMA_NODE on a per-CPU map", spec.Flags)
	}
	if err := checkAccessFlags(spec.Flags); err != nil {
		return err
	}
	switch {
	case spec.MaxEntries == 0:
		return invalid("max_entries is 0")
	case spec.KeySize == 0:
		return invalid("key_size is 0")
	case spec.ValueSize == 0:
		return invalid("value_size is 0")
	case uint64(spec.KeySize)+uint64(spec.ValueSize) >= kmallocMaxSize-htabElemOverhead:
		return fmt.Errorf("key_size %d + value_size %d must be below KMALLOC_MAX_SIZE %d - %d: %w", spec.KeySize, spec.ValueSize, kmallocMaxSize, htabElemOverhead, syscall.E2BIG)
	case percpu && mapvalue.PerCPUStride(int(spec.ValueSize)) > pcpuMinUnitSize:
		return fmt.Errorf("value_size %d exceeds the per-CPU limit %d: %w", spec.ValueSize, pcpuMinUnitSize, syscall.E2BIG)
	}
	return nil
}

func newHash(spec prog.MapSpec, opts *Options) (*Hash, error) {
	if err := hashCheck(spec); err != nil {
		return nil, err
	}
	h := &Hash{
		spec:   spec,
		percpu: spec.Type == prog.PerCPUHash || spec.Type == prog.LRUPerCPUHash,
		lru:    spec.Type == prog.LRUHash || spec.Type == prog.LRUPerCPUHash,
		cpus:   1,
		stride: mapvalue.PerCPUStride(int(spec.ValueSize)),
		elems:  make(map[string]*helem),
	}
	if h.percpu {
		h.cpus = opts.cpus()
	}
	h.order.get = func(e *helem) *node { return &e.ord }
	h.lruL.get = func(e *helem) *node { return &e.lruN }
	return h, nil
}

// MapSpec returns the map's spec.
func (h *Hash) MapSpec() prog.MapSpec { return h.spec }

// CPUs returns the number of values per key: Options.CPUs for per-CPU
// maps, else 1.
func (h *Hash) CPUs() int { return h.cpus }

// CPUStride returns the bytes between two CPUs' values in an element of
// a per-CPU map (ValueSize rounded up to 8).
func (h *Hash) CPUStride() int { return h.stride }

// Len returns the number of elements.
func (h *Hash) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.elems)
}

func (h *Hash) cpuValue(e *helem, cpu int) []byte {
	vs := int(h.spec.ValueSize)
	if !h.percpu {
		return e.val[:vs:vs]
	}
	off := cpu * h.stride
	return e.val[off : off+vs : off+vs]
}

// LookupRaw returns the value of key (CPU cpu's for per-CPU maps) aliasing
// the element, or nil. In LRU maps it marks the element most recently
// used. It does not allocate.
func (h *Hash) LookupRaw(key []byte, cpu int) []byte {
	if len(key) != int(h.spec.KeySize) || (h.percpu && (cpu < 0 || cpu >= h.cpus)) {
		return nil
	}
	h.mu.Lock()
	e := h.elems[string(key)]
	if e == nil {
		h.mu.Unlock()
		return nil
	}
	if h.lru {
		h.lruL.moveToBack(e)
	}
	v := h.cpuValue(e, cpu)
	h.mu.Unlock()
	return v
}

// ProbeIndex returns the map's machine-probe index, which the JIT's
// generated code searches for a program's bpf_map_lookup_elem without
// the map's mutex (internal/hashprobe), building it on first use; nil for
// LRU maps, whose lookups by programs refresh recency, which only Go
// does. It is for package jit: the index has no use elsewhere.
func (h *Hash) ProbeIndex() *hashprobe.Index {
	if h.lru {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.probe == nil {
		x := hashprobe.New(int(h.spec.KeySize))
		for e := h.order.head; e != nil; e = e.ord.next {
			x.Set(e.key, unsafe.Pointer(unsafe.SliceData(e.val)))
		}
		h.probe = x
	}
	return h.probe
}

// insert implements htab_map_update_elem and its per-CPU and LRU
// variants. Called with h.mu held. set fills a new or existing value.
// fresh says whether a new per-CPU element starts zeroed on other CPUs.
func (h *Hash) insert(key []byte, flags prog.UpdateFlags, set func(val []byte, existing bool)) error {
	if err := checkUpdateFlags(flags); err != nil {
		return err
	}
	old := h.elems[string(key)]
	if old != nil && flags == prog.UpdateNoExist {
		return errno(syscall.EEXIST)
	}
	if old == nil && flags == prog.UpdateExist {
		return errno(syscall.ENOENT)
	}
	if old != nil {
		if h.percpu {
			set(old.val, true)
		} else {
			nv := make([]byte, len(old.val))
			set(nv, false)
			old.val = nv
			if h.probe != nil {
				h.probe.Set(old.key, unsafe.Pointer(unsafe.SliceData(nv)))
			}
		}
		if h.lru {
			h.lruL.moveToBack(old)
		}
		return nil
	}
	if uint32(len(h.elems)) >= h.spec.MaxEntries {
		if !h.lru {
			return fmt.Errorf("map full (%d entries): %w", h.spec.MaxEntries, syscall.E2BIG)
		}
		h.removeElem(h.lruL.head)
	}
	size := int(h.spec.ValueSize)
	if h.percpu {
		size = h.cpus * h.stride
	}
	e := &helem{key: string(key), val: make([]byte, size)}
	set(e.val, false)
	h.elems[e.key] = e
	if h.probe != nil {
		h.probe.Set(e.key, unsafe.Pointer(unsafe.SliceData(e.val)))
	}
	h.order.pushBack(e)
	if h.lru {
		h.lruL.pushBack(e)
	}
	return nil
}

func (h *Hash) removeElem(e *helem) {
	delete(h.elems, e.key)
	if h.probe != nil {
		h.probe.Delete(e.key)
	}
	h.order.remove(e)
	if h.lru {
		h.lruL.remove(e)
	}
}

// UpdateRaw is bpf_map_update_elem from a program. For per-CPU maps only
// CPU cpu's value is written; a new element's other CPUs start at zero.
func (h *Hash) UpdateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error {
	if err := h.updateRaw(key, value, flags, cpu); err != nil {
		return opError(h.spec.Name, "update", err)
	}
	return nil
}

func (h *Hash) updateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error {
	if len(key) != int(h.spec.KeySize) {
		return fmt.Errorf("key is %d bytes, map wants %d: %w", len(key), h.spec.KeySize, mapvalue.ErrSize)
	}
	if len(value) != int(h.spec.ValueSize) {
		return fmt.Errorf("value is %d bytes, map wants %d: %w", len(value), h.spec.ValueSize, mapvalue.ErrSize)
	}
	if h.percpu && (cpu < 0 || cpu >= h.cpus) {
		return fmt.Errorf("cpu %d out of range [0,%d): %w", cpu, h.cpus, syscall.EINVAL)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.insert(key, flags, func(val []byte, existing bool) {
		if !h.percpu {
			copy(val, value)
			return
		}
		copy(val[cpu*h.stride:], value)
	})
}

// DeleteRaw removes key; ErrKeyNotExist when it is absent.
func (h *Hash) DeleteRaw(key []byte) error {
	if len(key) != int(h.spec.KeySize) {
		return opError(h.spec.Name, "delete", fmt.Errorf("key is %d bytes, map wants %d: %w", len(key), h.spec.KeySize, mapvalue.ErrSize))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.elems[string(key)]
	if e == nil {
		return opError(h.spec.Name, "delete", errno(syscall.ENOENT))
	}
	h.removeElem(e)
	return nil
}

// Lookup copies the value of key into valueOut (every CPU's value for
// per-CPU maps). It does not refresh LRU recency.
func (h *Hash) Lookup(key, valueOut any) error {
	if err := h.lookup(key, valueOut, false); err != nil {
		return opError(h.spec.Name, "lookup", err)
	}
	return nil
}

// LookupAndDelete copies the value of key into valueOut and removes the
// element (BPF_MAP_LOOKUP_AND_DELETE_ELEM, Linux 5.14 and later for hash
// maps).
func (h *Hash) LookupAndDelete(key, valueOut any) error {
	if err := userReadWrite(&h.spec); err != nil {
		return opError(h.spec.Name, "lookup and delete", err)
	}
	if err := h.lookup(key, valueOut, true); err != nil {
		return opError(h.spec.Name, "lookup and delete", err)
	}
	return nil
}

func (h *Hash) lookup(key, valueOut any, del bool) error {
	if err := userRead(&h.spec); err != nil {
		return err
	}
	var scratch [64]byte
	k, err := keyBytes(&h.spec, key, scratch[:])
	if err != nil {
		return err
	}
	vs := int(h.spec.ValueSize)
	var out []byte
	if h.percpu {
		out, err = mapvalue.PerCPUView(valueOut, vs, h.cpus, "value")
	} else {
		out, err = mapvalue.View(valueOut, vs, "value")
	}
	if err != nil {
		return err
	}
	h.mu.Lock()
	e := h.elems[string(k)]
	if e == nil {
		h.mu.Unlock()
		return errno(syscall.ENOENT)
	}
	copy(out, e.val)
	if del {
		h.removeElem(e)
	}
	h.mu.Unlock()
	if h.percpu {
		return mapvalue.PerCPUDecode(out, valueOut, vs, h.cpus, "value")
	}
	return nil
}

// Update creates or replaces key's value as flags allow: ErrKeyExist for
// UpdateNoExist on an existing key, ErrKeyNotExist for UpdateExist on a
// missing one, E2BIG for a new key in a full non-LRU map, EINVAL for
// unknown flags and for UpdateLock (no bpf_spin_lock support). Per-CPU
// maps take every CPU's value.
func (h *Hash) Update(key, value any, flags prog.UpdateFlags) error {
	if err := h.update(key, value, flags); err != nil {
		return opError(h.spec.Name, "update", err)
	}
	return nil
}

func (h *Hash) update(key, value any, flags prog.UpdateFlags) error {
	if err := userWrite(&h.spec); err != nil {
		return err
	}
	if flags&prog.UpdateLock != 0 {
		return fmt.Errorf("flag BPF_F_LOCK on a map without bpf_spin_lock: %w", syscall.EINVAL)
	}
	var kscratch [64]byte
	k, err := keyBytes(&h.spec, key, kscratch[:])
	if err != nil {
		return err
	}
	vs := int(h.spec.ValueSize)
	var v []byte
	if h.percpu {
		v, err = mapvalue.PerCPUEncode(value, vs, h.cpus, "value", nil)
	} else {
		var vscratch [64]byte
		v, err = mapvalue.Encode(value, vs, "value", vscratch[:])
	}
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.insert(k, flags, func(val []byte, _ bool) { copy(val, v) })
}

// Delete removes key; ErrKeyNotExist when it is absent.
func (h *Hash) Delete(key any) error {
	if err := userWrite(&h.spec); err != nil {
		return opError(h.spec.Name, "delete", err)
	}
	var scratch [64]byte
	k, err := keyBytes(&h.spec, key, scratch[:])
	if err != nil {
		return opError(h.spec.Name, "delete", err)
	}
	return h.DeleteRaw(k)
}

// NextKey writes the key after key in iteration order; a nil or missing
// key gives the first key (htab_map_get_next_key), the last key or an
// empty map gives ErrKeyNotExist.
func (h *Hash) NextKey(key, nextKeyOut any) error {
	if err := h.nextKey(key, nextKeyOut); err != nil {
		return opError(h.spec.Name, "next key", err)
	}
	return nil
}

func (h *Hash) nextKey(key, nextKeyOut any) error {
	if err := userRead(&h.spec); err != nil {
		return err
	}
	out, err := mapvalue.View(nextKeyOut, int(h.spec.KeySize), "next key")
	if err != nil {
		return err
	}
	var k []byte
	if key != nil {
		var scratch [64]byte
		if k, err = keyBytes(&h.spec, key, scratch[:]); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	next := h.order.head
	if k != nil {
		if e := h.elems[string(k)]; e != nil {
			next = e.ord.next
		}
	}
	if next == nil {
		return errno(syscall.ENOENT)
	}
	copy(out, next.key)
	return nil
}
