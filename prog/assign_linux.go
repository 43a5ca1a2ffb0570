//go:build linux

package prog

import (
	"errors"
	"fmt"
	"reflect"
)

// LoadAndAssign loads the collection and stores its programs and maps in
// the fields of to, a pointer to a struct whose *Program and *Map fields
// carry the tag `ebpf:"name"` (as with cilium/ebpf and bpf2go). The
// caller owns what is assigned and closes it; whatever the struct does
// not ask for is closed before LoadAndAssign returns (programs keep the
// maps they use alive). Variables need the collection: use NewCollection
// for them.
func (cs *CollectionSpec) LoadAndAssign(to any, opts *CollectionOptions) error {
	v := reflect.ValueOf(to)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%w: LoadAndAssign wants a non-nil pointer to a struct, not %T", ErrInvalidSpec, to)
	}
	type field struct {
		v    reflect.Value
		name string
		prog bool
	}
	var fields []field
	st := v.Elem().Type()
	for i := range st.NumField() {
		f := st.Field(i)
		name, ok := f.Tag.Lookup("ebpf")
		if !ok {
			continue
		}
		switch f.Type {
		case reflect.TypeOf((*Program)(nil)):
			if cs.Programs[name] == nil {
				return fmt.Errorf("%w: field %s: no program %q in the object", ErrInvalidSpec, f.Name, name)
			}
			fields = append(fields, field{v.Elem().Field(i), name, true})
		case reflect.TypeOf((*Map)(nil)):
			if cs.Maps[name] == nil {
				return fmt.Errorf("%w: field %s: no map %q in the object", ErrInvalidSpec, f.Name, name)
			}
			fields = append(fields, field{v.Elem().Field(i), name, false})
		default:
			return fmt.Errorf("%w: field %s tagged ebpf:%q is a %s, want *prog.Program or *prog.Map", ErrInvalidSpec, f.Name, name, f.Type)
		}
		if !v.Elem().Field(i).CanSet() {
			return fmt.Errorf("%w: field %s is not exported", ErrInvalidSpec, f.Name)
		}
	}
	c, err := NewCollection(cs, opts)
	if err != nil {
		return err
	}
	keepProg := map[*Program]bool{}
	keepMap := map[*Map]bool{}
	for _, f := range fields {
		if f.prog {
			p := c.Programs[f.name]
			if p == nil {
				c.Close()
				return fmt.Errorf("%w: program %q was not loaded (its section starts with \"?\")", ErrInvalidSpec, f.name)
			}
			keepProg[p] = true
			f.v.Set(reflect.ValueOf(p))
		} else {
			m := c.Maps[f.name]
			keepMap[m] = true
			f.v.Set(reflect.ValueOf(m))
		}
	}
	if len(c.registered) > 0 {
		// A registered struct_ops structure would outlive every fd.
		c.Close()
		return fmt.Errorf("%w: LoadAndAssign cannot hand over registered struct_ops maps; use NewCollection", ErrInvalidSpec)
	}
	// Hand the assigned objects over and close the rest.
	var errs []error
	for _, mem := range c.mmaps {
		errs = append(errs, unmap(mem))
	}
	c.mmaps = nil
	for _, p := range c.Programs {
		if !keepProg[p] {
			errs = append(errs, p.Close())
		}
	}
	for _, m := range c.owned {
		if !keepMap[m] {
			errs = append(errs, m.Close())
		}
	}
	c.owned, c.Programs = nil, nil
	errs = append(errs, c.Close())
	return errors.Join(errs...)
}
