package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/purebpf/purebpf/insn"
)

func init() {
	commands["asm"] = command{usage: "asm FILE.s [-o FILE.bin]   assemble to raw little-endian bytecode (default output: FILE.bin)", run: runAsm}
}

// runAsm implements "asm FILE.s [-o FILE.bin]".
func runAsm(args []string, stdout io.Writer) error {
	fs := newFlags("asm")
	out := fs.String("o", "", "output `file` (default: the input with .bin)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: asm takes one input file", errUsage)
	}
	_, is, err := assemble(pos[0])
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

// assemble reads and parses the assembly file path; it returns the
// source too, for the map declarations in its comments.
func assemble(path string) (string, insn.Instructions, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	is, err := insn.Parse(string(src))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	return string(src), is, nil
}
