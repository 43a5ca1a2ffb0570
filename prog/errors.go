package prog

import (
	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/sys"
)

// ErrNotSupported is the project-wide "this kernel lacks the feature"
// sentinel. It is sys.ErrNotSupported, so errors.Is works with either.
// Feature probes, unknown program and map types and unknown helpers return
// errors wrapping it, and so do interp's userspace maps for map types they
// do not implement.
var ErrNotSupported = sys.ErrNotSupported

// ErrValueSize is wrapped by map operations given a key or value whose
// size is not the map's key or value size (kernel and interp maps alike).
var ErrValueSize = mapvalue.ErrSize

// ErrValueType is wrapped by map operations given a key or value of a Go
// type that cannot be used as map data: not a []byte, nor plain
// fixed-size data (integers, arrays and structs of them without padding),
// nor a pointer to such data.
var ErrValueType = mapvalue.ErrType
