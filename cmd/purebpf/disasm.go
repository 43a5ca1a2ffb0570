package main

import (
	"fmt"
	"io"
	"os"

	"github.com/purebpf/purebpf/insn"
)

func init() {
	commands["disasm"] = command{usage: "disasm FILE.bin   disassemble raw little-endian bytecode", run: runDisasm}
}

// runDisasm implements "disasm FILE.bin": one instruction a line, after
// its slot number.
func runDisasm(args []string, stdout io.Writer) error {
	pos, err := parseArgs(newFlags("disasm"), args)
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
