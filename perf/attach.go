//go:build linux

package perf

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/link"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// Link is a program attached to a perf event: what Kprobe, Tracepoint
// and Uprobe return as a link.Link. Type-assert to *Link for the
// accessors that say how the attachment was made (Attach, Probe,
// TraceFSEvent).
//
// On Linux 5.15+ (AttachBPFLink) the program is bound through a BPF link
// of type perf_event: Info reports its link and program IDs, Pin pins it
// (the perf event then lives on with the pin; not for probes made through
// tracefs, see Pin). With PERF_EVENT_IOC_SET_BPF (AttachIoctl) there is
// no link object: Pin and Unpin return errors wrapping ErrNotSupported
// and Info reports only the type and the program ID. The kernel cannot
// swap the program of a perf event either way, so Update always returns
// an error wrapping ErrNotSupported.
type Link struct {
	mu      sync.Mutex
	perfFD  *sys.FD
	bpfLink link.Link    // the BPF_PERF_EVENT link; nil when attached with ioctl
	event   *probeEvent  // tracefs probe event, nil otherwise
	attach  AttachMethod // AttachBPFLink or AttachIoctl
	probe   ProbeMethod  // ProbePMU, ProbeTraceFS or probeTracepoint
	target  string       // what was attached to, for messages
	progID  uint32       // the attached program's ID
	closed  bool
}

var _ link.Link = (*Link)(nil)

// Attach reports how the program was attached: AttachBPFLink or
// AttachIoctl.
func (l *Link) Attach() AttachMethod {
	if l == nil {
		return AttachAuto
	}
	return l.attach
}

// Probe reports how the event was created: ProbePMU or ProbeTraceFS for
// kprobes and uprobes; "tracepoint" for tracepoints.
func (l *Link) Probe() ProbeMethod {
	if l == nil {
		return ProbeAuto
	}
	return l.probe
}

// TraceFSEvent returns "group/name" of the tracefs probe event behind the
// link, or "" when none was created.
func (l *Link) TraceFSEvent() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.event == nil {
		return ""
	}
	return l.event.group + "/" + l.event.name
}

// String describes the link.
func (l *Link) String() string {
	if l == nil {
		return "perf.Link(<nil>)"
	}
	return fmt.Sprintf("perf.Link(%s via %s, %s)", l.target, l.probe, l.attach)
}

// Close detaches the program and releases everything, in this order: the
// BPF link, the perf event, the tracefs probe event. A pinned link stays
// attached: the pin holds the BPF link and the link the perf event. Close
// is safe to call more than once, and on a nil *Link.
func (l *Link) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	var errs []error
	if l.bpfLink != nil {
		errs = append(errs, l.bpfLink.Close())
		l.bpfLink = nil
	}
	if l.perfFD != nil {
		errs = append(errs, l.perfFD.Close())
		l.perfFD = nil
	}
	if l.event != nil {
		errs = append(errs, l.event.remove())
		l.event = nil
	}
	return errors.Join(errs...)
}

// usable returns an error for op on a nil or closed link, else nil.
// l.mu must be held unless l is nil.
func (l *Link) usable(op string) error {
	if l == nil {
		return fmt.Errorf("perf link: %s: nil *Link: %w", op, os.ErrInvalid)
	}
	if l.closed {
		return fmt.Errorf("%s: %s: %w", l, op, os.ErrClosed)
	}
	return nil
}

// noLink is the error of Pin and Unpin on an ioctl attachment.
func (l *Link) noLink(op string) error {
	return fmt.Errorf("%s: %s: attached with PERF_EVENT_IOC_SET_BPF, which makes no BPF link (BPF_PERF_EVENT links need Linux 5.15+): %w", l, op, ErrNotSupported)
}

