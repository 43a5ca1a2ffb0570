//go:build amd64 && unix

package jit

import (
	"unsafe"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/internal/hashprobe"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"

	. "github.com/purebpf/purebpf/jit/internal/amd64"
)

// Hash map lookups in machine code: bpf_map_lookup_elem on a HASH or
// PERCPU_HASH map in a bound run, made by searching the map's
// machine-probe index (internal/hashprobe, maps.Hash.ProbeIndex) under
// its seqlock, granting what helperMapLookup grants: NULL for a missing
// key, else the value's address and a read-write region of ValueSize
// bytes for it. Whenever the search cannot be trusted (a writer is busy
// or was while it ran, the probe sequence is long) or anything else does
// not fit, the code leaves to Go as before, which looks the key up under
// the map's mutex. LRU maps stay in Go: their lookups refresh recency.
//
// Memory safety, against the program and against other goroutines:
//   - the key is read only from the stack region (stackCheck of KeySize
//     bytes), the index's keys only as KeySize bytes at a key address the
//     index holds, and the value is granted as exactly ValueSize bytes at
//     a value address it holds (plus cpu × stride, below its CPUs ×
//     stride, for per-CPU maps): no bound comes from the program's bytes;
//   - what the search loads from the index is safe to load at any time
//     (the package doc of hashprobe): the table pointer, whole 8-byte
//     words of its slots, key bytes that never change; probes stay inside
//     the table the search loaded, whose mask it carries; and nothing the
//     search loads is freed while the goroutine stays in machine code;
//   - the value address outlives the stint (the program may write through
//     it after later helper calls): the code stores it in state.pkeep,
//     which the GC scans, with the grant, and Go's run.flush turns it into
//     the Go slice the Env's region keeps, as interp's helper would have,
//     even when the map has dropped the value meanwhile (a delete, or an
//     update that installs new storage). The store has no write barrier;
//     it needs none: the value was reachable from the index when the
//     search loaded it (the seqlock says the index did not change until
//     after that load), so either no collection is marking, and the next
//     one (which cannot start before the goroutine leaves the code) scans
//     pkeep, or one is, and the value is marked in it anyway: the hybrid
//     write barrier shades whatever a Go write removes from the index or
//     the map (a slot's Val, an element's val), so a value reachable from
//     the heap when marking runs is marked before the map can drop it.
//     The slot pkeep[k] the code overwrites is always nil (flush and
//     dropKeeps clear the ones they consume), so no deletion barrier is
//     skipped either.

// hashMap is a hash map whose map_lookup_elem the code makes itself.
type hashMap struct {
	handle uint64
	// index is the map's machine-probe index; the map keeps it (and the
	// VM the map) as long as the code may run.
	index     *hashprobe.Index
	keySize   int32
	valueSize int32
	percpu    bool
	cpu       int32
	valOff    int32 // cpu × stride: where cpu's value starts, for per-CPU maps
}

// maxInlineHashes bounds the hash maps a map_lookup_elem call site
// compares r1 with, and maxInlineHashKey the key size whose comparison
// the code unrolls.
const (
	maxInlineHashes  = 8
	maxInlineHashKey = 128
)

// inlineHashes returns the hash maps of ivm whose map_lookup_elem the
// code may make itself: HASH and PERCPU_HASH maps with keys of at most
// maxInlineHashKey bytes whose values the program may write
// (engine.LookupPerm), with the VM's CPU's values. It builds their
// indexes (maps.Hash.ProbeIndex).
func inlineHashes(ivm *engine.VM) []hashMap {
	var out []hashMap
	cpu := engine.CPU(ivm)
	for idx, m := range ivm.Maps() {
		h, ok := m.(*maps.Hash)
		ms := m.MapSpec()
		if !ok || (ms.Type != prog.Hash && ms.Type != prog.PerCPUHash) || ms.KeySize == 0 || ms.KeySize > maxInlineHashKey ||
			engine.LookupPerm(m) != engine.PermRead|engine.PermWrite || ms.ValueSize == 0 || ms.ValueSize > 1<<30 {
			continue
		}
		hm := hashMap{handle: engine.MapHandle(idx), keySize: int32(ms.KeySize), valueSize: int32(ms.ValueSize), cpu: int32(cpu)}
		if ms.Type == prog.PerCPUHash {
			stride := h.CPUStride()
			if cpu < 0 || cpu >= h.CPUs() || int64(cpu)*int64(stride) > 1<<30 {
				continue
			}
			hm.percpu, hm.valOff = true, int32(cpu*stride)
		}
		if hm.index = h.ProbeIndex(); hm.index == nil {
			continue
		}
		out = append(out, hm)
		if len(out) == maxInlineHashes {
			break
		}
	}
	return out
}

