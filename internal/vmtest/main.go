package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/vmtest/plan"
)

type options struct {
	pkgs       []string
	kernelPath string
	kernelPkg  string
	kernels    []string
	timeout    time.Duration
	perTest    time.Duration
	memory     string
	cpus       int
	kvm        string
	run        string
	keep       bool
	tools      []string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("vmtest", flag.ContinueOnError)
	pkgs := fs.String("pkgs", "", "comma-separated package patterns to test in the VM (positional arguments are added)")
	fs.StringVar(&o.kernelPath, "kernel", "", "boot this bzImage instead of the Debian cloud kernel")
	fs.StringVar(&o.kernelPkg, "kernel-pkg", "", "boot only this Debian kernel package (default: the newest of each -kernels series)")
	kernels := fs.String("kernels", "6.1,6.12", "comma-separated Debian cloud kernel series to boot one after the other: 6.1 (linux-image-6.1.0-N-cloud-amd64-unsigned), 6.12 (linux-image-6.12.N+deb12-cloud-amd64-unsigned)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "limit for the whole VM run")
	fs.DurationVar(&o.perTest, "test-timeout", 10*time.Minute, "limit for each test binary inside the VM")
	fs.StringVar(&o.memory, "m", "1G", "VM memory size")
	fs.IntVar(&o.cpus, "smp", 0, "VM CPU count (default: 2 with KVM, 1 under software emulation)")
	fs.StringVar(&o.kvm, "kvm", "auto", "use KVM: auto, on or off")
	fs.StringVar(&o.run, "run", "", "pass -test.run=REGEXP to every test binary")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (initramfs, binaries)")
	tools := fs.String("tools", "bpftool,ls", "comma-separated host programs to copy into the VM with their shared libraries (missing ones are skipped)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, p := range strings.Split(*pkgs, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.pkgs = append(o.pkgs, p)
		}
	}
	o.pkgs = append(o.pkgs, fs.Args()...)
	for _, k := range strings.Split(*kernels, ",") {
		if k = strings.TrimSpace(k); k != "" {
			if _, err := familyNamed(k); err != nil {
				return o, fmt.Errorf("-kernels: %w", err)
			}
			o.kernels = append(o.kernels, k)
		}
	}
	if len(o.kernels) == 0 && o.kernelPath == "" && o.kernelPkg == "" {
		return o, errors.New("-kernels is empty")
	}
	for _, t := range strings.Split(*tools, ",") {
		if t = strings.TrimSpace(t); t != "" {
			o.tools = append(o.tools, t)
		}
	}
	if len(o.pkgs) == 0 {
		return o, errors.New("no packages given (use -pkgs or arguments)")
	}
	switch o.kvm {
	case "auto", "on", "off":
	default:
		return o, fmt.Errorf("-kvm must be auto, on or off, not %q", o.kvm)
	}
	return o, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		logf("vmtest: %v", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		logf("vmtest: FAIL: %v", err)
		os.Exit(1)
	}
}

func run(o options) error {
	modRoot, err := moduleRoot()
	if err != nil {
		return err
	}
	for _, tool := range []string{"qemu-system-x86_64"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: install the Debian package qemu-system-x86", tool)
		}
	}
	ks, err := chooseKernels(o, filepath.Join(modRoot, ".cache", "vmtest"))
	if err != nil {
		return err
	}

	pkgs, err := listPackages(modRoot, o.pkgs)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "vmtest-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("vmtest: work directory %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	var testArgs []string
	if o.run != "" {
		testArgs = append(testArgs, "-test.run="+o.run)
	}
	testArgs = append(testArgs, "-test.timeout="+o.perTest.String())
	p, files, err := buildAll(modRoot, work, pkgs, testArgs, logf)
	if err != nil {
		return err
	}
	if len(p.Tests) == 0 {
		return errors.New("none of the packages has tests")
	}
	for _, tool := range o.tools {
		tf, err := hostTool(tool)
		if err != nil {
			logf("vmtest: not copying %s into the VM: %v", tool, err)
			continue
		}
		files = append(files, tf...)
	}
	shared, err := sharedConformance(modRoot)
	if err != nil {
		return fmt.Errorf("shared conformance suite: %w", err)
	}
	files = append(files, shared...)
	// init kills a binary a little after its own -test.timeout would have
	// fired, so the binary's panic with goroutine dump comes first.
	p.PerTestTimeout = o.perTest + 30*time.Second

	// The same test binaries run on each kernel in turn.
	var failed []string
	var summary []string
	for i, k := range ks {
		logf("vmtest: kernel %s", k.Image)
		kp := p
		kp.Env = append([]string(nil), p.Env...)
		if k.Release != "" {
			kp.Env = append(kp.Env, plan.EnvKernel+"="+k.Release)
		}
		kfiles := append([]staged(nil), files...)
		kp.Modules = nil
		for _, m := range k.Modules {
			guest := path.Join("lib/modules/vmtest", path.Base(filepath.ToSlash(m)))
			kfiles = append(kfiles, staged{host: m, guest: guest, perm: 0o644})
			kp.Modules = append(kp.Modules, "/"+guest)
		}
		initrd := filepath.Join(work, fmt.Sprintf("initramfs-%d.cpio.gz", i))
		if err := writeInitramfs(initrd, kp, kfiles); err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		name := k.Release
		if name == "" {
			name = k.Image
		}
		if err := boot(o, k, initrd, kp); err != nil {
			logf("vmtest: FAIL on %s: %v", name, err)
			failed = append(failed, name)
			summary = append(summary, name+": FAIL")
		} else {
			summary = append(summary, name+": ok")
		}
		os.Remove(initrd)
	}
	fmt.Printf("vmtest: kernels %s\n", strings.Join(summary, ", "))
	if len(failed) > 0 {
		return fmt.Errorf("tests failed on %s", strings.Join(failed, ", "))
	}
	return nil
}

