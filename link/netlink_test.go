//go:build linux

package link

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

func TestAttrsRoundTrip(t *testing.T) {
	var a attrs
	a.str(unix.TCA_KIND, "bpf")
	a.nested(unix.TCA_OPTIONS, func(o *attrs) {
		o.u32(tcaBPFFD, 7)
		o.str(tcaBPFName, "abcde") // 6 bytes with the NUL: padded to 8
	})
	if len(a.b)%4 != 0 {
		t.Fatalf("attributes are %d bytes, not 4-aligned", len(a.b))
	}
	as := parseAttrs(a.b)
	if len(as) != 2 || string(findAttr(as, unix.TCA_KIND)) != "bpf\x00" {
		t.Fatalf("parsed %+v", as)
	}
	if typ := binary.NativeEndian.Uint16(a.b[8+2:]); typ&unix.NLA_F_NESTED == 0 {
		t.Fatalf("nested attribute type %#x lacks NLA_F_NESTED", typ)
	}
	in := parseAttrs(findAttr(as, unix.TCA_OPTIONS))
	if fd := findAttr(in, tcaBPFFD); len(fd) != 4 || binary.NativeEndian.Uint32(fd) != 7 {
		t.Fatalf("TCA_BPF_FD = %v", fd)
	}
	if name := unix.ByteSliceToString(findAttr(in, tcaBPFName)); name != "abcde" {
		t.Fatalf("TCA_BPF_NAME = %q", name)
	}
	if findAttr(in, tcaBPFFlags) != nil {
		t.Fatal("found an attribute that is not there")
	}
}

// Attributes come from the kernel, but a malformed tail must neither
// panic nor be read past.
func TestParseAttrsMalformed(t *testing.T) {
	var a attrs
	a.u32(1, 1)
	good := a.b
	for _, b := range [][]byte{
		nil,
		{1, 0},
		{3, 0, 1, 0},                             // length below the header
		{200, 0, 1, 0, 0, 0, 0, 0},               // length past the end
		append(bytes.Clone(good), 9, 0, 2, 0),    // second attribute truncated
		append(bytes.Clone(good), 0xff, 0xff),    // stray bytes
		append(bytes.Clone(good), 5, 0, 2, 0, 1), // unpadded last attribute
	} {
		as := parseAttrs(b)
		for _, x := range as {
			if len(x.data) > len(b) {
				t.Fatalf("%v: attribute longer than the input", b)
			}
		}
	}
	if as := parseAttrs(append(bytes.Clone(good), 5, 0, 2, 0, 1)); len(as) != 2 || len(as[1].data) != 1 {
		t.Fatalf("unpadded last attribute: %+v", as)
	}
}

func TestParseFilters(t *testing.T) {
	var a attrs
	a.str(unix.TCA_KIND, "bpf")
	a.nested(unix.TCA_OPTIONS, func(o *attrs) {
		o.u32(tcaBPFID, 42)
		o.str(tcaBPFName, "cls")
	})
	msgs := []nlMsg{
		{typ: unix.RTM_NEWTFILTER, data: append(tcmsg(3, 0, 0xfffffff2, 1<<16|0x0300), a.b...)}, // chain header
		{typ: unix.RTM_NEWTFILTER, data: append(tcmsg(3, 1, 0xfffffff2, 1<<16|0x0300), a.b...)},
		{typ: unix.RTM_NEWQDISC, data: tcmsg(3, 1, 0, 0)},
		{typ: unix.RTM_NEWTFILTER, data: []byte{1, 2}}, // short
	}
	fs := parseFilters(msgs)
	if len(fs) != 1 || fs[0] != (tcFilterEntry{prio: 1, handle: 1, kind: "bpf", progID: 42, name: "cls"}) {
		t.Fatalf("parseFilters = %+v", fs)
	}
}

func TestNames(t *testing.T) {
	for got, want := range map[string]string{
		TypeXDP.String():            "xdp",
		TypeTCX.String():            "tcx",
		TypeTCFilter.String():       "tc_filter",
		Type(99).String():           "link_type(99)",
		XDPDriver.String():          "driver mode",
		XDPMode(9).String():         "XDPMode(9)",
		Egress.String():             "egress",
		Direction(5).String():       "Direction(5)",
		CgroupInet4Connect.String(): "cgroup/connect4",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// FuzzParseNetlink feeds arbitrary bytes to the parsers of kernel
// answers: they must not panic and must return only slices of the input.
func FuzzParseNetlink(f *testing.F) {
	var a attrs
	a.str(unix.TCA_KIND, "bpf")
	a.nested(unix.TCA_OPTIONS, func(o *attrs) { o.u32(tcaBPFID, 1) })
	f.Add(append(tcmsg(1, 1, 0xfffffff2, 1<<16), a.b...))
	f.Add([]byte{4, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, x := range parseAttrs(b) {
			if len(x.data) > len(b) {
				t.Fatal("attribute longer than the input")
			}
			parseAttrs(x.data)
		}
		parseFilters([]nlMsg{{typ: unix.RTM_NEWTFILTER, data: b}})
	})
}
