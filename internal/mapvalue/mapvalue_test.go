package mapvalue

import (
	"errors"
	"testing"
)

type pair struct {
	A uint32
	B uint32
}

type padded struct {
	A uint8
	B uint32
}

func TestViewAliases(t *testing.T) {
	var v uint64
	b, err := View(&v, 8, "value")
	if err != nil {
		t.Fatal(err)
	}
	b[0], b[7] = 1, 2
	if v != 1|2<<56 {
		t.Fatalf("view does not alias the value: %#x", v)
	}
	var p pair
	b, err = View(&p, 8, "value")
	if err != nil {
		t.Fatal(err)
	}
	b[4] = 9
	if p.B != 9 {
		t.Fatalf("struct view does not alias: %+v", p)
	}
}

func TestViewErrors(t *testing.T) {
	var u32 uint32
	for _, tc := range []struct {
		v    any
		size int
		want error
	}{
		{&u32, 8, ErrSize},
		{make([]byte, 3), 4, ErrSize},
		{uint32(1), 4, ErrType},
		{(*uint64)(nil), 8, ErrType},
		{&padded{}, 8, ErrType},
		{&[]int{1}, 8, ErrType},
		{nil, 4, ErrType},
	} {
		if _, err := View(tc.v, tc.size, "key"); !errors.Is(err, tc.want) {
			t.Errorf("View(%T, %d) = %v, want %v", tc.v, tc.size, err, tc.want)
		}
	}
}

func TestEncode(t *testing.T) {
	var scratch [16]byte
	b, err := Encode(uint32(0x01020304), 4, "key", scratch[:])
	if err != nil || len(b) != 4 || b[0] != 4 || b[3] != 1 {
		t.Fatalf("Encode(uint32) = %x, %v", b, err)
	}
	b, err = Encode(pair{A: 1, B: 2}, 8, "key", scratch[:])
	if err != nil || b[0] != 1 || b[4] != 2 {
		t.Fatalf("Encode(struct) = %x, %v", b, err)
	}
	if _, err := Encode(uint64(1), 4, "key", scratch[:]); !errors.Is(err, ErrSize) {
		t.Fatalf("Encode(uint64) into 4 bytes = %v, want ErrSize", err)
	}
	if _, err := Encode(padded{}, 8, "key", scratch[:]); !errors.Is(err, ErrType) {
		t.Fatalf("Encode(padded) = %v, want ErrType", err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Encode(uint32(5), 4, "key", scratch[:]) }); n != 0 {
		t.Fatalf("Encode(uint32) allocates %v times", n)
	}
}

func TestSliceView(t *testing.T) {
	type pair struct{ A, B uint32 }
	s := []pair{{1, 2}, {3, 4}}
	b, n, err := SliceView(s, 8, "values")
	if err != nil || n != 2 || len(b) != 16 {
		t.Fatalf("SliceView = %d bytes, %d, %v", len(b), n, err)
	}
	b[0] = 9 // aliases s
	if s[0].A&0xff != 9 {
		t.Fatal("SliceView does not alias the slice")
	}
	var arr [3]uint64
	if _, n, err := SliceView(&arr, 8, "keys"); err != nil || n != 3 {
		t.Fatalf("SliceView(&[3]uint64) = %d, %v", n, err)
	}
	if _, _, err := SliceView(s, 4, "values"); !errors.Is(err, ErrSize) {
		t.Fatalf("wrong element size: %v", err)
	}
	if _, _, err := SliceView([]*int{nil}, 8, "values"); !errors.Is(err, ErrType) {
		t.Fatalf("pointer elements: %v", err)
	}
	if _, _, err := SliceView(uint32(1), 4, "values"); !errors.Is(err, ErrType) {
		t.Fatalf("non-slice: %v", err)
	}
}
