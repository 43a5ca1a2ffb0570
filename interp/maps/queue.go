package maps

import (
	"fmt"
	"sync"
	"syscall"

	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/prog"
)

// Queue is a queue (BPF_MAP_TYPE_QUEUE, FIFO) or stack
// (BPF_MAP_TYPE_STACK, LIFO) map, as in kernel/bpf/queue_stack_maps.c
// (Linux 4.20 and later). It has no keys: KeySize is 0.
//
// Through prog.Mapper, Update(nil, v, flags) pushes, Lookup(nil, out)
// peeks and LookupAndDelete(nil, out) pops. Pushing onto a full map fails
// with E2BIG unless flags is UpdateExist, which drops the oldest element
// to make room (for a stack as for a queue). UpdateNoExist is EINVAL.
// Delete and NextKey are EINVAL.
type Queue struct {
	spec  prog.MapSpec
	stack bool
	mu    sync.Mutex
	// A ring of MaxEntries+1 slots, as the kernel's: head is where the next
	// push goes, tail is the oldest element.
	elems      []byte
	size       uint32
	head, tail uint32
}

func newQueue(spec prog.MapSpec) (*Queue, error) {
	const mask = flagNUMANode | flagAccessMask
	switch {
	case spec.MaxEntries == 0:
		return nil, invalid("max_entries is 0")
	case spec.KeySize != 0:
		return nil, invalid("key_size %d, %s maps have no key (0)", spec.KeySize, spec.Type)
	case spec.ValueSize == 0:
		return nil, invalid("value_size is 0")
	case spec.Flags&^mask != 0:
		return nil, invalid("flags %#x has bits %#x not valid for %s", spec.Flags, spec.Flags&^mask, spec.Type)
	}
	if err := checkAccessFlags(spec.Flags); err != nil {
		return nil, err
	}
	if spec.ValueSize > kmallocMaxSize {
		return nil, fmt.Errorf("value_size %d exceeds KMALLOC_MAX_SIZE %d: %w", spec.ValueSize, kmallocMaxSize, syscall.E2BIG)
	}
	total := (uint64(spec.MaxEntries) + 1) * uint64(spec.ValueSize)
	if total > maxPrealloc {
		return nil, fmt.Errorf("max_entries %d × value_size %d needs %d bytes: %w", spec.MaxEntries, spec.ValueSize, total, syscall.ENOMEM)
	}
	return &Queue{
		spec:  spec,
		stack: spec.Type == prog.Stack,
		elems: make([]byte, total),
		size:  spec.MaxEntries + 1,
	}, nil
}

// MapSpec returns the map's spec.
func (q *Queue) MapSpec() prog.MapSpec { return q.spec }

// Len returns the number of elements.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return int((q.head + q.size - q.tail) % q.size)
}

func (q *Queue) slot(i uint32) []byte {
	vs := q.spec.ValueSize
	return q.elems[i*vs : (i+1)*vs]
}

// PushRaw is bpf_map_push_elem: flags may be UpdateAny or UpdateExist
// (overwrite the oldest element when full).
func (q *Queue) PushRaw(value []byte, flags prog.UpdateFlags) error {
	if err := q.push(value, flags); err != nil {
		return opError(q.spec.Name, "push", err)
	}
	return nil
}

