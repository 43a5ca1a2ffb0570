package insn_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/conformance"
)

// fuzzSeeds returns the conformance programs (if the suite is there) and
// the assembled corpus of this package's tests.
func fuzzSeeds(f *testing.F) (programs [][]byte, texts []string) {
	if dir := conformance.Dir(); dir != "" {
		tests, err := conformance.Load(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, ct := range tests {
			programs = append(programs, ct.Program)
			if is, err := insn.Unmarshal(ct.Program); err == nil {
				texts = append(texts, is.String())
			}
		}
	}
	for _, c := range encodingCases {
		programs = append(programs, c.program())
		texts = append(texts, c.text)
	}
	texts = append(texts, labelProgram)
	for _, lines := range [][]string{asmCorpus()} {
		text := strings.Join(lines, "\n")
		texts = append(texts, text)
		if is, err := insn.Parse(text); err == nil {
			if b, err := is.Marshal(); err == nil {
				programs = append(programs, b)
			}
		}
	}
	return programs, texts
}

// FuzzUnmarshal checks that decoding arbitrary bytes never panics, and that
// whatever decodes re-encodes to exactly the input and survives the text
// round trip String -> Parse -> Marshal.
func FuzzUnmarshal(f *testing.F) {
	programs, _ := fuzzSeeds(f)
	for _, p := range programs {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		is, err := insn.Unmarshal(b)
		if err != nil {
			return
		}
		out, err := is.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a decoded program: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("Unmarshal -> Marshal changed the bytes:\n in %x\nout %x", b, out)
		}
		text := is.String()
		parsed, err := insn.Parse(text)
		if err != nil {
			t.Fatalf("Parse(String()): %v\n%s", err, text)
		}
		out, err = parsed.Marshal()
		if err != nil {
			t.Fatalf("Marshal(Parse(String())): %v\n%s", err, text)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("String -> Parse -> Marshal changed the bytes:\n in %x\nout %x\n%s", b, out, text)
		}
	})
}

// FuzzParse checks that assembling arbitrary text never panics, and that
// whatever assembles prints as text that assembles to the same bytes and
// prints the same again.
func FuzzParse(f *testing.F) {
	_, texts := fuzzSeeds(f)
	for _, s := range texts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		is, err := insn.Parse(src)
		if err != nil {
			return
		}
		want, err := is.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed program: %v\n%s", err, src)
		}
		text := is.String()
		again, err := insn.Parse(text)
		if err != nil {
			t.Fatalf("Parse(String()): %v\n%s", err, text)
		}
		got, err := again.Marshal()
		if err != nil {
			t.Fatalf("Marshal(Parse(String())): %v\n%s", err, text)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("String -> Parse -> Marshal changed the bytes:\nwant %x\n got %x\n%s", want, got, text)
		}
		if again.String() != text {
			t.Fatalf("String of the reparsed program differs:\n%s\n---\n%s", text, again.String())
		}
	})
}
