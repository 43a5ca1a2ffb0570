// Command bpfvm assembles, disassembles and runs eBPF programs in purebpf's
// userspace interpreter:
//
//	bpfvm asm FILE.s [-o FILE.bin]       assemble (default output FILE.bin)
//	bpfvm disasm FILE.bin                disassemble raw bytecode
//	bpfvm run [--mem FILE] [--repeat N] [--trace] [--jit [--dump]] FILE
//
// run loads FILE (assembly if it ends in .s, else raw little-endian
// bytecode) as a raw-memory program with r1 = the memory (the contents of
// --mem, or none) and r2 = its length, and prints "r0 = 0x...". --repeat N
// runs it N times and also prints the median time per run; --trace prints
// every executed instruction and the registers it changed; --jit runs it as
// machine code compiled by package jit, and --dump then also prints that
// code as x86-64 assembly. Errors go to
// standard error with exit status 1 (2 for usage errors).
//
// It may import interp, jit, insn and the standard library.
package main
