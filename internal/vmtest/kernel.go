package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// kernelPkgRE matches Debian 12's 6.1 cloud kernel image packages and
// captures the kernel release and the ABI number.
var kernelPkgRE = regexp.MustCompile(`^linux-image-(6\.1\.0-(\d+)-cloud-amd64)-unsigned$`)

// requiredConfig lists the kernel options the VM tests need. The cloud
// kernel builds the serial console and initramfs support in, so no module
// has to be loaded.
var requiredConfig = []string{
	"CONFIG_BLK_DEV_INITRD",
	"CONFIG_RD_GZIP",
	"CONFIG_SERIAL_8250_CONSOLE",
	"CONFIG_DEVTMPFS",
	"CONFIG_BPF_SYSCALL",
	"CONFIG_BPF_EVENTS",
	"CONFIG_PERF_EVENTS",
	"CONFIG_KPROBES",
	"CONFIG_KRETPROBES",
	"CONFIG_KPROBE_EVENTS",
	"CONFIG_UPROBES",
	"CONFIG_UPROBE_EVENTS",
	"CONFIG_FTRACE_SYSCALLS",
	"CONFIG_TRACING",
	"CONFIG_DEBUG_FS",
}

// kernel is a bootable kernel image and what is known about it.
type kernel struct {
	Image   string // path of the bzImage
	Release string // e.g. 6.1.0-56-cloud-amd64; empty for -kernel images
}

// newestKernelPackage picks the package with the highest ABI number from
// apt-cache search output lines ("name - description").
func newestKernelPackage(searchOutput string) (name, release string, err error) {
	best := -1
	sc := bufio.NewScanner(strings.NewReader(searchOutput))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		m := kernelPkgRE.FindStringSubmatch(fields[0])
		if m == nil {
			continue
		}
		abi, err := strconv.Atoi(m[2])
		if err != nil {
			continue
		}
		if abi > best {
			best, name, release = abi, fields[0], m[1]
		}
	}
	if best < 0 {
		return "", "", errors.New("apt-cache knows no linux-image-6.1.0-N-cloud-amd64-unsigned package")
	}
	return name, release, nil
}

func aptSearch() (string, error) {
	out, err := exec.Command("apt-cache", "search", "--names-only", `^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$`).Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache search: %w", err)
	}
	return string(out), nil
}

// resolveKernelPackage finds the newest Debian 6.1 cloud kernel package.
// An empty package list is refreshed with apt-get update once when
// running as root.
func resolveKernelPackage(logf func(string, ...any)) (name, release string, err error) {
	out, err := aptSearch()
	if err == nil {
		if name, release, err = newestKernelPackage(out); err == nil {
			return name, release, nil
		}
	}
	if os.Geteuid() != 0 {
		return "", "", fmt.Errorf("%w (run apt-get update as root, or pass -kernel)", err)
	}
	logf("vmtest: no kernel package in the apt lists, running apt-get update")
	upd := exec.Command("apt-get", "update")
	upd.Stdout, upd.Stderr = os.Stderr, os.Stderr
	if uerr := upd.Run(); uerr != nil {
		return "", "", fmt.Errorf("apt-get update: %w", uerr)
	}
	if out, err = aptSearch(); err != nil {
		return "", "", err
	}
	return newestKernelPackage(out)
}

// cachedKernels lists kernel packages already extracted in the cache,
// newest ABI first; used when apt is unusable.
func cachedKernels(cacheDir string) []string {
	ents, _ := os.ReadDir(cacheDir)
	type c struct {
		name string
		abi  int
	}
	var cs []c
	for _, e := range ents {
		m := kernelPkgRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(cacheDir, e.Name(), "vmlinuz")); err != nil {
			continue
		}
		abi, _ := strconv.Atoi(m[2])
		cs = append(cs, c{e.Name(), abi})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].abi > cs[j].abi })
	var names []string
	for _, x := range cs {
		names = append(names, x.name)
	}
	return names
}

// fetchKernel makes sure the named package's vmlinuz and config are in
// cacheDir/<pkg>/ and checks the config.
func fetchKernel(cacheDir, pkg string, logf func(string, ...any)) (kernel, error) {
	m := kernelPkgRE.FindStringSubmatch(pkg)
	if m == nil {
		return kernel{}, fmt.Errorf("kernel package %q is not a linux-image-6.1.0-N-cloud-amd64-unsigned package", pkg)
	}
	dir := filepath.Join(cacheDir, pkg)
	k := kernel{Image: filepath.Join(dir, "vmlinuz"), Release: m[1]}
	cfgPath := filepath.Join(dir, "config")
	if _, err := os.Stat(k.Image); err == nil {
		return k, checkConfigFile(cfgPath)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return kernel{}, err
	}
	tmp, err := os.MkdirTemp(dir, "download-")
	if err != nil {
		return kernel{}, err
	}
	defer os.RemoveAll(tmp)
	logf("vmtest: apt-get download %s", pkg)
	dl := exec.Command("apt-get", "download", pkg)
	dl.Dir = tmp
	var stderr bytes.Buffer
	dl.Stderr = &stderr
	if err := dl.Run(); err != nil {
		return kernel{}, fmt.Errorf("apt-get download %s: %w: %s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return kernel{}, fmt.Errorf("apt-get download %s produced %d .deb files", pkg, len(debs))
	}
	if err := extractKernel(debs[0], tmp); err != nil {
		return kernel{}, err
	}
	// Config first: the image's presence marks a complete cache entry.
	if err := os.Rename(filepath.Join(tmp, "config"), cfgPath); err != nil {
		return kernel{}, err
	}
	if err := os.Rename(filepath.Join(tmp, "vmlinuz"), k.Image); err != nil {
		return kernel{}, err
	}
	return k, checkConfigFile(cfgPath)
}

// extractKernel pulls boot/vmlinuz-* and boot/config-* out of a kernel
// .deb into dir/vmlinuz and dir/config.
func extractKernel(deb, dir string) error {
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dpkg-deb: %w", err)
	}
	found := map[string]bool{}
	tr := tar.NewReader(stdout)
	var terr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			terr = fmt.Errorf("reading %s: %w", deb, err)
			break
		}
		name := strings.TrimPrefix(h.Name, "./")
		var out string
		switch {
		case strings.HasPrefix(name, "boot/vmlinuz-") && h.Typeflag == tar.TypeReg:
			out = "vmlinuz"
		case strings.HasPrefix(name, "boot/config-") && h.Typeflag == tar.TypeReg:
			out = "config"
		default:
			continue
		}
		f, err := os.Create(filepath.Join(dir, out))
		if err != nil {
			terr = err
			break
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			terr = err
			break
		}
		found[out] = true
	}
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil && terr == nil {
		terr = fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w: %s", deb, err, strings.TrimSpace(stderr.String()))
	}
	if terr != nil {
		return terr
	}
	for _, want := range []string{"vmlinuz", "config"} {
		if !found[want] {
			return fmt.Errorf("%s has no boot/%s-*", deb, want)
		}
	}
	return nil
}

// missingConfig returns the requiredConfig options not set to y in a
// kernel config file's contents.
func missingConfig(config string) []string {
	set := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(config))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && v == "y" {
			set[k] = true
		}
	}
	var missing []string
	for _, opt := range requiredConfig {
		if !set[opt] {
			missing = append(missing, opt)
		}
	}
	return missing
}

func checkConfigFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("kernel config: %w", err)
	}
	if m := missingConfig(string(b)); len(m) > 0 {
		return fmt.Errorf("kernel config %s lacks %s (built in, =y)", path, strings.Join(m, ", "))
	}
	return nil
}
