//go:build amd64 && unix

package jit

import (
	"testing"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// attackEngines loads spec with opts in interp and, compiled, in the JIT,
// with a Runner of each; everything is closed when t ends.
func attackEngines(t *testing.T, spec *prog.Spec, opts *interp.Options) (*interp.VM, *VM, *interp.Runner, *Runner) {
	t.Helper()
	ivm, err := interp.New(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := New(spec, &Options{Interp: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	if vm.code == nil {
		t.Fatal("not compiled")
	}
	jrn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	irn, err := ivm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jrn.Close(); irn.Close() }) // before the VM's Close
	return ivm, vm, irn, jrn
}