// Pin pins the BPF link at path on a bpffs (link.Link's rules: an
// existing path is an error wrapping os.ErrExist). The program then stays
// attached after Close and after this process exits, until the pin is
// removed. Probes made through tracefs (ProbeTraceFS) cannot be pinned:
// their kprobe_events or uprobe_events entry would outlive the process
// that must remove it, so Pin refuses them with an error wrapping
// ErrNotSupported; use ProbePMU. An ioctl attachment has no link to pin
// (ErrNotSupported too).
func (l *Link) Pin(path string) error {
	if l != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
	}
	if err := l.usable("pin"); err != nil {
		return err
	}
	if l.bpfLink == nil {
		return l.noLink("pin")
	}
	if l.event != nil {
		return fmt.Errorf("%s: pin: the tracefs probe event %s/%s must be removed by this process when it detaches, so a pin could not outlive it; attach with ProbePMU to pin: %w",
			l, l.event.group, l.event.name, ErrNotSupported)
	}
	return l.bpfLink.Pin(path)
}

// Unpin removes the pin made by Pin.
func (l *Link) Unpin() error {
	if l != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
	}
	if err := l.usable("unpin"); err != nil {
		return err
	}
	if l.bpfLink == nil {
		return l.noLink("unpin")
	}
	return l.bpfLink.Unpin()
}

// Update returns an error wrapping ErrNotSupported: the kernel cannot
// swap the program of a perf event (bpf_perf_link has no update_prog, and
// PERF_EVENT_IOC_SET_BPF refuses a second program with EEXIST). Close the
// link and attach the new program instead.
func (l *Link) Update(p *prog.Program) error {
	if l != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
	}
	if err := l.usable("update"); err != nil {
		return err
	}
	return fmt.Errorf("%s: update: the kernel cannot swap the program of a perf event; close the link and attach again: %w", l, ErrNotSupported)
}

// Info describes the attachment: a BPF link's kernel description (type
// perf_event, link and program IDs), or for an ioctl attachment the type
// perf_event and the program ID, with ID 0.
func (l *Link) Info() (*link.Info, error) {
	if l != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
	}
	if err := l.usable("info"); err != nil {
		return nil, err
	}
	if l.bpfLink != nil {
		return l.bpfLink.Info()
	}
	return &link.Info{Type: link.TypePerfEvent, ProgramID: l.progID}, nil
}

// attachOptions are the options shared by all attach functions.
type attachOptions struct {
	attach AttachMethod
	cookie uint64
}

// check refuses an unknown attach method, and a cookie with AttachIoctl:
// PERF_EVENT_IOC_SET_BPF has no way to pass one, so bpf_get_attach_cookie
// would silently return 0.
func (o attachOptions) check() error {
	switch {
	case o.attach != AttachAuto && o.attach != AttachBPFLink && o.attach != AttachIoctl:
		return fmt.Errorf("unknown attach method %v: %w", o.attach, unix.EINVAL)
	case o.attach == AttachIoctl && o.cookie != 0:
		return fmt.Errorf("a Cookie needs a BPF link (AttachAuto or AttachBPFLink); %v cannot pass one: %w", o.attach, unix.EINVAL)
	}
	return nil
}

// checkProgram returns prog's descriptor and ID after checking, before any
// perf event exists, that the kernel will take it for target: kprobe
// and uprobe events take BPF_PROG_TYPE_KPROBE programs, tracepoints
// BPF_PROG_TYPE_TRACEPOINT (kernel/events/core.c, perf_event_set_bpf_prog;
// the kernel answers anything else with a bare EINVAL). The type comes
// from BPF_OBJ_GET_INFO_BY_FD.
func checkProgram(prog FDer, want sys.ProgType, target string) (progFD, error) {
	fd, err := sys.ObjectFD(prog, "program")
	if err != nil {
		return progFD{}, fmt.Errorf("%s: %w", target, err)
	}
	dup, err := dupFD(fd)
	if err != nil {
		return progFD{}, fmt.Errorf("%s: %w", target, err)
	}
	defer dup.Close()
	var info sys.ProgInfo
	if err := sys.ProgGetInfoByFD(dup, &info); err != nil {
		return progFD{}, fmt.Errorf("%s: program fd %d: %w", target, fd, err)
	}
	if info.Type != want {
		return progFD{}, fmt.Errorf("%s: %w: program %q is of type %s, want %s", target, ErrProgramType, info.Name.String(), typeName(info.Type), typeName(want))
	}
	return progFD{fd: fd, id: info.ID}, nil
}

