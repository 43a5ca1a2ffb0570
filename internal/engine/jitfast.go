package engine

import (
	"reflect"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// What the JIT needs to keep map values, map lookups and context reads in
// machine code (jit/compile_amd64.go): it grants the same regions as the
// helpers and LD_IMM64 map value loads here would, and tells the Env about
// them (AddRegion) before Go next looks at the Env.

// DynamicRegions returns how many helper-made regions e holds (at most
// MaxDynamicRegions).
func DynamicRegions(e *Env) int { return len(e.regions) - e.fixed }

// DefaultMapLookup reports whether vm's map_lookup_elem is the engine's own
// (helperMapLookup), whose effect on an array map the JIT may inline: the
// key read from the program's memory, NULL for an index out of range,
// otherwise the element's address and a read-write region for it (read-only
// for BPF_F_RDONLY_PROG maps, which the JIT does not inline).
func DefaultMapLookup(vm *VM) bool {
	h := vm.helpers.lookup(insn.FnMapLookupElem)
	return h != nil && reflect.ValueOf(h).Pointer() == reflect.ValueOf(Helper(helperMapLookup)).Pointer()
}

// LookupPerm is the access map_lookup_elem grants to a value of m: the
// verifier refuses stores through the values of BPF_F_RDONLY_PROG maps
// (devmaps) and AF_XDP socket maps (struct bpf_xdp_sock).
func LookupPerm(m maps.Map) Perm {
	if ms := m.MapSpec(); ms.Flags&mapRdOnlyProg != 0 || ms.Type == prog.XSKMap {
		return PermRead
	}
	return PermRead | PermWrite
}

// CPU returns the CPU number vm's per-CPU maps and helpers use
// (Options.CPU); a run uses its root VM's.
func CPU(vm *VM) int { return vm.opts.CPU }

// DirectReads describes the context reads of the run bound in e that have
// no effect but reading the context's bytes, so that compiled code may
// make them itself: whole aligned 4-byte loads of the words of
// [start, start+4*64) whose bits are set in mask. ok is false when there
// are none. Only XDP's xdp_md qualifies (checkXDPAccess: every field is
// read-only and read as an aligned __u32; xdpSync keeps the bytes current
// whenever a helper moves the packet). A tc __sk_buff does not: its
// accesses normalise the packet state and some narrow reads have quirks
// (checkTCAccess).
func DirectReads(e *Env) (start, mask uint64, ok bool) {
	if e.ctxKind != ctxXDP || e.xdp.page == nil || e.ctxRegion >= 0 {
		return 0, 0, false
	}
	return e.ctxAddr, 1<<(xdpSize/4) - 1, true
}
