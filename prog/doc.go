// Package prog holds BPF programs and maps: the spec types that say what a
// program is, and (on Linux) the kernel objects loaded from them.
//
// A Spec is written once and runs in three places: loaded into the kernel
// by this package, or run in-process by package interp or package jit.
// Those packages consume Spec and MapSpec; prog never imports them.
//
// The Mapper interface is the method set that kernel maps (*Map) and
// interp's userspace maps share, so one assertion helper works on both;
// Iterator walks any Mapper.
//
// # The kernel half (Linux)
//
// NewProgram creates the maps a Spec lists, points its LD_IMM64 map
// references at their file descriptors and loads it with BPF_PROG_LOAD.
// The first attempt runs without a verifier log; a failure is retried
// with a log that grows on ENOSPC (to log_true_size on Linux 6.4+) and
// reported as a *VerifierError. Errors explain EPERM (privilege, or
// RLIMIT_MEMLOCK before Linux 5.11, which the loader raises itself when
// allowed), E2BIG, unknown program types and unknown helpers (the last two
// wrap ErrNotSupported). Tracing (tp_btf, fentry, fexit, fmod_ret), LSM and
// Ext programs name their target when they load: ProgramOptions.AttachTo
// gives its name, found in the kernel's BTF (vmlinux, then modules) as
// libbpf and NewCollection find section targets, or AttachBTFID and
// AttachProgram give it directly. Pins follow package internal/bpffs's
// rules, which package link's pins share.
//
// A *Program can be run on test input (Run, BPF_PROG_TEST_RUN; for socket
// filters RunSocketFilter, which sees the Ethernet header as a socket does),
// pinned on a bpffs (Pin, LoadPinnedProgram) and described (Info). A *Map
// offers lookups, updates with flags, deletes, next-key walks and
// iteration, batch lookups, updates and deletes (Linux 5.6+), freezing
// (5.2+), pinning and Info; per-CPU maps take one value per possible CPU
// (PossibleCPUs). Keys and values are converted by package
// internal/mapvalue: a []byte or a pointer to plain fixed-size data is
// used in place, so lookups into a caller's value do not allocate. A key
// or value of the wrong size or Go type gives an error wrapping
// ErrValueSize or ErrValueType; errnos that mislead on their own (E2BIG
// from a full hash map or an index out of range, EPERM from a frozen map)
// come with a hint.
//
// Specs are checked before any system call (Spec.Validate,
// MapSpec.Validate): sizes a map type cannot have, a ring buffer size
// that is not a power-of-two multiple of the page size, a map of maps
// without InnerMap, and names the kernel cannot take (anything but ASCII
// letters, digits, '_' and '.') give errors wrapping ErrInvalidSpec that
// name the field, where the kernel would say EINVAL or rewrite the name.
// Options take typed values (MapFlags, ProgramFlags, LogLevel,
// AttachType, UpdateFlags), never raw sys constants.
//
// Close on a nil *Program or *Map does nothing; every other method of a
// nil one returns an error wrapping os.ErrInvalid, and of a closed one
// os.ErrClosed.
//
// HaveProgramType, HaveMapType and HaveHelper probe the running kernel,
// caching each answer. Programs and Maps list what is loaded, as bpftool
// does.
//
// # Objects built by clang
//
// LoadCollectionSpec reads an ELF object as clang -target bpf writes it
// into a CollectionSpec: programs by function name (section names follow
// libbpf's conventions, ParseSectionName; .text subprograms are linked
// in), maps by name (BTF-defined, legacy SEC("maps") and the global data
// sections), variables, kconfig and ksym externs, BTF. NewCollection
// loads it as libbpf does: BTF, maps with BTF types, pins, .rodata
// frozen, CO-RE against the kernel's BTF, programs with func and line
// info, prog array and map-in-map initialisers.
//
// Package prog may import insn, sys, btf, internal packages, the standard
// library and golang.org/x/sys/unix.
package prog
