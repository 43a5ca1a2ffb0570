package interp_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// coverFrame is a frame for cover_main (testdata/cover.bpf.c): byte 14
// chooses what it does, byte 15 is the argument.
func coverFrame(mode, arg byte) []byte {
	f := make([]byte, 60)
	f[12], f[13] = 0x08, 0x00
	f[14], f[15] = mode, arg
	return f
}

func loadCover(t testing.TB, cov *interp.Coverage) (*prog.CollectionSpec, *interp.Collection) {
	t.Helper()
	cs, err := prog.LoadCollectionSpec("testdata/cover.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	c, err := interp.NewCollection(cs, &interp.CollectionOptions{Program: &interp.Options{Coverage: cov}})
	if err != nil {
		t.Fatal(err)
	}
	return cs, c
}

// lineCounts returns the counts of cover.bpf.c's lines by number.
func lineCounts(t *testing.T, cov *interp.Coverage) map[uint32]uint64 {
	t.Helper()
	out := map[uint32]uint64{}
	for _, l := range cov.Lines() {
		if l.File != "./interp/testdata/cover.bpf.c" {
			t.Fatalf("line %+v: unexpected file", l)
		}
		out[l.Line] = l.Count
	}
	return out
}

// The line numbers of testdata/cover.bpf.c that the tests check.
const (
	lineCountBody   = 50 // *v += 1;   (count, linked into both programs)
	lineCountCall   = 63 // count(0);  (cover_main)
	lineRedirPorts  = 66 // return bpf_redirect_map(&ports, ...)
	lineRedirHash   = 68 // return bpf_redirect_map(&ports_hash, ...)
	lineTailCall    = 70 // bpf_tail_call(ctx, &jumps, 1);
	lineAfterTail   = 71 // return XDP_ABORTED; (never: the tail call does not return)
	lineMainEnd     = 79 // } of cover_main
	lineTailCount   = 88 // count(1);  (cover_tail)
	lineTailTX      = 91 // if (p[15] & 1)
	lineLegacyCheck = 105
)

func TestCoverageCountsLinesAcrossTailCalls(t *testing.T) {
	cov := interp.NewCoverage()
	_, c := loadCover(t, cov)
	if err := c.Maps["ports"].Update(uint32(2), []byte{7, 0, 0, 0, 0, 0, 0, 0}, prog.UpdateAny); err != nil {
		t.Fatal(err)
	}
	main := c.Programs["cover_main"]
	run := func(mode, arg byte, want uint32) {
		t.Helper()
		act, _, err := main.RunXDP(coverFrame(mode, arg), nil)
		if err != nil || act != want {
			t.Fatalf("mode %d: action %d, %v; want %d", mode, act, err, want)
		}
	}
	run(0, 0, interp.XDPPass)
	run(0, 0, interp.XDPPass)
	run(1, 2, interp.XDPRedirect) // into ports[2]
	run(3, 1, interp.XDPTX)       // tail call to cover_tail, which returns TX for odd args
	run(3, 0, interp.XDPPass)
	got := lineCounts(t, cov)
	want := map[uint32]uint64{
		lineCountCall:   5,
		lineCountBody:   7, // 5 from cover_main's copy, 2 from cover_tail's
		lineRedirPorts:  1,
		lineRedirHash:   0,
		lineTailCall:    2,
		lineAfterTail:   0,
		lineMainEnd:     3,
		lineTailCount:   2,
		lineTailTX:      2,
		lineLegacyCheck: 0,
	}
	for line, n := range want {
		if got[line] != n {
			t.Errorf("line %d ran %d times, want %d", line, got[line], n)
		}
	}
	fn := map[string]uint64{}
	for _, f := range cov.Functions() {
		fn[f.Name] = f.Count
	}
	if fn["cover_main"] != 5 || fn["cover_tail"] != 2 || fn["count"] != 7 || fn["legacy_vlan"] != 0 || len(fn) != 4 {
		t.Errorf("functions: %v", fn)
	}
	// Source text comes from the object's BTF.
	for _, l := range cov.Lines() {
		if l.Line == lineCountBody && strings.TrimSpace(l.Text) != "*v += 1;" {
			t.Errorf("line %d text %q", l.Line, l.Text)
		}
	}
	cov.Reset()
	for line, n := range lineCounts(t, cov) {
		if n != 0 {
			t.Errorf("after Reset line %d has count %d", line, n)
		}
	}
	run(2, 9, interp.XDPPass) // ports_hash[9] is empty: the fallback action
	if got := lineCounts(t, cov); got[lineRedirHash] != 1 || got[lineCountCall] != 1 || got[lineRedirPorts] != 0 {
		t.Errorf("after Reset and one run: %v", got)
	}
}

// Coverage adds up over collections, single programs loaded with New and
// Runners, and over concurrent runs.
func TestCoverageAccumulates(t *testing.T) {
	cov := interp.NewCoverage()
	cs, c1 := loadCover(t, cov)
	_, c2 := loadCover(t, cov)
	for _, c := range []*interp.Collection{c1, c2} {
		if _, _, err := c.Programs["cover_main"].RunXDP(coverFrame(0, 0), nil); err != nil {
			t.Fatal(err)
		}
	}
	// A program loaded on its own from a registered ProgramSpec.
	ps := cs.Programs["legacy_vlan"]
	ps.Type = prog.XDP
	cov.Add(ps)
	vm, err := interp.New(&ps.Spec, &interp.Options{Coverage: cov})
	if err != nil {
		t.Fatal(err)
	}
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if act, _, err := vm.RunXDP(coverFrame(0, 0), nil); err != nil || act != interp.XDPPass {
					t.Errorf("legacy_vlan: %d %v", act, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if _, _, err := rn.RunXDP(coverFrame(0, 0), nil); err != nil {
		t.Fatal(err)
	}
	got := lineCounts(t, cov)
	if got[lineCountCall] != 2 || got[lineLegacyCheck] != 101 {
		t.Errorf("count(0) ran %d times (want 2), the legacy check %d (want 101)", got[lineCountCall], got[lineLegacyCheck])
	}
}

func TestCoverageErrors(t *testing.T) {
	cov := interp.NewCoverage()
	// A program whose source was never registered.
	spec := &prog.Spec{Name: "raw", Type: prog.UnspecifiedProgram, Instructions: insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()}}
	if _, err := interp.New(spec, &interp.Options{Coverage: cov}); !errors.Is(err, interp.ErrLoad) || !strings.Contains(err.Error(), `no source registered for program "raw"`) {
		t.Errorf("unregistered program: %v", err)
	}
	// Two registered programs of the same name and length, and a copy
	// that does not say which.
	cs1, err := prog.LoadCollectionSpec("testdata/cover.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	cs2 := cs1.Copy()
	cov.AddCollection(cs1)
	cov.AddCollection(cs2)
	s := cs1.Programs["cover_tail"].Spec
	if _, err := interp.New(&s, &interp.Options{Coverage: cov}); err == nil || !strings.Contains(err.Error(), `2 registered programs are called "cover_tail"`) {
		t.Errorf("ambiguous program: %v", err)
	}
	// The registered spec itself is not ambiguous.
	if _, err := interp.New(&cs2.Programs["cover_tail"].Spec, &interp.Options{Coverage: cov}); err != nil {
		t.Errorf("registered spec: %v", err)
	}
	// A copy matches the one registered program of its name and length.
	one := interp.NewCoverage()
	one.AddCollection(cs1)
	if _, err := interp.New(&s, &interp.Options{Coverage: one}); err != nil {
		t.Errorf("copy of a registered spec: %v", err)
	}
}

// The JIT cannot count: it refuses a Coverage, and with Fallback the
// program runs in interp, which counts.
func TestCoverageJIT(t *testing.T) {
	cs, err := prog.LoadCollectionSpec("testdata/cover.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	cov := interp.NewCoverage()
	opts := &interp.CollectionOptions{Program: &interp.Options{Coverage: cov}}
	if _, err := jit.NewCollection(cs, opts, nil); !errors.Is(err, jit.ErrNotSupported) || !strings.Contains(err.Error(), "Coverage") {
		t.Errorf("jit with coverage: %v", err)
	}
	c, err := jit.NewCollection(cs, opts, &jit.Options{Fallback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Programs["cover_main"].Compiled() {
		t.Error("a program under coverage was compiled")
	}
	if act, _, err := c.Programs["cover_main"].RunXDP(coverFrame(3, 1), nil); err != nil || act != interp.XDPTX {
		t.Fatalf("fallback run: %d %v", act, err)
	}
	if got := lineCounts(t, cov); got[lineTailCount] != 1 || got[lineCountCall] != 1 {
		t.Errorf("fallback coverage: %v", got)
	}
}

// lcovRecord is one source file of a tracefile, as parseLCOV reads it.
type lcovRecord struct {
	test, file string
	fn         map[string]int    // name -> line
	fnda       map[string]uint64 // name -> count
	da         map[int]uint64    // line -> count
}

// parseLCOV reads a tracefile strictly: only the records WriteLCOV
// writes, in geninfo's order (TN, SF, FN*, FNDA*, FNF, FNH, DA*, LF, LH,
// end_of_record), with totals that must match the records.
func parseLCOV(data string) ([]lcovRecord, error) {
	var out []lcovRecord
	sc := bufio.NewScanner(strings.NewReader(data))
	ln := 0
	next := func() (string, string, error) {
		if !sc.Scan() {
			return "", "", fmt.Errorf("line %d: unexpected end", ln+1)
		}
		ln++
		tag, val, ok := strings.Cut(sc.Text(), ":")
		if !ok && sc.Text() != "end_of_record" {
			return "", "", fmt.Errorf("line %d: %q has no tag", ln, sc.Text())
		}
		return tag, val, nil
	}
	num := func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
	for {
		if !sc.Scan() {
			break
		}
		ln++
		tag, val, _ := strings.Cut(sc.Text(), ":")
		if tag != "TN" || strings.IndexFunc(val, func(r rune) bool {
			return !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) >= 0 {
			return nil, fmt.Errorf("line %d: want TN:<name> with a valid name, got %q", ln, sc.Text())
		}
		r := lcovRecord{test: val, fn: map[string]int{}, fnda: map[string]uint64{}, da: map[int]uint64{}}
		tag, val, err := next()
		if err != nil || tag != "SF" || val == "" {
			return nil, fmt.Errorf("line %d: want SF:<file>, got %q %v", ln, sc.Text(), err)
		}
		r.file = val
		tag, val, err = next()
		for ; err == nil && tag == "FN"; tag, val, err = next() {
			l, name, ok := strings.Cut(val, ",")
			n, perr := num(l)
			if !ok || perr != nil || n == 0 || name == "" {
				return nil, fmt.Errorf("line %d: bad FN %q", ln, val)
			}
			r.fn[name] = int(n)
		}
		for ; err == nil && tag == "FNDA"; tag, val, err = next() {
			c, name, ok := strings.Cut(val, ",")
			n, perr := num(c)
			if _, known := r.fn[name]; !ok || perr != nil || !known {
				return nil, fmt.Errorf("line %d: bad FNDA %q", ln, val)
			}
			r.fnda[name] = n
		}
		if err != nil || tag != "FNF" {
			return nil, fmt.Errorf("line %d: want FNF, got %q %v", ln, sc.Text(), err)
		}
		fnf, _ := num(val)
		tag, val, err = next()
		if err != nil || tag != "FNH" {
			return nil, fmt.Errorf("line %d: want FNH, got %q", ln, sc.Text())
		}
		fnh, _ := num(val)
		hit := 0
		for _, n := range r.fnda {
			if n > 0 {
				hit++
			}
		}
		if int(fnf) != len(r.fn) || len(r.fnda) != len(r.fn) || int(fnh) != hit {
			return nil, fmt.Errorf("%s: FNF %d FNH %d for %d functions, %d FNDA, %d hit", r.file, fnf, fnh, len(r.fn), len(r.fnda), hit)
		}
		prev := 0
		tag, val, err = next()
		for ; err == nil && tag == "DA"; tag, val, err = next() {
			l, c, ok := strings.Cut(val, ",")
			line, e1 := num(l)
			n, e2 := num(c)
			if !ok || e1 != nil || e2 != nil || int(line) <= prev {
				return nil, fmt.Errorf("line %d: bad or unordered DA %q", ln, val)
			}
			prev = int(line)
			r.da[int(line)] = n
		}
		if err != nil || tag != "LF" {
			return nil, fmt.Errorf("line %d: want LF, got %q %v", ln, sc.Text(), err)
		}
		lf, _ := num(val)
		tag, val, err = next()
		if err != nil || tag != "LH" {
			return nil, fmt.Errorf("line %d: want LH, got %q", ln, sc.Text())
		}
		lh, _ := num(val)
		hit = 0
		for _, n := range r.da {
			if n > 0 {
				hit++
			}
		}
		if int(lf) != len(r.da) || int(lh) != hit {
			return nil, fmt.Errorf("%s: LF %d LH %d for %d lines, %d hit", r.file, lf, lh, len(r.da), hit)
		}
		if !sc.Scan() || sc.Text() != "end_of_record" {
			return nil, fmt.Errorf("line %d: want end_of_record", ln+1)
		}
		ln++
		out = append(out, r)
	}
	return out, sc.Err()
}

func TestWriteLCOV(t *testing.T) {
	cov := interp.NewCoverage()
	_, c := loadCover(t, cov)
	for _, mode := range []byte{0, 3, 3} {
		if _, _, err := c.Programs["cover_main"].RunXDP(coverFrame(mode, 0), nil); err != nil {
			t.Fatal(err)
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := cov.WriteLCOV(&b, &interp.LCOVOptions{TestName: "TestWriteLCOV/xdp", SourceRoot: root}); err != nil {
		t.Fatal(err)
	}
	recs, err := parseLCOV(b.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	src := filepath.Join(root, "interp/testdata/cover.bpf.c")
	if r.test != "TestWriteLCOV_xdp" || r.file != src {
		t.Errorf("TN %q SF %q", r.test, r.file)
	}
	if _, err := os.Stat(r.file); err != nil {
		t.Errorf("SF does not name the source: %v", err)
	}
	if r.fn["cover_main"] != 55 || r.fn["count"] != 45 || r.fnda["cover_main"] != 3 || r.fnda["cover_tail"] != 2 || r.fnda["count"] != 5 {
		t.Errorf("functions %v %v", r.fn, r.fnda)
	}
	if r.da[lineCountBody] != 5 || r.da[lineTailCall] != 2 || r.da[lineAfterTail] != 0 || r.da[lineMainEnd] != 1 {
		t.Errorf("lines %v", r.da)
	}
	// Every DA line is a line of the source with code on it.
	lines := strings.Split(string(must(os.ReadFile(src))), "\n")
	for l := range r.da {
		if l > len(lines) || strings.TrimSpace(lines[l-1]) == "" {
			t.Errorf("DA line %d is not a source line with code", l)
		}
	}

	// genhtml, lcov's HTML generator, accepts it and draws the source.
	genhtml, err := exec.LookPath("genhtml")
	if err != nil {
		// Not testenv.SkipOrFail: a tool, not privilege, and the test VM
		// (CI=true) has no lcov. .ci/run installs it on the host.
		t.Skip("genhtml is not installed (apt-get install lcov); the tracefile was checked by parseLCOV only")
	}
	dir := t.TempDir()
	info := filepath.Join(dir, "cover.info")
	if err := os.WriteFile(info, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(genhtml, "--function-coverage", "-o", filepath.Join(dir, "html"), info).CombinedOutput()
	if err != nil {
		t.Fatalf("genhtml: %v\n%s", err, out)
	}
	lh := 0
	for _, n := range r.da {
		if n > 0 {
			lh++
		}
	}
	if !strings.Contains(string(out), fmt.Sprintf("(%d of %d lines)", lh, len(r.da))) || !strings.Contains(string(out), "(3 of 4 functions)") {
		t.Errorf("genhtml summary (want %d of %d lines, 3 of 4 functions):\n%s", lh, len(r.da), out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "html", "*", "cover.bpf.c.gcov.html"))
	if len(pages) != 1 {
		t.Fatalf("genhtml wrote %q", pages)
	}
	page, err := os.ReadFile(pages[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "bpf_tail_call(ctx, &amp;jumps, 1);") {
		t.Errorf("genhtml's page does not show the source")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// BenchmarkCoverage runs cover_main (a tail call into cover_tail) through
// a Runner with and without a Coverage: what counting lines costs.
func BenchmarkCoverage(b *testing.B) {
	frame := coverFrame(3, 1)
	for _, name := range []string{"off", "on"} {
		b.Run(name, func(b *testing.B) {
			var cov *interp.Coverage
			if name == "on" {
				cov = interp.NewCoverage()
			}
			_, c := loadCover(b, cov)
			rn, err := c.Programs["cover_main"].NewRunner()
			if err != nil {
				b.Fatal(err)
			}
			defer rn.Close()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := rn.RunXDP(frame, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestCoverageNil(t *testing.T) {
	var cov *interp.Coverage
	cov.Add(nil)
	cov.AddCollection(nil)
	cov.Reset()
	var b bytes.Buffer
	if cov.Lines() != nil || cov.Functions() != nil || cov.WriteLCOV(&b, nil) != nil || b.Len() != 0 {
		t.Error("a nil Coverage reported something")
	}
}
