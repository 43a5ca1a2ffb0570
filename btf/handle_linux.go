package btf

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/sys"
)

// Handle is a BTF object in the kernel: one loaded with NewHandle, or the
// kernel's own (vmlinux, modules) opened by id or name. Maps and programs
// refer to it by FD. Close releases it; Close on nil is a no-op.
type Handle struct {
	fd     *sys.FD
	log    string
	size   uint32
	loaded bool
}

// HandleOptions controls NewHandle.
type HandleOptions struct {
	// LogLevel, when non-zero, asks for the BTF verifier log on the first
	// attempt (sys.LogLevel* bits); by default a log is fetched only when
	// the load fails.
	LogLevel uint32
	// LogSize is the first log buffer size; it grows as needed.
	LogSize int
	// Missing lists the features to replace; nil probes the running
	// kernel (KernelMissing).
	Missing *Features
}

// LoadError is a BPF_BTF_LOAD the kernel refused, with its log, whose
// last line usually names the offending type.
type LoadError struct {
	Err       error
	Log       string
	Truncated bool
}

func (e *LoadError) Error() string {
	last := strings.TrimSpace(e.Log)
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	if last == "" {
		return fmt.Sprintf("btf: load: %v", e.Err)
	}
	return fmt.Sprintf("btf: load: %v: %s", e.Err, last)
}

func (e *LoadError) Unwrap() error { return e.Err }

// NewHandle marshals spec, replacing what the kernel lacks, and loads it
// with BPF_BTF_LOAD.
func NewHandle(spec *Spec, opts *HandleOptions) (*Handle, error) {
	if spec == nil {
		return nil, fmt.Errorf("btf: NewHandle: nil spec: %w", os.ErrInvalid)
	}
	if opts == nil {
		opts = &HandleOptions{}
	}
	var missing Features
	if opts.Missing != nil {
		missing = *opts.Missing
	} else {
		var err error
		if missing, err = KernelMissing(); err != nil {
			return nil, err
		}
	}
	b, err := spec.Marshal(&MarshalOptions{Missing: missing})
	if err != nil {
		return nil, err
	}
	return NewHandleFromRaw(b, opts)
}

// NewHandleFromRaw loads a raw BTF blob with BPF_BTF_LOAD, retrying with
// a verifier log on failure as programs do (sys.LoadWithLog).
func NewHandleFromRaw(b []byte, opts *HandleOptions) (*Handle, error) {
	if opts == nil {
		opts = &HandleOptions{}
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("btf: load: empty blob: %w", ErrMalformed)
	}
	fd, log, truncated, err := sys.LoadWithLog(opts.LogLevel, opts.LogSize, func(level uint32, buf []byte) (*sys.FD, uint32, error) {
		attr := sys.BTFLoadAttr{BTF: sys.NewSlicePointer(b), BTFSize: uint32(len(b))}
		if level != 0 {
			attr.BTFLogLevel = level
			attr.BTFLogBuf = sys.NewSlicePointer(buf)
			attr.BTFLogSize = uint32(len(buf))
		}
		fd, err := sys.BTFLoad(&attr)
		return fd, attr.BTFLogTrueSize, err
	})
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("btf: load: %w (needs CAP_BPF or root)", err)
		}
		if log == "" {
			return nil, fmt.Errorf("btf: load: %w", err)
		}
		return nil, &LoadError{Err: err, Log: log, Truncated: truncated}
	}
	return &Handle{fd: fd, log: log, size: uint32(len(b)), loaded: true}, nil
}

// FD returns the handle's descriptor, for btf_fd and prog_btf_fd; nil
// for a nil handle.
func (h *Handle) FD() *sys.FD {
	if h == nil {
		return nil
	}
	return h.fd
}

// Log returns the verifier log of a load made with HandleOptions.LogLevel.
func (h *Handle) Log() string {
	if h == nil {
		return ""
	}
	return h.log
}

// Close releases the handle.
func (h *Handle) Close() error {
	if h == nil {
		return nil
	}
	return h.fd.Close()
}

// HandleInfo describes a kernel BTF object.
type HandleInfo struct {
	ID     uint32
	Name   string // "vmlinux", a module's name, or "" for loaded BTF
	Size   uint32 // of the raw blob
	Kernel bool   // vmlinux or module BTF
}

// Info asks the kernel about the handle's object.
func (h *Handle) Info() (*HandleInfo, error) {
	if h == nil || h.fd == nil {
		return nil, fmt.Errorf("btf: info of a nil handle: %w", os.ErrInvalid)
	}
	name := make([]byte, 64)
	info := sys.BTFInfo{Name: sys.NewSlicePointer(name), NameLen: uint32(len(name))}
	if err := sys.BTFGetInfoByFD(h.fd, &info); err != nil {
		return nil, fmt.Errorf("btf: info: %w", err)
	}
	n := min(int(info.NameLen), len(name))
	if i := strings.IndexByte(string(name[:n]), 0); i >= 0 {
		n = i
	}
	return &HandleInfo{ID: info.ID, Name: string(name[:n]), Size: info.BTFSize, Kernel: info.KernelBTF != 0}, nil
}

