package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/jit"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// unwind is the conformance suite's helper 5: it returns its argument and
// ends the program when that is 0.
func unwind(_ *interp.Env, r1, _, _, _, _ uint64) (uint64, error) {
	if r1 == 0 {
		return 0, interp.ErrHalt
	}
	return r1, nil
}

// parseHex decodes hex bytes separated by any white space.
func parseHex(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	s = strings.ReplaceAll(s, "0x", "")
	return hex.DecodeString(s)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var memArg string
	haveMem, useJIT := false, false
	for _, a := range args {
		if a == "--jit" || a == "-jit" {
			useJIT = true
			continue
		}
		if strings.HasPrefix(a, "-") {
			fmt.Fprintf(stderr, "bpf-conformance-plugin: unknown option %q\n", a)
			return 2
		}
		if haveMem {
			fmt.Fprintf(stderr, "bpf-conformance-plugin: unexpected argument %q\n", a)
			return 2
		}
		memArg, haveMem = a, true
	}
	mem, err := parseHex(memArg)
	if err != nil {
		fmt.Fprintf(stderr, "bpf-conformance-plugin: memory argument: %v\n", err)
		return 1
	}
	in, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "bpf-conformance-plugin: reading program: %v\n", err)
		return 1
	}
	code, err := parseHex(string(in))
	if err != nil {
		fmt.Fprintf(stderr, "bpf-conformance-plugin: program: %v\n", err)
		return 1
	}
	helpers := interp.DefaultHelpers()
	helpers.Register(insn.FnKtimeGetNs, unwind) // helper 5 is "unwind" in the suite
	var vm interface{ RunMemory([]byte) (uint64, error) }
	if useJIT {
		jvm, jerr := jit.Load(code, &jit.Options{Interp: &interp.Options{Helpers: helpers}})
		if jerr == nil {
			defer jvm.Close()
		}
		vm, err = jvm, jerr
	} else {
		vm, err = interp.Load(code, &interp.Options{Helpers: helpers})
	}
	if err != nil {
		fmt.Fprintf(stderr, "bpf-conformance-plugin: %v\n", err)
		return 1
	}
	if len(mem) == 0 {
		mem = nil
	}
	r0, err := vm.RunMemory(mem)
	if err != nil && !errors.Is(err, interp.ErrHalt) {
		fmt.Fprintf(stderr, "bpf-conformance-plugin: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%x\n", r0)
	return 0
}
