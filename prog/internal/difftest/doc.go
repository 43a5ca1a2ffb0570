// Package difftest holds the differential test between the kernel and
// package interp: the same program runs through prog.Program.Run (the
// kernel, the reference) and through interp, and every result bit must
// agree. It has no code outside its tests. It exists so that package prog
// itself never imports interp; its tests import prog, interp,
// internal/conformance and insn.
package difftest
