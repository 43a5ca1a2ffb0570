package bpftest

import (
	"testing"

	"github.com/purebpf/purebpf/prog"
)

// Check runs the inputs as Run does and reports to tb: a harness error
// ends the test (Fatal), differences fail it (Error) with the readable
// diff. It returns the Result (nil after a harness error, as Fatal does
// not return).
func (h *Harness) Check(tb testing.TB, inputs ...Input) *Result {
	tb.Helper()
	res, err := h.Run(inputs...)
	if err != nil {
		tb.Fatal(err)
		return nil
	}
	if !res.OK() {
		tb.Errorf("program %q: %s", h.name, res)
	}
	return res
}

// NewT is New for tests: an error ends the test (Fatal) and the Harness
// is closed when the test ends (tb.Cleanup).
func NewT(tb testing.TB, spec *prog.CollectionSpec, name string, opts *Options) *Harness {
	tb.Helper()
	h, err := New(spec, name, opts)
	if err != nil {
		tb.Fatal(err)
		return nil
	}
	tb.Cleanup(func() { h.Close() })
	return h
}
