package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// DefaultHelpers returns a new registry with the kernel-compatible helper
// set: map_lookup_elem, map_update_elem, map_delete_elem, map_push_elem,
// map_pop_elem, map_peek_elem, probe_read, probe_read_kernel,
// probe_read_user and their _str forms, ktime_get_ns, trace_printk,
// get_prandom_u32, get_smp_processor_id, get_current_pid_tgid,
// get_current_uid_gid, get_current_comm, perf_event_output,
// skb_load_bytes, ringbuf_output, ringbuf_reserve, ringbuf_submit,
// ringbuf_discard and ringbuf_query, the XDP helpers and the tc helpers
// (registerTCHelpers). tail_call (12) is built into the VM and cannot be
// replaced.
func DefaultHelpers() *Registry {
	r := NewRegistry()
	r.Register(insn.FnMapLookupElem, helperMapLookup)
	r.Register(insn.FnMapUpdateElem, helperMapUpdate)
	r.Register(insn.FnMapDeleteElem, helperMapDelete)
	r.Register(insn.FnMapPushElem, helperMapPush)
	r.Register(insn.FnMapPopElem, helperMapPop)
	r.Register(insn.FnMapPeekElem, helperMapPeek)
	r.Register(insn.FnProbeRead, helperProbeRead)
	r.Register(insn.FnProbeReadKernel, helperProbeReadKernel)
	r.Register(insn.FnProbeReadUser, helperProbeReadUser)
	r.Register(insn.FnProbeReadStr, helperProbeReadStr)
	r.Register(insn.FnProbeReadKernelStr, helperProbeReadKernelStr)
	r.Register(insn.FnProbeReadUserStr, helperProbeReadUserStr)
	r.Register(insn.FnKtimeGetNs, helperKtimeGetNs)
	r.Register(insn.FnTracePrintk, helperTracePrintk)
	r.Register(insn.FnGetPrandomU32, helperPrandom)
	r.Register(insn.FnGetSMPProcessorID, helperSMPProcessorID)
	r.Register(insn.FnGetCurrentPIDTGID, helperPIDTGID)
	r.Register(insn.FnGetCurrentUIDGID, helperUIDGID)
	r.Register(insn.FnGetCurrentComm, helperComm)
	r.Register(insn.FnPerfEventOutput, helperPerfEventOutput)
	r.Register(insn.FnSKBLoadBytes, helperSKBLoadBytes)
	r.Register(insn.FnRingbufOutput, helperRingbufOutput)
	r.Register(insn.FnRingbufReserve, helperRingbufReserve)
	r.Register(insn.FnRingbufSubmit, helperRingbufSubmit)
	r.Register(insn.FnRingbufDiscard, helperRingbufDiscard)
	r.Register(insn.FnRingbufQuery, helperRingbufQuery)
	r.Register(insn.FnXDPAdjustHead, helperXDPAdjustHead)
	r.Register(insn.FnXDPAdjustTail, helperXDPAdjustTail)
	r.Register(insn.FnXDPAdjustMeta, helperXDPAdjustMeta)
	r.Register(insn.FnXDPGetBuffLen, helperXDPGetBuffLen)
	r.Register(insn.FnXDPLoadBytes, helperXDPLoadBytes)
	r.Register(insn.FnXDPStoreBytes, helperXDPStoreBytes)
	r.Register(insn.FnRedirect, helperRedirect)
	r.Register(insn.FnRedirectMap, helperRedirectMap)
	registerTCHelpers(r)
	r.Register(insn.FnLoop, helperLoop)                     // callback.go
	r.Register(insn.FnForEachMapElem, helperForEachMapElem) // callback.go
	return r
}

// Errno returns the helper result for errno: its negative value as the
// program sees it in r0.
func Errno(errno syscall.Errno) uint64 { return uint64(-int64(errno)) }

