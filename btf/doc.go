// Package btf reads, writes and loads BPF Type Format (BTF) and performs
// CO-RE relocations. It imports insn and sys from the repository,
// golang.org/x/sys/unix and the standard library; prog (the object loader)
// builds on it.
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
//
// # .BTF.ext
//
// ParseExt (or LoadELF) reads an object's .BTF.ext: per ELF section, the
// func_info records (*Func and instruction offset), the line_info records
// (file name, line number, column and the source text of the line) and
// the CO-RE relocation records. MarshalFuncInfos and MarshalLineInfos
// encode them for BPF_PROG_LOAD.
//
// # Writing
//
// Spec.Marshal writes a spec back in the wire format, keeping type ids
// and string offsets (an unmodified spec comes back byte for byte), and
// MarshalTypes and NewSpec build BTF from Go values. A loader prepares
// clang's output as libbpf does:
//
//	spec, ext, err := btf.LoadELFFile(f)          // f is the object's *elf.File
//	layout, err := btf.ELFLayoutOf(f)             // or fill ELFLayout from its own tables
//	err = spec.FixupELF(layout)                   // DATASEC sizes/offsets, hidden → static, .ksyms
//	h, err := btf.NewHandle(spec, nil)            // probe the kernel, replace missing kinds, BPF_BTF_LOAD
//	defer h.Close()                               // h.FD() is prog_btf_fd / btf_fd
//
// MarshalOptions.Missing replaces kinds an older kernel lacks (FUNC,
// global functions, VAR/DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64 and
// signed enums, '?' in section names) the way libbpf's
// bpf_object__sanitize_btf does; KernelMissing probes the running kernel
// once per process.
//
// # Kernel objects
//
// NewHandle and NewHandleFromRaw load BTF with BPF_BTF_LOAD, retrying
// with a verifier log as program loads do (sys.LoadWithLog); a rejected
// blob gives a *LoadError carrying the log. HandleByID, HandleByName
// ("vmlinux" or a module) and WalkHandles open the kernel's BTF objects;
// Handle.Info and Handle.Spec describe and read them back. Handles are
// io.Closers.
//
// # CO-RE
//
// CORERelocate rewrites a section's instructions for its CO-RE records, as
// libbpf's bpf_core_apply_relo does, against the running kernel and its
// modules or against the specs in COREOptions.Targets. Every kind is
// supported: field byte offset, byte size, existence, signedness and the
// lshift/rshift pair for bitfields; local and target type id, type
// existence, size and match (bpf_core_type_matches); enumerator existence
// and value, for ENUM and ENUM64. Candidates are the target types with the
// local type's name without its ___flavor suffix. A relocation without a
// target poisons its instruction (call 0xbad2310), which the verifier
// rejects only if it is reachable; COREResult.Reason names the
// relocation, the type and the access string. Candidates that disagree
// are an error (ErrAmbiguous), as in libbpf.
//
// # Dumping
//
// Spec.DumpRaw prints types as "bpftool btf dump file FILE" does, line for
// line; the purebpf command exposes it as "purebpf btf dump FILE".
package btf
