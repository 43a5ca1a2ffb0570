package btf

import (
	"fmt"
	"iter"
	"slices"
)

// fnv32 hashes a name for the name index (FNV-1a).
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// buildIndex indexes the named types of s (not its base) by the hash of
// their essential name (the name without a ___flavor suffix).
func (s *Spec) buildIndex() {
	idx := make([]uint64, 0, len(s.offsets)/2)
	for i, off := range s.offsets {
		nameOff := s.u32(off)
		if nameOff == 0 {
			continue
		}
		n := s.name(nameOff)
		if n == "" {
			continue
		}
		idx = append(idx, uint64(fnv32(essentialName(n)))<<32|uint64(s.firstID)+uint64(i))
	}
	slices.Sort(idx)
	s.index = idx
}

// essentialMatches calls yield with the id of every type in s and its base
// whose essential name is essential (base types first).
func (s *Spec) essentialMatches(essential string, yield func(TypeID) bool) bool {
	if s.base != nil && !s.base.essentialMatches(essential, yield) {
		return false
	}
	return s.ownMatches(essential, yield)
}

// ownMatches is essentialMatches for the types of s alone.
func (s *Spec) ownMatches(essential string, yield func(TypeID) bool) bool {
	s.indexOnce.Do(s.buildIndex)
	h := uint64(fnv32(essential))
	i, _ := slices.BinarySearch(s.index, h<<32)
	for ; i < len(s.index) && s.index[i]>>32 == h; i++ {
		id := TypeID(uint32(s.index[i]))
		if essentialName(s.nameAt(id)) == essential && !yield(id) {
			return false
		}
	}
	return true
}

// named calls yield with each type named name in s and its base.
func (s *Spec) named(name string, yield func(TypeID, Type) bool) error {
	var err error
	s.essentialMatches(essentialName(name), func(id TypeID) bool {
		if s.nameAt(id) != name {
			return true
		}
		t, e := s.TypeByID(id)
		if e != nil {
			err = e
			return false
		}
		return yield(id, t)
	})
	return err
}

// TypesByName returns every type named name, in id order (the base's
// first for split BTF).
func (s *Spec) TypesByName(name string) ([]Type, error) {
	if s == nil {
		return nil, errNilSpec("TypesByName")
	}
	var ts []Type
	if err := s.named(name, func(_ TypeID, t Type) bool {
		ts = append(ts, t)
		return true
	}); err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("btf: type %q: %w", name, ErrNotFound)
	}
	return ts, nil
}

// TypeByName returns the one type named name of the given kind (any kind
// if kind is KindUnknown). It fails with ErrNotFound or
// ErrMultipleTypes.
func (s *Spec) TypeByName(name string, kind Kind) (Type, error) {
	if s == nil {
		return nil, errNilSpec("TypeByName")
	}
	var found Type
	var foundID TypeID
	var err error
	s.essentialMatches(essentialName(name), func(id TypeID) bool {
		if s.nameAt(id) != name || (kind != KindUnknown && s.kindAt(id) != kind) {
			return true
		}
		if found != nil {
			err = fmt.Errorf("btf: %s %q: [%d] and [%d]: %w", kind, name, foundID, id, ErrMultipleTypes)
			return false
		}
		found, err = s.TypeByID(id)
		foundID = id
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		if kind == KindUnknown {
			return nil, fmt.Errorf("btf: type %q: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("btf: %s %q: %w", kind, name, ErrNotFound)
	}
	return found, nil
}

// TypeByName returns the one type of Go type T (such as *Struct) named
// name in s.
//
//	task, err := btf.TypeByName[*btf.Struct](spec, "task_struct")
func TypeByName[T Type](s *Spec, name string) (T, error) {
	var zero, found T
	n := 0
	err := s.named(name, func(_ TypeID, t Type) bool {
		if v, ok := t.(T); ok {
			found = v
			n++
		}
		return true
	})
	switch {
	case err != nil:
		return zero, err
	case n == 0:
		return zero, fmt.Errorf("btf: %T %q: %w", zero, name, ErrNotFound)
	case n > 1:
		return zero, fmt.Errorf("btf: %T %q: %d types: %w", zero, name, n, ErrMultipleTypes)
	}
	return found, nil
}

// All yields the types of s (not of its base) in id order.
func (s *Spec) All() iter.Seq2[TypeID, Type] {
	return func(yield func(TypeID, Type) bool) {
		if s == nil {
			return
		}
		for id := s.firstID; id < s.NextID(); id++ {
			t, err := s.TypeByID(id)
			if err != nil || !yield(id, t) {
				return
			}
		}
	}
}
