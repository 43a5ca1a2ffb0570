//go:build linux

package link

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/rtnl"
	"github.com/purebpf/purebpf/prog"
)

// tc ABI values (include/uapi/linux/pkt_sched.h, pkt_cls.h) that
// x/sys/unix does not name.
const (
	tcHClsact      = 0xFFFFFFF1 // TC_H_CLSACT (== TC_H_INGRESS): parent of the clsact qdisc
	tcHClsactQdisc = 0xFFFF0000 // TC_H_MAKE(TC_H_CLSACT, 0): the qdisc's handle, "ffff:"
	tcHMinIngress  = 0xFFF2     // TC_H_MIN_INGRESS
	tcHMinEgress   = 0xFFF3     // TC_H_MIN_EGRESS

	tcaBPFFD        = 6 // TCA_BPF_FD: the program
	tcaBPFName      = 7 // TCA_BPF_NAME: a name for tc's listing
	tcaBPFFlags     = 8 // TCA_BPF_FLAGS
	tcaBPFID        = 11
	tcaBPFActDirect = 1 // TCA_BPF_FLAG_ACT_DIRECT: the program's return value is the verdict

	tcmsgLen = 20 // sizeof(struct tcmsg)
)

// tcmsg encodes struct tcmsg: family, 3 pad bytes, ifindex, handle,
// parent, info.
func tcmsg(ifindex int, handle, parent, info uint32) []byte {
	b := make([]byte, tcmsgLen)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(int32(ifindex)))
	binary.NativeEndian.PutUint32(b[8:], handle)
	binary.NativeEndian.PutUint32(b[12:], parent)
	binary.NativeEndian.PutUint32(b[16:], info)
	return b
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// TCFilterOptions tunes AttachTCFilter. A nil *TCFilterOptions means
// ingress, priority 1, handle 1.
type TCFilterOptions struct {
	Direction Direction
	// Priority orders filters on one hook: lower runs first. 0 means 1.
	// A filter returning TC_ACT_UNSPEC (-1) hands the packet to the next.
	Priority uint16
	// Handle tells filters of one priority apart. 0 means 1.
	Handle uint32
	// Name is shown by "tc filter show"; default the program's name.
	Name string
}

// AttachTCFilter attaches a sched_cls program to an interface as a
// direct-action cls_bpf filter on its clsact qdisc, through rtnetlink,
// in the calling thread's network namespace. This works on every kernel
// purebpf supports (clsact is Linux 4.5+); AttachTCX is the better hook
// on Linux 6.6+.
//
// The clsact qdisc is created when the interface has none. A filter with
// the same priority and handle is never replaced: that is an error
// wrapping os.ErrExist. Close deletes the filter and, if this package
// created the qdisc and no filter is left on it, the qdisc: nothing
// purebpf did not add is removed. Update replaces the filter's program in
// place (atomically). Pin is not supported: a filter has no descriptor,
// it stays until deleted.
func AttachTCFilter(p *prog.Program, ifindex int, opts *TCFilterOptions) (Link, error) {
	o := TCFilterOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Priority == 0 {
		o.Priority = 1
	}
	if o.Handle == 0 {
		o.Handle = 1
	}
	what := fmt.Sprintf("tc filter %s on ifindex %d, priority %d handle %#x", o.Direction, ifindex, o.Priority, o.Handle)
	fail := func(err error) error { return fmt.Errorf("attach %s: %w", what, err) }
	if err := checkInterfaceAttach(p, "tc", prog.SchedCLS, ifindex); err != nil {
		return nil, fail(err)
	}
	var parent uint32
	switch o.Direction {
	case Ingress:
		parent = tcHClsact&0xFFFF0000 | tcHMinIngress
	case Egress:
		parent = tcHClsact&0xFFFF0000 | tcHMinEgress
	default:
		return nil, fail(fmt.Errorf("unknown direction %d: %w", int(o.Direction), unix.EINVAL))
	}
	if o.Name == "" {
		o.Name = p.Name()
	}
	conn, err := rtnl.Dial()
	if err != nil {
		return nil, fail(err)
	}
	ns, err := netnsKey()
	if err != nil {
		conn.Close()
		return nil, fail(err)
	}
	f := &tcFilter{conn: conn, ifindex: ifindex, parent: parent, prio: o.Priority, handle: o.Handle,
		name: o.Name, dir: o.Direction, what: what, qdisc: qdiscKey{ns, ifindex}}
	if err := f.ensureQdisc(); err != nil {
		conn.Close()
		return nil, fail(err)
	}
	if err := f.change(p, unix.NLM_F_CREATE|unix.NLM_F_EXCL); err != nil {
		f.dropQdiscIfUnused()
		conn.Close()
		if errors.Is(err, unix.EEXIST) {
			err = fmt.Errorf("a filter with this priority and handle exists (choose others): %w: %w", os.ErrExist, err)
		}
		return nil, fail(err)
	}
	return f, nil
}

