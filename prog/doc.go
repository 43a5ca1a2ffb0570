// Package prog holds BPF programs and maps: the spec types that say what a
// program is, and (on Linux) the kernel objects loaded from them.
//
// A Spec is written once and runs in three places: loaded into the kernel
// by this package, or run in-process by package interp or package jit.
// Those packages consume Spec and MapSpec; prog never imports them.
//
// The Mapper interface is the method set that kernel maps (*Map) and
// interp's userspace maps share, so one assertion helper works on both.
//
// Package prog may import insn, sys, internal packages, the standard
// library and golang.org/x/sys/unix.
package prog
