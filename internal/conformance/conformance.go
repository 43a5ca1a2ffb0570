// Package conformance reads the eBPF ISA conformance suite that the project
// keeps beside its repository, in ../shared/conformance: test programs as raw
// little-endian instruction slots, the memory they get and the r0 they must
// return. Tests of insn, interp, jit and prog use it, through Require; it
// imports the standard library and internal/testenv.
package conformance

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
)

// Test is one conformance test.
type Test struct {
	Name    string // file name without .data
	Program []byte // the raw program, 8 bytes per slot
	Memory  []byte // the memory r1 points at; nil when the test has none
	Result  uint64 // the expected r0
	Asm     string // the original assembly, from the file's comments
}

// Dir finds shared/conformance/tests by walking up from the working
// directory. It returns "" when the suite is not there.
func Dir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, "shared", "conformance", "tests")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		cand = filepath.Join(dir, "..", "shared", "conformance", "tests")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return filepath.Clean(cand)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Require returns every test of the suite, sorted by name. When the suite
// is not beside the repository it skips t with testenv.SkipOrFail, so that
// under CI=true a missing suite fails instead of passing silently; a
// suite that does not parse fails t.
func Require(t testing.TB) []Test {
	t.Helper()
	dir := Dir()
	if dir == "" {
		testenv.SkipOrFail(t, "the conformance suite (../shared/conformance/tests) is not beside the repository")
	}
	tests, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tests
}

// Load reads every test in dir, sorted by name.
func Load(dir string) ([]Test, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.data"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("conformance: no .data files in %s", dir)
	}
	sort.Strings(names)
	tests := make([]Test, 0, len(names))
	for _, name := range names {
		t, err := ParseFile(name)
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	return tests, nil
}

// ParseFile reads one .data file.
func ParseFile(path string) (Test, error) {
	f, err := os.Open(path)
	if err != nil {
		return Test{}, err
	}
	defer f.Close()
	t := Test{Name: strings.TrimSuffix(filepath.Base(path), ".data")}
	section := ""
	haveResult := false
	var asm strings.Builder
	sc := bufio.NewScanner(f)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Text()
		if c := strings.IndexByte(line, '#'); c >= 0 {
			if comment := line[c+1:]; strings.HasPrefix(comment, "   ") && section == "" {
				asm.WriteString(strings.TrimSpace(comment) + "\n")
			}
			line = line[:c]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "--") {
			section = strings.TrimSpace(line[2:])
			continue
		}
		bad := func(err error) (Test, error) {
			return Test{}, fmt.Errorf("conformance: %s:%d: %v", path, lineNo, err)
		}
		switch section {
		case "raw":
			v, err := strconv.ParseUint(line, 0, 64)
			if err != nil {
				return bad(err)
			}
			t.Program = binary.LittleEndian.AppendUint64(t.Program, v)
		case "mem":
			for _, w := range strings.Fields(line) {
				v, err := strconv.ParseUint(w, 16, 8)
				if err != nil {
					return bad(err)
				}
				t.Memory = append(t.Memory, byte(v))
			}
		case "result":
			v, err := strconv.ParseUint(line, 0, 64)
			if err != nil {
				return bad(err)
			}
			t.Result, haveResult = v, true
		}
	}
	if err := sc.Err(); err != nil {
		return Test{}, err
	}
	if t.Program == nil || !haveResult {
		return Test{}, errors.New("conformance: " + path + ": missing raw or result section")
	}
	t.Asm = asm.String()
	return t, nil
}
