package prog

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/btf"
)

func TestParseKconfig(t *testing.T) {
	const cfg = `#
# Automatically generated file; DO NOT EDIT.
CONFIG_HZ=250
CONFIG_BPF_SYSCALL=y
CONFIG_MODULES=m
# CONFIG_KPROBES is not set
CONFIG_LOCALVERSION="-fc"
CONFIG_PHYSICAL_START=0x1000000
`
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(cfg))
	w.Close()
	for _, b := range [][]byte{[]byte(cfg), gz.Bytes()} {
		m, err := parseKconfigMaybeGzip(b)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"CONFIG_HZ": "250", "CONFIG_BPF_SYSCALL": "y", "CONFIG_MODULES": "m", "CONFIG_KPROBES": "n",
			"CONFIG_LOCALVERSION": `"-fc"`, "CONFIG_PHYSICAL_START": "0x1000000"}
		if len(m) != len(want) {
			t.Fatalf("parsed %v", m)
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s = %q, want %q", k, m[k], v)
			}
		}
	}
}

func TestKconfigValue(t *testing.T) {
	boolT := &btf.Int{Name: "_Bool", Size: 1, Encoding: btf.Bool, Bits: 8}
	intT := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed, Bits: 32}
	u64T := &btf.Int{Name: "unsigned long long", Size: 8, Bits: 64}
	charT := &btf.Int{Name: "char", Size: 1, Encoding: btf.Char, Bits: 8}
	tristate := &btf.Enum{Name: "libbpf_tristate", Size: 4, Values: []btf.EnumValue{{Name: "TRI_NO", Value: 0}, {Name: "TRI_YES", Value: 1}, {Name: "TRI_MODULE", Value: 2}}}
	strT := &btf.Array{Type: charT, Index: intT, Nelems: 8}
	for _, tc := range []struct {
		typ   btf.Type
		value string
		size  int
		want  []byte
		err   bool
	}{
		{boolT, "y", 1, []byte{1}, false},
		{boolT, "n", 1, []byte{0}, false},
		{boolT, "m", 1, nil, true},
		{tristate, "m", 4, []byte{2, 0, 0, 0}, false},
		{tristate, "y", 4, []byte{1, 0, 0, 0}, false},
		{charT, "m", 1, []byte{'m'}, false},
		{intT, "250", 4, binary.LittleEndian.AppendUint32(nil, 250), false},
		{intT, "-5", 4, binary.LittleEndian.AppendUint32(nil, uint32(0xfffffffb)), false},
		{intT, "0x80000000", 4, nil, true},
		{intT, "y", 4, nil, true},
		{u64T, "0x1000000", 8, binary.LittleEndian.AppendUint64(nil, 0x1000000), false},
		{strT, `"-fc"`, 8, []byte("-fc\x00\x00\x00\x00\x00"), false},
		{strT, `"much too long"`, 8, []byte("much to\x00"), false},
		{strT, "250", 8, nil, true},
	} {
		out := bytes.Repeat([]byte{0xaa}, tc.size)
		err := kconfigValue("CONFIG_X", tc.value, tc.typ, out)
		if tc.err {
			if err == nil || !strings.Contains(err.Error(), "CONFIG_X") {
				t.Errorf("%v %q: error %v, want one naming the extern", tc.typ, tc.value, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(out, tc.want) {
			t.Errorf("%v %q: %x, %v; want %x", tc.typ, tc.value, out, err, tc.want)
		}
	}
}

func TestParseKernelRelease(t *testing.T) {
	for _, c := range []struct {
		rel  string
		want uint32
		ok   bool
	}{
		{"6.18.0-1-amd64", 0x061200, true},
		{"6.1.158", 0x06019e, true},
		{"4.14.314", 0x040eff, true}, // the patch level is capped at 255
		{"5.15.0", 0x050f00, true},
		{"6.1-rc1", 0x060100, true},
		{"4.19", 0x041300, true},
		{"6", 0, false},
		{"", 0, false},
		{"x.1.2", 0, false},
		{"300.1.2", 0, false},
	} {
		got, err := ParseKernelRelease(c.rel)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseKernelRelease(%q) = %#x, %v; want %#x, ok %v", c.rel, got, err, c.want, c.ok)
		}
	}
	if v, err := HostKernelVersion(); err == nil && v < 0x030000 {
		t.Errorf("HostKernelVersion = %#x", v)
	}
}
