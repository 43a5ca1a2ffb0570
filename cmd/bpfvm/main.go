package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/jit"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage:
  bpfvm asm FILE.s [-o FILE.bin]
  bpfvm disasm FILE.bin
  bpfvm run [--mem FILE] [--repeat N] [--trace] [--jit [--dump]] FILE
`

// errUsage marks errors that should print the usage and exit 2.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "asm":
		err = cmdAsm(args[1:], stderr)
	case "disasm":
		err = cmdDisasm(args[1:], stdout, stderr)
	case "run":
		err = cmdRun(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "bpfvm: %v\n", err)
	if errors.Is(err, errUsage) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	return 1
}

// parseArgs parses flags that may come before or after the positional
// arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func cmdAsm(args []string, stderr io.Writer) error {
	fs := newFlags("asm", stderr)
	out := fs.String("o", "", "output `file` (default: the input with .bin)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: asm takes one input file", errUsage)
	}
	is, err := assemble(pos[0])
	if err != nil {
		return err
	}
	bin, err := is.Marshal()
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if *out == "" {
		*out = strings.TrimSuffix(pos[0], filepath.Ext(pos[0])) + ".bin"
	}
	return os.WriteFile(*out, bin, 0o644)
}

func assemble(path string) (insn.Instructions, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	is, err := insn.Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return is, nil
}

func cmdDisasm(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("disasm", stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: disasm takes one input file", errUsage)
	}
	raw, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	is, err := insn.Unmarshal(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	offs := is.SlotOffsets()
	for k, i := range is {
		fmt.Fprintf(stdout, "%4d: %s\n", offs[k], i)
	}
	return nil
}

// load reads a program: assembly for .s files, raw bytecode otherwise.
func load(path string, opts *interp.Options) (*interp.VM, error) {
	if strings.HasSuffix(path, ".s") {
		is, err := assemble(path)
		if err != nil {
			return nil, err
		}
		raw, err := is.Marshal()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return interp.Load(raw, opts)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return interp.Load(raw, opts)
}

// tracer prints each executed instruction and, once the next one starts,
// the registers it changed.
type tracer struct {
	w    io.Writer
	prev [11]uint64
	pc   int
	ins  insn.Instruction
	have bool
}

func (t *tracer) step(pc int, ins insn.Instruction, regs *[11]uint64) {
	if t.have {
		line := fmt.Sprintf("%5d: %-32s", t.pc, t.ins.String())
		for r := range regs {
			if regs[r] != t.prev[r] {
				line += fmt.Sprintf(" r%d=%#x", r, regs[r])
			}
		}
		fmt.Fprintln(t.w, strings.TrimRight(line, " "))
	}
	t.prev, t.pc, t.ins, t.have = *regs, pc, ins, pc >= 0
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	memFile := fs.String("mem", "", "`file` whose bytes are the program's memory (r1, r2)")
	repeat := fs.Int("repeat", 0, "run `N` more times, in timed batches through a Runner, and print the median time per run")
	trace := fs.Bool("trace", false, "print every executed instruction and the registers it changed")
	useJIT := fs.Bool("jit", false, "run the program as machine code (package jit)")
	dump := fs.Bool("dump", false, "with --jit, print the generated x86-64 code")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: run takes one program file", errUsage)
	}
	if *repeat < 0 {
		return fmt.Errorf("%w: --repeat %d is negative", errUsage, *repeat)
	}
	var mem []byte
	if *memFile != "" {
		if mem, err = os.ReadFile(*memFile); err != nil {
			return err
		}
	}
	opts := &interp.Options{}
	if *trace {
		tr := &tracer{w: stdout}
		opts.Trace = tr.step
	}
	if *dump && !*useJIT {
		return fmt.Errorf("%w: --dump needs --jit", errUsage)
	}
	if *trace && *useJIT {
		return fmt.Errorf("%w: --trace and --jit do not mix (machine code is not traced)", errUsage)
	}
	ivm, err := load(pos[0], opts)
	if err != nil {
		return err
	}
	var vm interface{ RunMemory([]byte) (uint64, error) } = ivm
	if *useJIT {
		jvm, err := jit.New(ivm.Spec(), &jit.Options{Interp: opts})
		if err != nil {
			return err
		}
		defer jvm.Close()
		if *dump {
			if err := jvm.Disassemble(stdout); err != nil {
				return err
			}
		}
		vm = jvm
	}
	work := append([]byte(nil), mem...)
	r0, err := vm.RunMemory(work)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "r0 = %#x\n", r0)
	if *repeat > 0 {
		if *trace {
			return fmt.Errorf("%w: --repeat and --trace do not mix", errUsage)
		}
		var rn interface {
			RunMemory([]byte) (uint64, error)
			Close() error
		}
		if jvm, ok := vm.(*jit.VM); ok {
			rn, err = jvm.NewRunner()
		} else {
			rn, err = ivm.NewRunner()
		}
		if err != nil {
			return err
		}
		defer rn.Close()
		per, batches, size, err := measure(rn.RunMemory, work, *repeat)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "median %.1f ns per run over %d runs (%d batches of %d through a Runner)\n", per, batches*size, batches, size)
	}
	return nil
}

// measure times n runs of run on mem the way a Go benchmark does: in
// batches, with the clock read only around each batch, so that reading it
// (tens of nanoseconds) does not count as run time. The batch size is
// chosen so that a batch takes about 100 µs (but at most n runs); it
// returns the median nanoseconds per run over the batches. The runs reuse
// mem as the previous run left it, as a benchmark's iterations do.
func measure(run func([]byte) (uint64, error), mem []byte, n int) (perRun float64, batches, size int, err error) {
	size = 1
	for size < n {
		start := time.Now()
		for range size {
			if _, err := run(mem); err != nil {
				return 0, 0, 0, err
			}
		}
		if time.Since(start) >= 100*time.Microsecond {
			break
		}
		size = min(2*size, n)
	}
	batches = max(1, n/size)
	per := make([]float64, batches)
	for k := range per {
		start := time.Now()
		for range size {
			if _, err := run(mem); err != nil {
				return 0, 0, 0, err
			}
		}
		per[k] = float64(time.Since(start).Nanoseconds()) / float64(size)
	}
	slices.Sort(per)
	return per[len(per)/2], batches, size, nil
}
