//go:build linux

package perf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/purebpf/purebpf/link"
	"github.com/purebpf/purebpf/sys"
)

// Uprobe attaches a BPF_PROG_TYPE_KPROBE program to a user-space function
// entry (uprobe) or return (uretprobe) in the ELF executable or shared
// library at path, in every process that maps the file or in opts.PID
// only. symbol is a function in the file's .symtab or .dynsym; when it is
// "", opts.Offset alone is the file offset of the probe. opts may be nil.
//
// Uprobe parses the file's symbols on every call; to attach several
// probes to one file, OpenExecutable it once and use Executable.Uprobe.
//
// With ProbeAuto the uprobe PMU is used when it exists (Linux 4.17+),
// else a tracefs uprobe_events entry. A program of another type gives an
// error wrapping ErrProgramType.
func Uprobe(path, symbol string, prog FDer, opts *UprobeOptions) (link.Link, error) {
	ex, err := OpenExecutable(path)
	if err != nil {
		return nil, err
	}
	return ex.Uprobe(symbol, prog, opts)
}

// Uprobe is the package function Uprobe on ex's file, reusing the symbol
// table OpenExecutable parsed.
func (ex *Executable) Uprobe(symbol string, prog FDer, opts *UprobeOptions) (link.Link, error) {
	if ex == nil {
		return nil, fmt.Errorf("uprobe: nil *Executable: %w", os.ErrInvalid)
	}
	if opts == nil {
		opts = &UprobeOptions{}
	}
	if opts.PID < 0 {
		return nil, fmt.Errorf("uprobe: invalid pid %d", opts.PID)
	}
	path := ex.path
	off := opts.Offset
	if symbol == "" && off == 0 {
		return nil, fmt.Errorf("uprobe %s: no symbol and no offset", path)
	}
	if symbol != "" {
		symOff, err := ex.Offset(symbol)
		if err != nil {
			return nil, err
		}
		off += symOff
	}
	kind := "uprobe"
	if opts.Return {
		kind = "uretprobe"
	}
	target := fmt.Sprintf("%s %s:%#x", kind, path, off)
	if symbol != "" {
		target = fmt.Sprintf("%s %s:%s+%d", kind, path, symbol, opts.Offset)
	}
	progFD, err := checkProgram(prog, sys.ProgTypeKprobe, target)
	if err != nil {
		return nil, err
	}
	// progFD is borrowed: prog (and its descriptor) must outlive the attach.
	defer runtime.KeepAlive(prog)
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
		if symbol != "" {
			label = symbol
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
	return attachToEvent(progFD, pfd, ev, method, target, attachOptions{opts.Attach, opts.Cookie})
}