// progFD is a checked program: its borrowed descriptor and its ID.
type progFD struct {
	fd int
	id uint32
}

// typeName is a program type as bpftool and prog.Type name it.
func typeName(t sys.ProgType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "BPF_PROG_TYPE_"))
}

// attachToEvent binds the program pfdProg (checked by checkProgram) to
// the perf event pfd. On success the returned Link owns pfd and ev; on
// failure both are released.
func attachToEvent(pf progFD, pfd *sys.FD, ev *probeEvent, probe ProbeMethod, target string, o attachOptions) (link.Link, error) {
	l := &Link{perfFD: pfd, event: ev, probe: probe, target: target, progID: pf.id}
	pfdProg := pf.fd
	fail := func(err error) (link.Link, error) {
		return nil, errors.Join(fmt.Errorf("attaching to %s: %w", target, err), l.Close())
	}
	if err := o.check(); err != nil {
		return fail(err)
	}
	var linkErr error // the BPF_LINK_CREATE error AttachAuto falls back from
	if o.attach == AttachAuto || o.attach == AttachBPFLink {
		fd, err := sys.LinkCreate(&sys.LinkCreatePerfEventAttr{
			ProgFD:     uint32(pfdProg),
			TargetFD:   pfd.Uint(),
			AttachType: sys.AttachPerfEvent,
			BPFCookie:  o.cookie,
		})
		switch {
		case err == nil:
			// NewFromFD owns fd from here on, and closes it on error.
			bl, err := link.NewFromFD(fd)
			if err != nil {
				return fail(fmt.Errorf("BPF_PERF_EVENT link: %w", err))
			}
			l.bpfLink = bl
			l.attach = AttachBPFLink
		case o.attach == AttachBPFLink || o.cookie != 0 || !(errors.Is(err, unix.EINVAL) || errors.Is(err, ErrNotSupported)):
			return fail(fmt.Errorf("BPF_LINK_CREATE with BPF_PERF_EVENT (Linux 5.15+): %w", err))
		default:
			linkErr = fmt.Errorf("BPF_LINK_CREATE with BPF_PERF_EVENT (Linux 5.15+): %w", err)
		}
	}
	if l.bpfLink == nil {
		// sys.PerfEventSetBPF takes an owned *sys.FD: lend it a duplicate.
		dup, err := dupFD(pfdProg)
		if err != nil {
			return fail(err)
		}
		err = sys.PerfEventSetBPF(pfd, dup)
		dup.Close()
		if err != nil {
			if linkErr != nil {
				// AttachAuto: both ways failed; the first may say more.
				return fail(fmt.Errorf("%w; after %w", err, linkErr))
			}
			return fail(err)
		}
		l.attach = AttachIoctl
	}
	if err := sys.PerfEventEnable(pfd); err != nil {
		return fail(err)
	}
	return l, nil
}

// dupFD duplicates a borrowed descriptor into an owned *sys.FD.
func dupFD(fd int) (*sys.FD, error) {
	raw, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("dup of fd %d: %w", fd, err)
	}
	return sys.NewFD(raw)
}

// openTracepointID opens a PERF_TYPE_TRACEPOINT event for a tracefs event id.
// pid -1 with cpu 0 makes a system-wide event; BPF programs attached to
// trace events run on every CPU regardless of the event's CPU.
func openTracepointID(id uint64, pid int) (*sys.FD, error) {
	attr := sys.PerfEventAttr{
		Type:                    sys.PerfTypeTracepoint,
		Config:                  id,
		SamplePeriodOrFreq:      1,
		WakeupEventsOrWatermark: 1,
		Flags:                   sys.PerfBitDisabled,
	}
	return openEvent(&attr, pid)
}

