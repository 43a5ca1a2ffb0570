package vmcheck

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/vmtest/plan"
)

// inVM skips outside the vmtest VM. Inside it the environment is always
// root, so no privilege skip exists here.
func inVM(t *testing.T) {
	t.Helper()
	if os.Getenv(plan.EnvInVM) != "1" {
		t.Skip("not inside the vmtest VM (run: go run ./internal/vmtest ./internal/vmtest/vmcheck)")
	}
}

func TestRootAndKernel(t *testing.T) {
	inVM(t)
	if os.Geteuid() != 0 {
		t.Fatalf("euid %d, want 0", os.Geteuid())
	}
	if os.Getenv("CI") != "true" {
		t.Errorf("CI=%q, want true so privileged tests fail instead of skipping", os.Getenv("CI"))
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(uts.Release[:])
	want := os.Getenv(plan.EnvKernel)
	if want == "" {
		t.Skipf("runner booted a -kernel image of unknown release (running %s)", release)
	}
	if release != want {
		t.Fatalf("uname release %q, want %q (the package the runner booted)", release, want)
	}
}

// pmuType reads the dynamic PMU type the kernel assigned to a PMU
// (kernel/events/core.c, perf_pmu_register) and its retprobe format bit.
func pmuType(t *testing.T, name string) {
	t.Helper()
	dir := "/sys/bus/event_source/devices/" + name
	b, err := os.ReadFile(dir + "/type")
	if err != nil {
		t.Fatalf("%s PMU: %v", name, err)
	}
	typ, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s/type %q: %v", dir, b, err)
	}
	// Types below PERF_TYPE_MAX (6) are the fixed generic ones.
	if typ < unix.PERF_TYPE_MAX {
		t.Fatalf("%s PMU type %d collides with a fixed perf type", name, typ)
	}
	f, err := os.ReadFile(dir + "/format/retprobe")
	if err != nil {
		t.Fatalf("%s PMU retprobe format: %v", name, err)
	}
	if !strings.HasPrefix(string(f), "config:") {
		t.Fatalf("%s/format/retprobe = %q, want config:<bit>", dir, f)
	}
	t.Logf("%s PMU type %d, retprobe %s", name, typ, strings.TrimSpace(string(f)))
}

func TestKprobePMU(t *testing.T) { inVM(t); pmuType(t, "kprobe") }
func TestUprobePMU(t *testing.T) { inVM(t); pmuType(t, "uprobe") }

func TestMounts(t *testing.T) {
	inVM(t)
	for _, c := range []struct {
		path  string
		magic int64
	}{
		{"/sys/kernel/tracing", unix.TRACEFS_MAGIC},
		{"/sys/kernel/debug", unix.DEBUGFS_MAGIC},
		{"/sys/fs/bpf", unix.BPF_FS_MAGIC},
		{"/proc", unix.PROC_SUPER_MAGIC},
		{"/sys", unix.SYSFS_MAGIC},
		{"/tmp", unix.TMPFS_MAGIC},
	} {
		var st unix.Statfs_t
		if err := unix.Statfs(c.path, &st); err != nil {
			t.Errorf("statfs %s: %v", c.path, err)
			continue
		}
		if st.Type != c.magic {
			t.Errorf("%s has file system magic %#x, want %#x", c.path, st.Type, c.magic)
		}
	}
	for _, f := range []string{"/sys/kernel/tracing/kprobe_events", "/sys/kernel/tracing/uprobe_events",
		"/sys/kernel/tracing/events/syscalls/sys_enter_getpid/id"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("tracefs: %v", err)
		}
	}
}

func TestLoopback(t *testing.T) {
	inVM(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on lo: %v", err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("dial over lo: %v", err)
	}
	c.Close()
}
