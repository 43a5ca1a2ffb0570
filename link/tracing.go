//go:build linux

package link

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// AttachRawTracepoint attaches a raw_tracepoint program to the kernel
// tracepoint name, such as "sys_enter" or "sched_switch"
// (BPF_RAW_TRACEPOINT_OPEN, Linux 4.17+). The program gets the
// tracepoint's raw arguments (struct bpf_raw_tracepoint_args). Close
// detaches it; the kernel cannot swap its program, so Update fails with
// ErrNotSupported.
func AttachRawTracepoint(p *prog.Program, name string) (Link, error) {
	what := "raw tracepoint " + name
	fail := func(err error) error { return fmt.Errorf("attach %s: %w", what, err) }
	if err := checkProgram(p, "a raw tracepoint", prog.RawTracePoint, prog.RawTracePointWritable); err != nil {
		return nil, fail(err)
	}
	if name == "" {
		return nil, fail(fmt.Errorf("empty tracepoint name: %w", unix.EINVAL))
	}
	return rawTracepointOpen(p, name, what)
}

// AttachTracepointBTF attaches a tp_btf program: a program of type
// tracing loaded with expected attach type prog.AttachTraceRawTp and the
// BTF ID of the tracepoint's btf_trace_<name> typedef as attach_btf_id
// (Linux 5.5+). The target is fixed at load time, so no name is given.
func AttachTracepointBTF(p *prog.Program) (Link, error) {
	fail := func(err error) error { return fmt.Errorf("attach tp_btf: %w", err) }
	if err := checkProgram(p, "tp_btf", prog.Tracing); err != nil {
		return nil, fail(err)
	}
	return rawTracepointOpen(p, "", "tp_btf "+p.Name())
}

// AttachTracing attaches an fentry, fexit, fmod_ret or LSM program: a
// program of type tracing or lsm loaded with its expected attach type
// (AttachTraceFentry, AttachTraceFexit, AttachModifyReturn, AttachLSMMac)
// and its target's BTF ID (prog.ProgramOptions.AttachBTFID), through
// BPF_RAW_TRACEPOINT_OPEN without a name (Linux 5.5+; 5.7+ for LSM). The
// target is fixed at load time. The link is of type tracing; Close
// detaches it, and Update fails with ErrNotSupported.
func AttachTracing(p *prog.Program) (Link, error) {
	fail := func(err error) error { return fmt.Errorf("attach tracing program: %w", err) }
	if err := checkProgram(p, "fentry/fexit/fmod_ret/lsm", prog.Tracing, prog.LSM); err != nil {
		return nil, fail(err)
	}
	return rawTracepointOpen(p, "", "tracing "+p.Name())
}

func rawTracepointOpen(p *prog.Program, name, what string) (Link, error) {
	attr := sys.RawTracepointOpenAttr{ProgFD: uint32(p.FD())}
	if name != "" {
		ptr, err := sys.NewStringPointer(name)
		if err != nil {
			return nil, fmt.Errorf("attach %s: %w: %w", what, err, unix.EINVAL)
		}
		attr.Name = ptr
	}
	fd, err := sys.RawTracepointOpen(&attr)
	runtime.KeepAlive(p)
	if err != nil {
		if errors.Is(err, unix.ENOENT) && name != "" {
			err = fmt.Errorf("no tracepoint %q in this kernel: %w", name, err)
		}
		return nil, fmt.Errorf("attach %s: %w", what, err)
	}
	l, err := newFDLink(fd, what)
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("attach %s: %w", what, err)
	}
	l.progType = p.Type()
	return l, nil
}
