//go:build linux

package sys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/testenv"
)

func TestLinkCommandsNil(t *testing.T) {
	if err := LinkUpdate(nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("LinkUpdate(nil) = %v", err)
	}
	if _, err := RawTracepointOpen(nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("RawTracepointOpen(nil) = %v", err)
	}
	if err := ProgAttach(nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("ProgAttach(nil) = %v", err)
	}
	if err := ProgDetach(nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("ProgDetach(nil) = %v", err)
	}
	if err := ProgQuery(nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("ProgQuery(nil) = %v", err)
	}
	if err := LinkGetInfoByFD(nil, nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("LinkGetInfoByFD(nil) = %v", err)
	}
	if err := RawTracepointLinkGetInfoByFD(nil, nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("RawTracepointLinkGetInfoByFD(nil) = %v", err)
	}
}

func progID(t *testing.T, fd *FD) uint32 {
	t.Helper()
	var info ProgInfo
	if err := ProgGetInfoByFD(fd, &info); err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// queryCgroup returns the program IDs attached to the cgroup's hook.
func queryCgroup(t *testing.T, cg int, at AttachType) []uint32 {
	t.Helper()
	ids := make([]uint32, 8)
	q := ProgQueryAttr{TargetFD: uint32(cg), AttachType: at, Count: uint32(len(ids)), ProgIDs: NewSlicePointer(ids)}
	if err := ProgQuery(&q); err != nil {
		t.Fatalf("ProgQuery: %v", err)
	}
	runtime.KeepAlive(ids)
	return ids[:q.Count]
}

// The legacy attach commands and cgroup links on a throwaway cgroup.
func TestCgroupAttachQueryUpdate(t *testing.T) {
	testenv.RequireRoot(t)
	root := testenv.Cgroup2Mount()
	if root == "" {
		testenv.SkipOrFail(t, "no cgroup2 file system is mounted")
	}
	dir := filepath.Join(root, fmt.Sprintf("purebpf-sys-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dir)
	cg, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cg)
	a := loadRetZero(t, ProgTypeCgroupSKB, "skb_a")
	b := loadRetZero(t, ProgTypeCgroupSKB, "skb_b")

	// BPF_PROG_ATTACH, QUERY, DETACH.
	at := ProgAttachAttr{TargetFD: uint32(cg), AttachBPFFD: a.Uint(), AttachType: AttachCgroupInetEgress, AttachFlags: AttachFlagAllowMulti}
	if err := ProgAttach(&at); err != nil {
		t.Fatalf("ProgAttach: %v", err)
	}
	if got := queryCgroup(t, cg, AttachCgroupInetEgress); len(got) != 1 || got[0] != progID(t, a) {
		t.Fatalf("after ProgAttach the hook holds %v, want [%d]", got, progID(t, a))
	}
	// Detach takes no attach flags (EINVAL since Linux 6.6).
	at.AttachFlags = 0
	if err := ProgDetach(&at); err != nil {
		t.Fatalf("ProgDetach: %v", err)
	}
	if got := queryCgroup(t, cg, AttachCgroupInetEgress); len(got) != 0 {
		t.Fatalf("after ProgDetach the hook holds %v", got)
	}

	// A cgroup link: info, update, detach.
	l, err := LinkCreate(&LinkCreateAttr{ProgFD: a.Uint(), TargetFD: uint32(cg), AttachType: AttachCgroupInetIngress})
	if err != nil {
		t.Fatalf("LinkCreate: %v", err)
	}
	defer l.Close()
	var info LinkInfo
	if err := LinkGetInfoByFD(l, &info); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	if id, typ := info.Cgroup(); info.Type != LinkTypeCgroup || info.ProgID != progID(t, a) || typ != AttachCgroupInetIngress || id != st.Ino {
		t.Fatalf("link info %+v: cgroup %d attach %d; want cgroup link of %d on cgroup %d", info, id, typ, progID(t, a), st.Ino)
	}
	up := LinkUpdateAttr{LinkFD: l.Uint(), NewProgFD: b.Uint(), Flags: AttachFlagReplace, OldProgFD: b.Uint()}
	if err := LinkUpdate(&up); !errors.Is(err, unix.EPERM) {
		t.Fatalf("LinkUpdate expecting the wrong old program = %v, want EPERM", err)
	}
	up.OldProgFD = a.Uint()
	if err := LinkUpdate(&up); err != nil {
		t.Fatalf("LinkUpdate: %v", err)
	}
	if got := queryCgroup(t, cg, AttachCgroupInetIngress); len(got) != 1 || got[0] != progID(t, b) {
		t.Fatalf("after LinkUpdate the hook holds %v, want [%d]", got, progID(t, b))
	}
	if err := LinkDetach(l); err != nil {
		t.Fatalf("LinkDetach: %v", err)
	}
	if got := queryCgroup(t, cg, AttachCgroupInetIngress); len(got) != 0 {
		t.Fatalf("after LinkDetach the hook holds %v", got)
	}
}

func TestRawTracepointOpen(t *testing.T) {
	testenv.RequireRoot(t)
	p := loadRetZero(t, ProgTypeRawTracepoint, "rawtp")
	name, err := NewStringPointer("sys_enter")
	if err != nil {
		t.Fatal(err)
	}
	l, err := RawTracepointOpen(&RawTracepointOpenAttr{Name: name, ProgFD: p.Uint()})
	if err != nil {
		t.Fatalf("RawTracepointOpen: %v", err)
	}
	defer l.Close()
	buf := make([]byte, 64)
	info := RawTracepointLinkInfo{TPName: NewSlicePointer(buf), TPNameLen: uint32(len(buf))}
	if err := RawTracepointLinkGetInfoByFD(l, &info); err != nil {
		t.Fatal(err)
	}
	if got := unix.ByteSliceToString(buf); info.Type != LinkTypeRawTracepoint || got != "sys_enter" || info.TPNameLen != uint32(len("sys_enter")+1) {
		t.Fatalf("link info %+v name %q, want raw_tracepoint sys_enter", info, got)
	}
	missing, _ := NewStringPointer("no_such_tracepoint_purebpf")
	if _, err := RawTracepointOpen(&RawTracepointOpenAttr{Name: missing, ProgFD: p.Uint()}); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("RawTracepointOpen(missing) = %v, want ENOENT", err)
	}
}
