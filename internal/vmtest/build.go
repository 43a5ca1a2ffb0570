package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/purebpf/purebpf/internal/conformance"
	"github.com/purebpf/purebpf/internal/vmtest/cpio"
	"github.com/purebpf/purebpf/internal/vmtest/plan"
)

const initPkg = "github.com/purebpf/purebpf/internal/vmtest/init"

// goPkg is one package selected for the VM.
type goPkg struct {
	ImportPath string
	Dir        string
	HasTests   bool
	Rel        string // path relative to the module root, "." for the root
}

// buildEnv is the environment for every go command: static binaries for
// the VM's architecture.
func buildEnv() []string {
	return append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
}

func goCmd(modRoot string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = modRoot
	cmd.Env = buildEnv()
	return cmd
}

// moduleRoot returns the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

// listPackages expands package patterns with go list.
func listPackages(modRoot string, patterns []string) ([]goPkg, error) {
	args := append([]string{"list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{len .TestGoFiles}}\t{{len .XTestGoFiles}}\t{{.Module.Dir}}"}, patterns...)
	cmd := goCmd(modRoot, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w: %s", strings.Join(patterns, " "), err, strings.TrimSpace(stderr.String()))
	}
	var pkgs []goPkg
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("unexpected go list line %q", sc.Text())
		}
		rel, err := filepath.Rel(f[4], f[1])
		if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, goPkg{
			ImportPath: f[0],
			Dir:        f[1],
			HasTests:   f[2] != "0" || f[3] != "0",
			Rel:        filepath.ToSlash(rel),
		})
	}
	return pkgs, nil
}

// staged is a file on the host that goes into the initramfs.
type staged struct {
	host, guest string
	perm        uint32
}

// buildAll compiles the init program and one test binary per package
// into work and returns the plan and the files to pack.
func buildAll(modRoot, work string, pkgs []goPkg, testArgs []string, logf func(string, ...any)) (plan.Plan, []staged, error) {
	var p plan.Plan
	var files []staged
	initBin := filepath.Join(work, "init")
	if out, err := goCmd(modRoot, "build", "-trimpath", "-o", initBin, initPkg).CombinedOutput(); err != nil {
		return p, nil, fmt.Errorf("go build %s: %w\n%s", initPkg, err, out)
	}
	files = append(files, staged{initBin, "init", 0o755})
	for i, pkg := range pkgs {
		if !pkg.HasTests {
			logf("vmtest: %s has no test files, skipping", pkg.ImportPath)
			continue
		}
		bin := filepath.Join(work, fmt.Sprintf("%d-%s.test", i, path.Base(pkg.ImportPath)))
		start := time.Now()
		out, err := goCmd(modRoot, "test", "-c", "-o", bin, pkg.ImportPath).CombinedOutput()
		if err != nil {
			return p, nil, fmt.Errorf("go test -c %s: %w\n%s", pkg.ImportPath, err, out)
		}
		logf("vmtest: built %s in %.1fs", pkg.ImportPath, time.Since(start).Seconds())
		guestDir := path.Join("tests", pkg.Rel)
		guestBin := path.Join(guestDir, path.Base(pkg.ImportPath)+".test")
		files = append(files, staged{bin, guestBin, 0o755})
		// The files a package's tests read at run time, below the
		// package: its testdata directory, and the BPF objects and C
		// sources of its bpf directory (the examples keep them there;
		// coverage tests read the sources).
		for _, sub := range []struct {
			dir  string
			keep func(name string) bool
		}{
			{"testdata", func(string) bool { return true }},
			{"bpf", func(name string) bool {
				return strings.HasSuffix(name, ".o") || strings.HasSuffix(name, ".c") || strings.HasSuffix(name, ".h")
			}},
		} {
			td := filepath.Join(pkg.Dir, sub.dir)
			if st, err := os.Stat(td); err != nil || !st.IsDir() {
				continue
			}
			err := filepath.WalkDir(td, func(p string, d fs.DirEntry, err error) error {
				if err != nil || !d.Type().IsRegular() || !sub.keep(d.Name()) {
					return err
				}
				rel, err := filepath.Rel(pkg.Dir, p)
				if err != nil {
					return err
				}
				info, err := d.Info()
				if err != nil {
					return err
				}
				files = append(files, staged{p, path.Join(guestDir, filepath.ToSlash(rel)), uint32(info.Mode().Perm())})
				return nil
			})
			if err != nil {
				return p, nil, fmt.Errorf("%s of %s: %w", sub.dir, pkg.ImportPath, err)
			}
		}
		p.Tests = append(p.Tests, plan.Test{
			Package: pkg.ImportPath,
			Binary:  "/" + guestBin,
			Dir:     "/" + guestDir,
			Args:    append([]string{"-test.v"}, testArgs...),
		})
	}
	// The conformance suite beside the repository, for the tests that
	// read it (internal/conformance): from their directory below /tests
	// they find it at /shared/conformance/tests.
	if dir := conformance.Dir(); dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return p, nil, fmt.Errorf("conformance suite: %w", err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				files = append(files, staged{filepath.Join(dir, e.Name()), path.Join("shared/conformance/tests", e.Name()), 0o644})
			}
		}
	}
	return p, files, nil
}

// writeInitramfs packs the plan and the staged files into a gzipped newc
// archive at out. Parent directories are added before their contents, as
// the kernel's unpacker does not create them.
func writeInitramfs(out string, p plan.Plan, files []staged) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	w := cpio.NewWriter(zw)
	dirs := map[string]bool{}
	var mkdirs func(d string) error
	mkdirs = func(d string) error {
		if d == "." || d == "/" || d == "" || dirs[d] {
			return nil
		}
		if err := mkdirs(path.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		return w.AddDir(d, 0o755)
	}
	for _, d := range []string{"dev", "proc", "sys", "tmp", "root", "vmtest"} {
		if err := mkdirs(d); err != nil {
			return err
		}
	}
	// The kernel opens /dev/console for init's stdio before init runs.
	if err := w.AddCharDev("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	planJSON, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := w.AddFile(strings.TrimPrefix(plan.Path, "/"), 0o644, planJSON); err != nil {
		return err
	}
	added := map[string]bool{}
	for _, s := range files {
		if added[s.guest] {
			continue // a library shared by two host tools
		}
		added[s.guest] = true
		if err := mkdirs(path.Dir(s.guest)); err != nil {
			return err
		}
		data, err := os.ReadFile(s.host)
		if err != nil {
			return err
		}
		if err := w.AddFile(s.guest, s.perm, data); err != nil {
			return fmt.Errorf("packing %s: %w", s.guest, err)
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
