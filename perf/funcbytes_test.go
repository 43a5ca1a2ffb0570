//go:build linux

package perf

import (
	"debug/elf"
	"fmt"
	"os"
	"reflect"
	"testing"
)

// funcBytes returns the first n bytes of machine code of the Go function
// f, read from this process's memory through /proc/self/mem.
func funcBytes(f any, n int) ([]byte, error) {
	pc := reflect.ValueOf(f).Pointer()
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	b := make([]byte, n)
	_, err = mem.ReadAt(b, int64(pc))
	return b, err
}

// hasSymtab reports whether the ELF file at path has a .symtab section.
func hasSymtab(t testing.TB, path string) bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Section(".symtab") != nil
}

// pcFileOffset translates the address of the Go function fn in this
// (non-PIE) executable into a file offset through its PT_LOAD segments.
func pcFileOffset(exe string, fn any) (uint64, error) {
	pc := uint64(reflect.ValueOf(fn).Pointer())
	f, err := elf.Open(exe)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		return 0, fmt.Errorf("%s is %v, not a fixed-address executable", exe, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && pc >= p.Vaddr && pc < p.Vaddr+p.Filesz {
			return pc - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("pc %#x is in no PT_LOAD segment of %s", pc, exe)
}
