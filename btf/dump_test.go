package btf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
)

// corpus returns the files DumpRaw and the round trip are checked on:
// vmlinux, the loaded modules' BTF, the test objects, the object
// loader's corpus, and raw blobs of
// the sample types (both byte orders are covered by TestParseBigEndian).
func corpus(t *testing.T) []string {
	t.Helper()
	files := testObjects(t)
	// The object loader's corpus (prog/testdata/bpf, little- and
	// big-endian) is clang output too.
	loader, _ := filepath.Glob("../prog/testdata/bpf/*.o")
	if len(loader) < 15 {
		t.Fatalf("only %d objects in ../prog/testdata/bpf", len(loader))
	}
	files = append(files, loader...)
	dir := t.TempDir()
	b, err := MarshalTypes(sampleTypes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sample := filepath.Join(dir, "sample.btf")
	if err := os.WriteFile(sample, b, 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, sample)
	if _, err := os.Stat(vmlinuxPath); err == nil {
		files = append(files, vmlinuxPath)
		mods, _ := KernelModules()
		for _, m := range mods {
			files = append(files, filepath.Join(sysfsBTFDir, m))
		}
	} else {
		testenv.SkipOrFail(t, "no kernel BTF: %v", err)
	}
	return files
}

// TestDumpMatchesBpftool compares DumpRaw with "bpftool btf dump file"
// line for line.
func TestDumpMatchesBpftool(t *testing.T) {
	bpftool, err := exec.LookPath("bpftool")
	if err != nil {
		testenv.SkipOrFail(t, "bpftool is not installed (apt-get install bpftool)")
	}
	for _, f := range corpus(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := exec.Command(bpftool, "btf", "dump", "file", f).Output()
			if err != nil {
				t.Fatalf("bpftool: %v", err)
			}
			s, err := LoadSpec(f)
			if err != nil {
				t.Fatal(err)
			}
			got := dump(t, s)
			if got == string(want) {
				return
			}
			gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("line %d:\n got %s\nwant %s", i+1, gl[i], wl[i])
				}
			}
			t.Fatalf("%d lines, bpftool prints %d", len(gl), len(wl))
		})
	}
}

// TestDumpSplitMatchesBpftool compares the dump of split BTF with
// "bpftool btf dump file SPLIT -B BASE".
func TestDumpSplitMatchesBpftool(t *testing.T) {
	bpftool, err := exec.LookPath("bpftool")
	if err != nil {
		testenv.SkipOrFail(t, "bpftool is not installed (apt-get install bpftool)")
	}
	base, _, raw := splitSample(t)
	dir := t.TempDir()
	baseBlob, err := base.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	basePath, splitPath := filepath.Join(dir, "base.btf"), filepath.Join(dir, "split.btf")
	if err := os.WriteFile(basePath, baseBlob, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(splitPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := exec.Command(bpftool, "btf", "dump", "file", splitPath, "-B", basePath).Output()
	if err != nil {
		t.Fatalf("bpftool: %v", err)
	}
	s, err := LoadSplitSpec(splitPath, base)
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, s); got != string(want) {
		t.Fatalf("split dump:\n%s\nbpftool:\n%s", got, want)
	}
}

// TestRoundTrip parses, marshals and parses again every file of the
// corpus and checks the specs are the same (same types, fields and
// names, id for id). Unmodified input also comes back byte for byte.
func TestRoundTrip(t *testing.T) {
	for _, f := range corpus(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := LoadSpec(f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Marshal(nil)
			if err != nil {
				t.Fatal(err)
			}
			var s2 *Spec
			if s.Base() != nil {
				s2, err = ParseSplit(b, s.Base())
			} else {
				s2, err = Parse(b)
			}
			if err != nil {
				t.Fatal(err)
			}
			if s2.NextID() != s.NextID() {
				t.Fatalf("%d types after the round trip, want %d", s2.NextID(), s.NextID())
			}
			if dump(t, s2) != dump(t, s) {
				t.Fatal("round trip changed the spec")
			}
			if f == vmlinuxPath && !bytes.Equal(b, readFile(t, f)) {
				t.Error("vmlinux does not round-trip byte for byte")
			}
		})
	}
}
