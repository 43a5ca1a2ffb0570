package sys

import (
	"fmt"
	"os"
	"reflect"
)

// FDer is anything that holds the file descriptor of a BPF object, such as
// a *prog.Program or a *prog.Map. Packages below prog (perf) and beside it
// (socket) take programs and maps as an FDer, so that they need nothing
// else from them. FD returns -1 for a closed (or nil) object.
type FDer interface {
	FD() int
}

// ObjectFD returns the descriptor of x, a program or map (what says
// which) handed to an attach or reader function, or an error naming what
// is wrong with it: nil, wrapping os.ErrInvalid (an interface holding a nil
// pointer counts as nil, such as the nil *prog.Map that Program.Map returns
// for a name the program's spec does not list), or closed, wrapping
// os.ErrClosed.
func ObjectFD(x FDer, what string) (int, error) {
	if x == nil {
		return -1, fmt.Errorf("nil %s: %w", what, os.ErrInvalid)
	}
	if v := reflect.ValueOf(x); v.Kind() == reflect.Pointer && v.IsNil() {
		hint := ""
		if what == "map" {
			hint = " (Program.Map returns nil for a name the program's spec does not list)"
		}
		return -1, fmt.Errorf("nil %s %T%s: %w", what, x, hint, os.ErrInvalid)
	}
	fd := x.FD()
	if fd < 0 {
		return -1, fmt.Errorf("%s %v is closed: %w", what, x, os.ErrClosed)
	}
	return fd, nil
}
