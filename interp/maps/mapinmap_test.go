package maps

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/purebpf/purebpf/prog"
)

func innerArraySpec(n uint32) prog.MapSpec {
	return prog.MapSpec{Name: "inner", Type: prog.Array, KeySize: 4, ValueSize: 4, MaxEntries: n}
}

func ofMapsSpec(typ prog.MapType, inner prog.MapSpec) prog.MapSpec {
	return prog.MapSpec{Name: "outer", Type: typ, KeySize: 4, ValueSize: 4, MaxEntries: 2, InnerMap: &inner}
}

func TestOfMapsCreate(t *testing.T) {
	in := innerArraySpec(1)
	for _, c := range []struct {
		what string
		spec prog.MapSpec
		want error
		msg  string
	}{
		{"array of maps", ofMapsSpec(prog.ArrayOfMaps, in), nil, ""},
		{"hash of maps", ofMapsSpec(prog.HashOfMaps, in), nil, ""},
		{"no inner", prog.MapSpec{Name: "o", Type: prog.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1}, syscall.EINVAL, "InnerMap is nil"},
		{"value size 8", func() prog.MapSpec { s := ofMapsSpec(prog.HashOfMaps, in); s.ValueSize = 8; return s }(), syscall.EINVAL, "value_size 8"},
		{"array key 8", func() prog.MapSpec { s := ofMapsSpec(prog.ArrayOfMaps, in); s.KeySize = 8; return s }(), syscall.EINVAL, "key_size 8"},
		{"max entries 0", func() prog.MapSpec { s := ofMapsSpec(prog.HashOfMaps, in); s.MaxEntries = 0; return s }(), syscall.EINVAL, "max_entries is 0"},
		// The kernel (6.18): a program array as inner map is ENOTSUPP (524),
		// a map of maps EINVAL.
		{"prog array inner", ofMapsSpec(prog.ArrayOfMaps, prog.MapSpec{Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 1}), ENOTSUPP, "cannot be an inner map"},
		{"nested", ofMapsSpec(prog.ArrayOfMaps, ofMapsSpec(prog.ArrayOfMaps, in)), syscall.EINVAL, "do not nest"},
		{"bad inner", ofMapsSpec(prog.ArrayOfMaps, innerArraySpec(0)), syscall.EINVAL, "inner map"},
	} {
		m, err := New(c.spec, nil)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.what, err)
			} else if got := m.MapSpec(); got.InnerMap == nil || *got.InnerMap != in {
				t.Errorf("%s: MapSpec().InnerMap = %+v, want %+v", c.what, got.InnerMap, in)
			}
			continue
		}
		if !errors.Is(err, c.want) || !strings.Contains(errText(err), c.msg) {
			t.Errorf("%s: %v, want %v naming %q", c.what, err, c.want, c.msg)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestMetaEqual checks the fields bpf_map_meta_equal and
// array_map_meta_equal compare, as the kernel answers updates (6.18:
// an array with other max_entries is EINVAL, a hash with other
// max_entries is accepted).
func TestMetaEqual(t *testing.T) {
	tmpl := innerArraySpec(2)
	for _, c := range []struct {
		what  string
		tmpl  prog.MapSpec
		mod   func(*prog.MapSpec)
		field string
	}{
		{"same", tmpl, func(*prog.MapSpec) {}, ""},
		{"type", tmpl, func(s *prog.MapSpec) { s.Type = prog.Hash }, "type hash"},
		{"key size", tmpl, func(s *prog.MapSpec) { s.KeySize = 8 }, "key_size 8"},
		{"value size", tmpl, func(s *prog.MapSpec) { s.ValueSize = 8 }, "value_size 8"},
		{"flags", tmpl, func(s *prog.MapSpec) { s.Flags = flagRdOnlyProg }, "map_flags 0x80"},
		{"array max entries", tmpl, func(s *prog.MapSpec) { s.MaxEntries = 3 }, "max_entries 3"},
		{"BPF_F_INNER_MAP", func() prog.MapSpec { s := tmpl; s.Flags = flagInnerMap; return s }(), func(s *prog.MapSpec) { s.MaxEntries = 3; s.Flags = flagInnerMap }, ""},
		{"hash max entries", prog.MapSpec{Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 2}, func(s *prog.MapSpec) { s.MaxEntries = 3 }, ""},
	} {
		s := c.tmpl
		s.Name = "m"
		c.mod(&s)
		err := MetaEqual(c.tmpl, s)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.what, err)
			}
			continue
		}
		if !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), `"m"`) {
			t.Errorf("%s: %v, want EINVAL naming %q and the map", c.what, err, c.field)
		}
	}
}

