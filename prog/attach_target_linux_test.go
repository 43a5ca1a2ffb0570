//go:build linux

package prog

import (
	"errors"
	"os"
	"strings"
	"testing"

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
		{Tracing, &ProgramOptions{ExpectedAttachType: AttachTraceRawTp}, "AttachBTFID"},
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
