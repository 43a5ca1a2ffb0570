package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// family is a series of Debian bookworm cloud kernel packages, one per
// ABI or point release.
type family struct {
	Name string // "6.1" or "6.12", as given to -kernels
	// re matches the unsigned image package name and captures the kernel
	// release (uname -r) and the number to pick the newest by.
	re     *regexp.Regexp
	search string // apt-cache search --names-only pattern
}

// families are the kernels vmtest knows, in the order they are booted by
// default: Debian 12's 6.1 LTS and the 6.12 LTS from bookworm's
// point releases.
var families = []family{
	{
		Name:   "6.1",
		re:     regexp.MustCompile(`^linux-image-(6\.1\.0-(\d+)-cloud-amd64)-unsigned$`),
		search: `^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$`,
	},
	{
		Name:   "6.12",
		re:     regexp.MustCompile(`^linux-image-(6\.12\.(\d+)\+deb12-cloud-amd64)-unsigned$`),
		search: `^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$`,
	},
}

// familyNamed returns the family called name.
func familyNamed(name string) (family, error) {
	var names []string
	for _, f := range families {
		if f.Name == name {
			return f, nil
		}
		names = append(names, f.Name)
	}
	return family{}, fmt.Errorf("unknown kernel %q (known: %s)", name, strings.Join(names, ", "))
}

// familyOf returns the family a package name belongs to.
func familyOf(pkg string) (family, bool) {
	for _, f := range families {
		if f.re.MatchString(pkg) {
			return f, true
		}
	}
	return family{}, false
}

// requiredConfig lists the kernel options the VM tests need built in.
// The cloud kernels build the serial console and initramfs support in;
// the network modules the tests need are listed in [requiredModules].
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

// requiredModules are the kernel modules the tests need (veth pairs,
// clsact qdiscs and cls_bpf filters). Each must be built in (=y) or be a
// module (=m) in the package; init loads the modules, dependencies first.
var requiredModules = []module{
	{"veth", "CONFIG_VETH"},
	{"sch_ingress", "CONFIG_NET_SCH_INGRESS"},
	{"cls_bpf", "CONFIG_NET_CLS_BPF"},
}

type module struct{ name, config string }

// kernel is a bootable kernel image and what is known about it.
type kernel struct {
	Image   string // path of the bzImage
	Release string // e.g. 6.1.0-56-cloud-amd64; empty for -kernel images
	// Modules are the module files to load in the VM, dependencies
	// first; empty for -kernel images.
	Modules []string
}

// newestKernelPackage picks the family's package with the highest
// number from apt-cache search output lines ("name - description").
func newestKernelPackage(f family, searchOutput string) (name, release string, err error) {
	best := -1
	sc := bufio.NewScanner(strings.NewReader(searchOutput))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		m := f.re.FindStringSubmatch(fields[0])
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			continue
		}
		if n > best {
			best, name, release = n, fields[0], m[1]
		}
	}
	if best < 0 {
		return "", "", fmt.Errorf("apt-cache knows no package matching %s", f.search)
	}
	return name, release, nil
}

func aptSearch(f family) (string, error) {
	out, err := exec.Command("apt-cache", "search", "--names-only", f.search).Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache search: %w", err)
	}
	return string(out), nil
}

// resolveKernelPackage finds the newest package of the family. An empty
// package list is refreshed with apt-get update once when running as
// root.
func resolveKernelPackage(f family, logf func(string, ...any)) (name, release string, err error) {
	out, err := aptSearch(f)
	if err == nil {
		if name, release, err = newestKernelPackage(f, out); err == nil {
			return name, release, nil
		}
	}
	if os.Geteuid() != 0 {
		return "", "", fmt.Errorf("%w (run apt-get update as root, or pass -kernel)", err)
	}
	logf("vmtest: no %s kernel package in the apt lists, running apt-get update", f.Name)
	upd := exec.Command("apt-get", "update")
	upd.Stdout, upd.Stderr = os.Stderr, os.Stderr
	if uerr := upd.Run(); uerr != nil {
		return "", "", fmt.Errorf("apt-get update: %w", uerr)
	}
	if out, err = aptSearch(f); err != nil {
		return "", "", err
	}
	return newestKernelPackage(f, out)
}

// cachedKernels lists the family's packages already extracted in the
// cache, newest first; used when apt is unusable.
func cachedKernels(f family, cacheDir string) []string {
	ents, _ := os.ReadDir(cacheDir)
	type c struct {
		name string
		n    int
	}
	var cs []c
	for _, e := range ents {
		m := f.re.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(cacheDir, e.Name(), "vmlinuz")); err != nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		cs = append(cs, c{e.Name(), n})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].n > cs[j].n })
	var names []string
	for _, x := range cs {
		names = append(names, x.name)
	}
	return names
}

