package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// dumpMaps prints the contents of the maps specs names, in that order, as
// get returns them, for "run --dump-maps":
//
//	map counts: hash key 4 value 8 max_entries 16, 2 entries
//	  key 01 00 00 00  value 05 00 00 00 00 00 00 00
//
// Arrays list their entries by index, other maps sorted by key bytes. A per-CPU map prints one value per
// CPU ("value[cpu1] ..."); queues and stacks are popped ("value ...",
// in pop order) and userspace ring buffers and perf event arrays are
// read ("record ...").
//
// A program array's entries print as "value program NAME", the name
// progName gives the program ID the entry holds, so that the dumps of
// engines whose program IDs differ agree. progName may be nil, and may
// return "" for an ID it does not know. Likewise a map of maps' entries
// print as "value map NAME": the name of the userspace inner map, or the
// name mapName gives the kernel's inner map ID.
func dumpMaps(w io.Writer, specs []*prog.MapSpec, get func(name string) prog.Mapper, cpus int, progName, mapName func(id uint32) string) error {
	for _, spec := range specs {
		m := get(spec.Name)
		if m == nil {
			return fmt.Errorf("map %q: not created", spec.Name)
		}
		lines, err := mapLines(m, spec, cpus, progName, mapName)
		if err != nil {
			return fmt.Errorf("map %q: %w", spec.Name, err)
		}
		what := "entries"
		if len(lines) == 1 {
			what = "entry"
		}
		switch spec.Type {
		case prog.RingBuf, prog.PerfEventArray:
			what = "records"
			if len(lines) == 1 {
				what = "record"
			}
		}
		fmt.Fprintf(w, "map %s: %s key %d value %d max_entries %d, %d %s\n", spec.Name, spec.Type, spec.KeySize, spec.ValueSize, spec.MaxEntries, len(lines), what)
		for _, l := range lines {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	return nil
}

func mapLines(m prog.Mapper, spec *prog.MapSpec, cpus int, progName, mapName func(id uint32) string) ([]string, error) {
	switch m := m.(type) {
	case *maps.RingBuf:
		var lines []string
		for {
			rec, err := m.Read()
			if errors.Is(err, maps.ErrNoRecord) {
				return lines, nil
			} else if err != nil {
				return lines, err
			}
			lines = append(lines, "record "+hexBytes(rec, -1))
		}
	case *maps.PerfEventArray:
		var lines []string
		for _, rec := range m.Records() {
			if rec.Sample == nil {
				lines = append(lines, fmt.Sprintf("cpu %d lost %d", rec.CPU, rec.Lost))
			} else {
				lines = append(lines, fmt.Sprintf("cpu %d record %s", rec.CPU, hexBytes(rec.Sample, -1)))
			}
		}
		return lines, nil
	}
	switch spec.Type {
	case prog.RingBuf, prog.PerfEventArray:
		return nil, fmt.Errorf("%s records are read only from userspace maps (interp and jit)", spec.Type)
	case prog.Queue, prog.Stack:
		var lines []string
		for {
			v := make([]byte, spec.ValueSize)
			if err := m.LookupAndDelete(nil, v); errors.Is(err, prog.ErrKeyNotExist) {
				return lines, nil
			} else if err != nil {
				return lines, err
			}
			lines = append(lines, "value "+hexBytes(v, -1))
		}
	}
	valueSize := int(spec.ValueSize)
	if spec.Type.PerCPU() {
		valueSize = cpus * int((spec.ValueSize+7)&^7)
	}
	var lines []string
	var key []byte
	for n := 0; ; n++ {
		if n > int(spec.MaxEntries) {
			return lines, fmt.Errorf("NextKey listed more than max_entries (%d) keys", spec.MaxEntries)
		}
		next := make([]byte, spec.KeySize)
		var err error
		if key == nil {
			err = m.NextKey(nil, next)
		} else {
			err = m.NextKey(key, next)
		}
		if errors.Is(err, prog.ErrKeyNotExist) {
			// Hash maps list keys in an order of their own (the
			// kernel's differs from interp's); sorted, the dumps of
			// the engines can be diffed.
			if spec.Type != prog.Array && spec.Type != prog.PerCPUArray {
				slices.Sort(lines)
			}
			return lines, nil
		} else if err != nil {
			return lines, err
		}
		key = next
		if o, ok := m.(*maps.OfMaps); ok {
			// Userspace maps of maps hold maps, not IDs.
			if in, err := o.Inner(key); err == nil {
				lines = append(lines, "key "+hexBytes(key, -1)+"  value map "+in.MapSpec().Name)
			} else if !errors.Is(err, prog.ErrKeyNotExist) {
				return lines, fmt.Errorf("key %s: %w", hexBytes(key, -1), err)
			}
			continue
		}
		v := make([]byte, valueSize)
		if err := m.Lookup(key, v); errors.Is(err, prog.ErrKeyNotExist) {
			continue // an empty slot of a prog array or array of maps
		} else if err != nil {
			return lines, fmt.Errorf("key %s: %w", hexBytes(key, -1), err)
		}
		line := "key " + hexBytes(key, -1) + " "
		if spec.Type.PerCPU() {
			stride := int((spec.ValueSize + 7) &^ 7)
			for c := range cpus {
				line += fmt.Sprintf(" value[cpu%d] %s", c, hexBytes(v[c*stride:c*stride+int(spec.ValueSize)], -1))
			}
		} else if name := progArrayName(spec, v, progName); name != "" {
			line += " value program " + name
		} else if (spec.Type == prog.ArrayOfMaps || spec.Type == prog.HashOfMaps) && mapName != nil && len(v) == 4 && mapName(binary.NativeEndian.Uint32(v)) != "" {
			line += " value map " + mapName(binary.NativeEndian.Uint32(v))
		} else {
			line += " value " + hexBytes(v, -1)
		}
		lines = append(lines, line)
	}
}

// progArrayName returns the name of the program whose ID v, a program
// array's value, holds, or "".
func progArrayName(spec *prog.MapSpec, v []byte, progName func(id uint32) string) string {
	if progName == nil || spec.Type != prog.ProgArray || len(v) != 4 {
		return ""
	}
	return progName(binary.NativeEndian.Uint32(v))
}