// openEvent opens attr for a pid filter (0 for all processes): one
// process on any CPU, or every process with the event on CPU 0.
func openEvent(attr *sys.PerfEventAttr, pid int) (*sys.FD, error) {
	if pid > 0 {
		return sys.PerfEventOpen(attr, pid, -1, -1, 0)
	}
	return sys.PerfEventOpen(attr, -1, 0, -1, 0)
}

// Tracepoint attaches a BPF_PROG_TYPE_TRACEPOINT program to the tracepoint
// group/name (such as "syscalls", "sys_enter_openat"), found through its
// tracefs id (events/<group>/<name>/id). A missing tracepoint gives an
// error wrapping ErrNotFound; a program of another type one wrapping
// ErrProgramType that names both types. opts may be nil.
func Tracepoint(group, name string, prog FDer, opts *TracepointOptions) (link.Link, error) {
	if opts == nil {
		opts = &TracepointOptions{}
	}
	target := "tracepoint " + group + "/" + name
	progFD, err := checkProgram(prog, sys.ProgTypeTracepoint, target)
	if err != nil {
		return nil, err
	}
	// progFD is borrowed: prog (and its descriptor) must outlive the attach.
	defer runtime.KeepAlive(prog)
	id, err := traceEventID(group, name)
	if err != nil {
		return nil, err
	}
	pfd, err := openTracepointID(id, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	return attachToEvent(progFD, pfd, nil, probeTracepoint, target, attachOptions{opts.Attach, opts.Cookie})
}

// syscallPrefix is the prefix of syscall entry points on this architecture
// since Linux 4.17 (ARCH_HAS_SYSCALL_WRAPPER).
func syscallPrefix() string {
	switch runtime.GOARCH {
	case "amd64":
		return "__x64_"
	case "arm64":
		return "__arm64_"
	case "s390x":
		return "__s390x_"
	case "riscv64":
		return "__riscv_"
	case "386":
		return "__ia32_"
	}
	return ""
}

func isNotFoundErrno(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EADDRNOTAVAIL)
}

// kprobeUnsupported explains a kernel without kprobes.
func kprobeUnsupported(detail string) error {
	return fmt.Errorf("kprobes: %s; the kernel was likely built without CONFIG_KPROBES "+
		"(or CONFIG_KPROBE_EVENTS): attach to a tracepoint instead, e.g. syscalls/sys_enter_openat: %w",
		detail, ErrNotSupported)
}