// qdiscKey names an interface across network namespaces.
type qdiscKey struct {
	netns   uint64 // inode of the network namespace
	ifindex int
}

// createdQdiscs are the clsact qdiscs this process created, which it
// deletes again once no filter is left on them.
var (
	createdMu     sync.Mutex
	createdQdiscs = map[qdiscKey]bool{}
)

func netnsKey() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return 0, fmt.Errorf("network namespace: %w", err)
	}
	return st.Ino, nil
}

// tcFilter is a cls_bpf filter made by AttachTCFilter.
type tcFilter struct {
	mu      sync.Mutex
	conn    *rtnl.Conn // opened in the filter's network namespace
	ifindex int
	parent  uint32
	prio    uint16
	handle  uint32
	name    string
	dir     Direction
	what    string
	qdisc   qdiscKey
	closed  bool
}

func (f *tcFilter) String() string { return f.what }

func (f *tcFilter) errorf(op string, err error) error {
	return fmt.Errorf("%s: %s: %w", f.what, op, err)
}

func (f *tcFilter) info() uint32 { return uint32(f.prio)<<16 | uint32(htons(unix.ETH_P_ALL)) }

// ensureQdisc adds a clsact qdisc unless the interface has one.
func (f *tcFilter) ensureQdisc() error {
	var a rtnl.Attrs
	a.Str(unix.TCA_KIND, "clsact")
	body := append(tcmsg(f.ifindex, tcHClsactQdisc, tcHClsact, 0), a.B...)
	createdMu.Lock()
	defer createdMu.Unlock()
	_, err := f.conn.Request(unix.RTM_NEWQDISC, unix.NLM_F_CREATE|unix.NLM_F_EXCL, body)
	switch {
	case err == nil:
		createdQdiscs[f.qdisc] = true
		return nil
	case errors.Is(err, unix.EEXIST):
		return nil // there already is one (ours or someone else's)
	case errors.Is(err, unix.ENODEV):
		return fmt.Errorf("add clsact qdisc: no such interface in this network namespace: %w", err)
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("add clsact qdisc: the kernel lacks sch_ingress (CONFIG_NET_SCH_INGRESS): %w: %w", ErrNotSupported, err)
	}
	return fmt.Errorf("add clsact qdisc: %w", err)
}

// change creates or replaces the filter with program p.
func (f *tcFilter) change(p *prog.Program, flags uint16) error {
	fd, err := progFD(p)
	if err != nil {
		return err
	}
	var a rtnl.Attrs
	a.Str(unix.TCA_KIND, "bpf")
	a.Nested(unix.TCA_OPTIONS, func(o *rtnl.Attrs) {
		o.U32(tcaBPFFD, uint32(fd))
		o.Str(tcaBPFName, f.name)
		o.U32(tcaBPFFlags, tcaBPFActDirect)
	})
	body := append(tcmsg(f.ifindex, f.handle, f.parent, f.info()), a.B...)
	_, err = f.conn.Request(unix.RTM_NEWTFILTER, flags, body)
	runtime.KeepAlive(p)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("add cls_bpf filter (is CONFIG_NET_CLS_BPF missing or the clsact qdisc gone?): %w", err)
	}
	return err
}

