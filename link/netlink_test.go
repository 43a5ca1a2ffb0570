//go:build linux

package link

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/rtnl"
)

func TestAttrsRoundTrip(t *testing.T) {
	var a rtnl.Attrs
	a.Str(unix.TCA_KIND, "bpf")
	a.Nested(unix.TCA_OPTIONS, func(o *rtnl.Attrs) {
		o.U32(tcaBPFFD, 7)
		o.Str(tcaBPFName, "abcde") // 6 bytes with the NUL: padded to 8
	})
	if len(a.B)%4 != 0 {
		t.Fatalf("attributes are %d bytes, not 4-aligned", len(a.B))
	}
	as := rtnl.ParseAttrs(a.B)
	if len(as) != 2 || string(rtnl.FindAttr(as, unix.TCA_KIND)) != "bpf\x00" {
		t.Fatalf("parsed %+v", as)
	}
	if typ := binary.NativeEndian.Uint16(a.B[8+2:]); typ&unix.NLA_F_NESTED == 0 {
		t.Fatalf("nested attribute type %#x lacks NLA_F_NESTED", typ)
	}
	in := rtnl.ParseAttrs(rtnl.FindAttr(as, unix.TCA_OPTIONS))
	if fd := rtnl.FindAttr(in, tcaBPFFD); len(fd) != 4 || binary.NativeEndian.Uint32(fd) != 7 {
		t.Fatalf("TCA_BPF_FD = %v", fd)
	}
	if name := unix.ByteSliceToString(rtnl.FindAttr(in, tcaBPFName)); name != "abcde" {
		t.Fatalf("TCA_BPF_NAME = %q", name)
	}
	if rtnl.FindAttr(in, tcaBPFFlags) != nil {
		t.Fatal("found an attribute that is not there")
	}
}

// Attributes come from the kernel, but a malformed tail must neither
// panic nor be read past.
func TestParseAttrsMalformed(t *testing.T) {
	var a rtnl.Attrs
	a.U32(1, 1)
	good := a.B
	for _, b := range [][]byte{
		nil,
		{1, 0},
		{3, 0, 1, 0},                             // length below the header
		{200, 0, 1, 0, 0, 0, 0, 0},               // length past the end
		append(bytes.Clone(good), 9, 0, 2, 0),    // second attribute truncated
		append(bytes.Clone(good), 0xff, 0xff),    // stray bytes
		append(bytes.Clone(good), 5, 0, 2, 0, 1), // unpadded last attribute
	} {
		as := rtnl.ParseAttrs(b)
		for _, x := range as {
			if len(x.Data) > len(b) {
				t.Fatalf("%v: attribute longer than the input", b)
			}
		}
	}
	if as := rtnl.ParseAttrs(append(bytes.Clone(good), 5, 0, 2, 0, 1)); len(as) != 2 || len(as[1].Data) != 1 {
		t.Fatalf("unpadded last attribute: %+v", as)
	}
}

func TestParseFilters(t *testing.T) {
	var a rtnl.Attrs
	a.Str(unix.TCA_KIND, "bpf")
	a.Nested(unix.TCA_OPTIONS, func(o *rtnl.Attrs) {
		o.U32(tcaBPFID, 42)
		o.Str(tcaBPFName, "cls")
	})
	msgs := []rtnl.Msg{
		{Type: unix.RTM_NEWTFILTER, Data: append(tcmsg(3, 0, 0xfffffff2, 1<<16|0x0300), a.B...)}, // chain header
		{Type: unix.RTM_NEWTFILTER, Data: append(tcmsg(3, 1, 0xfffffff2, 1<<16|0x0300), a.B...)},
		{Type: unix.RTM_NEWQDISC, Data: tcmsg(3, 1, 0, 0)},
		{Type: unix.RTM_NEWTFILTER, Data: []byte{1, 2}}, // short
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
	var a rtnl.Attrs
	a.Str(unix.TCA_KIND, "bpf")
	a.Nested(unix.TCA_OPTIONS, func(o *rtnl.Attrs) { o.U32(tcaBPFID, 1) })
	f.Add(append(tcmsg(1, 1, 0xfffffff2, 1<<16), a.B...))
	f.Add([]byte{4, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, x := range rtnl.ParseAttrs(b) {
			if len(x.Data) > len(b) {
				t.Fatal("attribute longer than the input")
			}
			rtnl.ParseAttrs(x.Data)
		}
		parseFilters([]rtnl.Msg{{Type: unix.RTM_NEWTFILTER, Data: b}})
	})
}
