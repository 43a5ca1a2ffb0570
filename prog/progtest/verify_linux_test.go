//go:build linux

package progtest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/prog/progtest"
)

// recorder is a testing.TB that keeps what Verify reports.
type recorder struct {
	testing.TB
	errors, logs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Log(args ...any) { r.logs = append(r.logs, fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// The programs of the issue that interp runs but the kernel refuses are
// reported with the verifier's complaint and log; a good one passes.
func TestVerify(t *testing.T) {
	testenv.RequireRoot(t)
	good := &prog.Spec{Name: "good", Type: prog.SocketFilter, License: "GPL", Instructions: insn.Instructions{
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.LoadAbs(12, insn.H),
		insn.Exit(),
	}}
	if r := (&recorder{TB: t}); !progtest.Verify(r, good) || len(r.errors) > 0 {
		t.Errorf("good program: %v", r.errors)
	}
	for _, tc := range []struct {
		name  string
		insns insn.Instructions
		maps  []*prog.MapSpec
		want  string
	}{
		{"ld_abs_no_r6", insn.Instructions{insn.LoadAbs(12, insn.H), insn.Exit()}, nil, "R6"},
		{"uninit_reg", insn.Instructions{insn.Mov.Reg(insn.R0, insn.R3), insn.Exit()}, nil, "R3 !read_ok"},
		{"no_null_check", insn.Instructions{
			insn.StoreImm(insn.RFP, -4, 0, insn.W),
			insn.Mov.Reg(insn.R2, insn.RFP),
			insn.Add.Imm(insn.R2, -4),
			insn.LoadMapPtr(insn.R1, "m"),
			insn.FnMapLookupElem.Call(),
			insn.LoadMem(insn.R0, insn.R0, 0, insn.W),
			insn.Exit(),
		}, []*prog.MapSpec{{Name: "m", Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1}}, "map_value_or_null"},
	} {
		spec := &prog.Spec{Name: tc.name, Type: prog.SocketFilter, License: "GPL", Instructions: tc.insns, Maps: tc.maps}
		r := &recorder{TB: t}
		if progtest.Verify(r, spec) {
			t.Errorf("%s: verified", tc.name)
			continue
		}
		if len(r.errors) != 1 || !strings.Contains(r.errors[0], "verifier rejects program") ||
			!strings.Contains(r.errors[0], tc.want) || !strings.Contains(r.errors[0], "verifier log:") {
			t.Errorf("%s: reported %q, want the verifier's complaint containing %q and the log", tc.name, r.errors, tc.want)
		}
	}
}