// chooseKernels returns the kernels to boot: the -kernel image, the
// -kernel-pkg package, or the newest package of each -kernels series.
func chooseKernels(o options, cacheDir string) ([]kernel, error) {
	if o.kernelPath != "" || o.kernelPkg != "" {
		k, err := chooseKernel(o, family{}, cacheDir)
		if err != nil {
			return nil, err
		}
		return []kernel{k}, nil
	}
	var ks []kernel
	for _, name := range o.kernels {
		f, err := familyNamed(name)
		if err != nil {
			return nil, err
		}
		k, err := chooseKernel(o, f, cacheDir)
		if err != nil {
			return nil, fmt.Errorf("kernel %s: %w", name, err)
		}
		ks = append(ks, k)
	}
	return ks, nil
}

func chooseKernel(o options, f family, cacheDir string) (kernel, error) {
	if o.kernelPath != "" {
		if _, err := os.Stat(o.kernelPath); err != nil {
			return kernel{}, fmt.Errorf("-kernel: %w", err)
		}
		return kernel{Image: o.kernelPath}, nil
	}
	pkg := o.kernelPkg
	if pkg == "" {
		name, _, err := resolveKernelPackage(f, logf)
		if err != nil {
			cached := cachedKernels(f, cacheDir)
			if len(cached) == 0 {
				return kernel{}, err
			}
			logf("vmtest: %v; using cached %s", err, cached[0])
			name = cached[0]
		}
		pkg = name
	}
	return fetchKernel(cacheDir, pkg, logf)
}

