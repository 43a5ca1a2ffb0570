//go:build linux

package bpffs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/sys"
)

func TestPin(t *testing.T) {
	testenv.RequireRoot(t)
	fd, err := sys.MapCreate(&sys.MapCreateAttr{MapType: sys.MapTypeArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	dir := filepath.Join(Path, fmt.Sprintf("purebpf-bpffs-test-%d", os.Getpid()), "sub")
	defer os.RemoveAll(filepath.Dir(dir))
	path := filepath.Join(dir, "m")
	if err := Pin(path, fd); err != nil {
		t.Fatal(err)
	}
	if ok, err := Is(dir); err != nil || !ok {
		t.Fatalf("Is(%s) = %v, %v after Pin created it", dir, ok, err)
	}
	got, err := sys.ObjGet(path, 0)
	if err != nil {
		t.Fatalf("the pin does not open: %v", err)
	}
	got.Close()
	if err := Pin(path, fd); !errors.Is(err, os.ErrExist) {
		t.Fatalf("Pin on an existing path: %v, want os.ErrExist", err)
	}
	if err := Pin(filepath.Join(t.TempDir(), "m"), fd); !errors.Is(err, ErrNotBPFFS) {
		t.Fatalf("Pin outside a bpffs: %v, want ErrNotBPFFS", err)
	}
	if err := Pin("", fd); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Pin(\"\"): %v, want EINVAL", err)
	}
	closed, _ := fd.Dup()
	closed.Close()
	if err := Pin(filepath.Join(dir, "closed"), closed); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Pin of a closed fd: %v, want os.ErrClosed", err)
	}
}
