//go:build linux

package prog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/sys"
	"golang.org/x/sys/unix"
)

// Feature probes ask the running kernel whether it has a program type, a
// map type or a helper, by creating the smallest object that needs the
// feature. Each answer is cached for the life of the process. A missing
// feature gives an error wrapping ErrNotSupported that names it; a probe
// that cannot decide (for example without privileges) returns that error
// instead, which does not match ErrNotSupported. Probes need the same
// privileges as loading (CAP_BPF or root).

var probeCache sync.Map // probeKey -> error (nil for supported)

type probeKey struct {
	kind byte // 'p' program type, 'm' map type, 'h' helper, 'b' batch, 'i' instruction set
	a, b uint32
}

func cached(k probeKey, probe func() error) error {
	if v, ok := probeCache.Load(k); ok {
		if v == nil {
			return nil
		}
		return v.(error)
	}
	err := probe()
	// Errors that are not an answer (EPERM, ENOMEM, ...) are not cached.
	if err == nil || errors.Is(err, ErrNotSupported) {
		probeCache.Store(k, err)
	}
	return err
}

// probeSetup returns the expected attach type and program flags a program
// type needs to load at all.
func probeSetup(t Type) (sys.AttachType, uint32) {
	switch t {
	case CgroupSockAddr:
		return 8, 0 // BPF_CGROUP_INET4_BIND
	case CgroupSockopt:
		return 21, 0 // BPF_CGROUP_GETSOCKOPT
	case SKLookup:
		return 36, 0 // BPF_SK_LOOKUP
	case Syscall:
		return 0, sys.ProgFlagSleepable
	case 32: // BPF_PROG_TYPE_NETFILTER, Linux 6.4
		return sys.AttachNetfilter, 0
	}
	return 0, 0
}

// probeLoad loads code as a program of type t with a verifier log. It
// returns the fd-less outcome and the log.
func probeLoad(t Type, code insn.Instructions) (string, error) {
	raw, err := code.Marshal()
	if err != nil {
		return "", err
	}
	lic, _ := sys.NewStringPointer("GPL")
	at, flags := probeSetup(t)
	buf := make([]byte, 4096)
	attr := sys.ProgLoadAttr{
		ProgType: sys.ProgType(t), InsnCnt: uint32(len(raw) / sys.InsnSize), Insns: sys.NewSlicePointer(raw),
		License: lic, LogLevel: sys.LogLevelBranch, LogSize: uint32(len(buf)), LogBuf: sys.NewSlicePointer(buf),
		ExpectedAttachType: at, ProgFlags: flags,
	}
	ensureMemlock()
	fd, err := sys.ProgLoad(&attr)
	if err == nil {
		fd.Close()
	}
	return logString(buf), err
}

// HaveProgramType reports whether the kernel can load programs of type t:
// nil if it can, an error wrapping ErrNotSupported if not. The kernel
// rejects an unknown type with EINVAL before its verifier writes any log,
// while known types that need more than a trivial program (a BTF attach
// target, say) fail later, with a log or another errno; only the first
// counts as missing.
func HaveProgramType(t Type) error {
	return cached(probeKey{kind: 'p', a: uint32(t)}, func() error {
		log, err := probeLoad(t, insn.Instructions{insn.Mov.Imm(insn.R0, 0), insn.Exit()})
		switch {
		case err == nil, log != "":
			return nil
		case errors.Is(err, unix.EINVAL):
			return fmt.Errorf("program type %s (%d): %w", t, uint32(t), ErrNotSupported)
		case errors.Is(err, unix.EPERM):
			if t != SocketFilter {
				if base := HaveProgramType(SocketFilter); base != nil {
					return fmt.Errorf("probe program type %s: %w", t, base)
				}
				return nil // privileged, yet refused: the type exists but needs an attach target
			}
			return fmt.Errorf("probe program type %s: %w: %s", t, err, permHint())
		}
		return nil
	})
}