// hashLookupCase emits the lookup in hash map m (see the top of this
// file): a jump to next unless r1 is m's handle; to slow when the run's
// CPU is not m.cpu (per-CPU maps), the key is not in the stack region or
// the search gives up; to null (r0 = NULL) for a missing key; and to
// found with rcx = the value's address, granted, for a key present. It
// clobbers rax, rcx and r11, and keeps r1-r5 (it borrows the registers of
// r1, r3, r4 and r5, saving them in state.hsave).
//
// The search: seq = index.seq (odd: give up); h = the key's hash
// (hashprobe.Hash); tab = index.tab, mask = its scaled mask; from slot
// h & mask on, at most hashprobe.MaxProbe slots: an empty slot (Key nil)
// is a miss, a slot with Tag h whose key's pieces (hashprobe.Pieces)
// equal the stack key's is a hit (its Val); then index.seq must still
// be seq.
func (c *compiler) hashLookupCase(m hashMap, known bool, next, slow, null, found Label) {
	a := &c.a
	r1, r2 := bpfReg[insn.R1], bpfReg[insn.R2]
	if !grantable(int(m.valueSize)) {
		return
	}
	if !known { // the value facts know r1
		a.MovImm(RCX, int64(m.handle))
		a.ALURR(W64, CMP, r1, RCX)
		a.Jcc(CondNE, next)
	}
	if m.percpu {
		a.Load(W64, RCX, M(regState, offCPU))
		a.ALURI(W64, CMP, RCX, m.cpu)
		a.Jcc(CondNE, slow)
	}
	c.keyCheck(insn.R2, m.keySize, slow)

	// Registers: rdi the index, then the table; rax the hash; rbx the
	// scaled slot index; r9 the scaled mask; r8 the probes left; rcx and
	// r11 scratch; rsi (r2) the key.
	saved := []Reg{RDI, RBX, R8, R9}
	for k, r := range saved {
		a.Store(W64, M(regState, offHSave+8*int32(k)), r)
	}
	restore := func() {
		for k, r := range saved {
			a.Load(W64, r, M(regState, offHSave+8*int32(k)))
		}
	}
	bail := a.NewLabel()
	index := int64(uintptr(unsafe.Pointer(m.index)))
	a.MovImm(RDI, index)
	a.Load(W64, RCX, M(RDI, hashprobe.IndexSeq))
	a.Store(W64, M(regState, offHSeq), RCX)
	a.ALURI(W32, AND, RCX, 1)
	a.Jcc(CondNE, bail) // a writer is busy

	// The hash: each word's mix on its own (they run in parallel), with
	// the seed in r9, Mul1 in r11, Mul2 in rbx and r8 scratch.
	pieces := hashprobe.Pieces(int(m.keySize))
	a.Load(W64, R9, M(RDI, hashprobe.IndexSeed))
	a.MovRR(W64, RAX, R9)
	a.MovImm(R11, mul1)
	a.MovImm(RBX, mul2)
	mix := func(i int) {
		a.ALURR(W64, XOR, RCX, R9)
		a.ALURI(W64, ADD, RCX, hashprobe.Pos(i))
		a.IMulRR(W64, RCX, R11)
		a.MovRR(W64, R8, RCX)
		a.ShiftImm(W64, SHR, R8, 29)
		a.ALURR(W64, XOR, RCX, R8)
		a.IMulRR(W64, RCX, RBX)
		a.ALURR(W64, XOR, RAX, RCX)
	}
	if m.keySize >= 8 {
		for i, p := range pieces {
			a.Load(W64, RCX, M(r2, int32(p[0])))
			mix(i)
		}
	} else {
		c.shortKeyWord(RCX, R8, r2, pieces)
		a.Store(W64, M(regState, offHWord), RCX)
		mix(0)
	}
	// Finish.
	a.MovRR(W64, RCX, RAX)
	a.ShiftImm(W64, SHR, RCX, 32)
	a.ALURR(W64, XOR, RAX, RCX)

	// The probe.
	a.Load(W64, RDI, M(RDI, hashprobe.IndexTab))
	a.Load(W64, R9, M(RDI, hashprobe.SlotTag)) // slot 0: the scaled mask
	a.MovRR(W64, RBX, RAX)
	a.ShiftImm(W64, SHL, RBX, hashprobe.SlotShift)
	a.ALURR(W64, AND, RBX, R9)
	a.MovImm(R8, hashprobe.MaxProbe)
	loop, skip, miss, check := a.NewLabel(), a.NewLabel(), a.NewLabel(), a.NewLabel()
	slot := func(field int32) Mem { return MI(RDI, RBX, hashprobe.SlotSize+field) }
	a.Bind(loop)
	a.Load(W64, RCX, slot(hashprobe.SlotKey))
	a.TestRR(W64, RCX, RCX)
	a.Jcc(CondE, miss)
	a.ALURM(W64, CMP, RAX, slot(hashprobe.SlotTag))
	a.Jcc(CondNE, skip)
	// Compare the keys, KeySize bytes at rcx with KeySize bytes at r2.
	if m.keySize >= 8 {
		for _, p := range pieces {
			a.Load(W64, R11, M(RCX, int32(p[0])))
			a.ALURM(W64, CMP, R11, M(r2, int32(p[0])))
			a.Jcc(CondNE, skip)
		}
	} else {
		c.shortKeyWord(R11, RCX, RCX, pieces)
		a.ALURM(W64, CMP, R11, M(regState, offHWord))
		a.Jcc(CondNE, skip)
	}
	a.Load(W64, RCX, slot(hashprobe.SlotVal))
	a.Jmp(check)
	a.Bind(skip)
	a.ALURI(W64, ADD, RBX, hashprobe.SlotSize)
	a.ALURR(W64, AND, RBX, R9)
	a.ALURI(W64, SUB, R8, 1)
	a.Jcc(CondNE, loop)
	a.Jmp(bail) // a long probe sequence: Go searches
	a.Bind(miss)
	a.ALURR(W32, XOR, RCX, RCX)
	a.Bind(check)
	a.MovImm(R11, index)
	a.Load(W64, R11, M(R11, hashprobe.IndexSeq))
	a.ALURM(W64, CMP, R11, M(regState, offHSeq))
	a.Jcc(CondNE, bail) // a writer changed the index meanwhile
	restore()
	a.TestRR(W64, RCX, RCX)
	a.Jcc(CondE, null)
	if m.valOff != 0 {
		a.ALURI(W64, ADD, RCX, m.valOff)
	}
	c.pendRegion(m.valueSize, true)
	a.Jmp(found)
	a.Bind(bail)
	restore()
	a.Jmp(slow)
}

// shortKeyWord emits dst = the one hash word (hashprobe.Words) of the key
// of fewer than 8 bytes at base, whose pieces are pieces: the first piece,
// the second shifted past it. It clobbers tmp, which may be base.
func (c *compiler) shortKeyWord(dst, tmp, base Reg, pieces [][2]int) {
	a := &c.a
	a.Load(loadWidth(pieces[0][1]), dst, M(base, int32(pieces[0][0])))
	if len(pieces) > 1 {
		a.Load(loadWidth(pieces[1][1]), tmp, M(base, int32(pieces[1][0])))
		a.ShiftImm(W64, SHL, tmp, uint8(8*pieces[0][1]))
		a.ALURR(W64, OR, dst, tmp)
	}
}

// The multipliers of hashprobe.Hash, as MovImm takes them.
var mul1, mul2 = asInt64(hashprobe.Mul1), asInt64(hashprobe.Mul2)

func asInt64(v uint64) int64 { return int64(v) }

// loadWidth returns the operand width of an n-byte load.
func loadWidth(n int) Width {
	switch n {
	case 1:
		return W8
	case 2:
		return W16
	case 4:
		return W32
	}
	return W64
}
