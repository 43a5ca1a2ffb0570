package maps

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"

	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/prog"
)

// ErrNotSupported is wrapped by errors about a map type or operation this
// package does not implement. It is prog.ErrNotSupported (and so
// sys.ErrNotSupported), the project-wide sentinel.
var ErrNotSupported = prog.ErrNotSupported

// ErrNoRecord is wrapped by the error a non-blocking read of a ring buffer
// or perf event array returns when there is nothing to read.
var ErrNoRecord = errors.New("no record available")

// ENOTSUPP is the kernel-internal errno 524 that bpf(2) returns for
// operations a map type lacks (for example BPF_MAP_LOOKUP_ELEM on a ring
// buffer). It has no name in package syscall.
const ENOTSUPP = syscall.Errno(524)

// Map flags of BPF_MAP_CREATE (include/uapi/linux/bpf.h).
const (
	flagNoPrealloc   = 1 << 0
	flagNoCommonLRU  = 1 << 1
	flagNUMANode     = 1 << 2
	flagRdOnly       = 1 << 3
	flagWrOnly       = 1 << 4
	flagZeroSeed     = 1 << 6
	flagRdOnlyProg   = 1 << 7
	flagWrOnlyProg   = 1 << 8
	flagMmapable     = 1 << 10
	flagPreserveElem = 1 << 11
	flagInnerMap     = 1 << 12

	flagAccessMask = flagRdOnly | flagWrOnly | flagRdOnlyProg | flagWrOnlyProg
)

// Kernel limits on x86-64 (Linux 6.x, checked against 6.18).
const (
	kmallocMaxSize   = 4 << 20 // KMALLOC_MAX_SIZE with MAX_PAGE_ORDER 10
	pcpuMinUnitSize  = 32 << 10
	htabElemOverhead = 48 // sizeof(struct htab_elem) on x86-64
	pageSize         = 4096
	// maxPrealloc bounds the bytes an array map preallocates; the kernel
	// would fail such a map with ENOMEM on any ordinary machine.
	maxPrealloc = 1 << 32
)

// Map is a userspace BPF map.
type Map interface {
	prog.Mapper

	// LookupRaw returns the value of key as the program sees it
	// (bpf_map_lookup_elem): a slice aliasing the element's storage for
	// CPU cpu (per-CPU maps; ignored otherwise), or nil when there is
	// none. The slice stays valid memory after the element is deleted or
	// replaced, detached from the map, as after the kernel's RCU grace
	// period. key must be KeySize bytes. It does not allocate.
	LookupRaw(key []byte, cpu int) []byte
	// UpdateRaw is bpf_map_update_elem from a program: value is ValueSize
	// bytes, and per-CPU maps update only CPU cpu's value.
	UpdateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error
	// DeleteRaw is bpf_map_delete_elem from a program.
	DeleteRaw(key []byte) error
}

// QueueMap is the extra helper-side method set of queue and stack maps
// (bpf_map_push_elem, bpf_map_pop_elem, bpf_map_peek_elem).
type QueueMap interface {
	Map
	PushRaw(value []byte, flags prog.UpdateFlags) error
	PopRaw(out []byte) error
	PeekRaw(out []byte) error
}

// Options configures New. A nil *Options means the defaults.
type Options struct {
	// CPUs is the number of possible CPUs: the number of values a per-CPU
	// map holds per key. Default runtime.NumCPU().
	CPUs int
	// PerfBufferBytes is the size of each CPU's buffer in a perf event
	// array, the room for sample records before they are counted as lost.
	// Default 64 pages (256 KiB).
	PerfBufferBytes int
}

func (o *Options) cpus() int {
	if o != nil && o.CPUs > 0 {
		return o.CPUs
	}
	return runtime.NumCPU()
}

func (o *Options) perfBytes() int {
	if o != nil && o.PerfBufferBytes > 0 {
		return o.PerfBufferBytes
	}
	return 64 * pageSize
}

// New creates a map for spec. It validates spec as the kernel's
// map_alloc_check does for that type: errors wrap syscall.EINVAL or
// syscall.E2BIG and name the field. Unsupported map types return an error
// wrapping ErrNotSupported.
func New(spec prog.MapSpec, opts *Options) (Map, error) {
	if opts != nil && opts.CPUs < 0 {
		return nil, fmt.Errorf("map %q: Options.CPUs %d is negative: %w", spec.Name, opts.CPUs, syscall.EINVAL)
	}
	var (
		m   Map
		err error
	)
	switch spec.Type {
	case prog.Array, prog.PerCPUArray:
		m, err = newArray(spec, opts)
	case prog.Hash, prog.PerCPUHash, prog.LRUHash, prog.LRUPerCPUHash:
		m, err = newHash(spec, opts)
	case prog.Queue, prog.Stack:
		m, err = newQueue(spec)
	case prog.RingBuf:
		m, err = newRingBuf(spec)
	case prog.ProgArray:
		m, err = newProgArray(spec)
	case prog.PerfEventArray:
		m, err = newPerfEventArray(spec, opts)
	case prog.DevMap, prog.DevMapHash:
		m, err = newDevMap(spec)
	case prog.CPUMap:
		m, err = newCPUMap(spec, opts)
	case prog.XSKMap:
		m, err = newXSKMap(spec)
	case prog.ArrayOfMaps, prog.HashOfMaps:
		m, err = newOfMaps(spec, opts)
	default:
		return nil, fmt.Errorf("map %q: map type %s: %w", spec.Name, spec.Type, ErrNotSupported)
	}
	if err != nil {
		return nil, fmt.Errorf("map %q (%s): create: %w", spec.Name, spec.Type, err)
	}
	return m, nil
}

