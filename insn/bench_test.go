package insn_test

import (
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

func benchCorpus(b *testing.B) (string, insn.Instructions, []byte) {
	b.Helper()
	text := strings.Join(asmCorpus(), "\n")
	is, err := insn.Parse(text)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := is.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return text, is, raw
}

// BenchmarkParse assembles the llvm oracle corpus (516 instructions).
func BenchmarkParse(b *testing.B) {
	text, _, _ := benchCorpus(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := insn.Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkString disassembles the corpus.
func BenchmarkString(b *testing.B) {
	_, is, _ := benchCorpus(b)
	for b.Loop() {
		_ = is.String()
	}
}

// BenchmarkMarshal encodes the corpus.
func BenchmarkMarshal(b *testing.B) {
	_, is, raw := benchCorpus(b)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := is.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshal decodes and validates the corpus.
func BenchmarkUnmarshal(b *testing.B) {
	_, _, raw := benchCorpus(b)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := insn.Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
	}
}
