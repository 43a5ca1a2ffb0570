package btf

import (
	"errors"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/sys"
)

// Every method of a nil *Spec, present and future: no panic, and the
// errors say the Spec is nil.
func TestNilSpecMethods(t *testing.T) {
	testenv.NilMethods(t, (*Spec)(nil), "nil")
	if _, err := (*Spec)(nil).TypeByName("task_struct", KindStruct); err == nil {
		t.Fatal("TypeByName on a nil *Spec: no error")
	}
	for range (*Spec)(nil).All() {
		t.Fatal("All on a nil *Spec yielded a type")
	}
}

// btf's ErrNotSupported is the module's one sentinel.
func TestErrNotSupportedIsSys(t *testing.T) {
	if !errors.Is(ErrNotSupported, sys.ErrNotSupported) {
		t.Fatal("btf.ErrNotSupported is not sys.ErrNotSupported")
	}
}