// probeMapAttr returns a minimal BPF_MAP_CREATE attribute for type t.
func probeMapAttr(t MapType) sys.MapCreateAttr {
	a := sys.MapCreateAttr{MapType: sys.MapType(t), KeySize: 4, ValueSize: 4, MaxEntries: 1}
	switch t {
	case StackTrace:
		a.ValueSize = 8
	case LPMTrie:
		a.KeySize, a.MapFlags = 8, sys.MapFlagNoPrealloc
	case CgroupStorage, PerCPUCgroupStorage:
		a.KeySize, a.MaxEntries = 16, 0
	case Queue, Stack:
		a.KeySize = 0
	case BloomFilter:
		a.KeySize = 0
	case RingBuf, UserRingBuf:
		a.KeySize, a.ValueSize, a.MaxEntries = 0, 0, 4096
	case 33: // BPF_MAP_TYPE_ARENA, Linux 6.9
		a.KeySize, a.ValueSize, a.MapFlags = 0, 0, sys.MapFlagMmapable
	}
	return a
}

// localStorage reports the map types whose key and value need a BTF
// description (bpf_local_storage_map_alloc_check); the probe creates
// them with a minimal BTF blob.
func localStorage(t MapType) bool {
	switch t {
	case SKStorage, InodeStorage, TaskStorage, 32: // 32: BPF_MAP_TYPE_CGRP_STORAGE (Linux 6.2)
		return true
	}
	return false
}

// intBTF is a raw BTF blob, in host byte order, describing one type, ID 1:
// a 32-bit int named "int" (include/uapi/linux/btf.h: the 24-byte header,
// a btf_type of kind BTF_KIND_INT with its 4-byte encoding word, and the
// string section).
func intBTF() []byte {
	var b []byte
	u16 := func(v uint16) { b = binary.NativeEndian.AppendUint16(b, v) }
	u32 := func(v uint32) { b = binary.NativeEndian.AppendUint32(b, v) }
	u16(0xeb9f)         // magic
	b = append(b, 1, 0) // version, flags
	u32(24)             // hdr_len
	u32(0)              // type_off
	u32(16)             // type_len
	u32(16)             // str_off
	u32(5)              // str_len
	u32(1)              // name_off: "int"
	u32(1 << 24)        // info: kind BTF_KIND_INT, vlen 0
	u32(4)              // size in bytes
	u32(32)             // encoding: unsigned, offset 0, 32 bits
	return append(b, "\x00int\x00"...)
}

// ErrProbeUndecided is wrapped by probe errors for features the probe
// cannot test on its own: struct_ops maps (which need a kernel struct as
// value type) and helpers of program types that load only with an attach
// target.
var ErrProbeUndecided = errors.New("probe cannot decide")

