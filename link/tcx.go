//go:build linux

package link

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// Direction is the side of an interface a tc program sees packets on.
type Direction int

const (
	// Ingress is packets the interface receives.
	Ingress Direction = iota
	// Egress is packets the interface sends.
	Egress
)

// String returns "ingress" or "egress".
func (d Direction) String() string {
	switch d {
	case Ingress:
		return "ingress"
	case Egress:
		return "egress"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

func (d Direction) tcxAttachType() (sys.AttachType, error) {
	switch d {
	case Ingress:
		return sys.AttachTCXIngress, nil
	case Egress:
		return sys.AttachTCXEgress, nil
	}
	return 0, fmt.Errorf("unknown direction %d: %w", int(d), unix.EINVAL)
}

// bpfFLink is BPF_F_LINK: the relative object of a tcx attach is a link.
const bpfFLink = 1 << 13

// Anchor places a tcx program among those already attached. The zero
// Anchor appends it (it runs last).
type Anchor struct {
	flags    uint32
	relative func() (uint32, error) // relative_fd or relative_id
	desc     string
}

// First runs the program before every program attached so far.
func First() Anchor { return Anchor{flags: sys.AttachFlagBefore, desc: "first"} }

// Last runs the program after every program attached so far (the
// default).
func Last() Anchor { return Anchor{flags: sys.AttachFlagAfter, desc: "last"} }

// BeforeProgram runs the program right before p, which must be attached
// to the same hook.
func BeforeProgram(p *prog.Program) Anchor { return programAnchor(sys.AttachFlagBefore, "before", p) }

// AfterProgram runs the program right after p.
func AfterProgram(p *prog.Program) Anchor { return programAnchor(sys.AttachFlagAfter, "after", p) }

func programAnchor(flag uint32, word string, p *prog.Program) Anchor {
	return Anchor{flags: flag, desc: word + " a program", relative: func() (uint32, error) {
		// BPF_LINK_CREATE answers a bare EINVAL for an anchor of
		// another type (bpf_mprog_tuple_relative).
		if err := checkProgram(p, "a tcx anchor", prog.SchedCLS); err != nil {
			return 0, err
		}
		return uint32(p.FD()), nil
	}}
}

// BeforeLink runs the program right before the one attached by l, a tcx
// link on the same hook.
func BeforeLink(l Link) Anchor { return linkAnchor(sys.AttachFlagBefore, "before", l) }

// AfterLink runs the program right after the one attached by l.
func AfterLink(l Link) Anchor { return linkAnchor(sys.AttachFlagAfter, "after", l) }

func linkAnchor(flag uint32, word string, l Link) Anchor {
	return Anchor{flags: flag | bpfFLink | sys.AttachFlagID, desc: word + " a link", relative: func() (uint32, error) {
		if l == nil {
			return 0, fmt.Errorf("nil link: %w", unix.EINVAL)
		}
		info, err := l.Info()
		if err != nil {
			return 0, err
		}
		if info.Type != TypeTCX {
			return 0, fmt.Errorf("anchor link is %s, not tcx: %w", info.Type, unix.EINVAL)
		}
		return info.ID, nil
	}}
}

// TCXOptions tunes AttachTCX. A nil *TCXOptions means ingress, appended.
type TCXOptions struct {
	Direction Direction
	// Anchor places the program relative to the ones already attached.
	Anchor Anchor
	// ExpectedRevision, when not 0, makes the attach fail with ESTALE
	// unless the hook's attach list still has this revision (from
	// QueryTCX): no other program came or went in between.
	ExpectedRevision uint64
}

// AttachTCX attaches a sched_cls program to an interface's tcx hook
// (BPF_LINK_CREATE with BPF_TCX_INGRESS or BPF_TCX_EGRESS, Linux 6.6+),
// in the calling thread's network namespace. Programs on one hook run in
// order; each returns TCX_NEXT (-1) to hand the packet on, or a verdict
// (TCX_PASS 0, TCX_DROP 2, TCX_REDIRECT 7) that ends the chain. Close
// detaches only this program. On older kernels the error wraps
// ErrNotSupported; AttachTC falls back to a cls_bpf filter there.
func AttachTCX(p *prog.Program, ifindex int, opts *TCXOptions) (Link, error) {
	if opts == nil {
		opts = &TCXOptions{}
	}
	what := fmt.Sprintf("tcx %s on ifindex %d", opts.Direction, ifindex)
	fail := func(err error) error { return fmt.Errorf("attach %s: %w", what, err) }
	if err := checkInterfaceAttach(p, "tcx", prog.SchedCLS, ifindex); err != nil {
		return nil, fail(err)
	}
	at, err := opts.Direction.tcxAttachType()
	if err != nil {
		return nil, fail(err)
	}
	attr := sys.LinkCreateTCXAttr{
		ProgFD:     uint32(p.FD()),
		TargetFD:   uint32(ifindex),
		AttachType: at,
		Flags:      opts.Anchor.flags,

		ExpectedRevision: opts.ExpectedRevision,
	}
	if opts.Anchor.relative != nil {
		rel, err := opts.Anchor.relative()
		if err != nil {
			return nil, fail(fmt.Errorf("anchor %s: %w", opts.Anchor.desc, err))
		}
		attr.RelativeFDOrID = rel
	}
	l, err := linkCreate(&attr, p, what)
	if err != nil {
		if e := noInterface(ifindex); e != nil {
			return nil, fail(e)
		}
		switch {
		case errors.Is(err, unix.EINVAL) && !TCXSupported():
			err = fmt.Errorf("tcx needs Linux 6.6+: %w: %w", ErrNotSupported, err)
		case errors.Is(err, unix.ENODEV):
			err = fmt.Errorf("no such interface in this network namespace: %w", err)
		case errors.Is(err, unix.ENOENT) && opts.Anchor.relative != nil:
			err = fmt.Errorf("the anchor (%s) is not attached to this hook: %w", opts.Anchor.desc, err)
		case errors.Is(err, unix.ESTALE):
			err = fmt.Errorf("the hook is no longer at revision %d: %w", opts.ExpectedRevision, err)
		}
		return nil, fail(err)
	}
	return l, nil
}

var tcxProbe = sync.OnceValue(func() bool {
	// BPF_PROG_QUERY knows the tcx attach types since Linux 6.6 and
	// answers EINVAL before; querying lo (ifindex 1, in every network
	// namespace) changes nothing. Any other error (EPERM without
	// CAP_NET_ADMIN) still means the kernel knows the attach type.
	attr := sys.ProgQueryAttr{TargetFD: 1, AttachType: sys.AttachTCXIngress}
	return !errors.Is(sys.ProgQuery(&attr), unix.EINVAL)
})

// TCXSupported reports whether the kernel has tcx (Linux 6.6+).
func TCXSupported() bool { return tcxProbe() }

// Attached is one program on a multi-program hook, in run order.
type Attached struct {
	ProgramID uint32
	LinkID    uint32 // 0 when attached without a link
}

// QueryTCX lists the programs on an interface's tcx hook in the order
// they run (BPF_PROG_QUERY), in the calling thread's network namespace,
// and the attach list's revision, which TCXOptions.ExpectedRevision can
// require.
func QueryTCX(ifindex int, dir Direction) ([]Attached, uint64, error) {
	at, err := dir.tcxAttachType()
	if err != nil {
		return nil, 0, err
	}
	for {
		attr := sys.ProgQueryAttr{TargetFD: uint32(ifindex), AttachType: at}
		if err := sys.ProgQuery(&attr); err != nil {
			return nil, 0, fmt.Errorf("query tcx %s on ifindex %d: %w", dir, ifindex, err)
		}
		n := attr.Count
		if n == 0 {
			return nil, attr.Revision, nil
		}
		progs, links := make([]uint32, n), make([]uint32, n)
		attr = sys.ProgQueryAttr{TargetFD: uint32(ifindex), AttachType: at, Count: n,
			ProgIDs: sys.NewSlicePointer(progs), LinkIDs: sys.NewSlicePointer(links)}
		err := sys.ProgQuery(&attr)
		runtime.KeepAlive(progs)
		runtime.KeepAlive(links)
		if errors.Is(err, unix.ENOSPC) {
			continue // a program was attached in between
		}
		if err != nil {
			return nil, 0, fmt.Errorf("query tcx %s on ifindex %d: %w", dir, ifindex, err)
		}
		out := make([]Attached, attr.Count)
		for k := range out {
			out[k] = Attached{ProgramID: progs[k], LinkID: links[k]}
		}
		return out, attr.Revision, nil
	}
}

// TCOptions tunes AttachTC. A nil *TCOptions means ingress.
type TCOptions struct {
	Direction Direction
	// Priority is the cls_bpf filter priority used on kernels without
	// tcx; see TCFilterOptions.
	Priority uint16
}

// AttachTC attaches a sched_cls program to an interface the best way the
// kernel offers: a tcx link (appended) on Linux 6.6+, else a
// direct-action cls_bpf filter on a clsact qdisc (AttachTCFilter). Info's
// Type tells which.
func AttachTC(p *prog.Program, ifindex int, opts *TCOptions) (Link, error) {
	if opts == nil {
		opts = &TCOptions{}
	}
	if TCXSupported() {
		return AttachTCX(p, ifindex, &TCXOptions{Direction: opts.Direction})
	}
	return AttachTCFilter(p, ifindex, &TCFilterOptions{Direction: opts.Direction, Priority: opts.Priority})
}
