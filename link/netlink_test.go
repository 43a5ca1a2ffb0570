//go:build linux

package link

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/rtnl"
)

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
