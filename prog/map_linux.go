//go:build linux

package prog

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sync/atomic"

	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/sys"
	"golang.org/x/sys/unix"
)

// Map is a BPF map in the kernel. It implements Mapper, so code written
// against Mapper works on kernel maps and on interp's userspace maps.
//
// Keys and values are Go values of exactly the map's key and value size
// (see package internal/mapvalue): a []byte, a pointer to fixed-size plain
// data (integers, byte arrays, structs of them without padding), or for
// inputs such data by value. A value of the wrong size is an error wrapping
// mapvalue.ErrSize, never a short read or write. Per-CPU maps take one
// value per possible CPU (PossibleCPUs): a slice (or pointer to an array)
// of that many elements, or a []byte with each CPU's value padded to 8
// bytes as the kernel lays it out.
//
// A Map holds a file descriptor; Close releases it. The methods are safe
// for concurrent use.
type Map struct {
	fd     *sys.FD
	spec   MapSpec
	cpus   int // possible CPUs for per-CPU maps, else 0
	pinned string
	frozen atomic.Bool // Freeze succeeded, for the hint on EPERM
}

var _ Mapper = (*Map)(nil)

// NewMap creates a map in the kernel as spec says.
//
// The spec is checked first (MapSpec.Validate), so that sizes the kernel
// would refuse with a bare EINVAL get an error naming the field. A
// PerfEventArray with MaxEntries 0 gets one entry per possible CPU
// (PossibleCPUs), as cilium/ebpf does; MapSpec reports the number used. For
// ArrayOfMaps and HashOfMaps a map is created from spec.InnerMap as the
// kernel's template and closed again.
//
// On kernels before 5.11 it first raises RLIMIT_MEMLOCK (see the package
// documentation). An unknown map type gives an error wrapping
// ErrNotSupported; EPERM is explained.
func NewMap(spec *MapSpec) (*Map, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	s := *spec
	spec = &s
	if spec.Type == PerfEventArray && spec.MaxEntries == 0 {
		n, err := PossibleCPUs()
		if err != nil {
			return nil, fmt.Errorf("create map %q: MaxEntries 0 means one entry per possible CPU: %w", spec.Name, err)
		}
		spec.MaxEntries = uint32(n)
	}
	ensureMemlock()
	attr := sys.MapCreateAttr{
		MapType:    sys.MapType(spec.Type),
		KeySize:    spec.KeySize,
		ValueSize:  spec.ValueSize,
		MaxEntries: spec.MaxEntries,
		MapFlags:   sys.MapFlags(spec.Flags),
		MapName:    sys.NewObjName(spec.Name),
	}
	if spec.InnerMap != nil {
		inner, err := NewMap(spec.InnerMap)
		if err != nil {
			return nil, fmt.Errorf("create map %q: inner map template: %w", spec.Name, err)
		}
		defer inner.Close()
		attr.InnerMapFD = inner.fd.Uint()
	}
	fd, err := sys.MapCreate(&attr)
	if err != nil {
		what := fmt.Sprintf("create map %q (%s, key %d, value %d, max entries %d, flags %#x)",
			spec.Name, spec.Type, spec.KeySize, spec.ValueSize, spec.MaxEntries, spec.Flags)
		if errors.Is(err, unix.EINVAL) {
			if perr := HaveMapType(spec.Type); errors.Is(perr, ErrNotSupported) {
				return nil, fmt.Errorf("%s: %w", what, perr)
			}
			if spec.Flags != 0 {
				// Ask the kernel whether the same map without flags
				// would do: then a flag is the cause.
				plain := attr
				plain.MapFlags = 0
				if fd, perr := sys.MapCreate(&plain); perr == nil {
					fd.Close()
					return nil, fmt.Errorf("%s: %w: the kernel refuses flags %#x for %s maps (the map is created without them): a flag is unknown to this kernel or does not apply to the type", what, err, uint32(spec.Flags), spec.Type)
				}
			}
		}
		return nil, explainErrno(what, err, 0)
	}
	return newMap(fd, *spec)
}

// newMap wraps fd, taking ownership; on error fd is closed.
func newMap(fd *sys.FD, spec MapSpec) (*Map, error) {
	m := &Map{fd: fd, spec: spec}
	if spec.Type.PerCPU() {
		n, err := PossibleCPUs()
		if err != nil {
			fd.Close()
			return nil, fmt.Errorf("map %q: %w", spec.Name, err)
		}
		m.cpus = n
	}
	return m, nil
}

