package link

import (
	"fmt"
	"io"

	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// ErrNotSupported is the project-wide "this kernel lacks the feature"
// sentinel (sys.ErrNotSupported).
var ErrNotSupported = sys.ErrNotSupported

// ErrProgramType is wrapped by errors about attaching (or updating to) a
// program whose type does not fit the hook. Such errors name both types
// and are returned before any system call. It is sys.ErrProgramType,
// which perf's refusals wrap too.
var ErrProgramType = sys.ErrProgramType

// Link is one attachment of a program to a kernel hook. Every attach
// function of this package returns one, and so do perf's kprobes,
// tracepoints and uprobes.
//
// Close detaches the program, unless the link is pinned: a pinned link
// stays attached until its pin is removed and the last descriptor to it
// is closed. Pin and Unpin manage the pin on a bpffs, and LoadPinned opens
// a pinned link again, in this process or another. Update swaps the
// program atomically (no packet or event sees no program) where the
// kernel can: XDP, tcx, cgroup and tc filter links; the others return an
// error wrapping ErrNotSupported. Info describes the attachment.
type Link interface {
	io.Closer
	Pin(path string) error
	Unpin() error
	Update(p *prog.Program) error
	Info() (*Info, error)
}

// Type says what kind of attachment a Link is. The values below
// TypeTCFilter are the kernel's enum bpf_link_type.
type Type uint32

// Link types.
const (
	TypeUnspec        = Type(sys.LinkTypeUnspec)
	TypeRawTracepoint = Type(sys.LinkTypeRawTracepoint) // raw tracepoints and tp_btf (BPF_RAW_TRACEPOINT_OPEN)
	TypeTracing       = Type(sys.LinkTypeTracing)       // fentry, fexit, LSM
	TypeCgroup        = Type(sys.LinkTypeCgroup)        // cgroup hooks
	TypeXDP           = Type(sys.LinkTypeXDP)           // XDP
	TypePerfEvent     = Type(sys.LinkTypePerfEvent)     // kprobes, uprobes, tracepoints through perf events
	TypeTCX           = Type(sys.LinkTypeTCX)           // tcx ingress and egress (Linux 6.6+)
	// TypeTCFilter is not a kernel link: a direct-action cls_bpf filter on
	// a clsact qdisc, made through netlink (AttachTCFilter).
	TypeTCFilter Type = 1 << 16
)

var typeNames = map[Type]string{
	TypeUnspec:                    "unspec",
	TypeRawTracepoint:             "raw_tracepoint",
	TypeTracing:                   "tracing",
	TypeCgroup:                    "cgroup",
	Type(sys.LinkTypeIter):        "iter",
	Type(sys.LinkTypeNetns):       "netns",
	TypeXDP:                       "xdp",
	TypePerfEvent:                 "perf_event",
	Type(sys.LinkTypeKprobeMulti): "kprobe_multi",
	Type(sys.LinkTypeStructOps):   "struct_ops",
	Type(sys.LinkTypeNetfilter):   "netfilter",
	TypeTCX:                       "tcx",
	Type(sys.LinkTypeUprobeMulti): "uprobe_multi",
	Type(sys.LinkTypeNetkit):      "netkit",
	Type(sys.LinkTypeSockmap):     "sockmap",
	TypeTCFilter:                  "tc_filter",
}

// String names the type as bpftool does, e.g. "xdp", or "tc_filter".
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("link_type(%d)", uint32(t))
}

// Info describes a Link. Fields that do not apply to the link's type are
// zero.
type Info struct {
	Type      Type
	ID        uint32 // kernel-wide link ID; 0 for TypeTCFilter
	ProgramID uint32 // the attached program's ID
	// AttachType is the kernel attach type (cgroup, tcx, tracing links and
	// tc filters, where it is prog.AttachTCXIngress or AttachTCXEgress);
	// compare it with prog's constants or a CgroupHook's AttachType.
	AttachType prog.AttachType
	Ifindex    int    // XDP, tcx and tc filter links
	CgroupID   uint64 // cgroup links
	// Tracepoint is the raw tracepoint's name (for a tp_btf program, the
	// name the kernel derives from its BTF target).
	Tracepoint string
	// Priority and Handle identify a tc filter on its qdisc.
	Priority uint16
	Handle   uint32
}
