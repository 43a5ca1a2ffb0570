// Package maps implements BPF maps in user space with the semantics of the
// Linux kernel's maps (Linux 6.x: kernel/bpf/arraymap.c, hashtab.c,
// queue_stack_maps.c, ringbuf.c, devmap.c, cpumap.c, xskmap.c, map_in_map.c and the perf event array), for the
// interpreter (package interp), the JIT and tests.
//
// Every map implements prog.Mapper with the kernel's size checks, flag
// checks and errno values, so code written against a kernel map works
// unchanged on a userspace one. The Raw methods (LookupRaw, UpdateRaw,
// DeleteRaw and the queue, ring buffer and perf methods) are the helper
// side used by the VM: they take and return bytes in the map's layout and
// do not allocate on the lookup path.
//
// Maps of maps (OfMaps: array and hash of maps) hold maps of this
// package, not file descriptors: Set stores a Map that matches the inner
// template as bpf_map_meta_equal requires (MetaEqual), and Inner returns
// it where the kernel's lookup returns the inner map's ID. A program's
// lookup gets the inner map (InnerRaw), which the VM hands it as a map
// handle for the other map helpers.
//
// Maps hold no file descriptors, so they need no Close. They are safe for
// concurrent use.
//
// The package may import prog, internal/mapvalue, internal/hashprobe and
// the standard library only; it contains no OS-specific code. Its Linux
// tests also use insn and golang.org/x/sys/unix to run the same
// operations on kernel maps through raw bpf(2) and compare the results.
package maps