// NewMapFromFD takes ownership of fd, a map descriptor, and describes it
// with BPF_OBJ_GET_INFO_BY_FD. On error fd is closed.
func NewMapFromFD(fd *sys.FD) (*Map, error) {
	if fd == nil {
		return nil, fmt.Errorf("map from fd: nil *sys.FD: %w", os.ErrInvalid)
	}
	if err := sys.CheckKind(fd, sys.KindMap); err != nil {
		fd.Close()
		return nil, fmt.Errorf("map from fd: %w", err)
	}
	var info sys.MapInfo
	if err := sys.MapGetInfoByFD(fd, &info); err != nil {
		fd.Close()
		return nil, fmt.Errorf("map from %v: %w", fd, err)
	}
	return newMap(fd, MapSpec{
		Name:       info.Name.String(),
		Type:       MapType(info.Type),
		KeySize:    info.KeySize,
		ValueSize:  info.ValueSize,
		MaxEntries: info.MaxEntries,
		Flags:      MapFlags(info.MapFlags),
	})
}

// LoadPinnedMap opens the map pinned at path on a bpffs.
func LoadPinnedMap(path string) (*Map, error) {
	fd, err := sys.ObjGet(path, 0)
	if err != nil {
		return nil, fmt.Errorf("load pinned map %s: %w", path, err)
	}
	m, err := NewMapFromFD(fd)
	if err != nil {
		return nil, fmt.Errorf("load pinned map %s: %w", path, err)
	}
	m.pinned = path
	return m, nil
}

// NewMapFromID opens the map with the given kernel-wide ID (as listed by
// Maps or bpftool).
func NewMapFromID(id uint32) (*Map, error) {
	fd, err := sys.MapGetFDByID(id, 0)
	if err != nil {
		return nil, fmt.Errorf("open map id %d: %w", id, err)
	}
	return NewMapFromFD(fd)
}

// MapSpec returns the map's type, sizes, max entries, flags and name.
func (m *Map) MapSpec() MapSpec {
	if m == nil {
		return MapSpec{}
	}
	return m.spec
}

// FD returns the map's file descriptor, or -1 once closed. It stays valid
// only while m is open and reachable.
func (m *Map) FD() int {
	if m == nil {
		return -1
	}
	return m.fd.Int()
}

// String describes the map, e.g. `map "counters" (array, fd 7)`.
func (m *Map) String() string {
	if m == nil {
		return "map <nil>"
	}
	return fmt.Sprintf("map %q (%s, %v)", m.spec.Name, m.spec.Type, m.fd)
}

// Close releases the map's file descriptor. The map lives on while a
// program or a pin refers to it. Closing twice gives an error wrapping
// os.ErrClosed. Closing a nil *Map does nothing.
func (m *Map) Close() error {
	if m == nil {
		return nil
	}
	if err := m.fd.Close(); err != nil {
		return fmt.Errorf("map %q: %w", m.spec.Name, err)
	}
	return nil
}

// opError turns the error of a map command into the error returned to the
// user: ENOENT and EEXIST become ErrKeyNotExist and ErrKeyExist (which
// still match their errno), everything else keeps the *sys.Error.
//
// Where the errno alone misleads, a hint follows it: E2BIG from an update
// means a full hash map or an array index out of range, EPERM from an
// update or delete a frozen or read-only map.
func (m *Map) opError(op string, err error) error {
	var se *sys.Error
	if errors.As(err, &se) && (se.Errno == unix.ENOENT || se.Errno == unix.EEXIST) {
		return fmt.Errorf("map %q: %s: %w", m.spec.Name, op, MapError(se.Errno))
	}
	if hint := m.hint(op, err); hint != "" {
		return fmt.Errorf("map %q: %s: %w: %s", m.spec.Name, op, err, hint)
	}
	return fmt.Errorf("map %q: %s: %w", m.spec.Name, op, err)
}

