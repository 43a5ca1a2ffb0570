//go:build linux

package prog

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/sys"
	"golang.org/x/sys/unix"
)

// ProgramOptions tunes NewProgram. A nil *ProgramOptions means the
// defaults.
type ProgramOptions struct {
	// Maps are existing maps to use for the spec's map references, by
	// name, instead of creating them. The program does not own them:
	// Program.Close leaves them open.
	Maps map[string]*Map
	// LogLevel, when non-zero, asks for a verifier log (LogBranch,
	// LogInstruction, LogStats) on the first attempt already, and keeps it
	// for Program.VerifierLog. By default the first attempt runs without a
	// log and a log is fetched only when the load fails.
	LogLevel LogLevel
	// LogSize is the first verifier log buffer size in bytes; it grows
	// on ENOSPC. Default 64 KiB; sizes below 128 bytes are raised to 128,
	// the minimum kernels before Linux 6.4 accept.
	LogSize int
	// Flags are BPF_PROG_LOAD prog_flags, such as ProgramSleepable.
	Flags ProgramFlags
	// ExpectedAttachType is the expected_attach_type the verifier checks
	// against, for program types that need one (AttachXDP, ...).
	ExpectedAttachType AttachType
	// AttachBTFID is attach_btf_id: the BTF type a Tracing, LSM or Ext
	// (freplace) program attaches to, fixed when it loads (Linux 5.5+).
	// For tp_btf (ExpectedAttachType AttachTraceRawTp) it is the typedef
	// btf_trace_<tracepoint>; for fentry, fexit and fmod_ret
	// (AttachTraceFentry, AttachTraceFexit, AttachModifyReturn) the kernel
	// function; for LSM (AttachLSMMac) the hook's bpf_lsm_<hook> function;
	// all in the kernel's BTF (/sys/kernel/btf/vmlinux). With
	// AttachProgram it is the BTF ID of a function of that program
	// (fentry and fexit on a BPF program, or the function an Ext program
	// replaces). Tracing, LSM and Ext programs cannot load without it (or
	// AttachTo), and NewProgram says so before any system call.
	AttachBTFID uint32
	// AttachTo names a kernel attach target the way a section name does
	// (SEC("fentry/do_unlinkat") names "do_unlinkat"): for tp_btf the
	// tracepoint, for fentry, fexit and fmod_ret the function, for LSM the
	// hook, for iterators the iterator, chosen by ExpectedAttachType.
	// NewProgram finds its BTF ID as libbpf does, in vmlinux's BTF and then
	// the modules' (passing a module's BTF object as attach_btf_obj_fd,
	// Linux 5.11+), and sets AttachBTFID. Set one of the two.
	AttachTo string
	// AttachProgram is attach_prog_fd: the loaded BPF program whose
	// function AttachBTFID names, for fentry or fexit on a BPF program
	// and for Ext (freplace) programs (Linux 5.5+). nil means the
	// kernel. The program must stay open while this one loads.
	AttachProgram *Program
}

// Program is a BPF program loaded into the kernel. It holds a file
// descriptor and the maps the loader created for it; Close releases both.
type Program struct {
	fd      *sys.FD
	name    string
	typ     Type
	maps    map[string]*Map // every map the program refers to
	owned   []*Map          // maps created by NewProgram
	log     string
	pinned  string
	nInsns  int
	license string
}

