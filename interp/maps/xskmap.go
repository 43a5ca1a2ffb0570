package maps

import (
	"encoding/binary"
	"fmt"
	"sync"
	"syscall"

	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/prog"
)

// XSKMap is an AF_XDP socket map (BPF_MAP_TYPE_XSKMAP, Linux 4.18) for
// bpf_redirect_map in XDP programs: an array of AF_XDP sockets, usually
// indexed by receive queue. Userspace has no sockets, so a test stands
// one in with SetSocket, giving the queue it is bound to; a frame
// redirected to it goes nowhere, and the run reports the target
// (interp.XDPMeta.Redirect).
//
// It behaves as net/xdp/xskmap.c (checked against Linux 6.18): creation
// wants 4-byte keys and values and flags among BPF_F_NUMA_NODE,
// BPF_F_RDONLY and BPF_F_WRONLY; a program's lookup of a set entry gives
// a read-only struct bpf_xdp_sock (its queue_id), and of an empty one
// NULL; Lookup from user space is EOPNOTSUPP; Update validates (flags
// beyond BPF_EXIST EINVAL, an index out of range E2BIG) and then fails
// with EBADF, as there are no socket fds to resolve; Delete of an index
// out of range is EINVAL, of an empty one succeeds; NextKey walks every
// index; LookupAndDelete is ENOTSUPP.
type XSKMap struct {
	spec  prog.MapSpec
	mu    sync.RWMutex
	socks [][]byte // struct bpf_xdp_sock of each slot, nil: empty
}

func newXSKMap(spec prog.MapSpec) (*XSKMap, error) {
	const mask = flagNUMANode | flagRdOnly | flagWrOnly
	switch {
	case spec.MaxEntries == 0:
		return nil, invalid("max_entries is 0")
	case spec.KeySize != 4 || spec.ValueSize != 4:
		return nil, invalid("key_size %d, value_size %d: %s keys and values are 4 bytes", spec.KeySize, spec.ValueSize, spec.Type)
	case spec.Flags&^mask != 0:
		return nil, invalid("flags %#x has bits %#x not valid for %s", spec.Flags, spec.Flags&^mask, spec.Type)
	}
	if err := checkAccessFlags(spec.Flags); err != nil {
		return nil, err
	}
	if uint64(spec.MaxEntries)*8 > maxPrealloc {
		return nil, fmt.Errorf("max_entries %d: %w", spec.MaxEntries, syscall.ENOMEM)
	}
	return &XSKMap{spec: spec, socks: make([][]byte, spec.MaxEntries)}, nil
}

// MapSpec returns the map's spec.
func (x *XSKMap) MapSpec() prog.MapSpec { return x.spec }

// SetSocket puts an AF_XDP socket bound to receive queue queueID at
// index, standing in for the socket fd user space would store; Delete
// removes it. An index out of range is E2BIG.
func (x *XSKMap) SetSocket(index, queueID uint32) error {
	if index >= x.spec.MaxEntries {
		return opError(x.spec.Name, "set socket", fmt.Errorf("index %d >= max_entries %d: %w", index, x.spec.MaxEntries, syscall.E2BIG))
	}
	sock := binary.NativeEndian.AppendUint32(nil, queueID) // struct bpf_xdp_sock
	x.mu.Lock()
	x.socks[index] = sock
	x.mu.Unlock()
	return nil
}

// LookupRaw returns the socket at index key as a program sees it, a
// struct bpf_xdp_sock (queue_id), or nil for an empty slot. The program
// must not write it.
func (x *XSKMap) LookupRaw(key []byte, cpu int) []byte {
	return slotOf(&x.mu, x.socks, key)
}

// UpdateRaw fails as the verifier refuses it: programs cannot update
// socket maps.
func (x *XSKMap) UpdateRaw(key, value []byte, flags prog.UpdateFlags, cpu int) error {
	return programCannot(x.spec, "update", "bpf_map_lookup_elem and bpf_redirect_map")
}

// DeleteRaw fails as the verifier refuses it: programs cannot delete
// from socket maps.
func (x *XSKMap) DeleteRaw(key []byte) error {
	return programCannot(x.spec, "delete", "bpf_map_lookup_elem and bpf_redirect_map")
}

// Lookup fails with EOPNOTSUPP, as in the kernel.
func (x *XSKMap) Lookup(key, valueOut any) error {
	return opError(x.spec.Name, "lookup", fmt.Errorf("%s entries cannot be read from user space: %w", x.spec.Type, syscall.EOPNOTSUPP))
}

// Update validates like the kernel and then fails with EBADF: use
// SetSocket.
func (x *XSKMap) Update(key, value any, flags prog.UpdateFlags) error {
	if err := x.update(key, value, flags); err != nil {
		return opError(x.spec.Name, "update", err)
	}
	return nil
}

func (x *XSKMap) update(key, value any, flags prog.UpdateFlags) error {
	if err := userWrite(&x.spec); err != nil {
		return err
	}
	if flags&prog.UpdateLock != 0 {
		return fmt.Errorf("flag BPF_F_LOCK on a map without bpf_spin_lock: %w", syscall.EINVAL)
	}
	i, err := fdArrayIndex(&x.spec, key)
	if err != nil {
		return err
	}
	var scratch [8]byte
	v, err := mapvalue.Encode(value, 4, "value", scratch[:])
	if err != nil {
		return err
	}
	if flags > prog.UpdateExist {
		return fmt.Errorf("flags %#x, %s updates take BPF_ANY, BPF_NOEXIST or BPF_EXIST: %w", uint64(flags), x.spec.Type, syscall.EINVAL)
	}
	if i >= x.spec.MaxEntries {
		return fmt.Errorf("index %d >= max_entries %d: %w", i, x.spec.MaxEntries, syscall.E2BIG)
	}
	return fmt.Errorf("fd %d: a userspace %s cannot resolve socket file descriptors, use SetSocket: %w", int32(binary.NativeEndian.Uint32(v)), x.spec.Type, syscall.EBADF)
}

// Delete empties the slot at index key.
func (x *XSKMap) Delete(key any) error {
	if err := x.delete(key); err != nil {
		return opError(x.spec.Name, "delete", err)
	}
	return nil
}

func (x *XSKMap) delete(key any) error {
	if err := userWrite(&x.spec); err != nil {
		return err
	}
	i, err := fdArrayIndex(&x.spec, key)
	if err != nil {
		return err
	}
	if i >= x.spec.MaxEntries {
		return fmt.Errorf("index %d >= max_entries %d: %w", i, x.spec.MaxEntries, syscall.EINVAL)
	}
	x.mu.Lock()
	x.socks[i] = nil
	x.mu.Unlock()
	return nil
}

// LookupAndDelete fails with ENOTSUPP, as in the kernel.
func (x *XSKMap) LookupAndDelete(key, valueOut any) error {
	return opError(x.spec.Name, "lookup and delete", fmt.Errorf("%s maps: %w", x.spec.Type, ENOTSUPP))
}

// NextKey walks the indexes as for an array.
func (x *XSKMap) NextKey(key, nextKeyOut any) error {
	if err := arrayNextKey(&x.spec, key, nextKeyOut); err != nil {
		return opError(x.spec.Name, "next key", err)
	}
	return nil
}
