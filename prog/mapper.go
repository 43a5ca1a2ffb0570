package prog

import (
	"syscall"

	"github.com/purebpf/purebpf/insn"
)

// UpdateFlags are the flags of a map update (BPF_ANY, BPF_NOEXIST,
// BPF_EXIST, BPF_F_LOCK).
type UpdateFlags uint64

// Update flags: the values insn names for the map_update_elem helper
// (insn.UpdateNoExist, ..., which BPF code loads into r4).
const (
	UpdateAny     = UpdateFlags(insn.UpdateAny)     // create or replace
	UpdateNoExist = UpdateFlags(insn.UpdateNoExist) // create only; EEXIST if the key exists
	UpdateExist   = UpdateFlags(insn.UpdateExist)   // replace only; ENOENT if it does not
	UpdateLock    = UpdateFlags(insn.UpdateLock)    // take the value's bpf_spin_lock
)

// Mapper is the method set of a BPF map, kernel (*Map) or userspace
// (interp's maps). Keys and values are Go values of exactly the map's key
// and value size: a []byte, a pointer to plain fixed-size data, or (for
// inputs) such data by value. For per-CPU maps a value is a slice with one
// element per possible CPU, or a []byte of CPUs × the value size rounded up
// to 8.
//
// Errors wrap the errno the kernel returns, so errors.Is(err, unix.ENOENT)
// holds for a missing key on both kinds of map, and also match the
// sentinels ErrKeyNotExist and ErrKeyExist.
type Mapper interface {
	// Lookup copies the value of key into valueOut.
	Lookup(key, valueOut any) error
	// Update creates or replaces the value of key, as flags allow.
	Update(key, value any, flags UpdateFlags) error
	// Delete removes key.
	Delete(key any) error
	// LookupAndDelete copies the value of key into valueOut and removes it.
	// For queue and stack maps key is nil and the next element is popped.
	LookupAndDelete(key, valueOut any) error
	// NextKey copies the key after key into nextKeyOut; a nil key asks for
	// the first key. At the end it returns an error matching ErrKeyNotExist.
	NextKey(key, nextKeyOut any) error
	// MapSpec describes the map: type, sizes, max entries, flags and name.
	MapSpec() MapSpec
}

// errnoError is a sentinel that also matches its errno.
type errnoError struct {
	msg   string
	errno syscall.Errno
}

func (e *errnoError) Error() string        { return e.msg }
func (e *errnoError) Is(target error) bool { return target == e.errno }

// Sentinels for the common map errors. Each also matches its errno:
// errors.Is(ErrKeyNotExist, unix.ENOENT) is true.
var (
	ErrKeyNotExist error = &errnoError{"key does not exist", syscall.ENOENT}
	ErrKeyExist    error = &errnoError{"key already exists", syscall.EEXIST}
)

// MapError returns the error a map operation should return for errno: the
// sentinel for ENOENT and EEXIST, else the errno itself. Kernel and
// userspace maps both build their errors through it.
func MapError(errno syscall.Errno) error {
	switch errno {
	case syscall.ENOENT:
		return ErrKeyNotExist
	case syscall.EEXIST:
		return ErrKeyExist
	}
	return errno
}
