//go:build linux

package prog

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
)

// Tracing, LSM and Ext programs without their attach target are refused
// before any system call, naming the option to set (the kernel would say
// a bare EINVAL).
func TestAttachTargetRequired(t *testing.T) {
	ret0 := insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}
	for _, c := range []struct {
		typ    Type
		opts   *ProgramOptions
		option string
	}{
		{Tracing, &ProgramOptions{ExpectedAttachType: AttachTraceRawTp}, "AttachTo"},
		{Tracing, &ProgramOptions{ExpectedAttachType: AttachTraceRawTp, AttachTo: "sys_enter", AttachBTFID: 5}, "AttachBTFID"},
		{Tracing, &ProgramOptions{ExpectedAttachType: AttachTraceFentry}, "AttachBTFID"},
		{LSM, &ProgramOptions{ExpectedAttachType: AttachLSMMac}, "AttachBTFID"},
		{Ext, nil, "AttachBTFID"},
		{Ext, &ProgramOptions{AttachBTFID: 1}, "AttachProgram"},
	} {
		_, err := NewProgram(&Spec{Name: "target", Type: c.typ, License: "GPL", Instructions: ret0}, c.opts)
		if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), c.option) {
			t.Errorf("%s program with options %+v: %v, want ErrInvalidSpec naming %s", c.typ, c.opts, err, c.option)
		}
	}
}

func TestAttachProgramClosed(t *testing.T) {
	testenv.RequireRoot(t)
	target := mustLoad(t, counterSpec(Array), nil)
	target.Close()
	_, err := NewProgram(&Spec{Name: "ext", Type: Ext, License: "GPL", Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}},
		&ProgramOptions{AttachBTFID: 1, AttachProgram: target})
	if !errors.Is(err, os.ErrClosed) || !strings.Contains(err.Error(), "AttachProgram") {
		t.Fatalf("closed AttachProgram: %v, want os.ErrClosed naming AttachProgram", err)
	}
}

// A tp_btf program loads with its target named (AttachTo) or given as a
// BTF ID looked up in the kernel's BTF (AttachBTFID); an unknown name is
// an error naming it.
func TestAttachToTracepoint(t *testing.T) {
	testenv.RequireRoot(t)
	spec := &Spec{Name: "tpbtf", Type: Tracing, License: "GPL", Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}}
	p := mustLoad(t, spec, &ProgramOptions{ExpectedAttachType: AttachTraceRawTp, AttachTo: "sys_enter"})
	if info, err := p.Info(); err != nil || info.Type != Tracing {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	ks, err := btf.KernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	typ, err := ks.TypeByName("btf_trace_sys_enter", btf.KindTypedef)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ks.TypeID(typ)
	if err != nil {
		t.Fatal(err)
	}
	mustLoad(t, spec, &ProgramOptions{ExpectedAttachType: AttachTraceRawTp, AttachBTFID: uint32(id)})

	_, err = NewProgram(spec, &ProgramOptions{ExpectedAttachType: AttachTraceRawTp, AttachTo: "no_such_tracepoint_purebpf"})
	if !errors.Is(err, btf.ErrNotFound) || !strings.Contains(err.Error(), "no_such_tracepoint_purebpf") {
		t.Fatalf("unknown target: %v, want btf.ErrNotFound naming it", err)
	}
}
