package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// hostTool resolves a host program for the VM: the binary itself and, for
// a dynamically linked one, every shared library ldd lists plus the
// dynamic loader, each placed at the same absolute path inside the
// initramfs. Tests find such tools (bpftool, ls) and libc as on the host.
func hostTool(name string) ([]staged, error) {
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, err
	}
	bin, err = filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	files := []staged{{host: bin, guest: strings.TrimPrefix(bin, "/"), perm: 0o755}}
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return files, nil
		}
		return nil, fmt.Errorf("ldd %s: %w: %s", bin, err, bytes.TrimSpace(out))
	}
	libs, err := parseLdd(string(out))
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	for _, lib := range libs {
		files = append(files, staged{host: lib, guest: strings.TrimPrefix(lib, "/"), perm: 0o755})
	}
	return files, nil
}

// parseLdd extracts library paths from ldd output lines such as
// "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and
// "/lib64/ld-linux-x86-64.so.2 (0x...)". The vDSO has no file.
func parseLdd(out string) ([]string, error) {
	var libs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.Contains(line, "not found") {
			return nil, fmt.Errorf("missing library: %s", line)
		}
		if _, after, ok := strings.Cut(line, "=> "); ok {
			line = after
		}
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], "/") {
			libs = append(libs, f[0])
		}
	}
	return libs, sc.Err()
}

// sharedConformance returns the files of the shared conformance suite
// (../shared/conformance/tests next to the module), packed at
// /shared/conformance/tests so that internal/conformance.Dir finds it by
// walking up from a test's working directory.
func sharedConformance(modRoot string) ([]staged, error) {
	dir := filepath.Join(filepath.Dir(modRoot), "shared", "conformance", "tests")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil
	}
	var files []staged
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, staged{host: p, guest: path.Join("shared/conformance/tests", filepath.ToSlash(rel)), perm: 0o644})
		return nil
	})
	return files, err
}
