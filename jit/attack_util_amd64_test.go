//go:build amd64 && unix

package jit

import (
	"bytes"
	"fmt"
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

// xdpEngines compiles spec (an XDP program of w's maps) with opts and
// returns the JIT VM, a JIT Runner and an interp Runner of it; all are
// closed when t ends.
func xdpEngines(t *testing.T, w *world, spec *prog.Spec, opts *Options) (*VM, *Runner, *interp.Runner) {
	t.Helper()
	spec.Type = prog.XDP
	vm := w.jit(spec, opts)
	rn, err := vm.NewRunner()
	if err != nil {
		vm.Close()
		t.Fatal(err)
	}
	irn, err := vm.Interp().NewRunner()
	if err != nil {
		rn.Close()
		vm.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { irn.Close(); rn.Close(); vm.Close() })
	return vm, rn, irn
}

// xdpRunner is what runs XDP programs: interp's and the JIT's VMs and
// Runners.
type xdpRunner interface {
	RunXDP([]byte, *interp.XDPMeta) (uint32, []byte, error)
}

// diffXDPRuns runs frame (a fresh copy for each) in each of rs, the first
// being interp's, after reset (if not nil) before each, and fails the
// test, naming what, unless the results, outputs and errors (without
// addresses) are the same. It returns interp's result and error.
func diffXDPRuns(t *testing.T, what string, frame func() []byte, reset func(), rs ...xdpRunner) (uint32, error) {
	t.Helper()
	norm := func(err error) string { return hexAddr.ReplaceAllString(fmt.Sprint(err), "ADDR") }
	var iret uint32
	var iout []byte
	var ierr error
	for k, r := range rs {
		if reset != nil {
			reset()
		}
		ret, out, err := r.RunXDP(frame(), nil)
		if k == 0 {
			iret, iout, ierr = ret, bytes.Clone(out), err
			continue
		}
		if ret != iret || norm(err) != norm(ierr) || !bytes.Equal(out, iout) {
			t.Fatalf("%s: interp %#x, %v; jit engine %d: %#x, %v (outputs equal: %v)", what, iret, ierr, k, ret, err, bytes.Equal(out, iout))
		}
	}
	return iret, ierr
}
