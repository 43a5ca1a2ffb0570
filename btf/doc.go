// Package btf reads, writes and loads BPF Type Format (BTF) and performs
// CO-RE relocations. It imports insn and sys from the repository and the
// standard library; prog (the object loader) builds on it.
//
// # Parsing
//
// Parse reads a raw blob (header, type and string sections), ParseSplit a
// module's split BTF on top of its base, LoadSpec a file (an ELF object's
// .BTF, a raw blob, /sys/kernel/btf/vmlinux or /sys/kernel/btf/<module>)
// and LoadELF an object's .BTF and .BTF.ext together. KernelSpec and
// ModuleSpec return the running kernel's BTF, parsed once per process.
//
// Parsing validates every type (kinds, lengths, string offsets, type
// references, loops that do not go through a pointer) and reports bad
// input as a *ParseError naming the byte offset and type id, wrapping
// ErrMalformed. It decodes nothing: types become Go values on first use,
// which keeps parsing vmlinux cheap.
//
// # Types
//
// Each BTF kind is a Go type (*Int, *Pointer, *Array, *Struct, *Union,
// *Enum for ENUM and ENUM64, *Fwd, *Typedef, *Volatile, *Const,
// *Restrict, *TypeTag, *Func, *FuncProto, *Var, *Datasec, *Float,
// *DeclTag, and *Void for id 0) implementing Type. Types point at the
// types they reference, so a spec is a graph:
//
//	spec, _ := btf.KernelSpec()
//	task, _ := btf.TypeByName[*btf.Struct](spec, "task_struct")
//	for _, m := range task.Members { ... m.Type ... }
//
// Lookup: Spec.TypeByID, Spec.TypeID (the reverse), Spec.TypeByName (one
// type, by name and kind), Spec.TypesByName (all), the generic TypeByName
// (by name and Go type) and Spec.All. Helpers: Sizeof and Alignof (as the
// kernel and libbpf compute them), SkipQualifiers (const, volatile,
// restrict, type tags) and UnderlyingType (qualifiers and typedefs).
// Walks through typedef and qualifier chains stop after 32 steps, as the
// kernel's do, with an error wrapping ErrLoop.
package btf