// Kprobe attaches a BPF_PROG_TYPE_KPROBE program to a kernel function
// entry (kprobe) or return (kretprobe).
//
// With ProbeAuto the kprobe PMU is used when
// /sys/bus/event_source/devices/kprobe exists (Linux 4.17+), else a
// tracefs kprobe_events entry. A kernel without either gives an error
// wrapping ErrNotSupported; an unknown symbol one wrapping ErrNotFound; a
// program of another type than BPF_PROG_TYPE_KPROBE one wrapping
// ErrProgramType.
//
// symbol is the kernel function, as in /proc/kallsyms. A syscall symbol
// such as "sys_openat" that the kernel does not know is retried with the
// architecture prefix ("__x64_sys_openat" on amd64). opts may be nil.
func Kprobe(symbol string, prog FDer, opts *KprobeOptions) (link.Link, error) {
	if opts == nil {
		opts = &KprobeOptions{}
	}
	sym := symbol
	if sym == "" || strings.ContainsAny(sym, " \t\n:/") {
		return nil, fmt.Errorf("kprobe: invalid symbol %q", sym)
	}
	if opts.Return && opts.Offset != 0 {
		return nil, fmt.Errorf("kprobe %s: a kretprobe cannot have an offset (%d)", sym, opts.Offset)
	}
	kind := "kprobe"
	if opts.Return {
		kind = "kretprobe"
	}
	progFD, err := checkProgram(prog, sys.ProgTypeKprobe, kind+" "+sym)
	if err != nil {
		return nil, err
	}
	// progFD is borrowed: prog (and its descriptor) must outlive the attach.
	defer runtime.KeepAlive(prog)
	candidates := []string{sym}
	if p := syscallPrefix(); p != "" && strings.HasPrefix(sym, "sys_") {
		candidates = append(candidates, p+sym)
	}
	method := opts.Probe
	if method == ProbeAuto {
		method = ProbePMU
		if _, err := readPMU("kprobe"); errors.Is(err, errNoPMU) {
			method = ProbeTraceFS
		}
	}
	var firstErr error
	for _, s := range candidates {
		target := fmt.Sprintf("%s %s+%d", kind, s, opts.Offset)
		var (
			pfd *sys.FD
			ev  *probeEvent
			err error
		)
		switch method {
		case ProbePMU:
			pfd, err = openProbePMU("kprobe", s, opts.Offset, opts.Return, 0)
		case ProbeTraceFS:
			spec := s
			if opts.Offset != 0 {
				spec = fmt.Sprintf("%s+%d", s, opts.Offset)
			}
			ev, err = createProbeEvent("kprobe", s, spec, opts.Return)
			if errors.Is(err, ErrNotSupported) {
				return nil, kprobeUnsupported("no kprobe PMU and no tracefs kprobe_events")
			}
			if err == nil {
				pfd, err = openTracepointID(ev.id, 0)
				if err != nil {
					err = errors.Join(err, ev.remove())
				}
			}
		default:
			return nil, fmt.Errorf("kprobe %s: unknown probe method %v", sym, opts.Probe)
		}
		if err == nil {
			return attachToEvent(progFD, pfd, ev, method, target, attachOptions{opts.Attach, opts.Cookie})
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("%s via %s: %w", target, method, err)
		}
		if errors.Is(err, errNoPMU) {
			return nil, kprobeUnsupported("no kprobe PMU (/sys/bus/event_source/devices/kprobe)")
		}
		if !isNotFoundErrno(err) {
			return nil, firstErr
		}
	}
	// Distinguish an unknown symbol from other EINVALs.
	known := false
	for _, s := range candidates {
		if ok, kerr := kallsymsHas(s); kerr == nil && ok {
			known = true
		}
	}
	if !known {
		return nil, fmt.Errorf("kprobe: kernel symbol %q: %w in /proc/kallsyms (tried %s): %w",
			sym, ErrNotFound, strings.Join(candidates, ", "), firstErr)
	}
	return nil, firstErr
}

// openProbePMU opens a kprobe or uprobe PMU event. For kprobes name is the
// symbol (config1 = kprobe_func) and off the offset (config2 =
// probe_offset); for uprobes name is the file path (config1 = uprobe_path)
// and off the file offset.
func openProbePMU(pmu, name string, off uint64, ret bool, pid int) (*sys.FD, error) {
	info, err := readPMU(pmu)
	if err != nil {
		return nil, err
	}
	var config uint64
	if ret {
		if !info.hasRetBit {
			return nil, fmt.Errorf("%s PMU has no retprobe format bit: %w", pmu, ErrNotSupported)
		}
		config |= 1 << info.retBit
	}
	str, err := unix.BytePtrFromString(name)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", pmu, name, err)
	}
	attr := sys.PerfEventAttr{
		Type:                    info.typ,
		Config:                  config,
		Config1:                 uint64(uintptr(unsafe.Pointer(str))),
		Config2:                 off,
		SamplePeriodOrFreq:      1,
		WakeupEventsOrWatermark: 1,
		Flags:                   sys.PerfBitDisabled,
	}
	fd, err := openEvent(&attr, pid)
	runtime.KeepAlive(str)
	return fd, err
}
