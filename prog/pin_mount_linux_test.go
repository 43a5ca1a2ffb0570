//go:build linux

package prog

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/bpffs"
	"github.com/purebpf/purebpf/internal/testenv"
)

// TestPinMountsBPFFS hides /sys/fs/bpf under a tmpfs in a private mount
// namespace and checks that Pin mounts a bpffs there itself. The work runs
// on a goroutine locked to its OS thread, which never unlocks: the thread
// (and with it the namespace) is discarded when the goroutine ends.
func TestPinMountsBPFFS(t *testing.T) {
	testenv.RequireRoot(t)
	p := mustLoad(t, counterSpec(Array), nil)
	want, err := p.Info()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // no unlock: the thread dies with the goroutine
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				return err
			}
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				return err
			}
			if err := unix.Mount("tmpfs", BPFFSPath, "tmpfs", 0, ""); err != nil {
				return err
			}
			if ok, err := bpffs.Is(BPFFSPath); err != nil || ok {
				return errors.New("the tmpfs did not hide the bpffs")
			}
			path := filepath.Join(BPFFSPath, "purebpf-mount-test", "prog")
			if err := p.Pin(path); err != nil {
				return err
			}
			if ok, err := bpffs.Is(BPFFSPath); err != nil || !ok {
				return errors.New("Pin did not mount a bpffs")
			}
			q, err := LoadPinnedProgram(path)
			if err != nil {
				return err
			}
			defer q.Close()
			got, err := q.Info()
			if err != nil {
				return err
			}
			if got.ID != want.ID {
				return errors.New("the pinned program is another program")
			}
			return os.Remove(path)
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
