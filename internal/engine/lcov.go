package engine

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// LCOVOptions configures Coverage.WriteLCOV. A nil *LCOVOptions means
// the defaults.
type LCOVOptions struct {
	// TestName is the tracefile's test name (TN:). lcov allows letters,
	// digits and underscores; other characters become underscores. ""
	// leaves TN: empty.
	TestName string
	// SourceRoot is the directory the objects' relative source file
	// names are relative to: the directory clang ran in (or what
	// -fdebug-compilation-dir said). The SF: records join it to them, so
	// that genhtml finds the sources from any working directory. ""
	// writes the names as the objects hold them.
	SourceRoot string
}

// WriteLCOV writes the coverage as an lcov tracefile (the format of
// lcov's geninfo, which genhtml reads): one record per source file with
// its functions (FN, FNDA, FNF, FNH) and lines (DA, LF, LH). Lines and
// counts are those of Lines and Functions.
func (c *Coverage) WriteLCOV(w io.Writer, opts *LCOVOptions) error {
	var o LCOVOptions
	if opts != nil {
		o = *opts
	}
	lines, funcs := c.snapshot()
	bw := bufio.NewWriter(w)
	files := map[string]bool{}
	var order []string
	for _, l := range lines {
		if !files[l.File] {
			files[l.File] = true
			order = append(order, l.File)
		}
	}
	for _, f := range funcs {
		if !files[f.File] {
			files[f.File] = true
			order = append(order, f.File)
		}
	}
	// lines and funcs are sorted by file; order is the union, sorted.
	slices.Sort(order)
	li, fi := 0, 0
	for _, file := range order {
		fmt.Fprintf(bw, "TN:%s\n", lcovTestName(o.TestName))
		sf := file
		if o.SourceRoot != "" && !filepath.IsAbs(sf) {
			sf = filepath.Join(o.SourceRoot, sf)
		}
		fmt.Fprintf(bw, "SF:%s\n", sf)
		start := fi
		for ; fi < len(funcs) && funcs[fi].File == file; fi++ {
			fmt.Fprintf(bw, "FN:%d,%s\n", funcs[fi].Line, funcs[fi].Name)
		}
		hit := 0
		for _, f := range funcs[start:fi] {
			fmt.Fprintf(bw, "FNDA:%d,%s\n", f.Count, f.Name)
			if f.Count > 0 {
				hit++
			}
		}
		fmt.Fprintf(bw, "FNF:%d\nFNH:%d\n", fi-start, hit)
		start, hit = li, 0
		for ; li < len(lines) && lines[li].File == file; li++ {
			fmt.Fprintf(bw, "DA:%d,%d\n", lines[li].Line, lines[li].Count)
			if lines[li].Count > 0 {
				hit++
			}
		}
		fmt.Fprintf(bw, "LF:%d\nLH:%d\nend_of_record\n", li-start, hit)
	}
	return bw.Flush()
}

// lcovTestName makes name a valid lcov test name: letters, digits and
// underscores.
func lcovTestName(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, name)
}