// isArray reports whether t is indexed by a u32 below MaxEntries, whose
// elements always exist: E2BIG means an index out of range and elements
// cannot be deleted.
func (t MapType) isArray() bool {
	switch t {
	case Array, PerCPUArray, ProgArray, PerfEventArray, CgroupArray, ArrayOfMaps, DevMap, CPUMap, XSKMap, SockMap, ReuseportSockArray:
		return true
	}
	return false
}

// hint explains the errnos of map commands that say little on their own
// (kernel/bpf/hashtab.c, arraymap.c and syscall.c, Linux 6.x).
func (m *Map) hint(op string, err error) string {
	writes := op == "update" || op == "delete" || op == "update batch" || op == "delete batch"
	switch {
	case errors.Is(err, unix.E2BIG) && writes:
		switch {
		case m.spec.Type.isArray():
			return fmt.Sprintf("an index is out of range: the %s has %d entries, indices 0 to %d", m.spec.Type, m.spec.MaxEntries, int64(m.spec.MaxEntries)-1)
		case m.spec.Type == Queue || m.spec.Type == Stack:
			return fmt.Sprintf("the %s is full (MaxEntries %d); UpdateExist drops the oldest element to make room", m.spec.Type, m.spec.MaxEntries)
		default:
			return fmt.Sprintf("the map is full: it holds at most %d elements (MaxEntries)", m.spec.MaxEntries)
		}
	case errors.Is(err, unix.EPERM) && writes:
		if m.frozen.Load() {
			return "the map was frozen (Map.Freeze): user space may only read it"
		}
		if m.spec.Flags&MapRdonly != 0 {
			return "the map was created read-only for user space (MapRdonly)"
		}
		return "the map is read-only for user space: frozen (BPF_MAP_FREEZE, possibly by another holder) or opened read-only; " + permHint()
	case errors.Is(err, unix.EPERM) && (op == "lookup" || op == "next key" || op == "lookup batch") && m.spec.Flags&MapWronly != 0:
		return "the map was created write-only for user space (MapWronly)"
	case errors.Is(err, unix.EINVAL) && (op == "delete" || op == "delete batch") && (m.spec.Type == Array || m.spec.Type == PerCPUArray):
		// array_map_delete_elem; the fd arrays and device maps can delete.
		return fmt.Sprintf("%s maps cannot delete elements; store a zero value instead", m.spec.Type)
	case op == "freeze" && errors.Is(err, unix.EPERM):
		if m.frozen.Load() {
			return "the map is already frozen"
		}
		return "the map is frozen already (possibly by another holder) or read-only for user space; " + permHint()
	case op == "freeze" && errors.Is(err, unix.EBUSY):
		// map_freeze answers EBUSY for a map already frozen on Linux 6.1
		// (6.18 answers EPERM: its write-permission check comes first),
		// and for a map with writable mmaps on both.
		if m.frozen.Load() {
			return "the map is already frozen"
		}
		return "the map is frozen already (possibly by another holder), or memory-mapped writable (a global data map with BPF_F_MMAPABLE): unmap it first"
	}
	return ""
}

// nilMap is the error of a method called on a nil *Map.
func nilMap(op string) error {
	return fmt.Errorf("map: %s on a nil *prog.Map (Program.Map returns nil for a name the program's spec does not list): %w", op, os.ErrInvalid)
}

func (m *Map) closedError(op string) error {
	return fmt.Errorf("map %q: %s: %w", m.spec.Name, op, os.ErrClosed)
}

// key returns the bytes of a key. Maps without keys (queue, stack, bloom
// filter) take a nil key.
//
// Keys passed by value are encoded into scratch, a buffer in the caller's
// frame, so small by-value keys do not allocate.
func (m *Map) key(key any, what string, scratch []byte) ([]byte, error) {
	if m.spec.KeySize == 0 {
		if key != nil {
			if b, ok := key.([]byte); !ok || len(b) != 0 {
				return nil, fmt.Errorf("%s of type %s given, but the map has no keys (key size 0): %w", what, reflect.TypeOf(key), mapvalue.ErrSize)
			}
		}
		return nil, nil
	}
	return mapvalue.Encode(key, int(m.spec.KeySize), what, scratch)
}

// valueIn returns the bytes of an input value.
func (m *Map) valueIn(value any, scratch []byte) ([]byte, error) {
	if m.cpus > 0 {
		return mapvalue.PerCPUEncode(value, int(m.spec.ValueSize), m.cpus, "value", nil)
	}
	return mapvalue.Encode(value, int(m.spec.ValueSize), "value", scratch)
}