// filters lists the filters on one clsact hook of the interface.
func (f *tcFilter) filters(parent uint32) ([]tcFilterEntry, error) {
	msgs, err := f.conn.Request(unix.RTM_GETTFILTER, unix.NLM_F_DUMP, tcmsg(f.ifindex, 0, parent, 0))
	if err != nil {
		return nil, err
	}
	return parseFilters(msgs), nil
}

// tcFilterEntry is one filter from a dump.
type tcFilterEntry struct {
	prio   uint16
	handle uint32
	kind   string
	progID uint32
	name   string
}

func parseFilters(msgs []rtnl.Msg) []tcFilterEntry {
	var out []tcFilterEntry
	for _, m := range msgs {
		if m.Type != unix.RTM_NEWTFILTER || len(m.Data) < tcmsgLen {
			continue
		}
		handle := binary.NativeEndian.Uint32(m.Data[8:])
		info := binary.NativeEndian.Uint32(m.Data[16:])
		if handle == 0 {
			continue // the chain's per-priority header, not a filter
		}
		as := rtnl.ParseAttrs(m.Data[tcmsgLen:])
		e := tcFilterEntry{prio: uint16(info >> 16), handle: handle, kind: unix.ByteSliceToString(rtnl.FindAttr(as, unix.TCA_KIND))}
		if opts := rtnl.FindAttr(as, unix.TCA_OPTIONS); opts != nil {
			bs := rtnl.ParseAttrs(opts)
			if id := rtnl.FindAttr(bs, tcaBPFID); len(id) >= 4 {
				e.progID = binary.NativeEndian.Uint32(id)
			}
			e.name = unix.ByteSliceToString(rtnl.FindAttr(bs, tcaBPFName))
		}
		out = append(out, e)
	}
	return out
}

// Close deletes the filter, and the clsact qdisc if AttachTCFilter
// created it and no filter is left. An interface that is gone is not an
// error (its filters went with it).
func (f *tcFilter) Close() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return f.errorf("close", os.ErrClosed)
	}
	f.closed = true
	var a rtnl.Attrs
	a.Str(unix.TCA_KIND, "bpf")
	body := append(tcmsg(f.ifindex, f.handle, f.parent, f.info()), a.B...)
	_, err := f.conn.Request(unix.RTM_DELTFILTER, 0, body)
	if err != nil && (errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL)) {
		// The interface, its qdisc or the filter is gone already.
		err = nil
	}
	if err == nil {
		err = f.dropQdiscIfUnused()
	}
	cerr := f.conn.Close()
	if err != nil {
		return f.errorf("detach", err)
	}
	if cerr != nil {
		return f.errorf("close netlink socket", cerr)
	}
	return nil
}

// dropQdiscIfUnused deletes the clsact qdisc when this process created
// it and no filter is left on either of its hooks.
func (f *tcFilter) dropQdiscIfUnused() error {
	createdMu.Lock()
	defer createdMu.Unlock()
	if !createdQdiscs[f.qdisc] {
		return nil
	}
	for _, parent := range []uint32{tcHClsact&0xFFFF0000 | tcHMinIngress, tcHClsact&0xFFFF0000 | tcHMinEgress} {
		fs, err := f.filters(parent)
		if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EINVAL) {
			delete(createdQdiscs, f.qdisc)
			return nil
		}
		if err != nil {
			return fmt.Errorf("list filters: %w", err)
		}
		if len(fs) > 0 {
			return nil
		}
	}
	var a rtnl.Attrs
	a.Str(unix.TCA_KIND, "clsact")
	_, err := f.conn.Request(unix.RTM_DELQDISC, 0, append(tcmsg(f.ifindex, tcHClsactQdisc, tcHClsact, 0), a.B...))
	delete(createdQdiscs, f.qdisc)
	if err != nil && !errors.Is(err, unix.ENODEV) && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("delete clsact qdisc: %w", err)
	}
	return nil
}

