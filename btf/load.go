package btf

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// LoadSpec reads BTF from a file: an ELF object's .BTF section, a raw BTF
// blob such as /sys/kernel/btf/vmlinux, or a kernel module's split BTF
// (/sys/kernel/btf/<module>), which is parsed on top of the running
// kernel's spec (as bpftool does).
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("btf: %w", err)
	}
	if isELF(b) {
		s, _, err := LoadELF(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("btf: %s: %w", path, err)
		}
		return s, nil
	}
	if dir, file := filepath.Split(path); filepath.Clean(dir) == sysfsBTFDir && file != "vmlinux" {
		base, err := KernelSpec()
		if err != nil {
			return nil, err
		}
		return wrapPath(ParseSplit(b, base))(path)
	}
	return wrapPath(Parse(b))(path)
}

// LoadSplitSpec reads split BTF from a raw blob in a file, on top of base.
func LoadSplitSpec(path string, base *Spec) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("btf: %w", err)
	}
	return wrapPath(ParseSplit(b, base))(path)
}

func wrapPath(s *Spec, err error) func(string) (*Spec, error) {
	return func(path string) (*Spec, error) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return s, nil
	}
}

func isELF(b []byte) bool { return len(b) >= 4 && string(b[:4]) == elf.ELFMAG }

// LoadELF reads the .BTF and .BTF.ext sections of an ELF object. ext is
// nil when the object has no .BTF.ext; a missing .BTF is ErrNotFound.
// The types are as clang wrote them: a loader applies FixupDatasecs before
// it marshals them for the kernel.
func LoadELF(r io.ReaderAt) (spec *Spec, ext *ExtInfo, err error) {
	defer func() {
		// debug/elf has panicked on malformed files; report them.
		if p := recover(); p != nil {
			spec, ext, err = nil, nil, fmt.Errorf("btf: malformed ELF: %v: %w", p, ErrMalformed)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, nil, fmt.Errorf("btf: %w", err)
	}
	defer f.Close()
	return LoadELFFile(f)
}

// LoadELFFile is LoadELF for an ELF file the caller has opened.
func LoadELFFile(f *elf.File) (spec *Spec, ext *ExtInfo, err error) {
	sec := f.Section(".BTF")
	if sec == nil {
		return nil, nil, fmt.Errorf("btf: no .BTF section: %w", ErrNotFound)
	}
	b, err := readSection(sec)
	if err != nil {
		return nil, nil, err
	}
	spec, err = Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf(".BTF: %w", err)
	}
	if sec := f.Section(".BTF.ext"); sec != nil {
		b, err := readSection(sec)
		if err != nil {
			return nil, nil, err
		}
		ext, err = ParseExt(b, spec)
		if err != nil {
			return nil, nil, fmt.Errorf(".BTF.ext: %w", err)
		}
	}
	return spec, ext, nil
}

func readSection(sec *elf.Section) (b []byte, err error) {
	defer func() {
		// debug/elf panics on some malformed inputs; report them.
		if r := recover(); r != nil {
			err = fmt.Errorf("btf: reading ELF section %s: %v: %w", sec.Name, r, ErrMalformed)
		}
	}()
	if sec.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("btf: ELF section %s has no data: %w", sec.Name, ErrMalformed)
	}
	b, err = sec.Data()
	if err != nil {
		return nil, fmt.Errorf("btf: ELF section %s: %w", sec.Name, err)
	}
	return b, nil
}

const sysfsBTFDir = "/sys/kernel/btf"

var errNoKernelBTF = errors.New("the kernel has no BTF (CONFIG_DEBUG_INFO_BTF)")

func moduleName(path string) (string, bool) {
	dir, file := filepath.Split(path)
	return file, filepath.Clean(dir) == sysfsBTFDir && file != "vmlinux" && !strings.ContainsRune(file, '/')
}
