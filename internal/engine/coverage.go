package engine

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/purebpf/purebpf/prog"
)

// Coverage collects which instructions of the programs loaded with it
// (Options.Coverage) ran and how often, and maps them to the C source
// lines and functions of the objects they come from, through the
// .BTF.ext line_info and func_info records that clang -g emits and that
// prog.LoadCollectionSpec keeps on each ProgramSpec (LineInfos,
// FuncInfos) through linking: the records follow each function's
// instructions when subprograms are appended to a program, and
// relocation and CO-RE patch instructions in place, so the instruction
// indexes they hold stay valid.
//
// Counts accumulate over every run of every VM loaded with the
// Coverage, including the runs of programs entered through tail calls,
// until Reset. A Coverage is safe for concurrent use: runs add to their
// counts with atomic operations, and Lines, Functions and WriteLCOV
// read a snapshot. The methods of a nil *Coverage do nothing and report
// no lines.
//
// A program loaded with a Coverage runs one instruction at a time (as
// with Options.Trace), several times slower than without: runs of VMs
// without one do not pay for it. Only the interpreter counts; package
// jit refuses a Coverage (it runs the program in interp with
// jit.Options.Fallback).
type Coverage struct {
	mu      sync.Mutex
	sources []*prog.ProgramSpec
	progs   []*coveredProgram
}

// coveredProgram is one VM's program under a Coverage: its execution
// counts by slot, and its source records.
type coveredProgram struct {
	counts []atomic.Uint64 // by slot; second lddw slots stay 0
	slotOf []int           // instruction index -> slot
	lines  []prog.LineInfo // sorted by instruction
	funcs  []prog.FuncInfo // sorted by instruction
}

// NewCoverage returns an empty Coverage.
func NewCoverage() *Coverage { return &Coverage{} }

// Add registers the source records (line and function info) of ps, so
// that a VM loaded from &ps.Spec, or from a copy of it with the same name
// and number of instructions, maps its counts to ps's C lines. The
// collections of package interp add their programs themselves.
func (c *Coverage) Add(ps *prog.ProgramSpec) {
	if c == nil || ps == nil {
		return
	}
	c.mu.Lock()
	if !slices.Contains(c.sources, ps) {
		c.sources = append(c.sources, ps)
	}
	c.mu.Unlock()
}

// AddCollection registers every program of cs (Add).
func (c *Coverage) AddCollection(cs *prog.CollectionSpec) {
	if c == nil || cs == nil {
		return
	}
	for _, name := range cs.ProgramNames() {
		c.Add(cs.Programs[name])
	}
}

// attach registers the program of a VM being loaded with the Coverage
// and returns its counters. The source is the registered ProgramSpec
// whose Spec spec is, else the one registered program with spec's name
// and instruction count; a program with neither is an error (its counts
// would name no source line).
func (c *Coverage) attach(spec *prog.Spec, p *program) (*coveredProgram, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var src *prog.ProgramSpec
	for _, ps := range c.sources {
		if &ps.Spec == spec {
			src = ps
			break
		}
	}
	if src == nil {
		var match []*prog.ProgramSpec
		for _, ps := range c.sources {
			if ps.Name == spec.Name && len(ps.Instructions) == len(spec.Instructions) {
				match = append(match, ps)
			}
		}
		switch len(match) {
		case 0:
			return nil, fmt.Errorf("coverage: no source registered for program %q: load it from a prog.ProgramSpec added with Coverage.Add (or through a collection)", spec.Name)
		case 1:
			src = match[0]
		default:
			return nil, fmt.Errorf("coverage: %d registered programs are called %q and have %d instructions; load the program from one of them (&ProgramSpec.Spec) to say which", len(match), spec.Name, len(spec.Instructions))
		}
	}
	cp := &coveredProgram{
		counts: make([]atomic.Uint64, len(p.code)),
		slotOf: make([]int, len(p.insns)),
		lines:  slices.Clone(src.LineInfos()),
		funcs:  src.FuncInfos(),
	}
	for slot, k := range p.slots {
		if k >= 0 {
			cp.slotOf[k] = slot
		}
	}
	n := len(p.insns)
	cp.lines = slices.DeleteFunc(cp.lines, func(l prog.LineInfo) bool { return l.Instruction < 0 || l.Instruction >= n })
	cp.funcs = slices.DeleteFunc(cp.funcs, func(f prog.FuncInfo) bool { return f.Instruction < 0 || f.Instruction >= n })
	slices.SortStableFunc(cp.lines, func(a, b prog.LineInfo) int { return cmp.Compare(a.Instruction, b.Instruction) })
	slices.SortStableFunc(cp.funcs, func(a, b prog.FuncInfo) int { return cmp.Compare(a.Instruction, b.Instruction) })
	c.progs = append(c.progs, cp)
	return cp, nil
}

