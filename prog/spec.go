package prog

import (
	"errors"
	"fmt"
	"os"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/sys"
)

// ErrInvalidSpec is wrapped by errors about a malformed Spec or MapSpec.
var ErrInvalidSpec = errors.New("invalid spec")

// Spec says what a program is: enough to load it into the kernel or to run
// it in interp or jit.
type Spec struct {
	// Name is the program's name. The kernel takes ASCII letters, digits,
	// '_' and '.' only: any other byte is an error (wrapping
	// ErrInvalidSpec), never silently dropped. Names longer than 15 bytes
	// are truncated to 15, as libbpf does; Program.Info().Name is the name
	// the kernel stored.
	Name string
	// Type is the program type, such as SocketFilter or Kprobe.
	Type Type
	// License is the program's license; GPL-only helpers need "GPL".
	License string
	// Instructions is the program. LD_IMM64 map loads (insn.LoadMapPtr,
	// insn.LoadMapValue) refer to maps by name through Instruction.Ref.
	Instructions insn.Instructions
	// Maps are the maps the program refers to by name.
	Maps []*MapSpec
}

// MapSpec says what a map is. Validate checks it against the kernel's
// rules for its type before any system call.
type MapSpec struct {
	// Name is the map's name, as referenced by LD_IMM64 map loads. The
	// rules for program names (Spec.Name) apply: ASCII letters, digits,
	// '_' and '.' only, truncated to 15 bytes in the kernel.
	Name       string
	Type       MapType
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	// Flags are the map_flags of BPF_MAP_CREATE, such as MapNoPrealloc.
	Flags MapFlags
	// InnerMap describes the maps an ArrayOfMaps or HashOfMaps holds. The
	// kernel needs one such map as a template when it creates the outer
	// map; NewMap creates it and closes it again.
	InnerMap *MapSpec
}