// NewProgram loads spec into the kernel. It creates the maps spec.Maps
// lists (unless opts.Maps supplies them), points the LD_IMM64 map
// references at their file descriptors and runs BPF_PROG_LOAD.
//
// The first attempt runs without a verifier log. If it fails, the load is
// retried with a log, whose buffer grows on ENOSPC (to log_true_size on
// Linux 6.4+, else fourfold) up to the kernel's maximum, and the error is
// a *VerifierError carrying the log. EPERM (privilege, or RLIMIT_MEMLOCK
// before Linux 5.11), E2BIG, an unknown program type and an unknown helper
// give errors naming the cause; the last two wrap ErrNotSupported.
func NewProgram(spec *Spec, opts *ProgramOptions) (*Program, error) {
	// The instructions are validated by Marshal below.
	if err := spec.validateMaps(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &ProgramOptions{}
	}
	if opts.LogLevel&^(LogBranch|LogInstruction|LogStats) != 0 {
		// The kernel's bare EINVAL (bpf_vlog_init) would not say which field.
		return nil, fmt.Errorf("load program %q: ProgramOptions.LogLevel %#x: want a combination of LogBranch, LogInstruction and LogStats: %w", spec.Name, uint32(opts.LogLevel), unix.EINVAL)
	}
	ensureMemlock()
	p := &Program{name: spec.Name, typ: spec.Type, maps: map[string]*Map{}, license: spec.License}
	ok := false
	defer func() {
		if !ok {
			p.closeOwned()
		}
	}()

	insns := make(insn.Instructions, len(spec.Instructions))
	copy(insns, spec.Instructions)
	for k := range insns {
		i := &insns[k]
		if !i.IsMapReference() || i.Ref == "" {
			continue
		}
		m, err := p.mapFor(spec.Map(i.Ref), opts)
		if err != nil {
			return nil, fmt.Errorf("load program %q: %w", spec.Name, err)
		}
		i.SetMapFD(int32(m.fd.Int()))
	}
	code, err := insns.Marshal()
	if err != nil {
		return nil, fmt.Errorf("load program %q: %w", spec.Name, err)
	}
	p.nInsns = len(code) / sys.InsnSize

	license, err := sys.NewStringPointer(spec.License)
	if err != nil {
		return nil, fmt.Errorf("load program %q: license: %w", spec.Name, err)
	}
	attr := sys.ProgLoadAttr{
		ProgType:           sys.ProgType(spec.Type),
		InsnCnt:            uint32(p.nInsns),
		Insns:              sys.NewSlicePointer(code),
		License:            license,
		ProgFlags:          uint32(opts.Flags),
		ProgName:           sys.NewObjName(spec.Name),
		ExpectedAttachType: sys.AttachType(opts.ExpectedAttachType),
	}
	if spec.Type == Kprobe {
		// Required before Linux 5.0, ignored since.
		attr.KernVersion = kernelCode()
	}
	var kb kernelBTF
	defer kb.closeModules() // after the load, which needs a module's BTF object
	if err := setAttachTarget(&attr, spec, opts, &kb); err != nil {
		return nil, fmt.Errorf("load program %q: %w", spec.Name, err)
	}
	fd, log, err := p.load(&attr, opts)
	runtime.KeepAlive(opts.AttachProgram)
	// The map fds in code must stay open until the load is done.
	for _, m := range p.maps {
		runtime.KeepAlive(m.fd)
	}
	if err != nil {
		return nil, err
	}
	p.fd, p.log = fd, log
	ok = true
	return p, nil
}

// setAttachTarget fills attach_btf_id and attach_prog_fd from opts,
// checking what the kernel would answer with a bare EINVAL: a Tracing or
// LSM program needs a target (bpf_check_attach_target, "Tracing programs
// must provide btf_id"), and an AttachProgram must be open. Ext
// programs also need an AttachProgram.
func setAttachTarget(attr *sys.ProgLoadAttr, spec *Spec, opts *ProgramOptions, kb *kernelBTF) error {
	attr.AttachBTFID = opts.AttachBTFID
	if opts.AttachTo != "" {
		if opts.AttachBTFID != 0 || opts.AttachProgram != nil {
			return fmt.Errorf("%w: ProgramOptions.AttachTo %q names a kernel target; AttachBTFID and AttachProgram must then be unset", ErrInvalidSpec, opts.AttachTo)
		}
		if spec.Type != Tracing && spec.Type != LSM {
			return fmt.Errorf("ProgramOptions.AttachTo %q: only tracing and lsm programs take an attach target, not %s: %w", opts.AttachTo, spec.Type, unix.EINVAL)
		}
		switch opts.ExpectedAttachType {
		case AttachTraceRawTp, AttachTraceFentry, AttachTraceFexit, AttachModifyReturn, AttachTraceIter, AttachLSMMac, AttachType(attachLSMCgroup):
		default:
			return fmt.Errorf("ProgramOptions.AttachTo %q: ExpectedAttachType %d is none of AttachTraceRawTp (tp_btf), AttachTraceFentry, AttachTraceFexit, AttachModifyReturn, AttachTraceIter, AttachLSMMac: %w",
				opts.AttachTo, opts.ExpectedAttachType, unix.EINVAL)
		}
		id, h, err := kb.attachTarget(opts.AttachTo, opts.ExpectedAttachType)
		if err != nil {
			return err
		}
		attr.AttachBTFID = id
		if h != nil {
			attr.AttachProgOrBTFObjFD = h.FD().Uint()
		}
		return nil
	}
	switch spec.Type {
	case Tracing, LSM, Ext:
		if opts.AttachBTFID == 0 {
			return fmt.Errorf("%w: a %s program attaches to a BTF type fixed at load time: set ProgramOptions.AttachTo (the target's name) or AttachBTFID", ErrInvalidSpec, spec.Type)
		}
		if spec.Type == Ext && opts.AttachProgram == nil {
			return fmt.Errorf("%w: an extension (freplace) program replaces a function of a loaded program: set ProgramOptions.AttachProgram", ErrInvalidSpec)
		}
	}
	if opts.AttachProgram != nil {
		fd := opts.AttachProgram.FD()
		if fd < 0 {
			return fmt.Errorf("ProgramOptions.AttachProgram %q: %w", opts.AttachProgram.Name(), os.ErrClosed)
		}
		attr.AttachProgOrBTFObjFD = uint32(fd)
	}
	return nil
}

