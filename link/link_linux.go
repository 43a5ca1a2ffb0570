//go:build linux

package link

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/bpffs"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// NewFromFD wraps fd, a BPF link descriptor (from BPF_LINK_CREATE,
// BPF_RAW_TRACEPOINT_OPEN or BPF_OBJ_GET) as a Link; it takes ownership of
// fd and closes it on error. Packages that create link descriptors of
// their own (perf's BPF_PERF_EVENT links) return them through this.
func NewFromFD(fd *sys.FD) (Link, error) {
	if fd == nil {
		return nil, fmt.Errorf("link from fd: nil *sys.FD: %w", os.ErrInvalid)
	}
	if fd.Int() < 0 {
		return nil, fmt.Errorf("link from fd: %v: %w", fd, os.ErrClosed)
	}
	l, err := newFDLink(fd, "")
	if err != nil {
		fd.Close()
		return nil, err
	}
	return l, nil
}

// LoadPinned opens the link pinned at path on a bpffs. Closing the
// returned Link does not detach it while the pin exists; Unpin then Close
// does (when nothing else holds it).
func LoadPinned(path string) (Link, error) {
	fd, err := sys.ObjGet(path, 0)
	if err != nil {
		return nil, fmt.Errorf("load pinned link %s: %w", path, err)
	}
	l, err := newFDLink(fd, "")
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("load pinned link %s: %w", path, err)
	}
	l.pinned = path
	return l, nil
}

// fdLink is a link the kernel represents by a descriptor.
type fdLink struct {
	mu       sync.Mutex
	fd       *sys.FD
	info     sys.LinkInfo
	progType prog.Type // type of the program attached at creation
	what     string    // e.g. "xdp on ifindex 3", for messages
	pinned   string
}

func newFDLink(fd *sys.FD, what string) (*fdLink, error) {
	if err := sys.CheckKind(fd, sys.KindLink); err != nil {
		return nil, err
	}
	l := &fdLink{fd: fd, what: what}
	if err := sys.LinkGetInfoByFD(fd, &l.info); err != nil {
		return nil, fmt.Errorf("link info: %w", err)
	}
	if l.what == "" {
		l.what = fmt.Sprintf("%s link %d", Type(l.info.Type), l.info.ID)
	}
	if p, err := prog.NewProgramFromID(l.info.ProgID); err == nil {
		l.progType = p.Type()
		p.Close()
	}
	return l, nil
}

// String describes the link, e.g. "xdp link 12 (generic mode on ifindex 3)".
func (l *fdLink) String() string {
	return fmt.Sprintf("%s link %d (%s)", Type(l.info.Type), l.info.ID, l.what)
}

func (l *fdLink) errorf(op string, err error) error {
	return fmt.Errorf("%s: %s: %w", l, op, err)
}

// Close releases the link's descriptor, which detaches the program unless
// the link is pinned. A second Close returns an error wrapping
// os.ErrClosed.
func (l *fdLink) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fd.Close(); err != nil {
		return l.errorf("close", err)
	}
	return nil
}

// Pin pins the link at path on a bpffs (see prog.Program.Pin for the
// rules); the program then stays attached after Close and after this
// process exits.
func (l *fdLink) Pin(path string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := bpffs.Pin(path, l.fd); err != nil {
		return l.errorf("pin", err)
	}
	l.pinned = path
	return nil
}

// Unpin removes the pin made by Pin or used by LoadPinned.
func (l *fdLink) Unpin() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pinned == "" {
		return l.errorf("unpin", errors.New("not pinned"))
	}
	if err := os.Remove(l.pinned); err != nil {
		return l.errorf("unpin", err)
	}
	l.pinned = ""
	return nil
}

// updatable reports whether the kernel implements BPF_LINK_UPDATE for
// links of type t (bpf_link_ops.update_prog).
func updatable(t sys.LinkType) bool {
	switch t {
	case sys.LinkTypeXDP, sys.LinkTypeCgroup, sys.LinkTypeTCX, sys.LinkTypeNetns, sys.LinkTypeNetkit, sys.LinkTypeIter:
		return true
	}
	return false
}

