//go:build linux

package link

import (
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/rtnl"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

// TC verdicts.
const (
	tcNext = -1 // TCX_NEXT / TC_ACT_UNSPEC: hand the packet on
	tcPass = 0  // TCX_PASS / TC_ACT_OK
	tcDrop = 2  // TCX_DROP / TC_ACT_SHOT
)

func progID(t *testing.T, p *prog.Program) uint32 {
	t.Helper()
	info, err := p.Info()
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

func attachIn(t *testing.T, ns int, f func() (Link, error)) Link {
	t.Helper()
	var l Link
	if err := inNetns(ns, func() (err error) {
		l, err = f()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestTCX(t *testing.T) {
	v := newVeth(t)
	a := tcProgram(t, "tcx_a", 0, tcNext)
	if !kernelAtLeast(t, 6, 6) {
		// The 6.1 VM: tcx is missing and AttachTC falls back to cls_bpf.
		if TCXSupported() {
			t.Fatal("TCXSupported on a kernel older than 6.6")
		}
		err := inNetns(v.nsB, func() error {
			_, err := AttachTCX(a, v.ifB, nil)
			return err
		})
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "6.6") {
			t.Fatalf("AttachTCX before Linux 6.6: %v, want ErrNotSupported", err)
		}
		l := attachIn(t, v.nsB, func() (Link, error) { return AttachTC(a, v.ifB, nil) })
		info, err := l.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Type != TypeTCFilter {
			t.Fatalf("AttachTC on a kernel without tcx made a %s link", info.Type)
		}
		v.exchange(t, 2, "fallback")
		if n := counter(t, a, 0); n < 2 {
			t.Fatalf("fallback filter counted %d packets, want at least 2", n)
		}
		return
	}
	if !TCXSupported() {
		t.Fatal("TCXSupported is false on Linux 6.6+")
	}
	b := tcProgram(t, "tcx_b", 1, tcNext)
	c := tcProgram(t, "tcx_c", 2, tcNext)
	drop := tcProgram(t, "tcx_drop", 3, tcDrop)

	la := attachIn(t, v.nsB, func() (Link, error) { return AttachTCX(a, v.ifB, nil) })
	lb := attachIn(t, v.nsB, func() (Link, error) { return AttachTCX(b, v.ifB, &TCXOptions{Anchor: First()}) })
	lc := attachIn(t, v.nsB, func() (Link, error) { return AttachTCX(c, v.ifB, &TCXOptions{Anchor: AfterLink(lb)}) })
	order := func() []uint32 {
		t.Helper()
		var got []Attached
		if err := inNetns(v.nsB, func() (err error) {
			got, _, err = QueryTCX(v.ifB, Ingress)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ids := make([]uint32, len(got))
		for k, g := range got {
			ids[k] = g.ProgramID
			if g.LinkID == 0 {
				t.Errorf("program %d has no link ID", g.ProgramID)
			}
		}
		return ids
	}
	if got, want := order(), []uint32{progID(t, b), progID(t, c), progID(t, a)}; !slices.Equal(got, want) {
		t.Fatalf("tcx order %v, want b, c, a = %v", got, want)
	}
	info, err := la.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != TypeTCX || info.Ifindex != v.ifB || info.ProgramID != progID(t, a) {
		t.Fatalf("Info = %+v", info)
	}

	if got := v.exchange(t, 3, "tcx"); len(got) != 3 {
		t.Fatalf("%d of 3 datagrams arrived through three TCX_NEXT programs", len(got))
	}
	for slot, p := range []*prog.Program{a, b, c} {
		if n := counter(t, p, uint32(slot)); n < 3 {
			t.Fatalf("program %d counted %d packets, want at least 3", slot, n)
		}
	}

	// Update a to a dropping program: the chain now ends in a drop.
	if err := la.Update(drop); err != nil {
		t.Fatal(err)
	}
	if got := v.exchange(t, 2, "dropped"); len(got) != 0 {
		t.Fatalf("datagrams passed a dropping tcx program: %q", got)
	}
	if err := la.Update(a); err != nil {
		t.Fatal(err)
	}

	// Egress on the other end.
	e := tcProgram(t, "tcx_egress", 0, tcNext)
	le := attachIn(t, v.nsA, func() (Link, error) { return AttachTCX(e, v.ifA, &TCXOptions{Direction: Egress}) })
	if info, err := le.Info(); err != nil || info.AttachType != prog.AttachTCXEgress {
		t.Fatalf("egress Info = %+v, %v", info, err)
	}
	v.exchange(t, 2, "egress")
	if n := counter(t, e, 0); n < 2 {
		t.Fatalf("egress program counted %d packets, want at least 2", n)
	}

	// Detaching removes only that program.
	if err := lb.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := order(), []uint32{progID(t, c), progID(t, a)}; !slices.Equal(got, want) {
		t.Fatalf("after closing b: %v, want c, a = %v", got, want)
	}

	// A pinned tcx link survives Close.
	pin := pinDir(t) + "/tcx"
	if err := lc.Pin(pin); err != nil {
		t.Fatal(err)
	}
	lc.Close()
	if got := order(); len(got) != 2 {
		t.Fatalf("after closing the pinned link: %v, want two programs", got)
	}
	lp, err := LoadPinned(pin)
	if err != nil {
		t.Fatal(err)
	}
	lp.Unpin()
	lp.Close()
	la.Close()
	le.Close()
	for try := 0; len(order()) != 0; try++ {
		if try == 100 {
			t.Fatalf("programs left after closing every link: %v", order())
		}
	}

	// A revision check: the revision read before a change is stale after.
	var rev uint64
	if err := inNetns(v.nsB, func() (err error) {
		_, rev, err = QueryTCX(v.ifB, Ingress)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	lr := attachIn(t, v.nsB, func() (Link, error) { return AttachTCX(a, v.ifB, &TCXOptions{ExpectedRevision: rev}) })
	err = inNetns(v.nsB, func() error {
		_, err := AttachTCX(b, v.ifB, &TCXOptions{ExpectedRevision: rev})
		return err
	})
	if !errors.Is(err, unix.ESTALE) {
		t.Fatalf("attach at a stale revision: %v, want ESTALE", err)
	}
	lr.Close()

	// Bad input.
	err = inNetns(v.nsB, func() error {
		_, err := AttachTCX(a, v.ifB, &TCXOptions{Anchor: BeforeProgram(b)})
		return err
	})
	if !errors.Is(err, unix.ENOENT) {
		t.Fatalf("anchor not attached: %v, want ENOENT", err)
	}
	err = inNetns(v.nsB, func() error {
		_, err := AttachTCX(a, 4242, nil)
		return err
	})
	if !errors.Is(err, unix.ENODEV) {
		t.Fatalf("unknown interface: %v, want ENODEV", err)
	}
	x := xdpProgram(t, "xdp", v.port, xdpPass)
	if _, err := AttachTCX(x, v.ifB, nil); !errors.Is(err, ErrProgramType) || !strings.Contains(err.Error(), "sched_cls") {
		t.Fatalf("XDP program on tcx: %v, want ErrProgramType naming sched_cls", err)
	}
}

// qdiscs lists the kinds of the qdiscs on ifindex in namespace ns.
func qdiscs(t *testing.T, ns, ifindex int) []string {
	t.Helper()
	var kinds []string
	err := inNetns(ns, func() error {
		c, err := rtnl.Dial()
		if err != nil {
			return err
		}
		defer c.Close()
		msgs, err := c.Request(unix.RTM_GETQDISC, unix.NLM_F_DUMP, tcmsg(0, 0, 0, 0))
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if len(m.Data) >= tcmsgLen && int(int32(binary.NativeEndian.Uint32(m.Data[4:]))) == ifindex {
				kinds = append(kinds, unix.ByteSliceToString(rtnl.FindAttr(rtnl.ParseAttrs(m.Data[tcmsgLen:]), unix.TCA_KIND)))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return kinds
}

func filters(t *testing.T, ns, ifindex int, dir Direction) []TCFilter {
	t.Helper()
	var fs []TCFilter
	if err := inNetns(ns, func() (err error) {
		fs, err = QueryTCFilters(ifindex, dir)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestTCFilter(t *testing.T) {
	v := newVeth(t)
	a := tcProgram(t, "cls_a", 0, tcNext)
	b := tcProgram(t, "cls_b", 1, tcPass)
	drop := tcProgram(t, "cls_drop", 2, tcDrop)
	if slices.Contains(qdiscs(t, v.nsB, v.ifB), "clsact") {
		t.Fatal("a fresh veth already has a clsact qdisc")
	}
	lb := attachIn(t, v.nsB, func() (Link, error) { return AttachTCFilter(b, v.ifB, &TCFilterOptions{Priority: 2}) })
	la := attachIn(t, v.nsB, func() (Link, error) { return AttachTCFilter(a, v.ifB, &TCFilterOptions{Priority: 1}) })
	if !slices.Contains(qdiscs(t, v.nsB, v.ifB), "clsact") {
		t.Fatal("no clsact qdisc after AttachTCFilter")
	}
	fs := filters(t, v.nsB, v.ifB, Ingress)
	if len(fs) != 2 || fs[0].Priority != 1 || fs[0].ProgramID != progID(t, a) || fs[1].ProgramID != progID(t, b) ||
		fs[0].Kind != "bpf" || fs[0].Name != "cls_a" {
		t.Fatalf("filters %+v, want cls_a at priority 1 then cls_b at 2", fs)
	}
	info, err := la.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != TypeTCFilter || info.ProgramID != progID(t, a) || info.Priority != 1 || info.Handle != 1 || info.Ifindex != v.ifB {
		t.Fatalf("Info = %+v", info)
	}

	if got := v.exchange(t, 3, "cls"); len(got) != 3 {
		t.Fatalf("%d of 3 datagrams arrived", len(got))
	}
	if na, nb := counter(t, a, 0), counter(t, b, 1); na < 3 || nb < 3 {
		t.Fatalf("filters counted %d and %d packets, want at least 3 each (a hands on to b)", na, nb)
	}

	// Update swaps the program in place.
	if err := la.Update(drop); err != nil {
		t.Fatal(err)
	}
	if got := v.exchange(t, 2, "drop"); len(got) != 0 {
		t.Fatalf("datagrams passed the dropping filter: %q", got)
	}
	if n := counter(t, drop, 2); n < 2 {
		t.Fatalf("the new program counted %d, want at least 2", n)
	}
	if err := la.Update(a); err != nil {
		t.Fatal(err)
	}
	if err := la.Update(xdpProgram(t, "xdp", v.port, xdpPass)); !errors.Is(err, ErrProgramType) {
		t.Fatalf("Update with an XDP program: %v, want ErrProgramType", err)
	}

	// Same priority and handle again; pinning.
	err = inNetns(v.nsB, func() error {
		_, err := AttachTCFilter(b, v.ifB, &TCFilterOptions{Priority: 2})
		return err
	})
	if !errors.Is(err, os.ErrExist) {
		t.Fatalf("duplicate filter: %v, want os.ErrExist", err)
	}
	if err := la.Pin(pinDir(t) + "/f"); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("Pin: %v, want ErrNotSupported", err)
	}

	// Egress on the other end.
	e := tcProgram(t, "cls_egress", 0, tcPass)
	le := attachIn(t, v.nsA, func() (Link, error) { return AttachTCFilter(e, v.ifA, &TCFilterOptions{Direction: Egress}) })
	v.exchange(t, 2, "egress")
	if n := counter(t, e, 0); n < 2 {
		t.Fatalf("egress filter counted %d, want at least 2", n)
	}
	if err := le.Close(); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(qdiscs(t, v.nsA, v.ifA), "clsact") {
		t.Fatal("the clsact qdisc purebpf added stayed after its last filter went")
	}

	// Detach one: the other stays, and so does the qdisc.
	if err := la.Close(); err != nil {
		t.Fatal(err)
	}
	if err := la.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Close: %v, want os.ErrClosed", err)
	}
	if fs := filters(t, v.nsB, v.ifB, Ingress); len(fs) != 1 || fs[0].Priority != 2 {
		t.Fatalf("after closing cls_a: %+v, want cls_b only", fs)
	}
	if err := lb.Close(); err != nil {
		t.Fatal(err)
	}
	if fs := filters(t, v.nsB, v.ifB, Ingress); len(fs) != 0 {
		t.Fatalf("filters left: %+v", fs)
	}
	if slices.Contains(qdiscs(t, v.nsB, v.ifB), "clsact") {
		t.Fatal("the clsact qdisc purebpf added stayed after its last filter went")
	}

	err = inNetns(v.nsB, func() error {
		_, err := AttachTCFilter(a, 4242, nil)
		return err
	})
	if !errors.Is(err, unix.ENODEV) {
		t.Fatalf("unknown interface: %v, want ENODEV", err)
	}
}

// A clsact qdisc that was there before stays after purebpf's filter goes.
func TestTCFilterKeepsForeignQdisc(t *testing.T) {
	v := newVeth(t)
	err := inNetns(v.nsB, func() error {
		c, err := rtnl.Dial()
		if err != nil {
			return err
		}
		defer c.Close()
		var a rtnl.Attrs
		a.Str(unix.TCA_KIND, "clsact")
		_, err = c.Request(unix.RTM_NEWQDISC, unix.NLM_F_CREATE|unix.NLM_F_EXCL, append(tcmsg(v.ifB, tcHClsactQdisc, tcHClsact, 0), a.B...))
		return err
	})
	if err != nil {
		t.Fatalf("add clsact qdisc: %v", err)
	}
	p := tcProgram(t, "cls", 0, tcPass)
	l := attachIn(t, v.nsB, func() (Link, error) { return AttachTCFilter(p, v.ifB, nil) })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(qdiscs(t, v.nsB, v.ifB), "clsact") {
		t.Fatal("closing the filter removed a clsact qdisc purebpf did not add")
	}
}

// QueryTCFilters of an interface that does not exist is an error, not the
// empty list the kernel's filter dump answers.
func TestQueryTCFiltersNoInterface(t *testing.T) {
	testenv.RequireRoot(t)
	if fs, err := QueryTCFilters(1<<30, Ingress); !errors.Is(err, unix.ENODEV) {
		t.Errorf("QueryTCFilters(missing interface) = %v, %v; want ENODEV", fs, err)
	}
	if fs, err := QueryTCFilters(0, Egress); !errors.Is(err, unix.EINVAL) {
		t.Errorf("QueryTCFilters(0) = %v, %v; want EINVAL", fs, err)
	}
	if _, err := QueryTCFilters(1, Ingress); err != nil {
		t.Errorf("QueryTCFilters(lo): %v", err)
	}
}

// An anchor program of another type than sched_cls is named before the
// syscall, which answers a bare EINVAL.
func TestTCXAnchorWrongType(t *testing.T) {
	testenv.RequireRoot(t)
	// The anchor's type is checked before any system call, so this holds
	// on kernels without tcx (6.1) too.
	cls := tcProgram(t, "anchor_cls", 0, 0)
	xdp := xdpProgram(t, "anchor_xdp", 9, xdpPass)
	l, err := AttachTCX(cls, 1, &TCXOptions{Anchor: AfterProgram(xdp)})
	if err == nil {
		l.Close()
	}
	if !errors.Is(err, ErrProgramType) || !strings.Contains(err.Error(), "tcx anchor needs a sched_cls program") {
		t.Errorf("xdp program as a tcx anchor: %v, want ErrProgramType naming the anchor", err)
	}
}