// mapFor returns the map for a spec's reference, creating it once.
func (p *Program) mapFor(ms *MapSpec, opts *ProgramOptions) (*Map, error) {
	if m := p.maps[ms.Name]; m != nil {
		return m, nil
	}
	if m, ok := opts.Maps[ms.Name]; ok {
		if m == nil {
			return nil, fmt.Errorf("map %q given in ProgramOptions.Maps is a nil *Map: %w", ms.Name, os.ErrInvalid)
		}
		if m.fd.Int() < 0 {
			return nil, fmt.Errorf("map %q given in ProgramOptions.Maps: %w", ms.Name, os.ErrClosed)
		}
		have := m.MapSpec()
		if have.Type != ms.Type || have.KeySize != ms.KeySize || have.ValueSize != ms.ValueSize {
			return nil, fmt.Errorf("%w: map %q given in ProgramOptions.Maps is %s key %d value %d, the spec wants %s key %d value %d",
				ErrInvalidSpec, ms.Name, have.Type, have.KeySize, have.ValueSize, ms.Type, ms.KeySize, ms.ValueSize)
		}
		p.maps[ms.Name] = m
		return m, nil
	}
	m, err := NewMap(ms)
	if err != nil {
		return nil, err
	}
	p.maps[ms.Name] = m
	p.owned = append(p.owned, m)
	return m, nil
}

// load runs BPF_PROG_LOAD with the log policy described at NewProgram,
// which is sys.LoadWithLog's (shared with btf's BPF_BTF_LOAD).
func (p *Program) load(attr *sys.ProgLoadAttr, opts *ProgramOptions) (*sys.FD, string, error) {
	fd, log, truncated, err := sys.LoadWithLog(uint32(opts.LogLevel), opts.LogSize, func(level uint32, buf []byte) (*sys.FD, uint32, error) {
		attr.LogLevel = level
		attr.LogSize = uint32(len(buf))
		attr.LogBuf = sys.NewSlicePointer(buf)
		attr.LogTrueSize = 0
		fd, err := sys.ProgLoad(attr)
		return fd, attr.LogTrueSize, err
	})
	if err != nil {
		return nil, log, p.loadError(attr, err, log, truncated)
	}
	return fd, log, nil
}

func logString(buf []byte) string {
	for i, c := range buf {
		if c == 0 {
			return string(buf[:i])
		}
	}
	return string(buf)
}

