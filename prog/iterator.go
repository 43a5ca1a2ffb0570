package prog

import (
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/purebpf/purebpf/internal/mapvalue"
)

// ErrIterationAborted is wrapped by Iterator.Err when a map kept changing
// under the iterator so that it could not make progress.
var ErrIterationAborted = errors.New("iteration aborted: map changed too often")

// Iterator walks the entries of any Mapper (kernel or userspace map) with
// NextKey and Lookup. It is written once against Mapper, so it works the
// same on both.
//
// Entries added or removed during the walk may or may not be seen. If the
// current key is deleted meanwhile, hash maps restart from the first key
// (kernel behaviour); the iterator then gives up after visiting more than
// four times MaxEntries keys, with ErrIterationAborted.
//
//	it := prog.NewIterator(m)
//	var k, v uint32
//	for it.Next(&k, &v) { ... }
//	if err := it.Err(); err != nil { ... }
type Iterator struct {
	m     Mapper
	spec  MapSpec
	cur   []byte // the last key returned, nil before the first
	next  []byte
	err   error
	done  bool
	count uint64
}

// NewIterator returns an iterator over m's entries.
func NewIterator(m Mapper) *Iterator {
	if m == nil {
		return &Iterator{err: fmt.Errorf("iterate: nil Mapper: %w", os.ErrInvalid), done: true}
	}
	if v := reflect.ValueOf(m); v.Kind() == reflect.Pointer && v.IsNil() {
		return &Iterator{err: fmt.Errorf("iterate: nil %T (Program.Map returns nil for a name the program's spec does not list): %w", m, os.ErrInvalid), done: true}
	}
	spec := m.MapSpec()
	return &Iterator{m: m, spec: spec, next: make([]byte, spec.KeySize)}
}

// Next copies the next key into keyOut and its value into valueOut (both
// as for Mapper.Lookup: []byte or pointers of the right size) and reports
// whether there was one. It returns false at the end or on error; see Err.
func (it *Iterator) Next(keyOut, valueOut any) bool {
	if it == nil || it.done {
		return false
	}
	if it.spec.KeySize == 0 {
		return it.fail(fmt.Errorf("iterate map %q: %s maps have no keys to iterate: %w", it.spec.Name, it.spec.Type, ErrInvalidSpec))
	}
	kb, err := mapvalue.View(keyOut, int(it.spec.KeySize), "key")
	if err != nil {
		return it.fail(fmt.Errorf("iterate map %q: %w", it.spec.Name, err))
	}
	limit := 4*uint64(it.spec.MaxEntries) + 16
	for {
		var prev any
		if it.cur != nil {
			prev = it.cur
		}
		if err := it.m.NextKey(prev, it.next); err != nil {
			if errors.Is(err, ErrKeyNotExist) {
				it.done = true
				return false
			}
			return it.fail(fmt.Errorf("iterate: %w", err))
		}
		it.count++
		if it.count > limit {
			return it.fail(fmt.Errorf("iterate map %q: %w", it.spec.Name, ErrIterationAborted))
		}
		if it.cur == nil {
			it.cur = make([]byte, it.spec.KeySize)
		}
		copy(it.cur, it.next)
		err := it.m.Lookup(it.next, valueOut)
		if errors.Is(err, ErrKeyNotExist) {
			continue // deleted since NextKey
		}
		if err != nil {
			return it.fail(fmt.Errorf("iterate: %w", err))
		}
		copy(kb, it.next)
		return true
	}
}

func (it *Iterator) fail(err error) bool {
	it.err = err
	it.done = true
	return false
}

// Err returns the error that stopped the iteration, or nil at a normal
// end.
func (it *Iterator) Err() error {
	if it == nil {
		return fmt.Errorf("iterate: nil *prog.Iterator (use NewIterator or Map.Iterate): %w", os.ErrInvalid)
	}
	return it.err
}
