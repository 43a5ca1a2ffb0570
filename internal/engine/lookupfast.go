package engine

import (
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp/maps"
)

// lookupArray is a call of map_lookup_elem made without the dispatch of
// a helper call, for the common case: the registry's helper is the
// engine's own (helperMapLookup), the map one of the running VM's arrays
// or per-CPU arrays (*maps.Array), and the key on the stack. It gives
// what helperMapLookup gives, the element's address (granting its bytes
// as a region) or 0, and ok; when the call is not such a call it does
// nothing and reports false, and the caller makes the helper call.
func (e *Env) lookupArray(r1, r2 uint64) (uint64, bool) {
	vm := e.curVM
	if vm.helpers.std&StdMapLookup == 0 || e.pend != nil {
		return 0, false
	}
	idx := r1 - mapHandleBase
	if r1 < mapHandleBase || idx%mapHandleStride != 0 || idx/mapHandleStride >= uint64(len(vm.maps)) {
		return 0, false // an inner map, or the error helperMapLookup names
	}
	k := idx / mapHandleStride
	a, ok := vm.maps[k].(*maps.Array)
	f := &vm.facts[k]
	if !ok || f.keySize != 4 || f.ofMaps {
		return 0, false
	}
	// The key as Env.Bytes finds it in the stack, the first region.
	s := &e.regions[0]
	if r2-s.Start >= s.End-s.Start || s.End-r2 < 4 {
		return 0, false
	}
	i := r2 - e.stackBase
	v := a.LookupRaw(e.stack[i:i+4:i+4], e.cpu())
	if v == nil {
		return 0, true
	}
	addr, err := e.AddRegion(v, f.valuePerm)
	if err != nil {
		return 0, false // the helper call reports it
	}
	return addr, true
}

// isLookup reports whether in calls helper map_lookup_elem.
func (in *dinsn) isLookup() bool {
	return in.op == opCall && in.imm == int64(insn.FnMapLookupElem)
}
