package sys

import "errors"

// ErrNotSupported is the project-wide sentinel for "this kernel (or this
// platform) does not support the requested feature". The sys package
// returns it (wrapped in an *Error) when the kernel answers with its
// internal ENOTSUPP errno (524); other purebpf packages re-export or wrap
// it for their own feature checks, so errors.Is(err, sys.ErrNotSupported)
// holds for all of them. It is defined without a build constraint so that
// portable packages (interp, jit) can use it on every platform.
var ErrNotSupported = errors.New("not supported")

// ErrProgramType is the project-wide sentinel for "this program's type
// does not fit the hook", such as a socket filter given to a tracepoint.
// link and perf re-export it, so one errors.Is matches the refusals of
// both, which name both types and come before any system call.
var ErrProgramType = errors.New("wrong program type")