// Update replaces the link's program atomically (BPF_LINK_UPDATE, Linux
// 5.7+ for cgroups, 5.9+ for XDP, 6.6+ for tcx). The new program must have
// the type of the one attached.
func (l *fdLink) Update(p *prog.Program) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !updatable(l.info.Type) {
		return l.errorf("update", fmt.Errorf("the kernel cannot swap the program of a %s link: %w", Type(l.info.Type), ErrNotSupported))
	}
	if err := checkProgram(p, "update", l.progType); err != nil {
		return l.errorf("update", err)
	}
	if l.fd.Int() < 0 {
		return l.errorf("update", os.ErrClosed)
	}
	pfd, err := progFD(p)
	if err != nil {
		return l.errorf("update", err)
	}
	attr := sys.LinkUpdateAttr{LinkFD: l.fd.Uint(), NewProgFD: uint32(pfd)}
	err = sys.LinkUpdate(&attr)
	runtime.KeepAlive(p)
	runtime.KeepAlive(l.fd)
	if err != nil {
		return l.errorf("update", err)
	}
	return nil
}

// Info asks the kernel about the link (BPF_OBJ_GET_INFO_BY_FD).
func (l *fdLink) Info() (*Info, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd.Int() < 0 {
		return nil, l.errorf("info", os.ErrClosed)
	}
	var in sys.LinkInfo
	if err := sys.LinkGetInfoByFD(l.fd, &in); err != nil {
		return nil, l.errorf("info", err)
	}
	out := &Info{Type: Type(in.Type), ID: in.ID, ProgramID: in.ProgID}
	switch in.Type {
	case sys.LinkTypeXDP:
		out.Ifindex = int(in.XDPIfindex())
	case sys.LinkTypeTCX:
		ifindex, at := in.TCX()
		out.Ifindex, out.AttachType = int(ifindex), prog.AttachType(at)
	case sys.LinkTypeCgroup:
		var at sys.AttachType
		out.CgroupID, at = in.Cgroup()
		out.AttachType = prog.AttachType(at)
	case sys.LinkTypeTracing:
		at, _, _ := in.Tracing()
		out.AttachType = prog.AttachType(at)
	case sys.LinkTypeRawTracepoint:
		buf := make([]byte, 256)
		rt := sys.RawTracepointLinkInfo{TPName: sys.NewSlicePointer(buf), TPNameLen: uint32(len(buf))}
		if err := sys.RawTracepointLinkGetInfoByFD(l.fd, &rt); err != nil {
			return nil, l.errorf("info", err)
		}
		runtime.KeepAlive(buf)
		out.Tracepoint = unix.ByteSliceToString(buf)
	}
	return out, nil
}

// progFD returns the descriptor of an open program.
func progFD(p *prog.Program) (int, error) {
	if p == nil {
		return -1, fmt.Errorf("nil program: %w", unix.EINVAL)
	}
	fd := p.FD()
	if fd < 0 {
		return -1, fmt.Errorf("program %q: %w", p.Name(), os.ErrClosed)
	}
	return fd, nil
}

// checkProgram makes sure p is open and of one of the wanted types
// (any type when want is empty or holds only UnspecifiedProgram).
func checkProgram(p *prog.Program, hook string, want ...prog.Type) error {
	if _, err := progFD(p); err != nil {
		return err
	}
	if len(want) == 0 || (len(want) == 1 && want[0] == prog.UnspecifiedProgram) {
		return nil
	}
	for _, t := range want {
		if p.Type() == t {
			return nil
		}
	}
	names := want[0].String()
	for _, t := range want[1:] {
		names += " or " + t.String()
	}
	return fmt.Errorf("%s needs a %s program, %q is %s: %w", hook, names, p.Name(), p.Type(), ErrProgramType)
}

// checkInterfaceAttach checks a program for a hook on an interface: it
// is open, of type want, and ifindex is a possible interface index.
func checkInterfaceAttach(p *prog.Program, hook string, want prog.Type, ifindex int) error {
	if err := checkProgram(p, hook, want); err != nil {
		return err
	}
	if ifindex <= 0 {
		return fmt.Errorf("interface index must be positive, not %d: %w", ifindex, unix.EINVAL)
	}
	return nil
}

// noInterface returns an error wrapping ENODEV if the calling thread's
// network namespace has no interface ifindex (BPF_LINK_CREATE answers
// EINVAL for that, like for many other mistakes), else nil.
func noInterface(ifindex int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return nil
	}
	ifr.SetUint32(uint32(ifindex))
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFNAME, ifr); errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("no interface with index %d in this network namespace: %w", ifindex, unix.ENODEV)
	}
	return nil
}

// linkCreate runs BPF_LINK_CREATE and wraps the result.
func linkCreate(attr sys.LinkCreateVariant, p *prog.Program, what string) (*fdLink, error) {
	fd, err := sys.LinkCreate(attr)
	runtime.KeepAlive(p)
	if err != nil {
		return nil, err
	}
	l, err := newFDLink(fd, what)
	if err != nil {
		fd.Close()
		return nil, err
	}
	l.progType = p.Type()
	return l, nil
}