// valueOut returns the buffer a lookup fills for valueOut.
func (m *Map) valueOut(valueOut any) ([]byte, error) {
	if m.cpus > 0 {
		return mapvalue.PerCPUView(valueOut, int(m.spec.ValueSize), m.cpus, "value")
	}
	return mapvalue.View(valueOut, int(m.spec.ValueSize), "value")
}

// finishOut copies a per-CPU lookup buffer into valueOut.
func (m *Map) finishOut(buf []byte, valueOut any) error {
	if m.cpus > 0 {
		return mapvalue.PerCPUDecode(buf, valueOut, int(m.spec.ValueSize), m.cpus, "value")
	}
	return nil
}

// Lookup copies the value of key into valueOut. A missing key gives an
// error matching ErrKeyNotExist and unix.ENOENT. It does not allocate when
// key and valueOut are []byte or pointers.
func (m *Map) Lookup(key, valueOut any) error {
	return m.lookup(false, key, valueOut)
}

// LookupAndDelete copies the value of key into valueOut and deletes the
// element (Linux 5.14+ for hash maps; 4.20+ for queue and stack maps,
// where key is nil and the next element is popped).
func (m *Map) LookupAndDelete(key, valueOut any) error {
	return m.lookup(true, key, valueOut)
}

// lookup runs BPF_MAP_LOOKUP_ELEM, or BPF_MAP_LOOKUP_AND_DELETE_ELEM if
// del. The commands are called directly, not through a func value, so
// that the attribute stays on the stack.
func (m *Map) lookup(del bool, key, valueOut any) error {
	op := "lookup"
	if del {
		op = "lookup and delete"
	}
	if m == nil {
		return nilMap(op)
	}
	var ks [16]byte
	k, err := m.key(key, "key", ks[:])
	if err != nil {
		return fmt.Errorf("map %q: %s: %w", m.spec.Name, op, err)
	}
	v, err := m.valueOut(valueOut)
	if err != nil {
		return fmt.Errorf("map %q: %s: %w", m.spec.Name, op, err)
	}
	if m.fd.Int() < 0 {
		return m.closedError(op)
	}
	attr := sys.MapElemAttr{MapFD: m.fd.Uint(), Key: sys.NewSlicePointer(k), Value: sys.NewSlicePointer(v)}
	if del {
		err = sys.MapLookupAndDeleteElem(&attr)
	} else {
		err = sys.MapLookupElem(&attr)
	}
	runtime.KeepAlive(m.fd)
	if err != nil {
		return m.opError(op, err)
	}
	return m.finishOut(v, valueOut)
}

// Update stores value under key. flags is UpdateAny, UpdateNoExist (fails
// with ErrKeyExist if the key exists) or UpdateExist (fails with
// ErrKeyNotExist if it does not), optionally with UpdateLock.
func (m *Map) Update(key, value any, flags UpdateFlags) error {
	if m == nil {
		return nilMap("update")
	}
	var ks [16]byte
	k, err := m.key(key, "key", ks[:])
	if err != nil {
		return fmt.Errorf("map %q: update: %w", m.spec.Name, err)
	}
	var vs [16]byte
	v, err := m.valueIn(value, vs[:])
	if err != nil {
		return fmt.Errorf("map %q: update: %w", m.spec.Name, err)
	}
	if flags&^UpdateLock > UpdateExist {
		return fmt.Errorf("map %q: update: flags %#x: want UpdateAny, UpdateNoExist or UpdateExist, optionally with UpdateLock: %w", m.spec.Name, uint64(flags), unix.EINVAL)
	}
	if m.fd.Int() < 0 {
		return m.closedError("update")
	}
	attr := sys.MapElemAttr{MapFD: m.fd.Uint(), Key: sys.NewSlicePointer(k), Value: sys.NewSlicePointer(v), Flags: uint64(flags)}
	err = sys.MapUpdateElem(&attr)
	runtime.KeepAlive(m.fd)
	if err != nil {
		return m.opError("update", err)
	}
	return nil
}

