// Command bpf-conformance-plugin runs one eBPF conformance test program in
// purebpf's interpreter, speaking the bpf_conformance plugin protocol:
//
//	bpf-conformance-plugin ["<memory hex bytes>"] < program-hex
//
// The optional first argument is the memory the program gets (hex bytes
// separated by spaces); standard input holds the program's bytes in hex.
// It prints r0 in hex and exits 0, or prints an error on standard error and
// exits 1. Helper 5 is "unwind" (ends the program with r0 = 0 when its
// argument is 0) and callx calls the helper numbered by its register, as
// the suite defines. Options start with "-": --jit runs the program as
// machine code compiled by package jit instead of in the interpreter.
//
// It may import interp, jit, insn and the standard library.
package main