func TestArrayOfMaps(t *testing.T) {
	in := innerArraySpec(1)
	o := mustNew(t, ofMapsSpec(prog.ArrayOfMaps, in), nil).(*OfMaps)
	a := mustNew(t, in, nil)
	b := mustNew(t, in, nil)
	wantErr(t, "set 0", o.Set(uint32(0), a, prog.UpdateAny), nil)
	wantErr(t, "update 1", o.Update(uint32(1), b, prog.UpdateAny), nil)
	wantErr(t, "set 2", o.Set(uint32(2), a, prog.UpdateAny), syscall.E2BIG)
	wantErr(t, "set noexist", o.Set(uint32(0), a, prog.UpdateNoExist), syscall.EINVAL)
	wantErr(t, "update fd", o.Update(uint32(0), uint32(3), prog.UpdateAny), syscall.EBADF)
	wantErr(t, "mismatch", o.Set(uint32(0), mustNew(t, innerArraySpec(4), nil), prog.UpdateAny), syscall.EINVAL)
	if m, err := o.Inner(uint32(0)); err != nil || m != a {
		t.Errorf("Inner(0) = %v, %v, want a", m, err)
	}
	var got Map
	if err := o.Lookup(uint32(1), &got); err != nil || got != b {
		t.Errorf("Lookup(1) = %v, %v, want b", got, err)
	}
	wantErr(t, "lookup bytes", o.Lookup(uint32(1), make([]byte, 4)), ErrNotSupported)
	if m := o.InnerRaw(u32(1)); m != b {
		t.Errorf("InnerRaw(1) = %v", m)
	}
	if m := o.InnerRaw(u32(7)); m != nil {
		t.Errorf("InnerRaw(7) = %v, want nil", m)
	}
	if o.LookupRaw(u32(0), 0) != nil {
		t.Error("LookupRaw gives bytes")
	}
	wantErr(t, "UpdateRaw", o.UpdateRaw(u32(0), u32(0), prog.UpdateAny, 0), syscall.EINVAL)
	wantErr(t, "DeleteRaw", o.DeleteRaw(u32(0)), syscall.EINVAL)
	wantErr(t, "LookupAndDelete", o.LookupAndDelete(uint32(0), &got), ENOTSUPP)
	wantErr(t, "delete 1", o.Delete(uint32(1)), nil)
	wantErr(t, "delete 1 again", o.Delete(uint32(1)), prog.ErrKeyNotExist)
	wantErr(t, "delete 9", o.Delete(uint32(9)), syscall.E2BIG)
	_, err := o.Inner(uint32(1))
	wantErr(t, "inner of empty", err, prog.ErrKeyNotExist)
	var k uint32
	wantErr(t, "next key", o.NextKey(nil, &k), nil)
	if k != 0 {
		t.Errorf("first key %d", k)
	}
	wantErr(t, "next key 1", o.NextKey(uint32(1), &k), prog.ErrKeyNotExist)
	wantErr(t, "set nil", o.Set(uint32(0), nil, prog.UpdateAny), nil)
	if o.InnerRaw(u32(0)) != nil {
		t.Error("set nil left the map")
	}
}