func (q *Queue) push(value []byte, flags prog.UpdateFlags) error {
	if flags&prog.UpdateNoExist != 0 || flags > prog.UpdateExist {
		return fmt.Errorf("flags %#x: %w", uint64(flags), syscall.EINVAL)
	}
	if len(value) != int(q.spec.ValueSize) {
		return fmt.Errorf("value is %d bytes, map wants %d: %w", len(value), q.spec.ValueSize, mapvalue.ErrSize)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if (q.head+1)%q.size == q.tail {
		if flags != prog.UpdateExist {
			return fmt.Errorf("%s full (%d entries): %w", q.spec.Type, q.spec.MaxEntries, syscall.E2BIG)
		}
		q.tail = (q.tail + 1) % q.size
	}
	copy(q.slot(q.head), value)
	q.head = (q.head + 1) % q.size
	return nil
}

// PopRaw is bpf_map_pop_elem: it copies the next element (oldest for a
// queue, newest for a stack) into out and removes it; ErrKeyNotExist when
// empty.
func (q *Queue) PopRaw(out []byte) error {
	if err := q.pop(out, true); err != nil {
		return opError(q.spec.Name, "pop", err)
	}
	return nil
}

// PeekRaw is bpf_map_peek_elem: PopRaw without the removal.
func (q *Queue) PeekRaw(out []byte) error {
	if err := q.pop(out, false); err != nil {
		return opError(q.spec.Name, "peek", err)
	}
	return nil
}

func (q *Queue) pop(out []byte, del bool) error {
	if len(out) != int(q.spec.ValueSize) {
		return fmt.Errorf("value is %d bytes, map wants %d: %w", len(out), q.spec.ValueSize, mapvalue.ErrSize)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == q.tail {
		return fmt.Errorf("%s empty: %w", q.spec.Type, errno(syscall.ENOENT))
	}
	if !q.stack {
		copy(out, q.slot(q.tail))
		if del {
			q.tail = (q.tail + 1) % q.size
		}
		return nil
	}
	i := (q.head + q.size - 1) % q.size
	copy(out, q.slot(i))
	if del {
		q.head = i
	}
	return nil
}

// LookupRaw returns nil: programs read queues through PeekRaw.
func (q *Queue) LookupRaw(key []byte, cpu int) []byte { return nil }

// UpdateRaw fails with EINVAL (queue_stack_map_update_elem).
func (q *Queue) UpdateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error {
	return opError(q.spec.Name, "update", fmt.Errorf("%s maps have no keys, use push: %w", q.spec.Type, syscall.EINVAL))
}

// DeleteRaw fails with EINVAL (queue_stack_map_delete_elem).
func (q *Queue) DeleteRaw(key []byte) error {
	return opError(q.spec.Name, "delete", fmt.Errorf("%s maps have no keys, use pop: %w", q.spec.Type, syscall.EINVAL))
}

// Lookup peeks: key must be nil (EINVAL otherwise, there being no key
// bytes).
func (q *Queue) Lookup(key, valueOut any) error {
	if err := userRead(&q.spec); err != nil {
		return opError(q.spec.Name, "lookup", err)
	}
	if err := noKey(&q.spec, key); err != nil {
		return opError(q.spec.Name, "lookup", err)
	}
	out, err := mapvalue.View(valueOut, int(q.spec.ValueSize), "value")
	if err != nil {
		return opError(q.spec.Name, "lookup", err)
	}
	if err := q.pop(out, false); err != nil {
		return opError(q.spec.Name, "lookup", err)
	}
	return nil
}

// Update pushes value; key must be nil.
func (q *Queue) Update(key, value any, flags prog.UpdateFlags) error {
	if err := userWrite(&q.spec); err != nil {
		return opError(q.spec.Name, "update", err)
	}
	if flags&prog.UpdateLock != 0 {
		return opError(q.spec.Name, "update", fmt.Errorf("flag BPF_F_LOCK on a map without bpf_spin_lock: %w", syscall.EINVAL))
	}
	if err := noKey(&q.spec, key); err != nil {
		return opError(q.spec.Name, "update", err)
	}
	var scratch [64]byte
	v, err := mapvalue.Encode(value, int(q.spec.ValueSize), "value", scratch[:])
	if err != nil {
		return opError(q.spec.Name, "update", err)
	}
	if err := q.push(v, flags); err != nil {
		return opError(q.spec.Name, "update", err)
	}
	return nil
}

// Delete fails with EINVAL.
func (q *Queue) Delete(key any) error {
	if err := userWrite(&q.spec); err != nil {
		return opError(q.spec.Name, "delete", err)
	}
	return q.DeleteRaw(nil)
}

// LookupAndDelete pops into valueOut; key must be nil.
func (q *Queue) LookupAndDelete(key, valueOut any) error {
	if err := userReadWrite(&q.spec); err != nil {
		return opError(q.spec.Name, "lookup and delete", err)
	}
	if err := noKey(&q.spec, key); err != nil {
		return opError(q.spec.Name, "lookup and delete", err)
	}
	out, err := mapvalue.View(valueOut, int(q.spec.ValueSize), "value")
	if err != nil {
		return opError(q.spec.Name, "lookup and delete", err)
	}
	if err := q.pop(out, true); err != nil {
		return opError(q.spec.Name, "lookup and delete", err)
	}
	return nil
}

// NextKey fails with EINVAL: queues have no keys.
func (q *Queue) NextKey(key, nextKeyOut any) error {
	return opError(q.spec.Name, "next key", fmt.Errorf("%s maps have no keys: %w", q.spec.Type, syscall.EINVAL))
}
