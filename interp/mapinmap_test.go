package interp_test

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// TestCollectionMapInMapInitialisers: the initialisers of a map of maps
// fill it with the object's maps; an initialiser naming a map that does
// not match the inner template, or no map of the object, is an error
// naming the outer map, the slot, the inner map and the field.
func TestCollectionMapInMapInitialisers(t *testing.T) {
	inner := func(name string, max uint32) *prog.ObjectMapSpec {
		return &prog.ObjectMapSpec{MapSpec: prog.MapSpec{Name: name, Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: max}}
	}
	spec := func(target string, max uint32) *prog.CollectionSpec {
		return &prog.CollectionSpec{Maps: map[string]*prog.ObjectMapSpec{
			"outer": {
				MapSpec:  prog.MapSpec{Name: "outer", Type: prog.HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2},
				InnerMap: inner("outer.inner", 1),
				Contents: []prog.MapEntry{{Key: 7, Value: target}},
			},
			"a": inner("a", max),
		}}
	}
	c, err := interp.NewCollection(spec("a", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Maps["outer"].(*maps.OfMaps)
	if in, err := o.Inner(uint32(7)); err != nil || in != c.Maps["a"] {
		t.Errorf("outer[7] = %v, %v; want map a", in, err)
	}
	if got := o.MapSpec().InnerMap; got == nil || got.MaxEntries != 1 || got.Type != prog.Array {
		t.Errorf("inner template %+v", got)
	}
	_, err = interp.NewCollection(spec("a", 5), nil)
	if !errors.Is(err, syscall.EINVAL) {
		t.Errorf("mismatch: %v, want EINVAL", err)
	}
	for _, s := range []string{`map "outer"`, "entry 7", `"a"`, "max_entries 5"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("mismatch: %v does not name %s", err, s)
		}
	}
	if _, err := interp.NewCollection(spec("nope", 1), nil); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown inner map: %v", err)
	}
}
