// Command purebpf is purebpf's command-line tool.
//
//	purebpf btf dump FILE              print FILE's BTF as "bpftool btf dump file FILE" does
//	purebpf objdump [-d] FILE.o        sections, programs, maps, variables, relocations, BTF
//	purebpf loadall FILE.o DIR         load every program and pin it in DIR, like "bpftool prog loadall"
//
// Each subcommand lives in its own file and registers itself in
// commands; main only dispatches.
//
// It may import btf, prog, insn, sys and the standard library.
package main
