package engine

import "github.com/purebpf/purebpf/insn"

// Helper is a helper function as the program calls it: r1..r5 are its
// arguments, the result goes to r0. Errors the kernel reports to the
// program are negative errnos in the result, not Go errors. A Go error
// aborts the run (wrap ErrMemoryAccess for a bad pointer argument), except
// ErrHalt, which ends it with r0 = the result. env gives checked access to
// program memory and the run's context, maps and options.
type Helper func(env *Env, r1, r2, r3, r4, r5 uint64) (uint64, error)

// Registry maps helper numbers to helpers. Register helpers before the
// VMs that use it run; a Registry is not safe for concurrent Register and
// runs.
type Registry struct {
	fns []Helper
	// std has bit StdMapLookup set when map_lookup_elem is the engine's
	// own, and bit StdMapUpdate for map_update_elem (StdHelpers); Register
	// keeps it.
	std uint64
	// free has bit fn set when helper fn is the engine's own and touches
	// no region of the Env (RegionFree); Register keeps it.
	free uint64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register installs h as helper fn, replacing any previous one; a nil h
// removes it. Negative numbers are ignored.
func (r *Registry) Register(fn insn.HelperFunc, h Helper) {
	if fn < 0 {
		return
	}
	for int(fn) >= len(r.fns) {
		r.fns = append(r.fns, nil)
	}
	r.fns[fn] = h
	r.std = r.std&^stdBit(fn) | stdIf(fn, h)
	r.free &^= freeBit(fn)
	if regionFreeHelper(fn, h) {
		r.free |= freeBit(fn)
	}
}

// Lookup returns helper fn, or nil.
func (r *Registry) Lookup(fn insn.HelperFunc) Helper { return r.lookup(fn) }

func (r *Registry) lookup(fn insn.HelperFunc) Helper {
	if fn < 0 || int(fn) >= len(r.fns) {
		return nil
	}
	return r.fns[fn]
}

// Clone returns a copy of r that can be changed independently.
func (r *Registry) Clone() *Registry {
	return &Registry{fns: append([]Helper(nil), r.fns...), std: r.std, free: r.free}
}

// Numbers returns the registered helper numbers in increasing order.
func (r *Registry) Numbers() []insn.HelperFunc {
	var out []insn.HelperFunc
	for k, h := range r.fns {
		if h != nil {
			out = append(out, insn.HelperFunc(k))
		}
	}
	return out
}