// HaveMapType reports whether the kernel can create maps of type t: nil if
// it can, an error wrapping ErrNotSupported if not. Map-in-map types are
// probed with an array as inner map, the local storage types (socket,
// inode, task, cgroup) with a minimal BTF description of their int key
// and value. struct_ops maps give an error wrapping ErrProbeUndecided.
func HaveMapType(t MapType) error {
	if t == StructOpsMap {
		return fmt.Errorf("probe map type %s: it needs a kernel struct_ops type as value: %w", t, ErrProbeUndecided)
	}
	return cached(probeKey{kind: 'm', a: uint32(t)}, func() error {
		ensureMemlock()
		attr := probeMapAttr(t)
		if t == ArrayOfMaps || t == HashOfMaps {
			inner, err := sys.MapCreate(&sys.MapCreateAttr{MapType: sys.MapTypeArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
			if err != nil {
				return fmt.Errorf("probe map type %s: inner map: %w", t, err)
			}
			defer inner.Close()
			attr.InnerMapFD = inner.Uint()
		}
		if localStorage(t) {
			blob := intBTF()
			btf, err := sys.BTFLoad(&sys.BTFLoadAttr{BTF: sys.NewSlicePointer(blob), BTFSize: uint32(len(blob))})
			if err != nil {
				return fmt.Errorf("probe map type %s: load BTF: %w", t, err)
			}
			defer btf.Close()
			attr.MaxEntries, attr.MapFlags = 0, sys.MapFlagNoPrealloc
			attr.BTFFD, attr.BTFKeyTypeID, attr.BTFValueTypeID = btf.Uint(), 1, 1
		}
		fd, err := sys.MapCreate(&attr)
		if err == nil {
			fd.Close()
			return nil
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, ErrNotSupported) {
			return fmt.Errorf("map type %s (%d): %w", t, uint32(t), ErrNotSupported)
		}
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("probe map type %s: %w: %s", t, err, permHint())
		}
		return fmt.Errorf("probe map type %s: %w", t, err)
	})
}

// HaveHelper reports whether programs of type t may call helper h: nil if
// they may, an error wrapping ErrNotSupported if the kernel lacks the
// program type or the verifier does not offer the helper to it.
func HaveHelper(t Type, h insn.HelperFunc) error {
	if err := HaveProgramType(t); err != nil {
		return err
	}
	return cached(probeKey{kind: 'h', a: uint32(t), b: uint32(h)}, func() error {
		log, err := probeLoad(t, insn.Instructions{h.Call(), insn.Mov.Imm(insn.R0, 0), insn.Exit()})
		if err == nil {
			return nil
		}
		if missingHelper(log) >= 0 {
			return fmt.Errorf("helper %s (%d) for %s programs: %w", h, int32(h), t, ErrNotSupported)
		}
		if strings.Contains(log, "processed 0 insns") || log == "" {
			// The load failed before the verifier reached the call.
			return fmt.Errorf("probe helper %s for %s programs: %w: %w", h, t, ErrProbeUndecided, err)
		}
		// The verifier knew the helper and objected to something else,
		// such as the zero arguments.
		return nil
	})
}

// haveBatch reports whether the kernel has the batch map commands
// (BPF_MAP_LOOKUP_BATCH, Linux 5.6).
func haveBatch() error {
	return cached(probeKey{kind: 'b'}, func() error {
		ensureMemlock()
		fd, err := sys.MapCreate(&sys.MapCreateAttr{MapType: sys.MapTypeHash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
		if err != nil {
			return fmt.Errorf("probe batch operations: %w", err)
		}
		defer fd.Close()
		keys, vals, out := make([]byte, 4), make([]byte, 4), make([]byte, 4)
		attr := sys.MapBatchAttr{OutBatch: sys.NewSlicePointer(out), Keys: sys.NewSlicePointer(keys), Values: sys.NewSlicePointer(vals), Count: 1, MapFD: fd.Uint()}
		err = sys.MapLookupBatch(&attr)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("batch map operations (Linux 5.6): %w", ErrNotSupported)
		}
		return fmt.Errorf("probe batch operations: %w", err)
	})
}

// HaveV4ISA reports whether the verifier accepts the instructions of the
// "cpu v4" instruction set, all added in Linux 6.6: sign-extending loads
// (BPF_MEMSX), sign-extending moves (MOVSX), signed division and modulo
// (SDIV/SMOD, offset 1), the unconditional byte swap (BPF_ALU64|BPF_END)
// and gotol (BPF_JMP32|BPF_JA with a 32-bit offset). It returns nil if
// they load, an error wrapping ErrNotSupported if the verifier refuses
// them (older kernels call their fields reserved or the opcodes unknown).
// One socket filter using each form is the probe.
func HaveV4ISA() error {
	if err := HaveProgramType(SocketFilter); err != nil {
		return err
	}
	return cached(probeKey{kind: 'i', a: 4}, func() error {
		log, err := probeLoad(SocketFilter, insn.Instructions{
			insn.StoreImm(insn.RFP, -8, -1, insn.DW),
			insn.LoadMemSX(insn.R0, insn.RFP, -8, insn.B),
			insn.MovSX16.Reg(insn.R0, insn.R0),
			insn.SDiv.Imm(insn.R0, 3),
			insn.SMod.Imm(insn.R0, 3),
			insn.BSwap(insn.R0, 16),
			insn.Gotol("out"),
			insn.Mov.Imm(insn.R0, 0).WithLabel("out"),
			insn.Exit(),
		})
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINVAL) && log != "":
			return fmt.Errorf("cpu v4 instructions (Linux 6.6): %w", ErrNotSupported)
		case errors.Is(err, unix.EPERM):
			return fmt.Errorf("probe cpu v4 instructions: %w: %s", err, permHint())
		}
		return fmt.Errorf("probe cpu v4 instructions: %w: %w", ErrProbeUndecided, err)
	})
}
