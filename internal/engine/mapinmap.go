package engine

import (
	"fmt"

	"github.com/purebpf/purebpf/interp/maps"
)

// Inner maps (map-in-map). A program's bpf_map_lookup_elem on an array or
// hash of maps (maps.OfMaps) returns a handle to the inner map, which it
// passes to the other map helpers as the kernel's verifier lets it pass
// the map pointer it gets (PTR_TO_MAP_VALUE_OR_NULL becomes CONST_PTR_TO_MAP
// of the inner template, kernel/bpf/verifier.c). The inner map is usually
// not among the VM's own maps, so the Env keeps a table of the inner maps
// the run reached: handle innerHandleBase + k*mapHandleStride is entry k.
// The table lives for one run (EndEnv clears it), so a handle never
// resolves in another run, Env or VM, and a handle is no memory: loads and
// stores through it fail as through any map handle.
const (
	// innerHandleBase is above every VM map handle (a VM holds far fewer
	// than 2^24 maps) and still in the range no user-space mapping has.
	innerHandleBase = mapHandleBase + 1<<36
	// maxInnerMaps bounds the distinct inner maps one run may reach.
	maxInnerMaps = 4096
)

// innerMap is an entry of Env.inner.
type innerMap struct {
	m     maps.Map
	facts mapFacts
}

// innerLookup is map_lookup_elem on the map of maps o: a handle to the
// map at key, or 0 (NULL) when the slot is empty.
func (e *Env) innerLookup(m maps.Map, key []byte) (uint64, error) {
	o, ok := m.(*maps.OfMaps)
	if !ok {
		return 0, fmt.Errorf("%w: map_lookup_elem: map %q is a %s the engine cannot look up", ErrHelper, m.MapSpec().Name, m.MapSpec().Type)
	}
	in := o.InnerRaw(key)
	if in == nil {
		return 0, nil
	}
	for k := range e.inner {
		if e.inner[k].m == in {
			return innerHandleBase + uint64(k)*mapHandleStride, nil
		}
	}
	if len(e.inner) >= maxInnerMaps {
		return 0, fmt.Errorf("%w: map_lookup_elem: the run reached more than %d inner maps", ErrHelper, maxInnerMaps)
	}
	e.inner = append(e.inner, innerMap{m: in, facts: factsOf(in.MapSpec())})
	return innerHandleBase + uint64(len(e.inner)-1)*mapHandleStride, nil
}

// innerMapOf resolves an inner map handle of this run.
func (e *Env) innerMapOf(handle uint64) (*innerMap, bool) {
	idx := handle - innerHandleBase
	if handle < innerHandleBase || idx%mapHandleStride != 0 || idx/mapHandleStride >= uint64(len(e.inner)) {
		return nil, false
	}
	return &e.inner[idx/mapHandleStride], true
}

// innerFactsKey is mapFactsKey for a handle that is not one of the VM's
// maps: an inner map handle of this run, else the error of Env.Map.
func (e *Env) innerFactsKey(r1, r2 uint64) (maps.Map, *mapFacts, []byte, error) {
	in, ok := e.innerMapOf(r1)
	if !ok {
		_, err := e.Map(r1) // the error
		return nil, nil, nil, err
	}
	key, err := e.Bytes(r2, in.facts.keySize, false)
	if err != nil {
		return nil, nil, nil, err
	}
	return in.m, &in.facts, key, nil
}

// endInner drops the run's inner map handles.
func (e *Env) endInner() {
	clear(e.inner)
	e.inner = e.inner[:0]
}