// Pin is not supported: a tc filter has no descriptor to pin; it stays
// attached until deleted.
func (f *tcFilter) Pin(string) error {
	return f.errorf("pin", fmt.Errorf("tc filters have no BPF link to pin (use AttachTCX on Linux 6.6+): %w", ErrNotSupported))
}

// Unpin is not supported, like Pin.
func (f *tcFilter) Unpin() error {
	return f.errorf("unpin", fmt.Errorf("tc filters cannot be pinned: %w", ErrNotSupported))
}

// Update replaces the filter's program in place (RTM_NEWTFILTER with
// NLM_F_REPLACE); cls_bpf swaps it atomically.
func (f *tcFilter) Update(p *prog.Program) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return f.errorf("update", os.ErrClosed)
	}
	if err := checkProgram(p, "tc", prog.SchedCLS); err != nil {
		return f.errorf("update", err)
	}
	if err := f.change(p, unix.NLM_F_REPLACE); err != nil {
		return f.errorf("update", err)
	}
	return nil
}

// Info reports the filter and the ID of its current program.
func (f *tcFilter) Info() (*Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, f.errorf("info", os.ErrClosed)
	}
	fs, err := f.filters(f.parent)
	if err != nil {
		return nil, f.errorf("info", err)
	}
	at := prog.AttachTCXIngress
	if f.dir == Egress {
		at = prog.AttachTCXEgress
	}
	for _, e := range fs {
		if e.prio == f.prio && e.handle == f.handle && e.kind == "bpf" {
			return &Info{Type: TypeTCFilter, ProgramID: e.progID, AttachType: at, Ifindex: f.ifindex, Priority: f.prio, Handle: f.handle}, nil
		}
	}
	return nil, f.errorf("info", fmt.Errorf("the filter is gone: %w", unix.ENOENT))
}

// TCFilter is one filter on a clsact hook, as QueryTCFilters reports it.
type TCFilter struct {
	Priority  uint16
	Handle    uint32
	Kind      string // "bpf" for cls_bpf
	Name      string // TCA_BPF_NAME
	ProgramID uint32 // cls_bpf's program (Linux 4.13+)
}

// QueryTCFilters lists the filters on an interface's clsact hook in the
// order they run (by priority, then handle), in the calling thread's
// network namespace.
func QueryTCFilters(ifindex int, dir Direction) ([]TCFilter, error) {
	// The kernel's filter dump answers an empty list for an interface
	// that does not exist (tc_dump_tfilter), so check first.
	if ifindex <= 0 {
		return nil, fmt.Errorf("list tc filters %s on ifindex %d: interface index must be positive: %w", dir, ifindex, unix.EINVAL)
	}
	if err := noInterface(ifindex); err != nil {
		return nil, fmt.Errorf("list tc filters %s on ifindex %d: %w", dir, ifindex, err)
	}
	conn, err := rtnl.Dial()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	parent := uint32(tcHClsact&0xFFFF0000 | tcHMinIngress)
	if dir == Egress {
		parent = tcHClsact&0xFFFF0000 | tcHMinEgress
	}
	f := &tcFilter{conn: conn, ifindex: ifindex}
	es, err := f.filters(parent)
	if err != nil {
		return nil, fmt.Errorf("list tc filters %s on ifindex %d: %w", dir, ifindex, err)
	}
	out := make([]TCFilter, len(es))
	for k, e := range es {
		out[k] = TCFilter{Priority: e.prio, Handle: e.handle, Kind: e.kind, Name: e.name, ProgramID: e.progID}
	}
	return out, nil
}