// invalid returns an EINVAL error naming the problem.
func invalid(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, syscall.EINVAL)...)
}

// checkAccessFlags is bpf_map_flags_access_ok: a map cannot be both read-
// and write-only, from user space or from programs.
func checkAccessFlags(flags prog.MapFlags) error {
	if flags&(flagRdOnly|flagWrOnly) == flagRdOnly|flagWrOnly {
		return invalid("flags %#x: BPF_F_RDONLY and BPF_F_WRONLY together", flags)
	}
	if flags&(flagRdOnlyProg|flagWrOnlyProg) == flagRdOnlyProg|flagWrOnlyProg {
		return invalid("flags %#x: BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together", flags)
	}
	return nil
}

// opError wraps err with the map's name and the operation.
func opError(name, op string, err error) error {
	return fmt.Errorf("map %q: %s: %w", name, op, err)
}

// errno returns the map error for errno (prog.MapError).
func errno(e syscall.Errno) error { return prog.MapError(e) }

// checkUpdateFlags is the flags check at the top of the kernel's update
// functions: any bit beyond BPF_EXIST other than BPF_F_LOCK is EINVAL, and
// BPF_F_LOCK is EINVAL because these maps hold no bpf_spin_lock (the
// syscall checks that before the map's own code, Linux 5.1 and later).
func checkUpdateFlags(flags prog.UpdateFlags) error {
	if flags&prog.UpdateLock != 0 {
		return fmt.Errorf("flag BPF_F_LOCK on a map without bpf_spin_lock: %w", syscall.EINVAL)
	}
	if flags > prog.UpdateExist {
		return fmt.Errorf("flags %#x: %w", uint64(flags), syscall.EINVAL)
	}
	return nil
}

// userRead and userWrite check BPF_F_WRONLY and BPF_F_RDONLY, which stop
// user space (not programs) from reading or writing the map (EPERM).
func userRead(spec *prog.MapSpec) error {
	if spec.Flags&flagWrOnly != 0 {
		return fmt.Errorf("map is BPF_F_WRONLY: %w", syscall.EPERM)
	}
	return nil
}

func userWrite(spec *prog.MapSpec) error {
	if spec.Flags&flagRdOnly != 0 {
		return fmt.Errorf("map is BPF_F_RDONLY: %w", syscall.EPERM)
	}
	return nil
}

// userReadWrite is the check of BPF_MAP_LOOKUP_AND_DELETE_ELEM, which
// needs both permissions before anything else.
func userReadWrite(spec *prog.MapSpec) error {
	if err := userRead(spec); err != nil {
		return err
	}
	return userWrite(spec)
}

// keyBytes converts a Mapper key.
func keyBytes(spec *prog.MapSpec, key any, scratch []byte) ([]byte, error) {
	return mapvalue.Encode(key, int(spec.KeySize), "key", scratch)
}

var (
	_ Map      = (*Array)(nil)
	_ Map      = (*Hash)(nil)
	_ QueueMap = (*Queue)(nil)
	_ Map      = (*RingBuf)(nil)
	_ Map      = (*ProgArray)(nil)
	_ Map      = (*PerfEventArray)(nil)
)

// noLookupAndDelete is BPF_MAP_LOOKUP_AND_DELETE_ELEM on a map type
// without it (map_lookup_and_delete_elem serves queues, stacks and the
// plain, per-CPU and LRU hashes): after the permission check, ENOTSUPP.
func noLookupAndDelete(spec *prog.MapSpec) error {
	if err := userReadWrite(spec); err != nil {
		return opError(spec.Name, "lookup and delete", err)
	}
	return opError(spec.Name, "lookup and delete", fmt.Errorf("%s maps: %w", spec.Type, ENOTSUPP))
}

// noKey is __bpf_copy_key for a map without keys (key_size 0): a key
// pointer is EINVAL. A nil interface or a nil or empty []byte is no key.
func noKey(spec *prog.MapSpec, key any) error {
	switch k := key.(type) {
	case nil:
		return nil
	case []byte:
		if len(k) == 0 {
			return nil
		}
	}
	return fmt.Errorf("%s maps have no key, pass nil (got %T): %w", spec.Type, key, syscall.EINVAL)
}