// expectedAttachTypes are the expected attach types some program types
// must be loaded with, and their names: bpf_prog_load_check_attach
// (kernel/bpf/syscall.c) refuses others with EINVAL before the verifier
// runs, so there is no log to explain it. A cgroup_sock program loaded
// with 0 gets BPF_CGROUP_INET_SOCK_CREATE (bpf_prog_load_fixup_attach_type).
var expectedAttachTypes = map[Type]struct {
	ok    []AttachType
	names string
}{
	CgroupSockAddr: {[]AttachType{AttachCgroupInet4Bind, AttachCgroupInet6Bind, AttachCgroupInet4Connect, AttachCgroupInet6Connect, AttachCgroupUDP4Sendmsg, AttachCgroupUDP6Sendmsg, AttachCgroupUDP4Recvmsg, AttachCgroupUDP6Recvmsg,
		AttachCgroupInet4Getpeername, AttachCgroupInet6Getpeername, AttachCgroupInet4Getsockname, AttachCgroupInet6Getsockname,
		AttachCgroupUnixConnect, AttachCgroupUnixSendmsg, AttachCgroupUnixRecvmsg, AttachCgroupUnixGetpeername, AttachCgroupUnixGetsockname},
		"AttachCgroupInet4Connect, AttachCgroupInet6Connect, AttachCgroupInet4Bind, AttachCgroupUDP4Sendmsg, ..."},
	CgroupSockopt: {[]AttachType{AttachCgroupGetsockopt, AttachCgroupSetsockopt}, "AttachCgroupGetsockopt or AttachCgroupSetsockopt"},
	CgroupSock: {[]AttachType{AttachNone, AttachCgroupInetSockCreate, AttachCgroupInetSockRelease, AttachCgroupInet4PostBind, AttachCgroupInet6PostBind},
		"AttachCgroupInetSockCreate, AttachCgroupInetSockRelease, AttachCgroupInet4PostBind or AttachCgroupInet6PostBind"},
	Netfilter: {[]AttachType{AttachNetfilter}, "AttachNetfilter"},
}

// attachHint explains a load refused before the verifier ran (no log)
// when the program type needs an expected attach type or attach target
// that attr lacks; it returns "" otherwise.
func attachHint(t Type, at AttachType, btfID uint32) string {
	if want, ok := expectedAttachTypes[t]; ok && !slices.Contains(want.ok, at) {
		return fmt.Sprintf("%s programs must be loaded with ProgramOptions.ExpectedAttachType set to the hook they will attach to (%s), not %d", t, want.names, uint32(at))
	}
	if (t == Tracing || t == LSM || t == Ext) && btfID == 0 {
		return fmt.Sprintf("%s programs need a kernel attach target: set ProgramOptions.AttachTo (and ExpectedAttachType), or load them from an ELF object with a fentry/, fexit/, tp_btf/ or lsm/ section through NewCollection", t)
	}
	return ""
}

// loadError builds the error of a failed load.
func (p *Program) loadError(attr *sys.ProgLoadAttr, err error, log string, truncated bool) error {
	what := fmt.Sprintf("load program %q (%s)", p.name, p.typ)
	if errors.Is(err, unix.EINVAL) && log == "" {
		if perr := HaveProgramType(p.typ); errors.Is(perr, ErrNotSupported) {
			return fmt.Errorf("%s: %w", what, perr)
		}
	}
	if log == "" && errors.Is(err, unix.EINVAL) && attr.ProgFlags != 0 {
		// Ask the kernel whether the program loads without its flags:
		// then a flag is the cause of the bare EINVAL.
		plain := *attr
		plain.ProgFlags, plain.LogLevel, plain.LogSize, plain.LogBuf = 0, 0, 0, sys.Pointer{}
		if fd, perr := sys.ProgLoad(&plain); perr == nil {
			fd.Close()
			return fmt.Errorf("%s: %w: the kernel refuses ProgramOptions.Flags %#x for %s programs (the program loads without them): a flag is unknown to this kernel or does not apply to the type", what, err, attr.ProgFlags, p.typ)
		}
	}
	if log == "" {
		if hint := attachHint(p.typ, AttachType(attr.ExpectedAttachType), attr.AttachBTFID); hint != "" {
			return fmt.Errorf("%s: %w: %s", what, err, hint)
		}
	}
	if log == "" {
		return explainErrno(what, err, p.nInsns)
	}
	ve := &VerifierError{Program: p.name, Err: err, Log: log, Truncated: truncated, MissingHelper: missingHelper(log)}
	if ve.MissingHelper >= 0 {
		ve.Err = fmt.Errorf("%w: helper %s (%d) is not available to %s programs on this kernel", err, ve.MissingHelper, int32(ve.MissingHelper), p.typ)
	} else if strings.Contains(log, "GPL-restricted") || strings.Contains(log, "GPL-compatible") {
		ve.Err = fmt.Errorf("%w: the program calls a GPL-only helper or kfunc but its license %q is not GPL-compatible", err, p.license)
	} else if errors.Is(err, unix.E2BIG) || errors.Is(err, unix.EPERM) {
		ve.Err = fmt.Errorf("%w: %s", err, strings.TrimPrefix(explainErrno("", err, p.nInsns).Error(), ": "+err.Error()+": "))
	}
	return ve
}