// kvmUsable reports whether /dev/kvm can be opened for reading and
// writing, which is what qemu's -enable-kvm needs.
func kvmUsable() bool {
	fd, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

func qemuArgs(o options, k kernel, initrd string, kvm bool) []string {
	cpus := o.cpus
	if cpus <= 0 {
		// Under software emulation (multi-threaded TCG) the 6.1 guest with
		// two vCPUs soft-locks in the perf reader tests on this host's
		// qemu (7.2): both vCPUs spin in the kernel for minutes. One vCPU
		// runs the same tests in about 10 s. KVM guests get two CPUs.
		cpus = 1
		if kvm {
			cpus = 2
		}
	}
	args := []string{
		"-kernel", k.Image,
		"-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet",
		"-nographic", "-no-reboot",
		"-m", o.memory,
		"-smp", fmt.Sprint(cpus),
		"-nic", "none",
	}
	if kvm {
		args = append(args, "-enable-kvm", "-cpu", "host")
	} else {
		args = append(args, "-cpu", "max")
	}
	return args
}

// lifeTimeout bounds how long a KVM boot may take to reach init before
// vmtest gives up on KVM: nested KVM (a VM inside a VM) can hang in the
// kernel's decompressor or abort on unsupported MSRs.
const lifeTimeout = 45 * time.Second

func boot(o options, k kernel, initrd string, p plan.Plan) error {
	deadline := time.Now().Add(o.timeout)
	if o.kvm == "on" || (o.kvm == "auto" && kvmUsable()) {
		s, alive, err := attempt(o, k, initrd, true, deadline, o.kvm == "auto")
		if alive || o.kvm == "on" {
			if err != nil {
				s.problems = append(s.problems, err.Error())
			}
			return s.verdict(os.Stdout, p)
		}
		logf("vmtest: the KVM boot did not reach init (%v); retrying with software emulation", err)
	}
	s, _, err := attempt(o, k, initrd, false, deadline, false)
	if err != nil {
		s.problems = append(s.problems, err.Error())
	}
	return s.verdict(os.Stdout, p)
}

// attempt boots the VM once and streams its console. With watchdog set it
// kills qemu when init has not printed its banner within lifeTimeout.
// alive reports whether init started.
func attempt(o options, k kernel, initrd string, kvm bool, deadline time.Time, watchdog bool) (*scanState, bool, error) {
	args := qemuArgs(o, k, initrd, kvm)
	logf("vmtest: qemu-system-x86_64 %s", strings.Join(args, " "))
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	cmd.Stdin = nil // /dev/null: nothing to type into the console
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	cmd.WaitDelay = 5 * time.Second
	s := newScanState()
	if err := cmd.Start(); err != nil {
		return s, false, fmt.Errorf("starting qemu: %w", err)
	}
	waitErr := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		waitErr <- err
	}()
	aliveCh := make(chan struct{})
	var watchdogFired atomic.Bool
	if watchdog {
		go func() {
			select {
			case <-aliveCh:
			case <-time.After(lifeTimeout):
				watchdogFired.Store(true)
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	start := time.Now()
	alive := false
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		fmt.Println(line)
		if !alive && strings.Contains(line, plan.BannerPrefix) {
			alive = true
			close(aliveCh)
		}
		s.feed(line)
	}
	_, _ = io.Copy(io.Discard, pr)
	qerr := <-waitErr
	logf("vmtest: VM ran %.1fs", time.Since(start).Seconds())
	switch {
	case watchdogFired.Load() && !alive:
		return s, false, fmt.Errorf("init did not start within %v", lifeTimeout)
	case ctx.Err() != nil:
		return s, alive, fmt.Errorf("timed out after %v", o.timeout)
	case qerr != nil:
		return s, alive, fmt.Errorf("qemu: %w", qerr)
	}
	return s, alive, nil
}

// scanState accumulates what the console said.
type scanState struct {
	results  map[string]*plan.Result
	done     *plan.Done
	problems []string
	// counts of top-level test verdicts from -test.v output
	passed, failed, skipped int
	failedInPkg             int
}

func newScanState() *scanState { return &scanState{results: map[string]*plan.Result{}} }

func (s *scanState) feed(line string) {
	switch {
	case strings.HasPrefix(line, "--- PASS: "):
		s.passed++
	case strings.HasPrefix(line, "--- FAIL: "):
		s.failed++
		s.failedInPkg++
	case strings.HasPrefix(line, "--- SKIP: "):
		s.skipped++
	case strings.Contains(line, "Kernel panic"):
		s.problems = append(s.problems, strings.TrimSpace(line))
	}
	v, err := plan.ParseLine(line)
	if err != nil {
		if !errors.Is(err, plan.ErrNotPlanLine) {
			s.problems = append(s.problems, err.Error())
		}
		return
	}
	switch v := v.(type) {
	case *plan.Result:
		s.results[v.Package] = v
		if v.Status != plan.Pass && s.failedInPkg == 0 {
			// A crash or timeout prints no "--- FAIL" line; count it.
			s.failed++
		}
		s.failedInPkg = 0
	case *plan.Done:
		s.done = v
	case string:
		s.problems = append(s.problems, "inside the VM: "+v)
	}
}

// verdict prints the per-package table and the closing count line and
// returns an error unless every planned binary passed.
func (s *scanState) verdict(w io.Writer, p plan.Plan) error {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "vmtest summary:")
	bad := 0
	for _, t := range p.Tests {
		r, ok := s.results[t.Package]
		switch {
		case !ok:
			bad++
			fmt.Fprintf(w, "  %-8s %s (no result reported)\n", "MISSING", t.Package)
		case r.Status != plan.Pass:
			bad++
			fmt.Fprintf(w, "  %-8s %s exit=%d %.1fs %s\n", strings.ToUpper(string(r.Status)), t.Package, r.Exit, r.Seconds, r.Error)
		default:
			fmt.Fprintf(w, "  %-8s %s %.1fs\n", "ok", t.Package, r.Seconds)
		}
	}
	if s.done == nil {
		s.problems = append(s.problems, "the VM stopped before init reported that all tests had run")
	}
	for _, pr := range s.problems {
		fmt.Fprintf(w, "  problem: %s\n", pr)
	}
	failed := s.failed
	if failed == 0 && (bad > 0 || len(s.problems) > 0) {
		failed = 1
	}
	fmt.Fprintf(w, "vmtest: %d passed, %d failed, %d skipped\n", s.passed, failed, s.skipped)
	if bad > 0 || len(s.problems) > 0 {
		return fmt.Errorf("%d of %d test binaries did not pass, %d problems", bad, len(p.Tests), len(s.problems))
	}
	return nil
}
