// Package collection loads the maps and programs of a clang-built object
// (a prog.CollectionSpec) for the userspace engines: it creates the maps
// with their initial contents, prepares each program (CO-RE relocations,
// kconfig, ksym and kfunc externs) and fills program arrays. It is the
// one implementation under interp.NewCollection and jit.NewCollection.
//
// Package collection may import insn, btf, prog, interp/maps,
// internal/engine and the standard library.
package collection