// Delete removes key. A missing key gives an error matching
// ErrKeyNotExist; array elements cannot be deleted (EINVAL).
func (m *Map) Delete(key any) error {
	if m == nil {
		return nilMap("delete")
	}
	var ks [16]byte
	k, err := m.key(key, "key", ks[:])
	if err != nil {
		return fmt.Errorf("map %q: delete: %w", m.spec.Name, err)
	}
	if m.fd.Int() < 0 {
		return m.closedError("delete")
	}
	attr := sys.MapElemAttr{MapFD: m.fd.Uint(), Key: sys.NewSlicePointer(k)}
	err = sys.MapDeleteElem(&attr)
	runtime.KeepAlive(m.fd)
	if err != nil {
		return m.opError("delete", err)
	}
	return nil
}

// NextKey copies the key following key into nextKeyOut; a nil key asks
// for the first key. After the last key it returns an error matching
// ErrKeyNotExist. If key is not in the map, hash maps restart at the first
// key (kernel behaviour).
func (m *Map) NextKey(key, nextKeyOut any) error {
	if m == nil {
		return nilMap("next key")
	}
	var k []byte
	var ks [16]byte
	if key != nil {
		var err error
		if k, err = m.key(key, "key", ks[:]); err != nil {
			return fmt.Errorf("map %q: next key: %w", m.spec.Name, err)
		}
	}
	out, err := mapvalue.View(nextKeyOut, int(m.spec.KeySize), "next key")
	if err != nil {
		return fmt.Errorf("map %q: next key: %w", m.spec.Name, err)
	}
	if m.fd.Int() < 0 {
		return m.closedError("next key")
	}
	attr := sys.MapElemAttr{MapFD: m.fd.Uint(), Key: sys.NewSlicePointer(k), Value: sys.NewSlicePointer(out)}
	err = sys.MapGetNextKey(&attr)
	runtime.KeepAlive(m.fd)
	if err != nil {
		return m.opError("next key", err)
	}
	return nil
}

// Iterate returns an iterator over all entries, NewIterator(m).
func (m *Map) Iterate() *Iterator { return NewIterator(m) }

// Freeze makes the map read-only for user space; programs may still write
// to it unless it was created with BPF_F_RDONLY_PROG (Linux 5.2+).
func (m *Map) Freeze() error {
	if m == nil {
		return nilMap("freeze")
	}
	if m.fd.Int() < 0 {
		return m.closedError("freeze")
	}
	attr := sys.MapFreezeAttr{MapFD: m.fd.Uint()}
	err := sys.MapFreeze(&attr)
	runtime.KeepAlive(m.fd)
	if err != nil {
		return m.opError("freeze", err)
	}
	m.frozen.Store(true)
	return nil
}

// BatchCursor remembers where a LookupBatch sequence stands. The zero
// value starts at the beginning of the map.
type BatchCursor struct {
	buf     []byte
	started bool
	done    bool
}

// Done reports whether the last LookupBatch reached the end of the map.
// A nil cursor is done: LookupBatch refuses it, so a loop on !Done ends.
func (c *BatchCursor) Done() bool { return c == nil || c.done }

