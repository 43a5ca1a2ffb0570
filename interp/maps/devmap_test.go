package maps

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"

	"github.com/purebpf/purebpf/prog"
)

func devval(ifindex uint32, fd int32) []byte {
	b := make([]byte, 8)
	binary.NativeEndian.PutUint32(b, ifindex)
	binary.NativeEndian.PutUint32(b[4:], uint32(fd))
	return b
}

func TestDevMapCreate(t *testing.T) {
	ok := prog.MapSpec{Name: "d", Type: prog.DevMap, KeySize: 4, ValueSize: 8, MaxEntries: 4}
	for _, c := range []struct {
		edit func(*prog.MapSpec)
		want error
	}{
		{func(s *prog.MapSpec) {}, nil},
		{func(s *prog.MapSpec) { s.ValueSize = 4 }, nil},
		{func(s *prog.MapSpec) { s.Type = prog.DevMapHash }, nil},
		{func(s *prog.MapSpec) { s.Flags = flagRdOnly }, nil},
		{func(s *prog.MapSpec) { s.ValueSize = 12 }, syscall.EINVAL},
		{func(s *prog.MapSpec) { s.KeySize = 8 }, syscall.EINVAL},
		{func(s *prog.MapSpec) { s.MaxEntries = 0 }, syscall.EINVAL},
		{func(s *prog.MapSpec) { s.Flags = flagRdOnlyProg }, syscall.EINVAL},
		{func(s *prog.MapSpec) { s.Flags = flagRdOnly | flagWrOnly }, syscall.EINVAL},
	} {
		s := ok
		c.edit(&s)
		m, err := New(s, nil)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%+v: %v, want %v", s, err, c.want)
			continue
		}
		if err == nil && m.MapSpec().Flags&flagRdOnlyProg == 0 {
			t.Errorf("%+v: flags %#x lack BPF_F_RDONLY_PROG", s, m.MapSpec().Flags)
		}
	}
}

