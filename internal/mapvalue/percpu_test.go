package mapvalue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestPerCPUEncodePadsTo8(t *testing.T) {
	in := []uint32{0x11111111, 0x22222222, 0x33333333}
	b, err := PerCPUEncode(in, 4, 3, "value", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 24 {
		t.Fatalf("len = %d, want 24", len(b))
	}
	for c, v := range in {
		if got := binary.NativeEndian.Uint32(b[c*8:]); got != v {
			t.Errorf("cpu %d = %#x, want %#x", c, got, v)
		}
		if pad := binary.NativeEndian.Uint32(b[c*8+4:]); pad != 0 {
			t.Errorf("cpu %d padding = %#x, want 0", c, pad)
		}
	}
	out := make([]uint32, 3)
	buf, err := PerCPUView(out, 4, 3, "value")
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, b)
	if err := PerCPUDecode(buf, out, 4, 3, "value"); err != nil {
		t.Fatal(err)
	}
	for c := range in {
		if out[c] != in[c] {
			t.Fatalf("round trip = %#x, want %#x", out, in)
		}
	}
}

func TestPerCPUAliases(t *testing.T) {
	in := []uint64{1, 2}
	b, err := PerCPUEncode(in, 8, 2, "value", nil)
	if err != nil {
		t.Fatal(err)
	}
	b[0] = 7
	if in[0] != 7 {
		t.Fatal("8-byte elements are not aliased")
	}
	var arr [2]uint64
	v, err := PerCPUView(&arr, 8, 2, "value")
	if err != nil {
		t.Fatal(err)
	}
	binary.NativeEndian.PutUint64(v[8:], 99)
	if err := PerCPUDecode(v, &arr, 8, 2, "value"); err != nil || arr[1] != 99 {
		t.Fatalf("array view: %v %v", arr, err)
	}
	raw := make([]byte, 16)
	v, err = PerCPUView(raw, 4, 2, "value")
	if err != nil || &v[0] != &raw[0] {
		t.Fatalf("[]byte view does not alias: %v", err)
	}
	src := bytes.Repeat([]byte{5}, 16)
	if err := PerCPUDecode(src, raw, 4, 2, "value"); err != nil || !bytes.Equal(raw, src) {
		t.Fatalf("decode into []byte: %x %v", raw, err)
	}
}

func TestPerCPUErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want error
	}{
		{"short slice", make([]uint64, 1), ErrSize},
		{"wrong element", make([]uint32, 2), ErrSize},
		{"wrong bytes", make([]byte, 8), ErrSize},
		{"scalar", uint64(1), ErrType},
		{"nil", nil, ErrType},
		{"pointers", make([]*int, 2), ErrType},
	} {
		if _, err := PerCPUEncode(tc.v, 8, 2, "value", nil); !errors.Is(err, tc.want) {
			t.Errorf("Encode %s: %v, want %v", tc.name, err, tc.want)
		}
		if _, err := PerCPUView(tc.v, 8, 2, "value"); !errors.Is(err, tc.want) {
			t.Errorf("View %s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
