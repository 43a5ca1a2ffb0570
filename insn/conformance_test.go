package insn_test

import (
	"bytes"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/conformance"
)

// Every conformance program survives Unmarshal -> Marshal and
// Unmarshal -> String -> Parse -> Marshal unchanged.
func TestConformanceRoundTrip(t *testing.T) {
	for _, ct := range conformance.Require(t) {
		is, err := insn.Unmarshal(ct.Program)
		if err != nil {
			t.Errorf("%s: Unmarshal: %v", ct.Name, err)
			continue
		}
		b, err := is.Marshal()
		if err != nil {
			t.Errorf("%s: Marshal: %v", ct.Name, err)
			continue
		}
		if !bytes.Equal(b, ct.Program) {
			t.Errorf("%s: Unmarshal -> Marshal changed the bytes", ct.Name)
		}
		text := is.String()
		parsed, err := insn.Parse(text)
		if err != nil {
			t.Errorf("%s: Parse(String()): %v\n%s", ct.Name, err, text)
			continue
		}
		b, err = parsed.Marshal()
		if err != nil {
			t.Errorf("%s: Marshal(Parse(String())): %v", ct.Name, err)
			continue
		}
		if !bytes.Equal(b, ct.Program) {
			t.Errorf("%s: Unmarshal -> String -> Parse -> Marshal changed the bytes\n%s", ct.Name, text)
		}
	}
}