func TestDevMapSemantics(t *testing.T) {
	m, err := New(prog.MapSpec{Name: "d", Type: prog.DevMap, KeySize: 4, ValueSize: 8, MaxEntries: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := m.(*DevMap)
	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	check("update", d.Update(uint32(1), devval(7, 0), prog.UpdateAny), nil)
	check("update exist", d.Update(uint32(1), devval(8, -1), prog.UpdateExist), nil)
	check("update exist on empty slot", d.Update(uint32(2), devval(9, 0), prog.UpdateExist), nil)
	check("noexist", d.Update(uint32(3), devval(9, 0), prog.UpdateNoExist), syscall.EEXIST)
	check("out of range", d.Update(uint32(4), devval(9, 0), prog.UpdateAny), syscall.E2BIG)
	check("bad flags", d.Update(uint32(0), devval(9, 0), 4), syscall.EINVAL)
	check("program fd", d.Update(uint32(0), devval(9, 5), prog.UpdateAny), ErrNotSupported)
	v := make([]byte, 8)
	check("lookup", d.Lookup(uint32(1), v), nil)
	if binary.NativeEndian.Uint32(v) != 8 || binary.NativeEndian.Uint32(v[4:]) != 0 {
		t.Errorf("lookup: % x, want ifindex 8, program id 0", v)
	}
	check("lookup empty", d.Lookup(uint32(0), v), prog.ErrKeyNotExist)
	if ifi, ok := d.Ifindex(2); !ok || ifi != 9 {
		t.Errorf("Ifindex(2) = %d, %v", ifi, ok)
	}
	// The program side: lookups alias the entry, which an update does
	// not change (it replaces it); programs cannot update or delete.
	raw := d.LookupRaw([]byte{1, 0, 0, 0}, 0)
	check("update", d.Update(uint32(1), devval(10, 0), prog.UpdateAny), nil)
	if binary.NativeEndian.Uint32(raw) != 8 {
		t.Errorf("a replaced entry changed under a program's lookup")
	}
	if d.LookupRaw([]byte{0, 0, 0, 0}, 0) != nil || d.LookupRaw([]byte{9, 0, 0, 0}, 0) != nil {
		t.Errorf("LookupRaw of an empty or out-of-range slot")
	}
	check("program update", d.UpdateRaw([]byte{0, 0, 0, 0}, devval(1, 0), 0, 0), syscall.EINVAL)
	check("program delete", d.DeleteRaw([]byte{0, 0, 0, 0}), syscall.EINVAL)
	// ifindex 0 empties a slot; deleting an empty slot succeeds.
	check("clear", d.Update(uint32(2), devval(0, 0), prog.UpdateAny), nil)
	check("lookup cleared", d.Lookup(uint32(2), v), prog.ErrKeyNotExist)
	check("delete", d.Delete(uint32(1)), nil)
	check("delete empty", d.Delete(uint32(1)), nil)
	check("delete out of range", d.Delete(uint32(4)), syscall.EINVAL)
	check("lookup and delete", d.LookupAndDelete(uint32(1), v), ENOTSUPP)
	var k uint32
	check("next of nil", d.NextKey(nil, &k), nil)
	if k != 0 {
		t.Errorf("first key %d", k)
	}
	check("next of last", d.NextKey(uint32(3), &k), prog.ErrKeyNotExist)

	h, err := New(prog.MapSpec{Name: "h", Type: prog.DevMapHash, KeySize: 4, ValueSize: 4, MaxEntries: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("hash update", h.Update(uint32(100), uint32(3), prog.UpdateAny), nil)
	check("hash ifindex 0", h.Update(uint32(5), uint32(0), prog.UpdateAny), syscall.EINVAL)
	check("hash noexist", h.Update(uint32(100), uint32(4), prog.UpdateNoExist), syscall.EEXIST)
	check("hash exist on new key", h.Update(uint32(7), uint32(4), prog.UpdateExist), nil)
	check("hash full", h.Update(uint32(8), uint32(4), prog.UpdateAny), syscall.E2BIG)
	check("hash next of nil", h.NextKey(nil, &k), nil)
	if k != 7 {
		t.Errorf("first key %d, want 7", k)
	}
	check("hash next", h.NextKey(uint32(7), &k), nil)
	if k != 100 {
		t.Errorf("next key %d, want 100", k)
	}
	check("hash next of last", h.NextKey(uint32(100), &k), prog.ErrKeyNotExist)
	check("hash next of missing", h.NextKey(uint32(55), &k), nil)
	check("hash delete", h.Delete(uint32(7)), nil)
	check("hash delete missing", h.Delete(uint32(7)), prog.ErrKeyNotExist)
	check("hash lookup missing", h.Lookup(uint32(7), &k), prog.ErrKeyNotExist)
}

func TestCPUMap(t *testing.T) {
	spec := prog.MapSpec{Name: "c", Type: prog.CPUMap, KeySize: 4, ValueSize: 8, MaxEntries: 4}
	for _, bad := range []prog.MapSpec{
		{Name: "c", Type: prog.CPUMap, KeySize: 4, ValueSize: 12, MaxEntries: 4},
		{Name: "c", Type: prog.CPUMap, KeySize: 4, ValueSize: 8, MaxEntries: 4, Flags: flagRdOnly},
		{Name: "c", Type: prog.CPUMap, KeySize: 4, ValueSize: 8, MaxEntries: 0},
		{Name: "c", Type: prog.CPUMap, KeySize: 4, ValueSize: 8, MaxEntries: cpumapMaxEntries + 1},
	} {
		if _, err := New(bad, nil); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	m, err := New(spec, &Options{CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	check("update", m.Update(uint32(1), devval(256, 0), prog.UpdateAny), nil)
	check("impossible cpu", m.Update(uint32(2), devval(256, 0), prog.UpdateAny), syscall.ENODEV)
	check("qsize", m.Update(uint32(0), devval(16385, 0), prog.UpdateAny), syscall.EOVERFLOW)
	check("noexist", m.Update(uint32(0), devval(1, 0), prog.UpdateNoExist), syscall.EEXIST)
	check("out of range", m.Update(uint32(4), devval(1, 0), prog.UpdateAny), syscall.E2BIG)
	check("program fd", m.Update(uint32(0), devval(1, 3), prog.UpdateAny), ErrNotSupported)
	v := make([]byte, 8)
	check("lookup", m.Lookup(uint32(1), v), nil)
	if binary.NativeEndian.Uint32(v) != 256 {
		t.Errorf("lookup % x", v)
	}
	if m.LookupRaw([]byte{1, 0, 0, 0}, 0) == nil || m.LookupRaw([]byte{0, 0, 0, 0}, 0) != nil {
		t.Errorf("LookupRaw")
	}
	check("qsize 0 deletes", m.Update(uint32(1), devval(0, 0), prog.UpdateAny), nil)
	check("lookup deleted", m.Lookup(uint32(1), v), prog.ErrKeyNotExist)
	check("delete empty", m.Delete(uint32(1)), nil)
	check("delete out of range", m.Delete(uint32(4)), syscall.EINVAL)
}
