package sys

import (
	"errors"
	"os"
	"strings"
	"testing"
)

type fakeObject struct{ fd int }

func (f *fakeObject) FD() int        { return f.fd }
func (f *fakeObject) String() string { return "fake" }

func TestObjectFD(t *testing.T) {
	if fd, err := ObjectFD(&fakeObject{7}, "map"); fd != 7 || err != nil {
		t.Errorf("open object: %d, %v", fd, err)
	}
	if _, err := ObjectFD(nil, "program"); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("nil: %v", err)
	}
	var nilObj *fakeObject
	if _, err := ObjectFD(nilObj, "map"); !errors.Is(err, os.ErrInvalid) || !strings.Contains(err.Error(), "Program.Map returns nil") {
		t.Errorf("nil pointer: %v", err)
	}
	if _, err := ObjectFD(&fakeObject{-1}, "map"); !errors.Is(err, os.ErrClosed) || !strings.Contains(err.Error(), "map fake is closed") {
		t.Errorf("closed: %v", err)
	}
}