// Map returns the map spec called name, or nil.
func (s *Spec) Map(name string) *MapSpec {
	for _, m := range s.Maps {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Validate checks the spec without a kernel: the instructions are valid,
// every map they refer to has a MapSpec, and map names are unique.
func (s *Spec) Validate() error {
	if err := s.validateMaps(); err != nil {
		return err
	}
	if err := s.Instructions.Validate(); err != nil {
		return fmt.Errorf("program %q: %w", s.Name, err)
	}
	return nil
}

// validateMaps is Validate without the instruction check, for callers
// that validate the instructions anyway (insn.Instructions.Marshal does).
func (s *Spec) validateMaps() error {
	if s == nil {
		return fmt.Errorf("%w: nil spec", ErrInvalidSpec)
	}
	if err := checkName(s.Name); err != nil {
		return fmt.Errorf("%w: program %w", ErrInvalidSpec, err)
	}
	if len(s.Instructions) == 0 {
		return fmt.Errorf("%w: program %q has no instructions", ErrInvalidSpec, s.Name)
	}
	seen := make(map[string]bool, len(s.Maps))
	for _, m := range s.Maps {
		if m == nil {
			return fmt.Errorf("%w: program %q: nil map spec", ErrInvalidSpec, s.Name)
		}
		if err := m.Validate(); err != nil {
			return fmt.Errorf("program %q: %w", s.Name, err)
		}
		if seen[m.Name] {
			return fmt.Errorf("%w: program %q: two maps named %q", ErrInvalidSpec, s.Name, m.Name)
		}
		seen[m.Name] = true
	}
	slot := 0
	for _, i := range s.Instructions {
		if i.IsMapReference() && i.Ref != "" && !seen[i.Ref] {
			return fmt.Errorf("%w: program %q: slot %d refers to map %q, which is not in Maps", ErrInvalidSpec, s.Name, slot, i.Ref)
		}
		slot += i.Slots()
	}
	return nil
}

func checkName(name string) error { return sys.CheckObjName(name) }

// Validate checks the map spec against the rules the kernel applies in
// BPF_MAP_CREATE for its type (Linux 6.x, each map type's
// map_alloc_check), so that a mistake gets an error naming the field
// instead of a bare EINVAL. The errors wrap ErrInvalidSpec. A
// PerfEventArray with MaxEntries 0 is valid: NewMap gives it one entry per
// possible CPU.
func (ms *MapSpec) Validate() error {
	if ms == nil {
		return fmt.Errorf("%w: nil map spec", ErrInvalidSpec)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: map %q (%s): %s", ErrInvalidSpec, ms.Name, ms.Type, fmt.Sprintf(format, args...))
	}
	if err := checkName(ms.Name); err != nil {
		return fmt.Errorf("%w: map %w", ErrInvalidSpec, err)
	}
	const fdSize = 4 // map-in-map, prog array and perf event array values are fds
	needKey := func(want uint32) error {
		if ms.KeySize != want {
			return bad("KeySize is %d, must be %d", ms.KeySize, want)
		}
		return nil
	}
	var err error
	switch ms.Type {
	case UnspecifiedMap:
		return bad("no map Type")
	case Hash, LRUHash, PerCPUHash, LRUPerCPUHash, HashOfMaps, SockHash, DevMapHash:
		switch {
		case ms.KeySize == 0:
			err = bad("KeySize is 0; hash maps need a key")
		case ms.KeySize > maxStack:
			// htab_map_alloc_check: a program could not build the key.
			err = bad("KeySize is %d; hash keys are at most %d bytes, the size of a program's stack", ms.KeySize, maxStack)
		}
	case Array, PerCPUArray, ArrayOfMaps, ProgArray, PerfEventArray, CgroupArray,
		DevMap, CPUMap, XSKMap, SockMap, ReuseportSockArray, StackTrace:
		err = needKey(4)
	case Queue, Stack, BloomFilter:
		err = needKey(0)
		if err != nil {
			err = bad("KeySize is %d; %s maps have no keys, it must be 0", ms.KeySize, ms.Type)
		}
	case RingBuf, UserRingBuf:
		if ms.KeySize != 0 || ms.ValueSize != 0 {
			return bad("KeySize %d and ValueSize %d must both be 0; MaxEntries is the buffer size in bytes", ms.KeySize, ms.ValueSize)
		}
		page := uint32(os.Getpagesize())
		if n := ms.MaxEntries; n == 0 || n&(n-1) != 0 || n%page != 0 {
			return bad("MaxEntries %d is the buffer size in bytes and must be a power of two and a multiple of the page size (%d), e.g. %d", n, page, max(page, ceilPow2(n)))
		}
		return nil
	case LPMTrie:
		if ms.KeySize < 5 || ms.KeySize > 4+256 {
			return bad("KeySize is %d; an LPM trie key is a 4-byte prefix length followed by 1 to 256 bytes of data", ms.KeySize)
		}
		if ms.Flags&MapNoPrealloc == 0 {
			return bad("Flags %#x lack MapNoPrealloc, which LPM tries require", uint32(ms.Flags))
		}
	}
	if err != nil {
		return err
	}
	switch ms.Type {
	case ArrayOfMaps, HashOfMaps, ProgArray, PerfEventArray, CgroupArray:
		if ms.ValueSize != fdSize {
			return bad("ValueSize is %d; the values are file descriptors, 4 bytes", ms.ValueSize)
		}
	case DevMap, DevMapHash, CPUMap, SockMap, SockHash, ReuseportSockArray:
		// An ifindex, CPU queue size or socket fd, optionally followed by
		// a program fd (devmap, cpumap, Linux 5.8+) or as a u64 cookie.
		if ms.ValueSize != 4 && ms.ValueSize != 8 {
			return bad("ValueSize is %d; %s values are 4 or 8 bytes", ms.ValueSize, ms.Type)
		}
	case XSKMap:
		if ms.ValueSize != 4 {
			return bad("ValueSize is %d; the values are AF_XDP socket fds, 4 bytes", ms.ValueSize)
		}
	case StackTrace:
		if ms.ValueSize == 0 || ms.ValueSize%8 != 0 {
			return bad("ValueSize is %d; it must be a non-zero multiple of 8 (u64 instruction pointers)", ms.ValueSize)
		}
	case Hash, LRUHash, PerCPUHash, LRUPerCPUHash, Array, PerCPUArray, Queue, Stack, BloomFilter, LPMTrie:
		if ms.ValueSize == 0 {
			return bad("ValueSize is 0")
		}
	}
	switch ms.Type {
	case ArrayOfMaps, HashOfMaps:
		if ms.InnerMap == nil {
			return bad("InnerMap is nil; a map of maps needs the spec of the maps it holds")
		}
		if ms.InnerMap.Type == ArrayOfMaps || ms.InnerMap.Type == HashOfMaps {
			return bad("InnerMap is a %s; maps of maps cannot nest", ms.InnerMap.Type)
		}
		if err := ms.InnerMap.Validate(); err != nil {
			return fmt.Errorf("map %q: InnerMap: %w", ms.Name, err)
		}
	default:
		if ms.InnerMap != nil {
			return bad("InnerMap is set, but only ArrayOfMaps and HashOfMaps hold maps")
		}
	}
	if ms.Type == PerfEventArray {
		return nil // MaxEntries 0 means one per possible CPU
	}
	if ms.MaxEntries == 0 && !objectStorage(ms.Type) && ms.Type != StructOpsMap {
		return bad("MaxEntries is 0")
	}
	return nil
}

// objectStorage reports the map types whose entries belong to a kernel
// object (socket, inode, task, cgroup) and so take MaxEntries 0.
func objectStorage(t MapType) bool {
	switch t {
	case SKStorage, InodeStorage, TaskStorage, CgroupStorageLocal, CgroupStorage, PerCPUCgroupStorage:
		return true
	}
	return false
}

// maxStack is MAX_BPF_STACK, the size of a program's stack frame.
const maxStack = 512

func ceilPow2(n uint32) uint32 {
	p := uint32(1)
	for p < n && p < 1<<31 {
		p <<= 1
	}
	return p
}
