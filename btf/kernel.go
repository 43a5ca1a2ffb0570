package btf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

var kernel struct {
	specMu sync.Mutex
	spec   *Spec

	mu      sync.Mutex
	modules map[string]*Spec
}

// KernelSpec returns the running kernel's BTF, /sys/kernel/btf/vmlinux,
// parsed once per process and shared (a Spec is safe for concurrent use).
func KernelSpec() (*Spec, error) {
	kernel.specMu.Lock()
	defer kernel.specMu.Unlock()
	if kernel.spec != nil {
		return kernel.spec, nil
	}
	b, err := os.ReadFile(filepath.Join(sysfsBTFDir, "vmlinux"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("btf: %w: %w", errNoKernelBTF, ErrNotSupported)
	}
	if err != nil {
		return nil, fmt.Errorf("btf: kernel BTF: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("btf: kernel BTF: %w", err)
	}
	kernel.spec = s
	return s, nil
}

// ModuleSpec returns the split BTF of a loaded kernel module
// (/sys/kernel/btf/<module>) on top of KernelSpec, parsed once per process.
func ModuleSpec(module string) (*Spec, error) {
	base, err := KernelSpec()
	if err != nil {
		return nil, err
	}
	kernel.mu.Lock()
	defer kernel.mu.Unlock()
	if s, ok := kernel.modules[module]; ok {
		return s, nil
	}
	path := filepath.Join(sysfsBTFDir, module)
	if _, ok := moduleName(path); !ok {
		return nil, fmt.Errorf("btf: module %q: %w", module, ErrNotFound)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("btf: module %q has no BTF: %w", module, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("btf: module %q: %w", module, err)
	}
	s, err := ParseSplit(b, base)
	if err != nil {
		return nil, fmt.Errorf("btf: module %q: %w", module, err)
	}
	if kernel.modules == nil {
		kernel.modules = make(map[string]*Spec)
	}
	kernel.modules[module] = s
	return s, nil
}

// KernelModules lists the loaded modules that have BTF, sorted.
func KernelModules() ([]string, error) {
	ents, err := os.ReadDir(sysfsBTFDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("btf: %w: %w", errNoKernelBTF, ErrNotSupported)
	}
	if err != nil {
		return nil, fmt.Errorf("btf: %w", err)
	}
	var mods []string
	for _, e := range ents {
		if e.Name() != "vmlinux" {
			mods = append(mods, e.Name())
		}
	}
	sort.Strings(mods)
	return mods, nil
}

// FlushKernelSpec forgets the cached kernel and module specs and the list
// of modules, so that the next use reads them again (after a module is
// loaded, say).
func FlushKernelSpec() {
	kernel.mu.Lock()
	kernel.modules = nil
	kernel.mu.Unlock()
	kernelTargetsCache.Lock()
	kernelTargetsCache.targets = nil
	kernelTargetsCache.Unlock()
	kernel.specMu.Lock()
	kernel.spec = nil
	kernel.specMu.Unlock()
}
