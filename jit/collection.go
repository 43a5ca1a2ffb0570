package jit

import (
	"fmt"
	stdmaps "maps"
	"slices"

	"github.com/purebpf/purebpf/internal/collection"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// Collection is the programs of an object compiled by the JIT, sharing
// one set of userspace maps, exactly as interp.Collection (whose docs say
// what the maps hold and what is not supported yet). Close it to free the
// machine code.
type Collection struct {
	Programs map[string]*VM
	Maps     map[string]maps.Map
}

// NewCollection creates the maps of spec and compiles its programs;
// opts.Program, when set, is every program's Options.Interp. Errors are
// interp.NewCollection's, and the JIT's for a program it cannot compile
// (unless Options.Fallback).
func NewCollection(spec *prog.CollectionSpec, opts *interp.CollectionOptions, jopts *Options) (*Collection, error) {
	ms, err := collection.Maps(spec, opts)
	if err != nil {
		return nil, err
	}
	c := &Collection{Programs: map[string]*VM{}, Maps: ms}
	var o Options
	if jopts != nil {
		o = *jopts
	}
	var iopts interp.Options
	if opts != nil && opts.Program != nil {
		iopts = *opts.Program
	}
	iopts.Maps = ms
	if iopts.Coverage != nil {
		iopts.Coverage.AddCollection(spec) // for Fallback: New refuses it otherwise
	}
	o.Interp = &iopts
	for _, name := range slices.Sorted(stdmaps.Keys(spec.Programs)) {
		ps := spec.Programs[name]
		if !ps.Autoload {
			continue
		}
		pspec, popts, err := collection.Program(spec, ps, opts, &iopts)
		var vm *VM
		if err == nil {
			po := o
			po.Interp = popts
			vm, err = New(pspec, &po)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("jit: collection: program %q (section %s): %w", name, ps.SectionName, err)
		}
		c.Programs[name] = vm
	}
	if err := collection.FillProgramArrays(spec, ms, func(name string) any {
		if vm := c.Programs[name]; vm != nil {
			return vm
		}
		return nil
	}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close frees the programs' machine code. Closing a nil Collection is a
// no-op.
func (c *Collection) Close() error {
	if c == nil {
		return nil
	}
	for _, vm := range c.Programs {
		vm.Close()
	}
	return nil
}