// LoadPinnedProgram opens the program pinned at path on a bpffs.
func LoadPinnedProgram(path string) (*Program, error) {
	fd, err := sys.ObjGet(path, 0)
	if err != nil {
		return nil, fmt.Errorf("load pinned program %s: %w", path, err)
	}
	p, err := NewProgramFromFD(fd)
	if err != nil {
		return nil, fmt.Errorf("load pinned program %s: %w", path, err)
	}
	p.pinned = path
	return p, nil
}

// NewProgramFromID opens the program with the given kernel-wide ID.
func NewProgramFromID(id uint32) (*Program, error) {
	fd, err := sys.ProgGetFDByID(id)
	if err != nil {
		return nil, fmt.Errorf("open program id %d: %w", id, err)
	}
	return NewProgramFromFD(fd)
}

// NewProgramFromFD takes ownership of fd, a program descriptor. The
// program's Map method finds no maps: open them by ID from Info().MapIDs.
// On error fd is closed.
func NewProgramFromFD(fd *sys.FD) (*Program, error) {
	if fd == nil {
		return nil, fmt.Errorf("program from fd: nil *sys.FD: %w", os.ErrInvalid)
	}
	if err := sys.CheckKind(fd, sys.KindProgram); err != nil {
		fd.Close()
		return nil, fmt.Errorf("program from fd: %w", err)
	}
	var info sys.ProgInfo
	if err := sys.ProgGetInfoByFD(fd, &info); err != nil {
		fd.Close()
		return nil, fmt.Errorf("program from %v: %w", fd, err)
	}
	return &Program{fd: fd, name: info.Name.String(), typ: Type(info.Type), maps: map[string]*Map{}}, nil
}

// nilProgram is the error of a method called on a nil *Program.
func nilProgram(op string) error {
	return fmt.Errorf("program: %s on a nil *prog.Program: %w", op, os.ErrInvalid)
}

// Name returns the program's name as the spec gave it ("" for a nil p).
// Info().Name is the name the kernel stored, truncated to 15 bytes.
func (p *Program) Name() string {
	if p == nil {
		return ""
	}
	return p.name
}

// Type returns the program's type (UnspecifiedProgram for a nil p).
func (p *Program) Type() Type {
	if p == nil {
		return UnspecifiedProgram
	}
	return p.typ
}

// FD returns the program's file descriptor, or -1 once closed or for a
// nil p. It stays valid only while p is open and reachable.
func (p *Program) FD() int {
	if p == nil {
		return -1
	}
	return p.fd.Int()
}

// Map returns the map the program refers to as name, or nil (also for a
// nil p). The methods of a nil *Map return errors saying so.
func (p *Program) Map(name string) *Map {
	if p == nil {
		return nil
	}
	return p.maps[name]
}

// VerifierLog returns the verifier log of a load made with
// ProgramOptions.LogLevel, or "".
func (p *Program) VerifierLog() string {
	if p == nil {
		return ""
	}
	return p.log
}

// String describes the program, e.g. `program "count" (socket_filter, fd 9)`.
func (p *Program) String() string {
	if p == nil {
		return "program <nil>"
	}
	return fmt.Sprintf("program %q (%s, %v)", p.name, p.typ, p.fd)
}

