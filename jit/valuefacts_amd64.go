//go:build amd64 && unix

package jit

import (
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// factOptions computes the value facts of ivm's program (valuefacts.go)
// for a checked compile.
func factOptions(o *compileOptions, ivm *engine.VM) {
	if o.unchecked {
		return
	}
	o.stackDepth = engine.StackReach(ivm)
	std := engine.StdHelpers(ivm)&engine.StdMapLookup != 0
	ms := ivm.Maps()
	t := ivm.Spec().Type
	o.facts = analyzeValues(ivm.Instructions(), factSource{
		ctx: t == prog.XDP || t == prog.SchedCLS || t == prog.SchedACT,
		mapIndex: func(i insn.Instruction) (int, bool) {
			idx, err := mapIndex(ivm, i)
			return idx, err == nil
		},
		lookup: func(idx int) (int64, bool, bool) {
			if !std || idx < 0 || idx >= len(ms) {
				return 0, false, false
			}
			return lookupGrant(ms[idx])
		},
		storage: func(i insn.Instruction) (int64, int64, bool) {
			idx, err := mapIndex(ivm, i)
			if err != nil {
				return 0, 0, false
			}
			// What the engine's mapValueAddr grants: an array's
			// whole storage (for CPU 0), read and write.
			arr, ok := ms[idx].(*maps.Array)
			if !ok {
				return 0, 0, false
			}
			return int64(len(arr.Storage(0))), int64(i.MapValueOffset()), true
		},
	})
}

// lookupGrant returns the region a non-NULL result of the engine's
// map_lookup_elem (helperMapLookup) on m grants: the value, value_size
// bytes, with engine.LookupPerm's access. Only the data maps qualify:
// arrays and hashes and their per-CPU and LRU forms, whose LookupRaw
// returns exactly the value.
func lookupGrant(m maps.Map) (size int64, write, ok bool) {
	ms := m.MapSpec()
	switch m.(type) {
	case *maps.Array:
		ok = ms.Type == prog.Array || ms.Type == prog.PerCPUArray
	case *maps.Hash:
		ok = ms.Type == prog.Hash || ms.Type == prog.PerCPUHash || ms.Type == prog.LRUHash || ms.Type == prog.LRUPerCPUHash
	}
	if !ok || ms.ValueSize == 0 {
		return 0, false, false
	}
	perm := engine.LookupPerm(m)
	if perm&engine.PermRead == 0 {
		return 0, false, false
	}
	return int64(ms.ValueSize), perm&engine.PermWrite != 0, true
}

// leansOn reports whether the checks the code left out rest on the
// map_lookup_elem call at slot pc being the engine's own.
func (c *compiled) leansOn(pc uint64) bool { return pc < uint64(len(c.lookups)) && c.lookups[pc] }