// errnoOf turns a map error into a negative errno result.
func errnoOf(err error) uint64 {
	for _, e := range [...]syscall.Errno{syscall.ENOENT, syscall.EEXIST, syscall.E2BIG, syscall.ENOMEM, syscall.EBUSY, syscall.ENOSPC, syscall.EPERM, syscall.EFAULT, maps.ENOTSUPP, syscall.EINVAL} {
		if errors.Is(err, e) {
			return Errno(e)
		}
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return Errno(en)
	}
	return Errno(syscall.EINVAL)
}

func (e *Env) cpu() int { return e.vm.opts.CPU }

// mapAndKey resolves the map handle in r1 and the key r2 points at, as
// map_lookup_elem, map_update_elem and map_delete_elem take them.
func (e *Env) mapAndKey(r1, r2 uint64) (maps.Map, []byte, error) {
	m, _, key, err := e.mapFactsKey(r1, r2)
	return m, key, err
}

// mapFacts is what the map helpers need of a map's spec (VM.facts).
type mapFacts struct {
	keySize, valueSize int
	// valuePerm is the access a lookup grants to the value: read-only
	// for BPF_F_RDONLY_PROG maps and XSK maps, whose values the verifier
	// refuses stores to (devmaps; an AF_XDP socket map's struct
	// bpf_xdp_sock).
	valuePerm Perm
	// ofMaps says that a lookup gives an inner map (innerLookup).
	ofMaps bool
}

func factsOf(ms prog.MapSpec) mapFacts {
	return mapFacts{keySize: int(ms.KeySize), valueSize: int(ms.ValueSize), valuePerm: lookupPerm(ms),
		ofMaps: ms.Type == prog.ArrayOfMaps || ms.Type == prog.HashOfMaps}
}

// mapFactsKey is mapAndKey that also gives the map's facts.
func (e *Env) mapFactsKey(r1, r2 uint64) (maps.Map, *mapFacts, []byte, error) {
	vm := e.curVM // the program running now, which may be a tail-call target
	if vm == nil {
		vm = e.vm
	}
	idx := r1 - mapHandleBase
	if r1 < mapHandleBase || idx%mapHandleStride != 0 || idx/mapHandleStride >= uint64(len(vm.maps)) {
		return e.innerFactsKey(r1, r2) // an inner map (mapinmap.go) or the error
	}
	k := idx / mapHandleStride
	f := &vm.facts[k]
	key, err := e.Bytes(r2, f.keySize, false)
	if err != nil {
		return nil, nil, nil, err
	}
	return vm.maps[k], f, key, nil
}

// mapRdOnlyProg is BPF_F_RDONLY_PROG: programs may read the map's values
// but not write them.
const mapRdOnlyProg = 1 << 7

func helperMapLookup(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	m, f, key, err := e.mapFactsKey(r1, r2)
	if err != nil {
		return 0, err
	}
	if f.ofMaps {
		return e.innerLookup(m, key)
	}
	v := m.LookupRaw(key, e.cpu())
	if v == nil {
		return 0, nil
	}
	return e.AddRegion(v, f.valuePerm)
}

func helperMapUpdate(e *Env, r1, r2, r3, r4, _ uint64) (uint64, error) {
	m, f, key, err := e.mapFactsKey(r1, r2)
	if err != nil {
		return 0, err
	}
	val, err := e.Bytes(r3, f.valueSize, false)
	if err != nil {
		return 0, err
	}
	if err := m.UpdateRaw(key, val, prog.UpdateFlags(r4), e.cpu()); err != nil {
		return errnoOf(err), nil
	}
	return 0, nil
}

func helperMapDelete(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	m, key, err := e.mapAndKey(r1, r2)
	if err != nil {
		return 0, err
	}
	if err := m.DeleteRaw(key); err != nil {
		return errnoOf(err), nil
	}
	return 0, nil
}

func (e *Env) queueMap(handle uint64) (maps.QueueMap, int, error) {
	m, err := e.Map(handle)
	if err != nil {
		return nil, 0, err
	}
	q, ok := m.(maps.QueueMap)
	if !ok {
		return nil, 0, nil
	}
	return q, int(m.MapSpec().ValueSize), nil
}