func TestHashOfMaps(t *testing.T) {
	in := prog.MapSpec{Name: "inner", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 2}
	o := mustNew(t, ofMapsSpec(prog.HashOfMaps, in), nil).(*OfMaps)
	a := mustNew(t, in, nil)
	bigger := in
	bigger.MaxEntries = 100 // hashes do not compare max_entries
	b := mustNew(t, bigger, nil)
	wantErr(t, "set 10", o.Set(uint32(10), a, prog.UpdateNoExist), nil)
	wantErr(t, "set 10 noexist", o.Set(uint32(10), b, prog.UpdateNoExist), syscall.EEXIST)
	wantErr(t, "set 11 exist", o.Set(uint32(11), b, prog.UpdateExist), syscall.ENOENT)
	wantErr(t, "set 11", o.Set(uint32(11), b, prog.UpdateAny), nil)
	wantErr(t, "set 12 full", o.Set(uint32(12), b, prog.UpdateAny), syscall.E2BIG)
	wantErr(t, "array into hash", o.Set(uint32(10), mustNew(t, innerArraySpec(1), nil), prog.UpdateAny), syscall.EINVAL)
	wantErr(t, "replace 10", o.Set(uint32(10), b, prog.UpdateExist), nil)
	if m := o.InnerRaw(u32(10)); m != b {
		t.Errorf("InnerRaw(10) after replace = %v, want b", m)
	}
	if len(o.byID) != 2 {
		t.Errorf("%d maps held after a replace, want 2", len(o.byID))
	}
	wantErr(t, "update fd", o.Update(uint32(10), uint32(3), prog.UpdateAny), syscall.EBADF)
	var keys []uint32
	var k any
	for {
		var next uint32
		if err := o.NextKey(k, &next); err != nil {
			wantErr(t, "end", err, prog.ErrKeyNotExist)
			break
		}
		keys, k = append(keys, next), next
	}
	if len(keys) != 2 {
		t.Errorf("keys %v", keys)
	}
	wantErr(t, "delete 10", o.Delete(uint32(10)), nil)
	wantErr(t, "delete 10 again", o.Delete(uint32(10)), prog.ErrKeyNotExist)
	if o.InnerRaw(u32(10)) != nil || len(o.byID) != 1 {
		t.Errorf("after delete: %v, %d held", o.InnerRaw(u32(10)), len(o.byID))
	}
	wantErr(t, "LookupAndDelete", o.LookupAndDelete(uint32(11), make([]byte, 4)), ENOTSUPP)
	rd := ofMapsSpec(prog.HashOfMaps, in)
	rd.Flags = flagRdOnly
	ro := mustNew(t, rd, nil).(*OfMaps)
	wantErr(t, "rdonly set", ro.Set(uint32(1), a, prog.UpdateAny), syscall.EPERM)
}

// TestOfMapsConcurrent: Go-side updates and deletes race with program
// lookups (run with -race).
func TestOfMapsConcurrent(t *testing.T) {
	for _, typ := range []prog.MapType{prog.ArrayOfMaps, prog.HashOfMaps} {
		in := innerArraySpec(1)
		o := mustNew(t, ofMapsSpec(typ, in), nil).(*OfMaps)
		a, b := mustNew(t, in, nil), mustNew(t, in, nil)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for k := range 2000 {
				m := a
				if k%3 == 0 {
					m = b
				}
				_ = o.Set(uint32(k%2), m, prog.UpdateAny)
				if k%5 == 0 {
					_ = o.Delete(uint32(k % 2))
				}
			}
		}()
		for k := 0; ; k++ {
			select {
			case <-done:
			default:
				if m := o.InnerRaw(u32(uint32(k % 2))); m != nil && m != a && m != b {
					t.Fatalf("%s: lookup gave a map never stored", typ)
				}
				continue
			}
			break
		}
		if typ == prog.HashOfMaps && len(o.byID) > 2 {
			t.Errorf("hash of maps holds %d maps for at most 2 keys", len(o.byID))
		}
	}
}
