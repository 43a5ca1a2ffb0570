//go:build linux

package prog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/mapvalue"
	"github.com/purebpf/purebpf/sys"
	"golang.org/x/sys/unix"
)

// CollectionOptions tunes NewCollection. A nil *CollectionOptions means
// the defaults.
type CollectionOptions struct {
	// Maps replace maps of the spec by name: the programs use them
	// instead of creating their own. Their type, key and value sizes
	// must match. The collection does not own them: Close leaves them
	// open.
	Maps map[string]*Map
	// PinPath is the bpffs directory where maps with pinning
	// LIBBPF_PIN_BY_NAME are pinned under their names: an existing
	// compatible pin is reused, an incompatible one is an error. Default
	// /sys/fs/bpf, as libbpf's.
	PinPath string
	// Programs tunes every program's load (log level and size).
	Programs ProgramOptions
	// KernelConfig supplies the kernel configuration for kconfig externs
	// (CONFIG_* name to value as the config file writes it). By default
	// it is read from /proc/config.gz or /boot/config-$(uname -r) when an
	// object has kconfig externs.
	KernelConfig map[string]string
	// CORETargets are the BTF specs CO-RE relocations are resolved
	// against, in order; empty means the running kernel's and its
	// modules'.
	CORETargets []*btf.Spec
}

// Collection is a loaded object: its programs and maps in the kernel and
// its global variables.
type Collection struct {
	Programs  map[string]*Program
	Maps      map[string]*Map
	Variables map[string]*Variable

	owned     []*Map
	pinned    []string
	btf       *btf.Handle // the object's BTF in the kernel
	btfFD     *sys.FD     // btf's descriptor, nil without BTF
	kernelBTF             // module BTF objects opened for ksyms, kfuncs and attach targets
	kconfig   []byte      // the .kconfig map's value for this load
	ksymAddrs map[string]uint64
	// registered are the struct_ops maps whose structure this collection
	// registered; Close unregisters them.
	registered []*Map
	mmaps      [][]byte
	spec       *CollectionSpec
	closed     bool
	created    map[string]bool
}

// Variable is a global variable of a loaded collection, read and written
// through the memory mapping of its global data map (BPF_F_MMAPABLE,
// Linux 5.5+). Variables in .rodata are read-only.
type Variable struct {
	name     string
	mem      []byte
	readOnly bool
}

// Name returns the variable's name.
func (v *Variable) Name() string { return v.name }

// Size returns the variable's size in bytes.
func (v *Variable) Size() int { return len(v.mem) }

// ReadOnly reports whether the variable is frozen (.rodata, .kconfig).
func (v *Variable) ReadOnly() bool { return v.readOnly }

// Get copies the variable's current value into out, a []byte or a
// pointer to plain fixed-size data of the variable's size.
func (v *Variable) Get(out any) error {
	if v.mem == nil {
		return fmt.Errorf("variable %q: %w", v.name, os.ErrClosed)
	}
	b, err := mapvalue.View(out, len(v.mem), "variable "+v.name)
	if err != nil {
		return fmt.Errorf("variable %q: %w", v.name, err)
	}
	copy(b, v.mem)
	return nil
}

// Set writes value, a []byte or plain fixed-size data of the variable's
// size, into the variable. The program sees it at once.
func (v *Variable) Set(value any) error {
	if v.mem == nil {
		return fmt.Errorf("variable %q: %w", v.name, os.ErrClosed)
	}
	if v.readOnly {
		return fmt.Errorf("variable %q is read-only (.rodata is frozen after load): %w", v.name, unix.EPERM)
	}
	b, err := mapvalue.Encode(value, len(v.mem), "variable "+v.name, nil)
	if err != nil {
		return fmt.Errorf("variable %q: %w", v.name, err)
	}
	copy(v.mem, b)
	return nil
}