// LookupBatch reads up to n entries in one system call
// (BPF_MAP_LOOKUP_BATCH, Linux 5.6+; arrays 5.9+), continuing where
// cursor stands. keysOut and valuesOut are []byte of n keys and n values
// (per-CPU maps: n × PossibleCPUs × value size rounded up to 8), or slices
// of n plain elements of the key and value size. It returns how many
// entries were read; when the map is exhausted it sets cursor.Done and
// returns a nil error. Hash maps fail with ENOSPC when n is smaller than
// one hash bucket. A kernel or map type without batch operations gives an
// error wrapping ErrNotSupported.
func (m *Map) LookupBatch(cursor *BatchCursor, keysOut, valuesOut any) (int, error) {
	if m == nil {
		return 0, nilMap("lookup batch")
	}
	if cursor == nil {
		return 0, fmt.Errorf("map %q: lookup batch: nil cursor: %w", m.spec.Name, unix.EINVAL)
	}
	if cursor.done {
		return 0, nil
	}
	keys, vals, nk, nv, err := m.batchKeysValues("lookup batch", keysOut, valuesOut)
	if err != nil {
		return 0, err
	}
	if nk != nv || nk == 0 {
		return 0, fmt.Errorf("map %q: lookup batch: room for %d keys and %d values; want the same non-zero count: %w", m.spec.Name, nk, nv, mapvalue.ErrSize)
	}
	if m.fd.Int() < 0 {
		return 0, m.closedError("lookup batch")
	}
	// The opaque position is as large as a key (hash maps) or 4 bytes
	// (arrays); a key-sized buffer of at least 8 bytes fits both.
	if cursor.buf == nil {
		cursor.buf = make([]byte, max(int(m.spec.KeySize), 8))
	}
	attr := sys.MapBatchAttr{
		OutBatch: sys.NewSlicePointer(cursor.buf),
		Keys:     sys.NewSlicePointer(keys),
		Values:   sys.NewSlicePointer(vals),
		Count:    uint32(nk),
		MapFD:    m.fd.Uint(),
	}
	if cursor.started {
		attr.InBatch = sys.NewSlicePointer(cursor.buf)
	}
	err = sys.MapLookupBatch(&attr)
	runtime.KeepAlive(m.fd)
	n := int(attr.Count)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			cursor.done = true
			return n, nil
		}
		if errors.Is(err, unix.EINVAL) && !cursor.started {
			if perr := haveBatch(); perr != nil {
				return 0, fmt.Errorf("map %q: lookup batch: %w", m.spec.Name, perr)
			}
		}
		return n, fmt.Errorf("map %q: lookup batch: %w", m.spec.Name, err)
	}
	cursor.started = true
	return n, nil
}

// UpdateBatch stores n entries in one system call (BPF_MAP_UPDATE_BATCH,
// Linux 5.6+; arrays 5.9+): keys and values are []byte of n keys and n
// values (per-CPU maps: n × PossibleCPUs × value size rounded up to 8), or
// slices of n plain elements of the key and value size. flags is
// UpdateAny or UpdateLock: the kernel's batch update creates or replaces
// (generic_map_update_batch takes no BPF_NOEXIST or BPF_EXIST). It
// returns how many entries were stored: on an error, the entries before
// the failing one are in the map. A kernel or map type without batch
// operations gives an error wrapping ErrNotSupported.
func (m *Map) UpdateBatch(keys, values any, flags UpdateFlags) (int, error) {
	if m == nil {
		return 0, nilMap("update batch")
	}
	k, v, nk, nv, err := m.batchKeysValues("update batch", keys, values)
	if err != nil {
		return 0, err
	}
	if nk != nv {
		return 0, fmt.Errorf("map %q: update batch: %d keys and %d values; want the same count: %w", m.spec.Name, nk, nv, mapvalue.ErrSize)
	}
	if flags&^UpdateLock != 0 {
		return 0, fmt.Errorf("map %q: update batch: flags %#x: batch updates take UpdateAny or UpdateLock only: %w", m.spec.Name, uint64(flags), unix.EINVAL)
	}
	return m.batchWrite("update batch", k, v, nk, uint64(flags))
}

// DeleteBatch removes n keys in one system call (BPF_MAP_DELETE_BATCH,
// Linux 5.6+); keys is a []byte of n keys or a slice of n plain elements
// of the key size. It returns how many keys were deleted: a missing key
// stops the batch with an error matching ErrKeyNotExist, after the keys
// before it were deleted. Arrays have no batch delete (an error wrapping
// ErrNotSupported).
func (m *Map) DeleteBatch(keys any) (int, error) {
	if m == nil {
		return 0, nilMap("delete batch")
	}
	k, nk, err := batchBytes(keys, int(m.spec.KeySize), "keys")
	if err != nil {
		return 0, fmt.Errorf("map %q: delete batch: %w", m.spec.Name, err)
	}
	return m.batchWrite("delete batch", k, nil, nk, 0)
}

// batchWrite runs BPF_MAP_UPDATE_BATCH (values != nil) or
// BPF_MAP_DELETE_BATCH on n elements.
func (m *Map) batchWrite(op string, keys, values []byte, n int, flags uint64) (int, error) {
	if n == 0 {
		return 0, nil
	}
	if m.fd.Int() < 0 {
		return 0, m.closedError(op)
	}
	attr := sys.MapBatchAttr{
		Keys:      sys.NewSlicePointer(keys),
		Values:    sys.NewSlicePointer(values),
		Count:     uint32(n),
		MapFD:     m.fd.Uint(),
		ElemFlags: flags,
	}
	var err error
	if values != nil {
		err = sys.MapUpdateBatch(&attr)
	} else {
		err = sys.MapDeleteBatch(&attr)
	}
	runtime.KeepAlive(m.fd)
	done := min(int(attr.Count), n)
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			if perr := haveBatch(); perr != nil {
				return done, fmt.Errorf("map %q: %s: %w", m.spec.Name, op, perr)
			}
		}
		return done, m.opError(op, err)
	}
	return done, nil
}