func helperMapPush(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	q, size, err := e.queueMap(r1)
	if err != nil || q == nil {
		return Errno(syscall.EINVAL), err
	}
	val, err := e.Bytes(r2, size, false)
	if err != nil {
		return 0, err
	}
	if err := q.PushRaw(val, prog.UpdateFlags(r3)); err != nil {
		return errnoOf(err), nil
	}
	return 0, nil
}

func queueRead(e *Env, r1, r2 uint64, pop bool) (uint64, error) {
	q, size, err := e.queueMap(r1)
	if err != nil || q == nil {
		return Errno(syscall.EINVAL), err
	}
	out, err := e.Bytes(r2, size, true)
	if err != nil {
		return 0, err
	}
	if pop {
		err = q.PopRaw(out)
	} else {
		err = q.PeekRaw(out)
	}
	if err != nil {
		return errnoOf(err), nil
	}
	return 0, nil
}

func helperMapPop(e *Env, r1, r2, _, _, _ uint64) (uint64, error) { return queueRead(e, r1, r2, true) }
func helperMapPeek(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	return queueRead(e, r1, r2, false)
}

// readSim copies n bytes at addr from a simulated memory table into dst;
// it reports false when [addr, addr+n) is not inside one region.
func readSim(table []MemoryRegion, addr uint64, dst []byte) bool {
	n := uint64(len(dst))
	for _, r := range table {
		if addr >= r.Addr && addr-r.Addr <= uint64(len(r.Data)) && uint64(len(r.Data))-(addr-r.Addr) >= n {
			copy(dst, r.Data[addr-r.Addr:])
			return true
		}
	}
	return false
}

// probeRead is bpf_probe_read_{kernel,user}: on a fault it zeroes dst and
// returns -EFAULT (mm/maccess.c, kernel/trace/bpf_trace.c). Kernel reads
// also see the program's own regions (its stack is kernel memory).
func probeRead(e *Env, dstAddr, size, src uint64, kernel bool) (uint64, error) {
	dst, err := e.Bytes(dstAddr, int(uint32(size)), true)
	if err != nil {
		return 0, err
	}
	table := e.vm.opts.UserMemory
	if kernel {
		table = e.vm.opts.KernelMemory
	}
	if readSim(table, src, dst) {
		return 0, nil
	}
	if kernel && len(dst) > 0 {
		if b, err := e.find(src, len(dst), false); err == nil {
			copy(dst, b)
			return 0, nil
		}
	}
	clear(dst)
	return Errno(syscall.EFAULT), nil
}

// taskSize is TASK_SIZE_MAX on x86-64 with 4-level paging: the legacy
// probe_read reads user memory below it and kernel memory above
// (bpf_probe_read_compat, CONFIG_ARCH_HAS_NON_OVERLAPPING_ADDRESS_SPACE).
const taskSize = 0x7ffffffff000

func helperProbeRead(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	return probeRead(e, r1, r2, r3, r3 >= taskSize || e.kernelAddr(r3))
}
func helperProbeReadKernel(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	return probeRead(e, r1, r2, r3, true)
}
func helperProbeReadUser(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	return probeRead(e, r1, r2, r3, false)
}

// probeReadStr is bpf_probe_read_{kernel,user}_str: it copies a
// NUL-terminated string of at most size-1 bytes plus the NUL and returns
// the length including the NUL; on a fault it zeroes dst and returns
// -EFAULT.
func probeReadStr(e *Env, dstAddr, size, src uint64, kernel bool) (uint64, error) {
	dst, err := e.Bytes(dstAddr, int(uint32(size)), true)
	if err != nil || len(dst) == 0 {
		return 0, err
	}
	table := e.vm.opts.UserMemory
	if kernel {
		table = e.vm.opts.KernelMemory
	}
	var one [1]byte
	for k := range dst {
		ok := readSim(table, src+uint64(k), one[:])
		if !ok && kernel {
			if b, err := e.find(src+uint64(k), 1, false); err == nil {
				one[0], ok = b[0], true
			}
		}
		if !ok {
			clear(dst)
			return Errno(syscall.EFAULT), nil
		}
		if one[0] == 0 || k == len(dst)-1 {
			dst[k] = 0
			return uint64(k + 1), nil
		}
		dst[k] = one[0]
	}
	return 0, nil
}

