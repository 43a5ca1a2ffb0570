package perf

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Executable is an ELF executable or shared library whose symbol table
// has been read once, so that many uprobes can be attached to it without
// parsing the file again (as cilium/ebpf's link.OpenExecutable does). It
// holds no open file.
type Executable struct {
	path  string               // absolute path, as the kernel gets it
	syms  map[string]elfSymbol // defined symbols, .symtab before .dynsym
	loads []elf.ProgHeader     // PT_LOAD segments
}

type elfSymbol struct {
	value uint64
	ifunc bool
}

func absPath(path string) (string, error) {
	if path == "" {
		return "", errors.New("uprobe: no path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("uprobe: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("uprobe: %w", err)
	}
	return abs, nil
}

// OpenExecutable reads the symbols (.symtab and .dynsym) and the loadable
// segments of the ELF file at path.
func OpenExecutable(path string) (*Executable, error) {
	abs, err := absPath(path)
	if err != nil {
		return nil, err
	}
	f, err := elf.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("uprobe: %s is not a readable ELF file: %w", abs, err)
	}
	defer f.Close()
	ex := &Executable{path: abs, syms: map[string]elfSymbol{}}
	for _, get := range []func() ([]elf.Symbol, error){f.Symbols, f.DynamicSymbols} {
		syms, err := get()
		if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
			return nil, fmt.Errorf("uprobe: reading symbols of %s: %w", abs, err)
		}
		for _, s := range syms {
			if s.Section == elf.SHN_UNDEF || s.Value == 0 {
				continue
			}
			if _, ok := ex.syms[s.Name]; !ok {
				ex.syms[s.Name] = elfSymbol{value: s.Value, ifunc: elf.ST_TYPE(s.Info) == elf.STT_GNU_IFUNC}
			}
		}
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			ex.loads = append(ex.loads, p.ProgHeader)
		}
	}
	return ex, nil
}

// Path returns the file's absolute path ("" for a nil *Executable).
func (ex *Executable) Path() string {
	if ex == nil {
		return ""
	}
	return ex.path
}

// Offset returns the file offset of symbol: its address from .symtab
// (preferred) or .dynsym, translated through the PT_LOAD segment that
// contains it. Undefined symbols and GNU indirect functions (whose address
// is a resolver, not the function) are rejected; a missing symbol gives an
// error wrapping ErrNotFound.
func (ex *Executable) Offset(symbol string) (uint64, error) {
	if ex == nil {
		return 0, fmt.Errorf("uprobe: nil *Executable: %w", os.ErrInvalid)
	}
	s, ok := ex.syms[symbol]
	if !ok {
		return 0, fmt.Errorf("uprobe: symbol %q: %w in .symtab or .dynsym of %s", symbol, ErrNotFound, ex.path)
	}
	if s.ifunc {
		return 0, fmt.Errorf("uprobe: symbol %q in %s is a GNU indirect function: its address is the resolver, "+
			"probe the implementation the resolver picks instead", symbol, ex.path)
	}
	for _, p := range ex.loads {
		if s.value >= p.Vaddr && s.value < p.Vaddr+p.Memsz {
			return s.value - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("uprobe: symbol %q at %#x in %s lies in no PT_LOAD segment", symbol, s.value, ex.path)
}

// SymbolOffset returns the file offset of symbol in the ELF file at path
// (OpenExecutable and Executable.Offset in one call).
func SymbolOffset(path, symbol string) (uint64, error) {
	ex, err := OpenExecutable(path)
	if err != nil {
		return 0, err
	}
	return ex.Offset(symbol)
}