func (p *Program) closeOwned() error {
	var errs []error
	for _, m := range p.owned {
		if err := m.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	p.owned = nil
	return errors.Join(errs...)
}

// Close releases the program's file descriptor and closes the maps
// NewProgram created for it (not those passed in ProgramOptions.Maps).
// Pinned objects stay in the kernel. Closing twice gives an error wrapping
// os.ErrClosed. Closing a nil *Program does nothing.
func (p *Program) Close() error {
	if p == nil {
		return nil
	}
	var errs []error
	if err := p.fd.Close(); err != nil {
		errs = append(errs, fmt.Errorf("program %q: %w", p.name, err))
	}
	if err := p.closeOwned(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Pin pins the program at path, which must lie on a bpffs. Below
// BPFFSPath (/sys/fs/bpf) a bpffs is mounted if none is, and missing
// directories are created. An existing path is an error wrapping
// os.ErrExist. bpftool sees pinned programs (`bpftool prog show pinned
// PATH`).
func (p *Program) Pin(path string) error {
	if p == nil {
		return nilProgram("pin")
	}
	if err := pin(path, p.fd); err != nil {
		return fmt.Errorf("program %q: %w", p.name, err)
	}
	p.pinned = path
	return nil
}

// Unpin removes the pin made by Pin or used by LoadPinnedProgram.
func (p *Program) Unpin() error {
	if p == nil {
		return nilProgram("unpin")
	}
	if p.pinned == "" {
		return fmt.Errorf("program %q: unpin: not pinned", p.name)
	}
	if err := os.Remove(p.pinned); err != nil {
		return fmt.Errorf("program %q: unpin: %w", p.name, err)
	}
	p.pinned = ""
	return nil
}

// ProgramInfo describes a loaded program, as `bpftool prog show` does.
type ProgramInfo struct {
	ID   uint32 // kernel-wide program ID
	Tag  string // hex SHA-1 prefix of the instructions, as bpftool prints it
	Name string // name, at most 15 bytes
	Type Type   // program type
	// XlatedSize and JitedSize are the sizes in bytes of the translated
	// instructions and of the JITed machine code (0 without JIT).
	XlatedSize, JitedSize uint32
	// VerifiedInsns is the number of instructions the verifier processed
	// (Linux 5.16+; 0 before).
	VerifiedInsns uint32
	// MapIDs are the IDs of the maps the program uses.
	MapIDs []uint32
	// LoadTime is when the program was loaded, as time since boot.
	LoadTime time.Duration
	// CreatedByUID is the user that loaded the program.
	CreatedByUID uint32
	// GPLCompatible reports a GPL-compatible license.
	GPLCompatible bool
	// BTFID is the program's BTF object ID, 0 without BTF.
	BTFID uint32
}

func progInfoOf(fd *sys.FD) (*ProgramInfo, error) {
	var in sys.ProgInfo
	if err := sys.ProgGetInfoByFD(fd, &in); err != nil {
		return nil, err
	}
	var ids []uint32
	if in.NrMapIDs > 0 {
		ids = make([]uint32, in.NrMapIDs)
		n := in.NrMapIDs
		in = sys.ProgInfo{NrMapIDs: n, MapIDs: sys.NewSlicePointer(ids)}
		if err := sys.ProgGetInfoByFD(fd, &in); err != nil {
			return nil, err
		}
		runtime.KeepAlive(ids)
		ids = ids[:min(n, in.NrMapIDs)]
	}
	return &ProgramInfo{
		ID: in.ID, Tag: hex.EncodeToString(in.Tag[:]), Name: in.Name.String(), Type: Type(in.Type),
		XlatedSize: in.XlatedProgLen, JitedSize: in.JitedProgLen, VerifiedInsns: in.VerifiedInsns,
		MapIDs: ids, LoadTime: time.Duration(in.LoadTime), CreatedByUID: in.CreatedByUID,
		GPLCompatible: in.GPLCompatible(), BTFID: in.BTFID,
	}, nil
}

// Info asks the kernel to describe the program (BPF_OBJ_GET_INFO_BY_FD).
func (p *Program) Info() (*ProgramInfo, error) {
	if p == nil {
		return nil, nilProgram("info")
	}
	if p.fd.Int() < 0 {
		return nil, fmt.Errorf("program %q: info: %w", p.name, os.ErrClosed)
	}
	info, err := progInfoOf(p.fd)
	if err != nil {
		return nil, fmt.Errorf("program %q: info: %w", p.name, err)
	}
	return info, nil
}

// RunSocketFilter runs a SocketFilter program once on frame, a whole
// Ethernet frame, so that it sees what it sees on an AF_PACKET socket and
// in interp and jit: LD_ABS offset 0 reads frame[0], __sk_buff.len is
// len(frame) and __sk_buff.protocol is frame's ethertype. pkt_type is what
// the kernel's eth_type_trans makes of frame's destination address on the
// test run's device, the loopback device (HOST for 00:00:00:00:00:00,
// BROADCAST or MULTICAST, else OTHERHOST), not whether a socket saw the
// frame incoming or outgoing. It returns the program's verdict, the number
// of bytes to keep (0 drops the packet), as the kernel's u32.
//
// BPF_PROG_TEST_RUN starts a socket filter's packet at the network header
// (RunOptions.Data), so RunSocketFilter passes the frame behind a copy of
// its own Ethernet header: the kernel consumes the copy, and the network
// header it starts at is the frame's first byte. Since the kernel checks
// that an IPv4 or IPv6 packet has a whole IP header there, a frame with
// such an ethertype must be at least 20 (IPv4) or 40 (IPv6) bytes long;
// shorter ones give an error wrapping unix.EINVAL.
func (p *Program) RunSocketFilter(frame []byte) (uint32, error) {
	if p == nil {
		return 0, nilProgram("run socket filter")
	}
	if p.typ != SocketFilter {
		return 0, fmt.Errorf("program %q: run socket filter: its type is %s, want %s: %w", p.name, p.typ, SocketFilter, ErrInvalidSpec)
	}
	const ethHdr = 14
	if len(frame) < ethHdr {
		return 0, fmt.Errorf("program %q: run socket filter: %d-byte frame is shorter than an Ethernet header (14 bytes): %w", p.name, len(frame), unix.EINVAL)
	}
	// The kernel refuses an IPv4 or IPv6 packet whose network header is
	// shorter than an IP header (EINVAL); here the network header is the
	// frame's first byte.
	switch ethertype := uint16(frame[12])<<8 | uint16(frame[13]); {
	case ethertype == 0x0800 && len(frame) < 20, ethertype == 0x86dd && len(frame) < 40:
		return 0, fmt.Errorf("program %q: run socket filter: %d-byte frame with ethertype %#04x: BPF_PROG_TEST_RUN needs at least %d bytes for it (an IP header's worth): %w",
			p.name, len(frame), ethertype, map[bool]int{true: 20, false: 40}[ethertype == 0x0800], unix.EINVAL)
	}
	data := make([]byte, ethHdr+len(frame))
	copy(data, frame[:ethHdr])
	copy(data[ethHdr:], frame)
	res, err := p.Run(&RunOptions{Data: data})
	if err != nil {
		return 0, err
	}
	return res.Retval, nil
}

// RunOptions are the inputs of Program.Run (BPF_PROG_TEST_RUN).
type RunOptions struct {
	// Data is the input packet (socket filter, tc, XDP: at least an
	// Ethernet header, 14 bytes) or other data the program type takes.
	//
	// A SocketFilter does not see Data as it is: the kernel
	// (net/bpf/test_run.c, bpf_prog_test_run_skb) parses the Ethernet
	// header and starts the packet at the network header, so LD_ABS offset
	// 0 reads the first byte of the IP header, Data[14], and
	// __sk_buff.len is len(Data)-14. On an AF_PACKET SOCK_RAW socket
	// (package socket) and in interp and jit, offset 0 is the first byte
	// of the Ethernet header. SchedCLS and SchedACT programs see the
	// whole frame, as they do on a real interface.
	Data []byte
	// DataOut receives the data after the run. When nil and Data is not,
	// a buffer of len(Data)+256 bytes is allocated; programs that grow
	// the packet further need a larger one.
	DataOut []byte
	// Context is the optional input context (e.g. a struct __sk_buff).
	Context []byte
	// ContextOut receives the context after the run, if non-nil.
	ContextOut []byte
	// Repeat runs the program this many times (0 means once); Duration
	// is then the mean.
	Repeat uint32
	// Flags are BPF_PROG_TEST_RUN flags, such as RunOnCPU.
	Flags RunFlags
	// CPU is the CPU to run on, with RunOnCPU.
	CPU uint32
}

// RunResult is the outcome of Program.Run.
type RunResult struct {
	// Retval is the program's return value. BPF_PROG_TEST_RUN reports it
	// as 32 bits: the low half of r0.
	Retval uint32
	// Duration is the mean run time the kernel measured.
	Duration time.Duration
	// DataOut and ContextOut are the output buffers cut to the length
	// the kernel wrote.
	DataOut, ContextOut []byte
}

// Run runs the program once (or opts.Repeat times) on test input with
// BPF_PROG_TEST_RUN, which Linux supports for socket filter (4.12+), tc,
// XDP, raw tracepoint, tracing, flow dissector, sk_lookup, syscall and
// netfilter programs; other types give an error wrapping ErrNotSupported.
//
// A socket filter run this way sees the packet from its network header
// on, not from its Ethernet header as on a socket or in interp and jit;
// see RunOptions.Data, and RunSocketFilter for a run that sees what a
// socket sees.
func (p *Program) Run(opts *RunOptions) (*RunResult, error) {
	if p == nil {
		return nil, nilProgram("run")
	}
	if opts == nil {
		opts = &RunOptions{}
	}
	if p.fd.Int() < 0 {
		return nil, fmt.Errorf("program %q: run: %w", p.name, os.ErrClosed)
	}
	out := opts.DataOut
	if out == nil && len(opts.Data) > 0 {
		out = make([]byte, len(opts.Data)+256)
	}
	attr := sys.ProgTestRunAttr{
		ProgFD:      p.fd.Uint(),
		DataSizeIn:  uint32(len(opts.Data)),
		DataSizeOut: uint32(len(out)),
		DataIn:      sys.NewSlicePointer(opts.Data),
		DataOut:     sys.NewSlicePointer(out),
		Repeat:      opts.Repeat,
		CtxSizeIn:   uint32(len(opts.Context)),
		CtxSizeOut:  uint32(len(opts.ContextOut)),
		CtxIn:       sys.NewSlicePointer(opts.Context),
		CtxOut:      sys.NewSlicePointer(opts.ContextOut),
		Flags:       uint32(opts.Flags),
		CPU:         opts.CPU,
	}
	err := sys.ProgTestRun(&attr)
	runtime.KeepAlive(p.fd)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOSPC):
			return nil, fmt.Errorf("program %q: run: output buffer of %d bytes too small: %w", p.name, len(out), err)
		case errors.Is(err, ErrNotSupported):
			return nil, fmt.Errorf("program %q: run: BPF_PROG_TEST_RUN does not support %s programs on this kernel: %w", p.name, p.typ, ErrNotSupported)
		case errors.Is(err, unix.EINVAL) && (p.typ == SocketFilter || p.typ == SchedCLS || p.typ == SchedACT):
			return nil, fmt.Errorf("program %q: run: %w (%d bytes of data: %s test runs need at least 14 bytes, an Ethernet header, and after an IPv4/IPv6 ethertype a whole IP header; context fields other than those the kernel accepts must be zero)", p.name, err, len(opts.Data), p.typ)
		case errors.Is(err, unix.EINVAL) && p.typ == XDP:
			// bpf_test_init and bpf_prog_test_run_xdp (net/bpf/test_run.c).
			return nil, fmt.Errorf("program %q: run: %w (%d bytes of data: xdp test runs need at least 14 bytes, an Ethernet header, and at most a page less 256 bytes of headroom and the skb_shared_info tail unless the program was loaded with ProgramXDPHasFrags; a Context (struct xdp_md) must be consistent with the data)", p.name, err, len(opts.Data))
		case errors.Is(err, unix.EINVAL) && (p.typ == RawTracePoint || p.typ == RawTracePointWritable):
			// bpf_prog_test_run_raw_tp refuses data and repeat.
			return nil, fmt.Errorf("program %q: run: %w (%s test runs take only a Context, the tracepoint's arguments as u64s: no Data, DataOut, ContextOut or Repeat)", p.name, err, p.typ)
		}
		return nil, fmt.Errorf("program %q: run: %w", p.name, err)
	}
	res := &RunResult{Retval: attr.Retval, Duration: time.Duration(attr.Duration)}
	if out != nil {
		res.DataOut = out[:min(int(attr.DataSizeOut), len(out))]
	}
	if opts.ContextOut != nil {
		res.ContextOut = opts.ContextOut[:min(int(attr.CtxSizeOut), len(opts.ContextOut))]
	}
	return res, nil
}
