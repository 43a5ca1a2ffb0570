package perf

import (
	"errors"
	"os"

	"github.com/purebpf/purebpf/sys"
)

// ErrNotSupported is wrapped by errors for features the running kernel
// lacks. It is the project-wide sentinel sys.ErrNotSupported.
var ErrNotSupported = sys.ErrNotSupported

// ErrClosed is os.ErrClosed, the project-wide sentinel for a closed
// object: operations on a closed reader return errors wrapping it, and so
// do attach functions given a closed program or map.
var ErrClosed = os.ErrClosed

// ErrProgramType is wrapped when a program of the wrong type is attached,
// for example a socket filter to a tracepoint. The error names both types.
// It is sys.ErrProgramType, which link's refusals wrap too.
var ErrProgramType = sys.ErrProgramType

// ErrNotFound is wrapped by errors for a kernel symbol, tracepoint, file or
// ELF symbol that does not exist.
var ErrNotFound = errors.New("not found")

// ErrMapType is wrapped when a reader is given a map of the wrong type.
var ErrMapType = errors.New("perf: wrong map type")

// ErrCorrupt is wrapped when a ring holds a record that cannot be valid,
// for example one larger than the ring itself.
var ErrCorrupt = errors.New("perf: corrupt ring record")

// FDer is implemented by programs and maps: anything that owns a BPF file
// descriptor, such as *prog.Program and *prog.Map. It is sys.FDer, the
// same interface as socket.Program.
type FDer = sys.FDer
