package perf

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/purebpf/purebpf/sys"
)

// UprobeOptions selects a uprobe or uretprobe.
type UprobeOptions struct {
	// Path is the executable or shared library.
	Path string
	// Symbol is a function in Path's .symtab or .dynsym. When empty,
	// Offset alone is the file offset of the probe.
	Symbol string
	// Offset is added to the symbol's file offset, or is the file offset
	// itself when Symbol is empty.
	Offset uint64
	// PID limits the probe to one process; 0 means every process.
	PID int
	// Return makes a uretprobe. Never use it on Go functions: Go moves
	// stacks and the replaced return address breaks the runtime.
	Return bool
	// Probe forces the PMU or the tracefs path; ProbeAuto by default.
	Probe ProbeMethod
	// Attach selects the attachment method; AttachAuto by default.
	Attach AttachMethod
	// Cookie is returned by bpf_get_attach_cookie (BPF link only).
	Cookie uint64
}

// SymbolOffset returns the file offset of symbol in the ELF file at path:
// the symbol's address from .symtab (preferred) or .dynsym, translated
// through the PT_LOAD segment that contains it. Undefined symbols and GNU
// indirect functions (whose address is a resolver, not the function) are
// rejected.
func SymbolOffset(path, symbol string) (uint64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, fmt.Errorf("uprobe: %s is not a readable ELF file: %w", path, err)
	}
	defer f.Close()
	return symbolOffset(f, path, symbol)
}

func symbolOffset(f *elf.File, path, symbol string) (uint64, error) {
	var found *elf.Symbol
	for _, get := range []func() ([]elf.Symbol, error){f.Symbols, f.DynamicSymbols} {
		syms, err := get()
		if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
			return 0, fmt.Errorf("uprobe: reading symbols of %s: %w", path, err)
		}
		for i := range syms {
			s := &syms[i]
			if s.Name != symbol || s.Section == elf.SHN_UNDEF || s.Value == 0 {
				continue
			}
			found = s
			break
		}
		if found != nil {
			break
		}
	}
	if found == nil {
		return 0, fmt.Errorf("uprobe: symbol %q: %w in .symtab or .dynsym of %s", symbol, ErrNotFound, path)
	}
	if elf.ST_TYPE(found.Info) == elf.STT_GNU_IFUNC {
		return 0, fmt.Errorf("uprobe: symbol %q in %s is a GNU indirect function: its address is the resolver, "+
			"probe the implementation the resolver picks instead", symbol, path)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || found.Value < p.Vaddr || found.Value >= p.Vaddr+p.Memsz {
			continue
		}
		return found.Value - p.Vaddr + p.Off, nil
	}
	return 0, fmt.Errorf("uprobe: symbol %q at %#x in %s lies in no PT_LOAD segment", symbol, found.Value, path)
}

// Uprobe attaches a BPF_PROG_TYPE_KPROBE program to a user-space function
// entry (uprobe) or return (uretprobe), in every process that maps the
// file or in opts.PID only.
//
// With ProbeAuto the uprobe PMU is used when it exists (Linux 4.17+),
// else a tracefs uprobe_events entry.
func Uprobe(prog FDer, opts UprobeOptions) (*Link, error) {
	if opts.Path == "" {
		return nil, errors.New("uprobe: no path")
	}
	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("uprobe: %w", err)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("uprobe: %w", err)
	}
	if opts.PID < 0 {
		return nil, fmt.Errorf("uprobe: invalid pid %d", opts.PID)
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("uprobe: %s is not a readable ELF file: %w", path, err)
	}
	off := opts.Offset
	if opts.Symbol != "" {
		symOff, serr := symbolOffset(f, path, opts.Symbol)
		if serr != nil {
			f.Close()
			return nil, serr
		}
		off += symOff
	}
	f.Close()
	kind := "uprobe"
	if opts.Return {
		kind = "uretprobe"
	}
	target := fmt.Sprintf("%s %s:%#x", kind, path, off)
	if opts.Symbol != "" {
		target = fmt.Sprintf("%s %s:%s+%d", kind, path, opts.Symbol, opts.Offset)
	}
	method := opts.Probe
	if method == ProbeAuto {
		method = ProbePMU
		if _, err := readPMU("uprobe"); errors.Is(err, errNoPMU) {
			method = ProbeTraceFS
		}
	}
	var (
		pfd *sys.FD
		ev  *probeEvent
	)
	switch method {
	case ProbePMU:
		pfd, err = openProbePMU("uprobe", path, off, opts.Return, opts.PID)
		if errors.Is(err, errNoPMU) {
			err = fmt.Errorf("no uprobe PMU (kernel built without CONFIG_UPROBE_EVENTS?): %w", ErrNotSupported)
		}
	case ProbeTraceFS:
		if strings.ContainsAny(path, " \t\n") {
			return nil, fmt.Errorf("%s: tracefs uprobe_events cannot express a path with whitespace; use the PMU", target)
		}
		label := filepath.Base(path)
		if opts.Symbol != "" {
			label = opts.Symbol
		}
		ev, err = createProbeEvent("uprobe", label, fmt.Sprintf("%s:%#x", path, off), opts.Return)
		if err == nil {
			pfd, err = openTracepointID(ev.id, opts.PID)
			if err != nil {
				err = errors.Join(err, ev.remove())
			}
		}
	default:
		return nil, fmt.Errorf("uprobe: unknown probe method %v", opts.Probe)
	}
	if err != nil {
		return nil, fmt.Errorf("%s via %s: %w", target, method, err)
	}
	return attachToEvent(prog, pfd, ev, method, target, attachOptions{opts.Attach, opts.Cookie})
}
