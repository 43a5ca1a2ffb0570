package maps_test

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// An array of maps holds maps that match its inner template; a program's
// bpf_map_lookup_elem on it gets the inner map, as Inner does here.
func ExampleOfMaps() {
	inner := prog.MapSpec{Name: "per_port", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 16}
	m, err := maps.New(prog.MapSpec{Name: "tables", Type: prog.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2, InnerMap: &inner}, nil)
	if err != nil {
		panic(err)
	}
	outer := m.(*maps.OfMaps)
	table, _ := maps.New(inner, nil)
	if err := outer.Set(uint32(1), table, prog.UpdateAny); err != nil {
		panic(err)
	}
	got, err := outer.Inner(uint32(1))
	fmt.Println(got == table, err)

	small := inner
	small.MaxEntries = 4
	other, _ := maps.New(small, nil)
	err = outer.Set(uint32(0), other, prog.UpdateAny)
	fmt.Println(errors.Is(err, syscall.EINVAL), err)
	// Output:
	// true <nil>
	// true map "tables": update: inner map "per_port": max_entries 4, the template's is 16 (set BPF_F_INNER_MAP on the template to allow any): invalid argument
}