// Spec reads the object's BTF back from the kernel and parses it; for a
// module's BTF, base is the spec it is split from (KernelSpec if nil).
func (h *Handle) Spec(base *Spec) (*Spec, error) {
	info, err := h.Info()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, info.Size)
	bi := sys.BTFInfo{BTF: sys.NewSlicePointer(buf), BTFSize: uint32(len(buf))}
	if err := sys.BTFGetInfoByFD(h.fd, &bi); err != nil {
		return nil, fmt.Errorf("btf: read object %d: %w", info.ID, err)
	}
	if info.Kernel && info.Name != "vmlinux" {
		if base == nil {
			if base, err = KernelSpec(); err != nil {
				return nil, err
			}
		}
		return ParseSplit(buf, base)
	}
	return Parse(buf)
}

// HandleByID opens the kernel BTF object with the given id.
func HandleByID(id uint32) (*Handle, error) {
	fd, err := sys.BTFGetFDByID(id)
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("btf: object %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("btf: object %d: %w", id, err)
	}
	return &Handle{fd: fd}, nil
}

// HandleByName opens the kernel's BTF object with the given name:
// "vmlinux" or a module's name (Linux 5.11+).
func HandleByName(name string) (*Handle, error) {
	var found *Handle
	err := WalkHandles(func(h *Handle, info *HandleInfo) bool {
		if info.Kernel && info.Name == name {
			found = h
			return false
		}
		h.Close()
		return true
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("btf: kernel BTF object %q: %w", name, ErrNotFound)
	}
	return found, nil
}

// WalkHandles opens each BTF object in the kernel in id order and calls
// fn, which owns the handle and returns false to stop.
func WalkHandles(fn func(*Handle, *HandleInfo) bool) error {
	id := uint32(0)
	for {
		next, err := sys.BTFGetNextID(id)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("btf: list objects: %w", err)
		}
		id = next
		h, err := HandleByID(id)
		if errors.Is(err, ErrNotFound) {
			continue // unloaded meanwhile
		}
		if err != nil {
			return err
		}
		info, err := h.Info()
		if err != nil {
			h.Close()
			return err
		}
		if !fn(h, info) {
			return nil
		}
	}
}

var probe struct {
	once    sync.Once
	missing Features
	err     error
}

// KernelMissing probes the running kernel for each feature in
// AllFeatures, by loading a small blob that uses it, and reports those it
// lacks. The result is cached.
func KernelMissing() (Features, error) {
	probe.once.Do(func() {
		for f := Features(1); f <= FeatQmarkDatasec; f <<= 1 {
			b, err := MarshalTypes(probeTypes(f), nil)
			if err != nil {
				probe.err = err
				return
			}
			h, err := NewHandleFromRaw(b, &HandleOptions{})
			if err == nil {
				h.Close()
				continue
			}
			if errors.Is(err, unix.EPERM) {
				probe.err = err
				return
			}
			probe.missing |= f
		}
	})
	return probe.missing, probe.err
}

// probeTypes returns types that only a kernel with feature f accepts.
func probeTypes(f Features) []Type {
	i32 := &Int{Name: "int", Size: 4, Encoding: Signed, Bits: 32}
	switch f {
	case FeatFunc:
		return []Type{&Func{Name: "f", Type: &FuncProto{Return: i32}, Linkage: StaticFunc}}
	case FeatGlobalFunc:
		return []Type{&Func{Name: "f", Type: &FuncProto{Return: i32}, Linkage: GlobalFunc}}
	case FeatDatasec:
		v := &Var{Name: "x", Type: i32, Linkage: GlobalVar}
		return []Type{&Datasec{Name: ".data", Size: 4, Vars: []VarSecinfo{{Type: v, Size: 4}}}}
	case FeatFloat:
		return []Type{&Float{Name: "float", Size: 4}}
	case FeatDeclTag:
		v := &Var{Name: "x", Type: i32, Linkage: GlobalVar}
		return []Type{&DeclTag{Value: "tag", Type: v, Index: -1}}
	case FeatTypeTag:
		return []Type{&Pointer{Target: &TypeTag{Value: "tag", Type: i32}}}
	case FeatEnum64:
		return []Type{&Enum{Name: "e", Size: 8, Is64: true, Values: []EnumValue{{Name: "A", Value: 1 << 40}}}}
	case FeatQmarkDatasec:
		v := &Var{Name: "x", Type: i32, Linkage: GlobalVar}
		return []Type{&Datasec{Name: "?.data", Size: 4, Vars: []VarSecinfo{{Type: v, Size: 4}}}}
	}
	return nil
}
