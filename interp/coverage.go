package interp

import "github.com/purebpf/purebpf/internal/engine"

// Coverage of C source lines, from the .BTF.ext line_info and func_info
// of clang-built objects (clang -g).
type (
	// Coverage counts the instructions that the runs of the programs
	// loaded with it (Options.Coverage) execute, and maps them to the C
	// lines and functions of their objects: Lines, Functions, and
	// WriteLCOV for genhtml. Counts accumulate over runs, over tail
	// calls and over the programs of a collection until Reset. Programs
	// loaded with a Coverage run one instruction at a time, several
	// times slower; programs without one do not pay for it. Package jit
	// cannot count and refuses it (jit.Options.Fallback runs such a
	// program in interp).
	Coverage = engine.Coverage
	// LineCoverage is a C source line and the times it ran
	// (Coverage.Lines).
	LineCoverage = engine.LineCoverage
	// FuncCoverage is a C function and the times it was entered
	// (Coverage.Functions).
	FuncCoverage = engine.FuncCoverage
	// LCOVOptions configures Coverage.WriteLCOV: the test name and the
	// directory relative source names are resolved against.
	LCOVOptions = engine.LCOVOptions
)

// NewCoverage returns an empty Coverage. Set it in Options.Coverage (or
// CollectionOptions.Program.Coverage) of the programs to measure; a
// program loaded with New from a prog.ProgramSpec must be registered
// first with Coverage.Add (NewCollection registers its programs).
func NewCoverage() *Coverage { return engine.NewCoverage() }
