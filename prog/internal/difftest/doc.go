// Package difftest holds the differential test between the kernel and
// the userspace engines: the same program runs in the kernel through
// prog.Program.Run (the reference), in interp and in jit, side by side
// through package bpftest, and every result bit must agree. It has no
// code outside its tests. It exists so that package prog itself never
// imports interp. Package difftest imports nothing outside its tests,
// which use prog, bpftest, interp/maps, insn, internal/conformance and
// internal/testenv.
package difftest