// fetchKernel makes sure the named package's vmlinuz, config and
// modules are in cacheDir/<pkg>/, checks the config and resolves the
// modules to load.
func fetchKernel(cacheDir, pkg string, logf func(string, ...any)) (kernel, error) {
	f, ok := familyOf(pkg)
	if !ok {
		return kernel{}, fmt.Errorf("kernel package %q is not a Debian cloud kernel package vmtest knows", pkg)
	}
	m := f.re.FindStringSubmatch(pkg)
	dir := filepath.Join(cacheDir, pkg)
	k := kernel{Image: filepath.Join(dir, "vmlinuz"), Release: m[1]}
	cfgPath := filepath.Join(dir, "config")
	modDir := filepath.Join(dir, "modules")
	if _, err := os.Stat(k.Image); err == nil {
		if _, err := os.Stat(modDir); err == nil {
			return finishKernel(k, cfgPath, modDir)
		}
		// A cache entry from before modules were kept: fetch again.
		if err := os.RemoveAll(dir); err != nil {
			return kernel{}, err
		}
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
	// Config and modules first: the image's presence marks a complete
	// cache entry.
	if err := os.Rename(filepath.Join(tmp, "config"), cfgPath); err != nil {
		return kernel{}, err
	}
	if err := os.Rename(filepath.Join(tmp, "modules"), modDir); err != nil {
		return kernel{}, err
	}
	if err := os.Rename(filepath.Join(tmp, "vmlinuz"), k.Image); err != nil {
		return kernel{}, err
	}
	return finishKernel(k, cfgPath, modDir)
}

func finishKernel(k kernel, cfgPath, modDir string) (kernel, error) {
	if err := checkConfigFile(cfgPath); err != nil {
		return kernel{}, err
	}
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return kernel{}, err
	}
	k.Modules, err = resolveModules(string(cfg), modDir)
	return k, err
}

// extractKernel pulls boot/vmlinuz-* and boot/config-* out of a kernel
// .deb into dir/vmlinuz and dir/config, and the modules
// (lib/modules/<release>/kernel/**.ko[.xz]) into dir/modules/.
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
	if err := os.MkdirAll(filepath.Join(dir, "modules"), 0o755); err != nil {
		return err
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
		if h.Typeflag != tar.TypeReg {
			continue
		}
		var out string
		switch {
		case strings.HasPrefix(name, "boot/vmlinuz-"):
			out = "vmlinuz"
		case strings.HasPrefix(name, "boot/config-"):
			out = "config"
		case strings.HasPrefix(name, "lib/modules/") && isModuleFile(name):
			// lib/modules/<release>/kernel/<path>
			parts := strings.SplitN(name, "/", 4)
			if len(parts) < 4 {
				continue
			}
			out = filepath.Join("modules", filepath.FromSlash(parts[3]))
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(out)), 0o755); err != nil {
				terr = err
			}
		default:
			continue
		}
		if terr != nil {
			break
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

func isModuleFile(name string) bool {
	return strings.HasSuffix(name, ".ko") || strings.HasSuffix(name, ".ko.xz")
}

// moduleName is the name the kernel knows a module file by: its base
// name without .ko[.xz], with dashes as underscores.
func moduleName(path string) string {
	base := filepath.Base(path)
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".xz"), ".ko")
	return strings.ReplaceAll(base, "-", "_")
}

// resolveModules returns the module files to load for requiredModules,
// each after the modules it depends on (its .modinfo "depends="),
// skipping options the config builds in.
func resolveModules(config, modDir string) ([]string, error) {
	set := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(config))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			set[k] = v
		}
	}
	index := map[string]string{}
	err := filepath.WalkDir(modDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && isModuleFile(p) {
			index[moduleName(p)] = p
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kernel modules: %w", err)
	}
	var order []string
	done := map[string]bool{}
	var visit func(name string, depth int) error
	visit = func(name string, depth int) error {
		if done[name] {
			return nil
		}
		if depth > 32 {
			return fmt.Errorf("module dependencies of %s nest too deep", name)
		}
		path, ok := index[name]
		if !ok {
			return fmt.Errorf("kernel module %s is not in the package", name)
		}
		deps, err := moduleDepends(path)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, depth+1); err != nil {
				return err
			}
		}
		done[name] = true
		order = append(order, path)
		return nil
	}
	for _, m := range requiredModules {
		switch set[m.config] {
		case "y":
			continue
		case "m":
			if err := visit(m.name, 0); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("the kernel config lacks %s (needed for %s)", m.config, m.name)
		}
	}
	return order, nil
}

// moduleDepends reads the "depends=" entry of a module's .modinfo
// section. xz-compressed modules are read through the xz command.
func moduleDepends(path string) ([]string, error) {
	var data []byte
	var err error
	if strings.HasSuffix(path, ".xz") {
		data, err = exec.Command("xz", "-dc", path).Output()
		if err != nil {
			return nil, fmt.Errorf("xz -dc %s (install xz-utils): %w", path, err)
		}
	} else if data, err = os.ReadFile(path); err != nil {
		return nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", path, err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("module %s has no .modinfo section", path)
	}
	info, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("module %s: .modinfo: %w", path, err)
	}
	for _, kv := range bytes.Split(info, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			var deps []string
			for _, d := range strings.Split(string(v), ",") {
				if d = strings.TrimSpace(d); d != "" {
					deps = append(deps, strings.ReplaceAll(d, "-", "_"))
				}
			}
			return deps, nil
		}
	}
	return nil, nil
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
