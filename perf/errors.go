package perf

import (
	"errors"

	"github.com/purebpf/purebpf/sys"
)

// ErrNotSupported is wrapped by errors for features the running kernel
// lacks. It is the project-wide sentinel sys.ErrNotSupported.
var ErrNotSupported = sys.ErrNotSupported

// ErrClosed is returned by operations on a closed Link or reader.
var ErrClosed = errors.New("perf: closed")

// ErrNotFound is wrapped by errors for a kernel symbol, tracepoint, file or
// ELF symbol that does not exist.
var ErrNotFound = errors.New("not found")

// ErrMapType is wrapped when a reader is given a map of the wrong type.
var ErrMapType = errors.New("perf: wrong map type")

// ErrCorrupt is wrapped when a ring holds a record that cannot be valid,
// for example one larger than the ring itself.
var ErrCorrupt = errors.New("perf: corrupt ring record")

// FDer is implemented by programs and maps: anything that owns a BPF file
// descriptor, such as prog.Program and prog.Map.
type FDer interface {
	FD() int
}