// kernelMapName returns the name a map gets in the kernel: global data
// maps are prefixed with (part of) the object name as libbpf does
// ("minimal.rodata"), names with a second dot (".data.custom") are not,
// and every name is cut to 15 bytes.
func kernelMapName(objName string, m *ObjectMapSpec) string {
	name := m.Name
	if !strings.HasPrefix(name, ".") {
		return name
	}
	sfx := max(7, len(name))
	if sfx >= sys.ObjNameLen {
		sfx = sys.ObjNameLen - 1
	}
	pfx := 0
	if !strings.Contains(name[1:], ".") {
		pfx = min(sys.ObjNameLen-sfx-1, len(objName))
	}
	out := objName[:pfx] + name[:min(sfx, len(name))]
	b := []byte(out)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

// NewCollection loads spec into the kernel: its BTF, then every map
// (created with BTF key and value types, pinned or reusing a pin, or
// replaced by opts.Maps; global data written and .rodata frozen), then
// every program (with BTF func_info and line_info), and last the prog
// array and map-in-map initialisers. If any step fails, everything
// created so far is closed and no pin is left behind.
func NewCollection(spec *CollectionSpec, opts *CollectionOptions) (*Collection, error) {
	if spec == nil {
		return nil, fmt.Errorf("%w: nil collection spec", ErrInvalidSpec)
	}
	for _, name := range spec.ProgramNames() {
		if spec.Programs[name] == nil {
			return nil, fmt.Errorf("%w: program %q is a nil *ProgramSpec", ErrInvalidSpec, name)
		}
	}
	for _, name := range spec.MapNames() {
		if spec.Maps[name] == nil {
			return nil, fmt.Errorf("%w: map %q is a nil *ObjectMapSpec", ErrInvalidSpec, name)
		}
	}
	if opts == nil {
		opts = &CollectionOptions{}
	}
	ensureMemlock()
	c := &Collection{
		Programs: map[string]*Program{}, Maps: map[string]*Map{}, Variables: map[string]*Variable{},
		spec: spec, created: map[string]bool{},
	}
	ok := false
	defer func() {
		if !ok {
			c.abort()
		}
	}()
	if err := c.fillKconfig(opts); err != nil {
		return nil, err
	}
	if spec.btf != nil {
		// As libbpf: BTF is optional; without it maps lose their
		// key/value types and programs their line info.
		if h, err := btf.NewHandle(spec.btf.spec, nil); err == nil {
			c.btf, c.btfFD = h, h.FD()
		}
	}
	for _, name := range spec.MapNames() {
		if _, err := c.mapFor(name, opts); err != nil {
			return nil, err
		}
	}
	for _, name := range spec.ProgramNames() {
		if !spec.Programs[name].Autoload {
			continue
		}
		if _, used := spec.structOpsUseOf(name); spec.Programs[name].Type == StructOps && !used {
			continue // as libbpf: a struct_ops program no struct_ops map uses is not loaded
		}
		p, err := c.loadProgram(spec.Programs[name], opts)
		if err != nil {
			return nil, err
		}
		c.Programs[name] = p
	}
	if err := c.initialise(); err != nil {
		return nil, err
	}
	if err := c.pinMaps(opts); err != nil {
		return nil, err
	}
	if err := c.mapVariables(); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

func (c *Collection) fillKconfig(opts *CollectionOptions) error {
	if c.spec.Maps[".kconfig"] == nil {
		return nil
	}
	cfg := opts.KernelConfig
	if cfg == nil && c.spec.needsKernelConfig() {
		var err error
		if cfg, err = HostKernelConfig(); err != nil {
			return err
		}
	}
	// The values libbpf computes itself rather than reading the config.
	// As libbpf, LINUX_HAS_BPF_COOKIE says whether bpf_get_attach_cookie
	// (helper 174, Linux 5.15) exists; every architecture Go and BPF
	// trampolines share wraps syscalls (ARCH_HAS_SYSCALL_WRAPPER).
	cookie := "n"
	if HaveHelper(Kprobe, insn.HelperFunc(174)) == nil {
		cookie = "y"
	}
	data, err := c.spec.KconfigData(cfg, map[string]string{
		"LINUX_KERNEL_VERSION":      fmt.Sprint(kernelCode()),
		"LINUX_HAS_BPF_COOKIE":      cookie,
		"LINUX_HAS_SYSCALL_WRAPPER": "y",
	})
	if err != nil {
		return err
	}
	c.kconfig = data
	return nil
}

// mapFor returns the collection's map called name, creating it (and its
// inner map template) first if needed.
func (c *Collection) mapFor(name string, opts *CollectionOptions) (*Map, error) {
	if m := c.Maps[name]; m != nil {
		return m, nil
	}
	ms := c.spec.Maps[name]
	if ms == nil {
		return nil, fmt.Errorf("%w: no map %q in the collection spec", ErrInvalidSpec, name)
	}
	if r := opts.Maps[name]; r != nil {
		if r.fd.Int() < 0 {
			return nil, fmt.Errorf("map %q given in CollectionOptions.Maps: %w", name, os.ErrClosed)
		}
		if why := incompatible(r.MapSpec(), ms); why != "" {
			return nil, fmt.Errorf("%w: map %q given in CollectionOptions.Maps: %s", ErrInvalidSpec, name, why)
		}
		c.Maps[name] = r
		return r, nil
	}
	if ms.Pinning == PinByName {
		path := filepath.Join(collectionPinDir(opts), name)
		if _, err := os.Lstat(path); err == nil {
			m, err := LoadPinnedMap(path)
			if err != nil {
				return nil, fmt.Errorf("map %q: reuse pin: %w", name, err)
			}
			why := incompatible(m.MapSpec(), ms)
			var info sys.MapInfo
			if err := sys.MapGetInfoByFD(m.fd, &info); err != nil {
				m.Close()
				return nil, fmt.Errorf("map %q: reuse pin %s: %w", name, path, err)
			}
			if info.MapExtra != ms.MapExtra {
				// libbpf's map_is_reuse_compat compares map_extra too.
				why = strings.TrimPrefix(why+fmt.Sprintf(", map_extra %#x, want %#x", info.MapExtra, ms.MapExtra), ", ")
			}
			if why != "" {
				m.Close()
				return nil, fmt.Errorf("%w: map %q: the map pinned at %s is incompatible: %s", ErrInvalidSpec, name, path, why)
			}
			c.Maps[name] = m
			c.owned = append(c.owned, m)
			return m, nil
		}
	}
	m, err := c.createMap(ms)
	if err != nil {
		return nil, err
	}
	c.Maps[name] = m
	c.owned = append(c.owned, m)
	c.created[name] = true
	if data := ms.Data; len(data) > 0 {
		if name == ".kconfig" {
			// Filled for this load; the spec stays as it was read, so
			// that NewCollection may run on it concurrently.
			data = c.kconfig
		}
		if err := m.Update(uint32(0), data, UpdateAny); err != nil {
			return nil, fmt.Errorf("map %q: write initial data: %w", name, err)
		}
	}
	if ms.Freeze {
		if err := m.Freeze(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func collectionPinDir(opts *CollectionOptions) string {
	if opts.PinPath != "" {
		return opts.PinPath
	}
	return BPFFSPath
}

// incompatible says why an existing map cannot stand for spec, or "".
func incompatible(have MapSpec, want *ObjectMapSpec) string {
	var why []string
	if have.Type != want.Type {
		why = append(why, fmt.Sprintf("type %s, want %s", have.Type, want.Type))
	}
	if have.KeySize != want.KeySize {
		why = append(why, fmt.Sprintf("key size %d, want %d", have.KeySize, want.KeySize))
	}
	if have.ValueSize != want.ValueSize {
		why = append(why, fmt.Sprintf("value size %d, want %d", have.ValueSize, want.ValueSize))
	}
	if have.MaxEntries != want.MaxEntries && !(want.Type == PerfEventArray && want.MaxEntries == 0) {
		why = append(why, fmt.Sprintf("max entries %d, want %d", have.MaxEntries, want.MaxEntries))
	}
	if have.Flags != want.Flags {
		why = append(why, fmt.Sprintf("flags %#x, want %#x", have.Flags, want.Flags))
	}
	return strings.Join(why, ", ")
}

// noBTFMapTypes are the map types libbpf creates without BTF key and
// value types, because the kernel refuses them for these.
func noBTFMapType(t MapType) bool {
	switch t {
	case PerfEventArray, StackTrace, CgroupArray, ArrayOfMaps, HashOfMaps, DevMap, DevMapHash,
		CPUMap, XSKMap, SockMap, SockHash, Queue, Stack, RingBuf, ProgArray, UserRingBuf:
		return true
	}
	return false
}

// createMap creates one map of the spec, with BTF when the object has it.
func (c *Collection) createMap(ms *ObjectMapSpec) (*Map, error) {
	spec := ms.MapSpec
	if spec.Type == PerfEventArray && spec.MaxEntries == 0 {
		n, err := PossibleCPUs()
		if err != nil {
			return nil, fmt.Errorf("map %q: %w", ms.Name, err)
		}
		spec.MaxEntries = uint32(n)
	}
	attr := sys.MapCreateAttr{
		MapType: sys.MapType(spec.Type), KeySize: spec.KeySize, ValueSize: spec.ValueSize,
		MaxEntries: spec.MaxEntries, MapFlags: sys.MapFlags(spec.Flags), NUMANode: ms.NumaNode,
		MapName: sys.NewObjName(kernelMapName(c.spec.ObjectName, ms)), MapExtra: ms.MapExtra,
	}
	if ms.InnerMap != nil {
		inner, err := c.createMap(ms.InnerMap)
		if err != nil {
			return nil, fmt.Errorf("map %q: inner map: %w", ms.Name, err)
		}
		defer inner.Close()
		attr.InnerMapFD = inner.fd.Uint()
		defer runtime.KeepAlive(inner.fd)
	}
	if ms.StructOps != nil {
		if err := c.structOpsMapAttr(ms, &attr); err != nil {
			return nil, err
		}
		spec.ValueSize = attr.ValueSize
	}
	if c.btfFD != nil && ms.ValueTypeID != 0 && !noBTFMapType(spec.Type) {
		attr.BTFFD = c.btfFD.Uint()
		attr.BTFKeyTypeID = ms.KeyTypeID
		attr.BTFValueTypeID = ms.ValueTypeID
	}
	fd, err := sys.MapCreate(&attr)
	if err != nil && attr.BTFFD != 0 {
		// As libbpf: retry without BTF.
		attr.BTFFD, attr.BTFKeyTypeID, attr.BTFValueTypeID = 0, 0, 0
		fd, err = sys.MapCreate(&attr)
	}
	if err != nil && errors.Is(err, unix.EINVAL) && ms.Data != nil && attr.MapFlags&sys.MapFlags(MapMmapable) != 0 {
		// Global data before Linux 5.5, which lacks BPF_F_MMAPABLE:
		// as libbpf, create it without; Variables are then unavailable.
		attr.MapFlags &^= sys.MapFlags(MapMmapable)
		spec.Flags &^= MapMmapable
		fd, err = sys.MapCreate(&attr)
	}
	runtime.KeepAlive(c.btfFD)
	if err != nil {
		what := fmt.Sprintf("create map %q (%s, key %d, value %d, max entries %d, flags %#x)",
			ms.Name, spec.Type, spec.KeySize, spec.ValueSize, spec.MaxEntries, spec.Flags)
		if errors.Is(err, unix.EINVAL) {
			if perr := HaveMapType(spec.Type); errors.Is(perr, ErrNotSupported) {
				return nil, fmt.Errorf("%s: %w", what, perr)
			}
		}
		return nil, explainErrno(what, err, 0)
	}
	spec.Name = ms.Name
	return newMap(fd, spec)
}

// loadProgram loads one program of the collection.
func (c *Collection) loadProgram(ps *ProgramSpec, opts *CollectionOptions) (*Program, error) {
	if ps.Type == UnspecifiedProgram {
		return nil, fmt.Errorf("%w: program %q: section %q names no program type libbpf knows; set ProgramSpec.Type", ErrInvalidSpec, ps.Name, ps.SectionName)
	}
	if len(ps.Instructions) == 0 {
		// BPF_PROG_LOAD's E2BIG would blame a size limit.
		return nil, fmt.Errorf("%w: program %q (section %q) has no instructions", ErrInvalidSpec, ps.Name, ps.SectionName)
	}
	if err := ps.checkMetadata(); err != nil {
		return nil, err
	}
	p := &Program{name: ps.Name, typ: ps.Type, maps: map[string]*Map{}, license: ps.License}
	var fdArray []int32
	insns := make(insn.Instructions, len(ps.Instructions))
	copy(insns, ps.Instructions)
	for k := range insns {
		i := &insns[k]
		switch {
		case i.IsMapReference() && i.Ref != "":
			m, err := c.mapFor(i.Ref, opts)
			if err != nil {
				return nil, fmt.Errorf("load program %q: %w", ps.Name, err)
			}
			p.maps[i.Ref] = m
			i.SetMapFD(int32(m.fd.Int()))
		case i.IsKfuncCall() && i.Ref != "":
			id, h, err := c.ksym(i.Ref, true)
			if err != nil {
				return nil, fmt.Errorf("load program %q: instruction %d: %w", ps.Name, k, err)
			}
			i.Imm, i.Offset = int64(id), 0
			if h != nil {
				// A module's kfunc: off indexes fd_array, whose slot 0
				// stands for vmlinux.
				if len(fdArray) == 0 {
					fdArray = append(fdArray, 0)
				}
				fdArray = append(fdArray, int32(h.FD().Int()))
				i.Offset = int16(len(fdArray) - 1)
			}
		case i.IsLoadImm64() && insn.PseudoSrc(i.Src) == insn.PseudoBTFID && i.Ref != "" && c.typeless(i.Ref):
			addr, err := c.kallsyms(i.Ref)
			if err != nil {
				return nil, fmt.Errorf("load program %q: instruction %d: %w", ps.Name, k, err)
			}
			*i = insn.LoadImm64(i.Dst, int64(addr)).WithLabel(i.Label)
		case i.IsLoadImm64() && insn.PseudoSrc(i.Src) == insn.PseudoBTFID && i.Ref != "":
			id, h, err := c.ksym(i.Ref, false)
			if err != nil {
				return nil, fmt.Errorf("load program %q: instruction %d: %w", ps.Name, k, err)
			}
			switch {
			case id == 0:
				// A missing __weak ksym reads as NULL.
				*i = insn.LoadImm64(i.Dst, 0).WithLabel(i.Label)
			case h != nil:
				// The second half names the module's BTF object.
				i.Imm = int64(uint64(id) | uint64(uint32(h.FD().Int()))<<32)
			default:
				i.Imm = int64(id)
			}
		}
	}
	var poisoned []string
	if len(ps.coreRelos) > 0 {
		var err error
		if insns, poisoned, err = c.relocateCORE(ps, insns, opts); err != nil {
			return nil, err
		}
	}
	code, err := insns.Marshal()
	if err != nil {
		return nil, fmt.Errorf("load program %q: %w", ps.Name, err)
	}
	p.nInsns = len(code) / sys.InsnSize
	license, err := sys.NewStringPointer(ps.License)
	if err != nil {
		return nil, fmt.Errorf("load program %q: license: %w", ps.Name, err)
	}
	attr := sys.ProgLoadAttr{
		ProgType: sys.ProgType(ps.Type), InsnCnt: uint32(p.nInsns), Insns: sys.NewSlicePointer(code),
		License: license, ProgFlags: uint32(ps.Flags | opts.Programs.Flags), ProgName: sys.NewObjName(ps.Name),
		ExpectedAttachType: sys.AttachType(ps.AttachType), KernVersion: ps.KernelVersion,
	}
	if ps.Type == Kprobe && attr.KernVersion == 0 {
		attr.KernVersion = kernelCode()
	}
	if ps.Type == StructOps {
		id, member, err := c.structOpsAttach(ps)
		if err != nil {
			return nil, fmt.Errorf("load program %q: %w", ps.Name, err)
		}
		attr.AttachBTFID, attr.ExpectedAttachType = id, member
	}
	if ps.Type == Tracing || ps.Type == LSM {
		id, h, err := c.attachBTFID(ps)
		if err != nil {
			return nil, fmt.Errorf("load program %q: %w", ps.Name, err)
		}
		attr.AttachBTFID = id
		if h != nil {
			attr.AttachProgOrBTFObjFD = h.FD().Uint()
		}

	}
	var fdBytes []byte
	if len(fdArray) > 0 {
		fdBytes = int32Bytes(fdArray)
		attr.FDArray = sys.NewSlicePointer(fdBytes)
	}
	var fi, li []byte
	if c.btfFD != nil && len(ps.funcInfos) > 0 {
		offs := insns.SlotOffsets()
		fis := make([]btf.FuncInfo, len(ps.funcInfos))
		for k, f := range ps.funcInfos {
			fis[k] = btf.FuncInfo{InsnOff: uint32(offs[f.insn] * insn.SlotSize), TypeID: btf.TypeID(f.typeID)}
		}
		lis := make([]btf.LineInfo, len(ps.lineInfos))
		for k, l := range ps.lineInfos {
			lis[k] = btf.LineInfo{
				InsnOff: uint32(offs[l.Instruction] * insn.SlotSize), FileNameOff: l.fileOff, LineOff: l.lineOff,
				LineNumber: l.LineNum, Column: l.Column,
			}
		}
		fi, li = btf.MarshalFuncInfos(fis, 0), btf.MarshalLineInfos(lis, 0)
		attr.ProgBTFFD = c.btfFD.Uint()
		attr.FuncInfo, attr.FuncInfoCnt, attr.FuncInfoRecSize = sys.NewSlicePointer(fi), uint32(len(fis)), 8
		if len(lis) > 0 {
			attr.LineInfo, attr.LineInfoCnt, attr.LineInfoRecSize = sys.NewSlicePointer(li), uint32(len(lis)), 16
		}
	}
	popts := opts.Programs
	fd, log, err := p.load(&attr, &popts)
	if err != nil && popts.LogLevel == 0 && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP)) {
		// The verifier explains these in its log too ("failed to find
		// the address for kernel symbol", attach target problems).
		popts.LogLevel = LogBranch
		fd2, log2, err2 := p.load(&attr, &popts)
		var ve *VerifierError
		switch {
		case err2 == nil:
			fd, log, err = fd2, log2, nil
		case errors.As(err2, &ve) && strings.TrimSpace(ve.Log) != "":
			err = err2
		}
	}
	runtime.KeepAlive(fi)
	runtime.KeepAlive(li)
	runtime.KeepAlive(fdBytes)
	for _, h := range c.modules {
		runtime.KeepAlive(h)
	}
	runtime.KeepAlive(c.btfFD)
	for _, m := range p.maps {
		runtime.KeepAlive(m.fd)
	}
	if err != nil {
		if len(poisoned) > 0 {
			// The verifier only sees a call to an unknown function
			// (0xbad2310), which the load error takes for a helper.
			return nil, fmt.Errorf("section %q: program %q reaches a CO-RE relocation that found no target in the kernel's BTF: %s; the verifier says: %w",
				ps.SectionName, ps.Name, strings.Join(poisoned, "; "), err)
		}
		return nil, fmt.Errorf("section %q: %w", ps.SectionName, err)
	}
	p.fd, p.log = fd, log
	return p, nil
}

func int32Bytes(v []int32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

// relocateCORE applies the program's CO-RE relocations against the
// kernel's BTF (or opts.CORETargets) with package btf. It also returns
// the reasons of the relocations it had to poison.
func (c *Collection) relocateCORE(ps *ProgramSpec, insns insn.Instructions, opts *CollectionOptions) (insn.Instructions, []string, error) {
	return relocateCORE(ps, c.spec.btf.spec, insns, opts.CORETargets)
}

// kernelBTF finds types in the kernel's BTF, keeping open the module BTF
// objects it found them in until close.
type kernelBTF struct {
	modules map[string]*btf.Handle
}

// closeModules closes the module BTF objects.
func (c *kernelBTF) closeModules() {
	for _, h := range c.modules {
		h.Close()
	}
	c.modules = nil
}

// kernelType finds a type by name and kind in the kernel's BTF: vmlinux,
// then the loaded modules. For a module it returns the module's BTF
// object, which the load must name (fd_array, attach_btf_obj_fd).
func (c *kernelBTF) kernelType(name string, kind btf.Kind) (uint32, *btf.Handle, error) {
	ks, err := btf.KernelSpec()
	if err != nil {
		return 0, nil, fmt.Errorf("kernel BTF: %w", err)
	}
	if t, err := ks.TypeByName(name, kind); err == nil {
		id, err := ks.TypeID(t)
		return uint32(id), nil, err
	}
	mods, _ := btf.KernelModules()
	for _, mod := range mods {
		ms, err := btf.ModuleSpec(mod)
		if err != nil {
			continue
		}
		t, err := ms.TypeByName(name, kind)
		if err != nil {
			continue
		}
		id, err := ms.TypeID(t)
		if err != nil || id < ms.FirstID() {
			continue // a vmlinux type seen through the module
		}
		h := c.modules[mod]
		if h == nil {
			if h, err = btf.HandleByName(mod); err != nil {
				return 0, nil, fmt.Errorf("%v %q is in module %s: %w", kind, name, mod, err)
			}
			if c.modules == nil {
				c.modules = map[string]*btf.Handle{}
			}
			c.modules[mod] = h
		}
		return uint32(id), h, nil
	}
	return 0, nil, fmt.Errorf("no %v %q in the kernel's BTF (vmlinux and %d modules): %w", kind, name, len(mods), btf.ErrNotFound)
}

func (c *Collection) typeless(name string) bool {
	for _, e := range c.spec.Externs {
		if e.Name == name {
			return e.typeless
		}
	}
	return false
}

// kallsyms returns the address of a typeless ksym from /proc/kallsyms, as
// libbpf does; a missing __weak one is 0.
func (c *Collection) kallsyms(name string) (uint64, error) {
	weak := false
	for _, e := range c.spec.Externs {
		if e.Name == name {
			weak = e.Weak
		}
	}
	if c.ksymAddrs == nil {
		f, err := os.Open("/proc/kallsyms")
		if err != nil {
			if weak {
				return 0, nil
			}
			return 0, fmt.Errorf("ksym %q: %w", name, err)
		}
		c.ksymAddrs, err = parseKallsyms(f, c.typelessNames())
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("ksym %q: %w", name, err)
		}
	}
	addr, ok := c.ksymAddrs[name]
	switch {
	case ok:
		return addr, nil
	case weak:
		return 0, nil
	}
	return 0, fmt.Errorf("ksym %q: not in /proc/kallsyms (kernel data symbols need CONFIG_KALLSYMS_ALL; addresses need root or kernel.kptr_restrict=0)", name)
}

func (c *Collection) typelessNames() map[string]bool {
	names := map[string]bool{}
	for _, e := range c.spec.Externs {
		if e.typeless {
			names[e.Name] = true
		}
	}
	return names
}

// ksym resolves a ksym: a VAR for variables, a FUNC for kfuncs. A
// missing __weak ksym gives id 0.
func (c *Collection) ksym(name string, fn bool) (uint32, *btf.Handle, error) {
	var e *Extern
	for _, x := range c.spec.Externs {
		if x.Name == name {
			e = x
		}
	}
	if e == nil {
		return 0, nil, fmt.Errorf("%w: ksym %q is not an extern of the object", ErrInvalidSpec, name)
	}
	kind := btf.KindVar
	if fn {
		kind = btf.KindFunc
	}
	id, h, err := c.kernelType(name, kind)
	if err != nil {
		if e.Weak {
			return 0, nil, nil
		}
		return 0, nil, fmt.Errorf("ksym %q: %w", name, err)
	}
	return id, h, nil
}

// attachBTFID finds the kernel BTF id a tracing or LSM program attaches
// to (attachTarget). A target in a module comes with the module's BTF
// object.
func (c *Collection) attachBTFID(ps *ProgramSpec) (uint32, *btf.Handle, error) {
	if ps.AttachTo == "" {
		return 0, nil, fmt.Errorf("%w: section %q names no attach target", ErrInvalidSpec, ps.SectionName)
	}
	return c.attachTarget(ps.AttachTo, ps.AttachType)
}

// attachTarget finds the kernel BTF id of target for a program with the
// expected attach type at, as libbpf does: tp_btf/X is the typedef
// btf_trace_X, fentry, fexit and fmod_ret/X the function X, lsm/X
// bpf_lsm_X, iter/X bpf_iter_X. A target in a module comes with the
// module's BTF object.
func (c *kernelBTF) attachTarget(target string, at AttachType) (uint32, *btf.Handle, error) {
	name, kind := target, btf.KindFunc
	switch sys.AttachType(at) {
	case sys.AttachTraceRawTp:
		name, kind = "btf_trace_"+name, btf.KindTypedef
	case sys.AttachLSMMac, attachLSMCgroup:
		name = "bpf_lsm_" + name
	case sys.AttachTraceIter:
		name = "bpf_iter_" + name
	}
	id, h, err := c.kernelType(name, kind)
	if err != nil {
		return 0, nil, fmt.Errorf("attach target %q: %w", target, err)
	}
	return id, h, nil
}

// initialise writes the prog array and map-in-map initialisers.
func (c *Collection) initialise() error {
	for _, name := range c.spec.MapNames() {
		ms := c.spec.Maps[name]
		if ms.StructOps != nil && c.created[name] {
			if err := c.fillStructOps(ms); err != nil {
				return err
			}
			continue
		}
		if len(ms.Contents) == 0 || !c.created[name] {
			continue
		}
		m := c.Maps[name]
		for _, e := range ms.Contents {
			ref, ok := e.Value.(string)
			if !ok {
				if err := m.Update(e.Key, e.Value, UpdateAny); err != nil {
					return err
				}
				continue
			}
			var fd int
			switch ms.Type {
			case ProgArray:
				p := c.Programs[ref]
				if p == nil && c.spec.Programs[ref] != nil && !c.spec.Programs[ref].Autoload {
					continue // as libbpf: a slot for a program not loaded stays empty
				}
				if p == nil {
					return fmt.Errorf("%w: prog array %q: slot %d refers to program %q, which is not in the collection", ErrInvalidSpec, name, e.Key, ref)
				}
				fd = p.FD()
			default:
				inner, err := c.mapFor(ref, &CollectionOptions{})
				if err != nil {
					return fmt.Errorf("map-in-map %q: slot %d: %w", name, e.Key, err)
				}
				fd = inner.FD()
			}
			if err := m.Update(e.Key, uint32(fd), UpdateAny); err != nil {
				return fmt.Errorf("initialise %q slot %d with %q: %w", name, e.Key, ref, err)
			}
		}
	}
	return nil
}

// pinMaps pins the maps with pinning by name that were created here.
func (c *Collection) pinMaps(opts *CollectionOptions) error {
	for _, name := range c.spec.MapNames() {
		ms := c.spec.Maps[name]
		if ms.Pinning != PinByName || !c.created[name] {
			continue
		}
		path := filepath.Join(collectionPinDir(opts), name)
		if err := c.Maps[name].Pin(path); err != nil {
			return err
		}
		c.pinned = append(c.pinned, path)
	}
	return nil
}

// mapVariables maps the global data maps into memory for Variables.
func (c *Collection) mapVariables() error {
	mems := map[string][]byte{}
	for _, name := range c.spec.VariableNames() {
		vs := c.spec.Variables[name]
		ms := c.spec.Maps[vs.Map]
		m := c.Maps[vs.Map]
		if m == nil || ms.Flags&MapMmapable == 0 || m.MapSpec().Flags&MapMmapable == 0 {
			continue
		}
		mem, ok := mems[vs.Map]
		if !ok {
			prot := unix.PROT_READ | unix.PROT_WRITE
			if ms.Freeze {
				prot = unix.PROT_READ
			}
			size := (int(ms.ValueSize) + os.Getpagesize() - 1) &^ (os.Getpagesize() - 1)
			var err error
			mem, err = unix.Mmap(m.FD(), 0, size, prot, unix.MAP_SHARED)
			runtime.KeepAlive(m)
			if err != nil {
				return fmt.Errorf("map %q: mmap for variables: %w", vs.Map, err)
			}
			mems[vs.Map] = mem
			c.mmaps = append(c.mmaps, mem)
		}
		c.Variables[name] = &Variable{name: name, mem: mem[vs.Offset : vs.Offset+vs.Size : vs.Offset+vs.Size], readOnly: ms.Freeze}
	}
	return nil
}

func unmap(mem []byte) error {
	if err := unix.Munmap(mem); err != nil {
		return fmt.Errorf("munmap variables: %w", err)
	}
	return nil
}

// abort undoes a failed NewCollection.
func (c *Collection) abort() {
	for _, path := range c.pinned {
		os.Remove(path)
	}
	c.pinned = nil
	c.Close()
}

// Close unregisters the struct_ops structures the collection registered,
// closes every program and map of the collection (not the maps given in
// CollectionOptions.Maps) and unmaps the variables. Pinned maps stay in
// the kernel. Closing twice is a no-op.
func (c *Collection) Close() error {
	if c == nil || c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	if err := c.unregisterStructOps(); err != nil {
		errs = append(errs, err)
	}
	for _, v := range c.Variables {
		v.mem = nil
	}
	for _, mem := range c.mmaps {
		if err := unmap(mem); err != nil {
			errs = append(errs, err)
		}
	}
	c.mmaps = nil
	for _, p := range c.Programs {
		if err := p.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, m := range c.owned {
		if err := m.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	c.owned = nil
	if err := c.btf.Close(); err != nil {
		errs = append(errs, err)
	}
	c.btf, c.btfFD = nil, nil
	c.closeModules()
	return errors.Join(errs...)
}

// Program returns the program called name, or nil.
func (c *Collection) Program(name string) *Program {
	if c == nil {
		return nil
	}
	return c.Programs[name]
}

// Map returns the map called name, or nil.
func (c *Collection) Map(name string) *Map {
	if c == nil {
		return nil
	}
	return c.Maps[name]
}

// Variable returns the variable called name, or nil.
func (c *Collection) Variable(name string) *Variable {
	if c == nil {
		return nil
	}
	return c.Variables[name]
}
