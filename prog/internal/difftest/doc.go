// Package difftest holds the differential test between the kernel and
// package interp: the same program runs through prog.Program.Run (the
// kernel, the reference) and through interp, and every result bit must
// agree. It has no code outside its tests. It exists so that package prog
// itself never imports interp. Package difftest imports nothing outside
// its tests, which use prog, interp, interp/maps, insn,
// internal/conformance and internal/testenv.
package difftest