// batchKeysValues returns the bytes of a batch's key and value buffers and
// how many keys and values each holds.
func (m *Map) batchKeysValues(op string, keys, values any) (k, v []byte, nk, nv int, err error) {
	k, nk, err = batchBytes(keys, int(m.spec.KeySize), "keys")
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("map %q: %s: %w", m.spec.Name, op, err)
	}
	vsize := int(m.spec.ValueSize)
	if m.cpus > 0 {
		vsize = mapvalue.PerCPUSize(vsize, m.cpus)
	}
	v, nv, err = batchBytes(values, vsize, "values")
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("map %q: %s: %w", m.spec.Name, op, err)
	}
	return k, v, nk, nv, nil
}

// batchBytes returns the bytes of a batch buffer holding elements of size
// bytes each and how many fit.
func batchBytes(v any, size int, what string) ([]byte, int, error) {
	if size == 0 {
		return nil, 0, fmt.Errorf("batch %s: element size 0: %w", what, mapvalue.ErrSize)
	}
	if b, ok := v.([]byte); ok {
		if len(b)%size != 0 {
			return nil, 0, fmt.Errorf("batch %s is %d bytes, not a multiple of %d: %w", what, len(b), size, mapvalue.ErrSize)
		}
		return b, len(b) / size, nil
	}
	b, n, err := mapvalue.SliceView(v, size, "batch "+what)
	if err != nil {
		return nil, 0, err
	}
	return b, n, nil
}

// Pin pins the map at path on a bpffs (see Program.Pin for the rules), so
// it outlives this process and bpftool can see it.
func (m *Map) Pin(path string) error {
	if m == nil {
		return nilMap("pin")
	}
	if err := pin(path, m.fd); err != nil {
		return fmt.Errorf("map %q: %w", m.spec.Name, err)
	}
	m.pinned = path
	return nil
}

// Unpin removes the pin made by Pin or used by LoadPinnedMap.
func (m *Map) Unpin() error {
	if m == nil {
		return nilMap("unpin")
	}
	if m.pinned == "" {
		return fmt.Errorf("map %q: unpin: not pinned", m.spec.Name)
	}
	if err := os.Remove(m.pinned); err != nil {
		return fmt.Errorf("map %q: unpin: %w", m.spec.Name, err)
	}
	m.pinned = ""
	return nil
}

// MapInfo describes a map in the kernel, as `bpftool map show` does.
type MapInfo struct {
	ID         uint32   // kernel-wide map ID
	Name       string   // name, at most 15 bytes
	Type       MapType  // map type
	KeySize    uint32   // key size in bytes
	ValueSize  uint32   // value size in bytes
	MaxEntries uint32   // capacity
	Flags      MapFlags // map_flags it was created with
	BTFID      uint32   // BTF object ID, 0 without BTF
}

func mapInfoOf(fd *sys.FD) (*MapInfo, error) {
	var in sys.MapInfo
	if err := sys.MapGetInfoByFD(fd, &in); err != nil {
		return nil, err
	}
	return &MapInfo{
		ID: in.ID, Name: in.Name.String(), Type: MapType(in.Type),
		KeySize: in.KeySize, ValueSize: in.ValueSize, MaxEntries: in.MaxEntries,
		Flags: MapFlags(in.MapFlags), BTFID: in.BTFID,
	}, nil
}

// Info asks the kernel to describe the map (BPF_OBJ_GET_INFO_BY_FD).
func (m *Map) Info() (*MapInfo, error) {
	if m == nil {
		return nil, nilMap("info")
	}
	if m.fd.Int() < 0 {
		return nil, m.closedError("info")
	}
	info, err := mapInfoOf(m.fd)
	if err != nil {
		return nil, fmt.Errorf("map %q: info: %w", m.spec.Name, err)
	}
	return info, nil
}
