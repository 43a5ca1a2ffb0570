package prog

import "github.com/purebpf/purebpf/sys"

// ErrNotSupported is the project-wide "this kernel lacks the feature"
// sentinel. It is sys.ErrNotSupported, so errors.Is works with either.
// Feature probes, unknown program and map types and unknown helpers return
// errors wrapping it, and so do interp's userspace maps for map types they
// do not implement.
var ErrNotSupported = sys.ErrNotSupported
