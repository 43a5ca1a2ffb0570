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

// MaxPendingRegions is the most regions a SetPendingRegions source may
// add at once.
const MaxPendingRegions = 64

// SetPendingRegions makes f the source of regions the program was granted
// (by compiled code) that e does not know of yet; nil removes it. Before
// e reports an access outside its regions, and before it adds a region
// when it holds nearly MaxDynamicRegions, it calls f, which adds them
// (AddRegion, at most MaxPendingRegions) and reports whether it added
// any, so that e then sees the regions, and counts them, as interp
// would. Its order does not matter: a region with a Start e has merges.
func SetPendingRegions(e *Env, f func() bool) { e.pend = f }

// DynamicRegions returns how many helper-made regions e holds (at most
// MaxDynamicRegions).
func DynamicRegions(e *Env) int { return len(e.regions) - e.fixed }

// Bits of StdHelpers.
const (
	StdMapLookup = 1 << iota // map_lookup_elem is helperMapLookup
	StdMapUpdate             // map_update_elem is helperMapUpdate
)

// StdHelpers says which helpers of vm's registry are the engine's own,
// whose effect on an array map the JIT may make itself:
//   - map_lookup_elem (StdMapLookup): the key read from the program's
//     memory, NULL for an index out of range, otherwise the element's
//     address and a read-write region for it (read-only for
//     BPF_F_RDONLY_PROG maps, which the JIT does not inline);
//   - map_update_elem (StdMapUpdate): with BPF_ANY or BPF_EXIST, an index
//     in range and the key and value readable, the value copied into the
//     element and 0.
func StdHelpers(vm *VM) uint64 { return vm.helpers.std }

// stdBit is fn's bit in Registry.std, or 0.
func stdBit(fn insn.HelperFunc) uint64 {
	switch fn {
	case insn.FnMapLookupElem:
		return StdMapLookup
	case insn.FnMapUpdateElem:
		return StdMapUpdate
	}
	return 0
}

// stdIf returns fn's bit in Registry.std when h is the engine's own
// helper fn.
func stdIf(fn insn.HelperFunc, h Helper) uint64 {
	var own Helper
	switch fn {
	case insn.FnMapLookupElem:
		own = helperMapLookup
	case insn.FnMapUpdateElem:
		own = helperMapUpdate
	default:
		return 0
	}
	if h != nil && reflect.ValueOf(h).Pointer() == reflect.ValueOf(own).Pointer() {
		return stdBit(fn)
	}
	return 0
}

// LookupPerm is the access map_lookup_elem grants to a value of m: the
// verifier refuses stores through the values of BPF_F_RDONLY_PROG maps
// (devmaps) and AF_XDP socket maps (struct bpf_xdp_sock).
func LookupPerm(m maps.Map) Perm { return lookupPerm(m.MapSpec()) }

// lookupPerm is the access a lookup in a map of spec ms grants to the
// value: read-only for BPF_F_RDONLY_PROG maps and XSK maps, whose values
// the verifier refuses stores to (an AF_XDP socket map's struct
// bpf_xdp_sock), read and write otherwise.
func lookupPerm(ms prog.MapSpec) Perm {
	if ms.Flags&mapRdOnlyProg != 0 || ms.Type == prog.XSKMap {
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
// are none. XDP's xdp_md qualifies (checkXDPAccess: every field is
// read-only and read as an aligned __u32; xdpSync keeps the bytes current
// whenever a helper moves the packet). So does a tc __sk_buff once its
// bytes are written (fillContext), for the fields tcAccessRule lets a
// program read as a whole __u32 (tcPutFields keeps them current), while
// its state is clean: tcNormalize would change nothing and no narrow read
// has left a field's bytes changed (tcQuirk). A store to the context can
// make it unclean: the caller stops direct reads when the program stores
// to the context, until DirectReads says so again.
func DirectReads(e *Env) (start, mask uint64, ok bool) {
	switch {
	case e.ctxKind == ctxXDP && e.xdp.page != nil && e.ctxRegion < 0:
		return e.ctxAddr, 1<<(xdpSize/4) - 1, true
	case e.ctxKind == ctxTC && e.tc.b != nil && e.ctxRegion < 0 && e.tcClean():
		return e.ctxAddr, tcDirectMask, true
	}
	return 0, 0, false
}

// tcDirectMask has bit k set when tcAccessRule allows a 4-byte load at
// __sk_buff offset 4k.
var tcDirectMask = func() uint64 {
	var m uint64
	for k := range skbSize / 4 {
		if narrow, err := tcAccessRule(uint64(4*k), 4, false); err == nil && !narrow {
			m |= 1 << k
		}
	}
	return m
}()

// tcClean reports whether tcNormalize would leave the context's bytes as
// they are and no narrow read changed them (tcQuirk).
func (e *Env) tcClean() bool {
	c := e.skb[:]
	return e.tc.quirkOff == 0 && ne.Uint32(c[skbTCIndex:])>>16 == 0 && ne.Uint32(c[skbTCClassid:])>>16 == 0 &&
		ne.Uint32(c[skbQueueMapping:]) < 0xffff
}

// RegionFree reports whether call number num (a call's immediate) calls,
// in vm's registry, one of the engine's own helpers that only compute a
// value (ktime_get_ns, get_prandom_u32, get_smp_processor_id): it adds,
// removes and moves no region of the Env, so that the JIT need not
// rebuild its region tables after it. A helper a test registered in its
// place does not count.
func RegionFree(vm *VM, num int64) bool {
	return num >= 0 && num < 64 && vm.helpers.free&(1<<num) != 0
}

// freeBit is fn's bit in Registry.free, or 0 for numbers past it.
func freeBit(fn insn.HelperFunc) uint64 {
	if fn < 0 || fn >= 64 {
		return 0
	}
	return 1 << fn
}

// regionFreeHelper reports whether h is the engine's own helper fn and
// fn is one that touches no region (RegionFree).
func regionFreeHelper(fn insn.HelperFunc, h Helper) bool {
	var own Helper
	switch fn {
	case insn.FnKtimeGetNs:
		own = helperKtimeGetNs
	case insn.FnGetPrandomU32:
		own = helperPrandom
	case insn.FnGetSMPProcessorID:
		own = helperSMPProcessorID
	default:
		return false
	}
	return h != nil && reflect.ValueOf(h).Pointer() == reflect.ValueOf(own).Pointer()
}

// StackReach returns how many bytes below r10 vm's program reaches in its
// main frame (program.stackReach): the main frame's stack region, which
// every run zeroes.
func StackReach(vm *VM) int { return int(vm.prog.stackDepth) }
