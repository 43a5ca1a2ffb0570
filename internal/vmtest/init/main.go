package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/vmtest/plan"
)

type mount struct {
	source, target, fstype string
	required               bool
}

// mounts lists the file systems tests rely on. tracefs lives under
// /sys/kernel/tracing since Linux 4.1; debugfs still exposes it at
// /sys/kernel/debug/tracing for older tools.
var mounts = []mount{
	{"devtmpfs", "/dev", "devtmpfs", true},
	{"proc", "/proc", "proc", true},
	{"sysfs", "/sys", "sysfs", true},
	{"tracefs", "/sys/kernel/tracing", "tracefs", true},
	{"debugfs", "/sys/kernel/debug", "debugfs", true},
	{"bpf", "/sys/fs/bpf", "bpf", true},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", false},
	{"tmpfs", "/tmp", "tmpfs", true},
}

func main() {
	done := run()
	fmt.Println()
	fmt.Println(plan.FormatDone(done))
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Println(plan.ErrorPrefix + "power off: " + err.Error())
	}
	// PID 1 must not exit: the kernel would panic. With panic=-1 and
	// -no-reboot that also ends qemu, but power off is the clean way.
	select {}
}

func setupErr(format string, args ...any) plan.Done {
	fmt.Println()
	fmt.Println(plan.ErrorPrefix + fmt.Sprintf(format, args...))
	return plan.Done{Failed: 1}
}

func run() plan.Done {
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil && m.required {
			return setupErr("mkdir %s: %v", m.target, err)
		}
		err := unix.Mount(m.source, m.target, m.fstype, 0, "")
		if err != nil && !errors.Is(err, unix.EBUSY) && m.required {
			return setupErr("mount %s on %s: %v", m.fstype, m.target, err)
		}
	}
	if err := loopbackUp(); err != nil {
		return setupErr("bring up lo: %v", err)
	}
	raw, err := os.ReadFile(plan.Path)
	if err != nil {
		return setupErr("read plan: %v", err)
	}
	var p plan.Plan
	if err := json.Unmarshal(raw, &p); err != nil {
		return setupErr("decode plan %s: %v", plan.Path, err)
	}
	for _, m := range p.Modules {
		if err := loadModule(m); err != nil {
			return setupErr("load kernel module %s: %v", m, err)
		}
	}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	fmt.Printf("%skernel %s, %d test binaries\n", plan.BannerPrefix, unix.ByteSliceToString(uts.Release[:]), len(p.Tests))

	env := append([]string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root",
		"TMPDIR=/tmp",
		"CI=true",
		plan.EnvInVM + "=1",
	}, p.Env...)
	var d plan.Done
	for _, t := range p.Tests {
		r := runTest(t, env, p.PerTestTimeout)
		if r.Status == plan.Pass {
			d.Passed++
		} else {
			d.Failed++
		}
		fmt.Println()
		fmt.Println(plan.FormatResult(r))
	}
	return d
}

func runTest(t plan.Test, env []string, timeout time.Duration) plan.Result {
	r := plan.Result{Package: t.Package}
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	fmt.Printf("vmtest: running %s\n", t.Package)
	cmd := exec.CommandContext(ctx, t.Binary, t.Args...)
	cmd.Dir = t.Dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stdout
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	r.Seconds = time.Since(start).Seconds()
	var ee *exec.ExitError
	switch {
	case err == nil:
		r.Status = plan.Pass
	case ctx.Err() != nil:
		r.Status = plan.Timeout
		r.Exit = -1
		r.Error = fmt.Sprintf("killed after %v", timeout)
	case errors.As(err, &ee):
		r.Status = plan.Fail
		r.Exit = ee.ExitCode()
		r.Error = err.Error()
	default:
		r.Status = plan.Fail
		r.Exit = -1
		r.Error = err.Error()
	}
	return r
}

// loadModule loads a kernel module file with finit_module(2); a .ko.xz
// file is decompressed by the kernel (MODULE_INIT_COMPRESSED_FILE, Linux
// 6.4+ with CONFIG_MODULE_DECOMPRESS). A module already loaded is fine.
func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	flags := 0
	if strings.HasSuffix(path, ".xz") {
		flags |= unix.MODULE_INIT_COMPRESSED_FILE
	}
	if err := unix.FinitModule(int(f.Fd()), "", flags); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("finit_module: %w", err)
	}
	return nil
}

// loopbackUp sets IFF_UP on lo, like "ip link set lo up".
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS: %w", err)
	}
	return nil
}
