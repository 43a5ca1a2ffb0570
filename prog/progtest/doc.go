// Package progtest helps the tests of BPF programs that run in interp or
// jit ask the kernel's verifier about the same spec.
//
// interp and jit check that a program is well formed (encodings, jump
// targets, helpers, maps), but they do not verify it as the kernel does:
// a program the kernel rejects, such as one that uses LD_ABS without
// r6 = r1, reads a register it never wrote, or dereferences a map value
// without a NULL check, can pass a unit test that runs it in interp. Verify
// closes that gap cheaply: when the test runs privileged it loads the spec
// with prog.NewProgram and reports the verifier's verdict and log.
//
//	func TestFilter(t *testing.T) {
//		spec := filterSpec()
//		progtest.Verify(t, spec) // the kernel's verdict, when privileged
//		vm, err := interp.New(spec, nil)
//		...
//	}
//
// Package progtest may import prog, internal/testenv, golang.org/x/sys/unix
// and the standard library.
package progtest