func helperProbeReadStr(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	return probeReadStr(e, r1, r2, r3, r3 >= taskSize || e.kernelAddr(r3))
}
func helperProbeReadKernelStr(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	return probeReadStr(e, r1, r2, r3, true)
}
func helperProbeReadUserStr(e *Env, r1, r2, r3, _, _ uint64) (uint64, error) {
	return probeReadStr(e, r1, r2, r3, false)
}

var clockBase = time.Now()

func helperKtimeGetNs(e *Env, _, _, _, _, _ uint64) (uint64, error) {
	if f := e.vm.opts.Now; f != nil {
		return f(), nil
	}
	return uint64(time.Since(clockBase)), nil
}

func helperPrandom(e *Env, _, _, _, _, _ uint64) (uint64, error) {
	if f := e.vm.opts.Rand; f != nil {
		return uint64(f()), nil
	}
	return uint64(rand.Uint32()), nil
}

func helperSMPProcessorID(e *Env, _, _, _, _, _ uint64) (uint64, error) {
	return uint64(uint32(e.vm.opts.CPU)), nil
}

func helperPIDTGID(e *Env, _, _, _, _, _ uint64) (uint64, error) { return e.vm.opts.PIDTGID, nil }
func helperUIDGID(e *Env, _, _, _, _, _ uint64) (uint64, error)  { return e.vm.opts.UIDGID, nil }

// helperComm is bpf_get_current_comm: strscpy_pad of the task name (at
// most TASK_COMM_LEN-1 = 15 bytes) into buf.
func helperComm(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
	buf, err := e.Bytes(r1, int(uint32(r2)), true)
	if err != nil || len(buf) == 0 {
		return Errno(syscall.EINVAL), err
	}
	comm := e.vm.opts.Comm
	if len(comm) > 15 {
		comm = comm[:15]
	}
	clear(buf)
	copy(buf[:len(buf)-1], comm)
	return 0, nil
}

// skb_load_bytes (net/core/filter.c): copy len bytes from offset of the
// packet; past the end it zeroes the destination and returns -EFAULT.
func helperSKBLoadBytes(e *Env, r1, r2, r3, r4, _ uint64) (uint64, error) {
	if e.ctxKind != ctxSocketFilter && e.ctxKind != ctxMemory && e.ctxKind != ctxTC || r1 != e.ctxAddr {
		return 0, fmt.Errorf("%w: skb_load_bytes needs the socket filter's or tc program's context pointer in r1", ErrContext)
	}
	to, err := e.Bytes(r3, int(uint32(r4)), true)
	if err != nil {
		return 0, err
	}
	pkt := e.Packet()
	off := uint64(uint32(r2))
	if off > 0x7fffffff || off+uint64(len(to)) > uint64(len(pkt)) {
		clear(to)
		return Errno(syscall.EFAULT), nil
	}
	copy(to, pkt[off:])
	return 0, nil
}

// tailCallTarget resolves a tail call through a program array: the target
// VM and its program, or false when the call falls through (no such map
// entry, the limit of MaxTailCalls reached, or a program of another
// context kind).
func (e *Env) tailCallTarget(handle, index uint64) (*program, *VM, bool) {
	m, err := e.Map(handle)
	if err != nil {
		return nil, nil, false
	}
	// The index is the low 32 bits of r3 (kernel/bpf/core.c, JMP_TAIL_CALL).
	pa, ok := m.(*maps.ProgArray)
	if !ok || uint32(index) >= m.MapSpec().MaxEntries {
		return nil, nil, false
	}
	if e.tailCalls >= MaxTailCalls {
		return nil, nil, false
	}
	target := HandleVM(pa.Program(uint32(index)))
	if target == nil || target.ctx != e.ctxKind {
		return nil, nil, false
	}
	return target.prog, target, true
}