// hit counts one execution of the instruction at slot.
func (cp *coveredProgram) hit(slot int) { cp.counts[slot].Add(1) }

// Reset sets every count to zero. The registered sources and the loaded
// programs stay.
func (c *Coverage) Reset() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cp := range c.progs {
		for k := range cp.counts {
			cp.counts[k].Store(0)
		}
	}
}

// LineCoverage is one C source line of the programs under a Coverage.
type LineCoverage struct {
	// File is the source file name as the object records it (clang's
	// name for it, relative to the compilation directory unless it was
	// given as an absolute path).
	File string
	// Line is the 1-based line number and Text the line's source text,
	// as the object's BTF holds it.
	Line uint32
	Text string
	// Count is how many times the line ran: per loaded program, the
	// most times the first instruction of one of the line's line_info
	// records ran (clang starts a record where the line's code starts;
	// the instructions up to the next record belong to it, and code it
	// merged from several lines has no record of its own), summed over
	// the programs (a static function linked into two programs, or one
	// program loaded twice, counts in each).
	Count uint64
}

// FuncCoverage is one C function of the programs under a Coverage.
type FuncCoverage struct {
	File string
	// Line is the line of the function's first line_info record (its
	// declaration, as clang emits it).
	Line uint32
	Name string
	// Count is how many times the function was entered (its first
	// instruction ran), summed over the programs it is linked into.
	Count uint64
}

type lineKey struct {
	file string
	line uint32
}

type funcKey struct {
	file, name string
}

// Lines returns every source line that the loaded programs have
// instructions for, sorted by file and line, with the times it ran.
func (c *Coverage) Lines() []LineCoverage {
	lines, _ := c.snapshot()
	return lines
}

// Functions returns every function (func_info) of the loaded programs,
// sorted by file, line and name, with the times it was entered.
func (c *Coverage) Functions() []FuncCoverage {
	_, funcs := c.snapshot()
	return funcs
}

func (c *Coverage) snapshot() ([]LineCoverage, []FuncCoverage) {
	if c == nil {
		return nil, nil
	}
	c.mu.Lock()
	progs := slices.Clone(c.progs)
	c.mu.Unlock()
	lines := map[lineKey]*LineCoverage{}
	funcs := map[funcKey]*FuncCoverage{}
	for _, cp := range progs {
		counts := make([]uint64, len(cp.counts))
		for k := range cp.counts {
			counts[k] = cp.counts[k].Load()
		}
		perLine := map[lineKey]uint64{}
		for _, l := range cp.lines {
			if l.File == "" || l.LineNum == 0 {
				continue
			}
			// A record is entered through its first instruction; an
			// instruction inside it that other code jumps to is code
			// clang merged from several lines (line 0 in DWARF, which
			// gets no record of its own) and does not say that the
			// record's line ran.
			key := lineKey{l.File, l.LineNum}
			perLine[key] = max(perLine[key], counts[cp.slotOf[l.Instruction]])
			if lines[key] == nil {
				lines[key] = &LineCoverage{File: l.File, Line: l.LineNum, Text: l.Line}
			}
		}
		for key, n := range perLine {
			lines[key].Count += n
		}
		for k, f := range cp.funcs {
			file, line := cp.funcLine(k)
			if file == "" {
				continue
			}
			key := funcKey{file, f.Name}
			fc := funcs[key]
			if fc == nil {
				fc = &FuncCoverage{File: file, Line: line, Name: f.Name}
				funcs[key] = fc
			}
			fc.Count += counts[cp.slotOf[f.Instruction]]
		}
	}
	outL := make([]LineCoverage, 0, len(lines))
	for _, l := range lines {
		outL = append(outL, *l)
	}
	slices.SortFunc(outL, func(a, b LineCoverage) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	outF := make([]FuncCoverage, 0, len(funcs))
	for _, f := range funcs {
		outF = append(outF, *f)
	}
	slices.SortFunc(outF, func(a, b FuncCoverage) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Name, b.Name))
	})
	return outL, outF
}

// funcLine returns the file and line of function k: those of its first
// line record.
func (cp *coveredProgram) funcLine(k int) (string, uint32) {
	start := cp.funcs[k].Instruction
	end := len(cp.slotOf)
	if k+1 < len(cp.funcs) {
		end = cp.funcs[k+1].Instruction
	}
	i, _ := slices.BinarySearchFunc(cp.lines, start, func(l prog.LineInfo, t int) int { return cmp.Compare(l.Instruction, t) })
	if i < len(cp.lines) && cp.lines[i].Instruction < end {
		return cp.lines[i].File, cp.lines[i].LineNum
	}
	return "", 0
}
