//go:build amd64 && unix

package jit

import (
	"math"

	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"

	"github.com/purebpf/purebpf/insn"
	. "github.com/purebpf/purebpf/jit/internal/amd64"
)

// The fast paths of bound runs (XDP, tc contexts): map value loads and
// array and hash map lookups that the code makes itself, granting the
// same regions interp's helpers and LD_IMM64 would (engine.AddRegion of
// the array's storage, of the element, of the hash value) by recording
// them in state.pend, which the search routine checks after the tables;
// Go adds them to the Env at the next exit (run.flush), before it looks
// at the Env. The order of grants is interp's: a region is granted only
// when the instruction that grants it runs. When pend has no room
// (state.pmax, which is 0 outside bound runs) or anything else does not
// fit, the code leaves to Go as before.

// arrayMap is an array map whose map_lookup_elem the code makes itself.
type arrayMap struct {
	handle     uint64 // the map's handle (engine.MapHandle)
	storage    []byte // the values, for cpu when percpu
	maxEntries uint32
	stride     int32 // bytes between values
	valueSize  int32
	percpu     bool
	cpu        int32
}

// mapStorage is what a map value load grants: map idx's storage.
type mapStorage struct {
	idx     int
	storage []byte
}

// grantable reports whether the code may record a grant of n bytes
// (pendRegion): at least one, and few enough for a sign-extended 32-bit
// immediate.
func grantable(n int) bool { return n > 0 && n <= math.MaxInt32 }

// pendRegion emits the record of a grant of region [rcx, rcx+n) in
// state.pend (see there), with rcx as its pkeep when keep (a hash map
// value); other grants leave their pkeep nil, which every entry past
// npend is (dropKeeps and flush clear what they consume). The caller
// checked npend < pmax. It clobbers rax and r11.
func (c *compiler) pendRegion(n int32, keep bool) {
	a := &c.a
	a.Load(W64, RAX, M(regState, offNPend))
	a.MovRR(W64, R11, RAX)
	a.ShiftImm(W64, SHL, R11, 4) // × sizeof(pendGrant)
	a.Store(W64, MI(regState, R11, offPend), RCX)
	a.StoreImm(W64, MI(regState, R11, offPend+8), n)
	if keep {
		a.ShiftImm(W64, SHR, R11, 1) // × 8
		a.Store(W64, MI(regState, R11, offPKeep), RCX)
	}
	a.ALURI(W64, ADD, RAX, 1)
	a.Store(W64, M(regState, offNPend), RAX)
}

// pendRoom emits a jump to full unless the code may record a grant
// (npend < pmax). It clobbers rcx.
func (c *compiler) pendRoom(full Label) {
	a := &c.a
	a.Load(W64, RCX, M(regState, offNPend))
	a.ALURM(W64, CMP, RCX, M(regState, offPMax))
	a.Jcc(CondAE, full)
}

// mapValueFast emits an LD_IMM64 map value load (src 2 or 6) of byte off
// of the storage ms grants: dst = its address, after putting the storage
// in the tables unless bit ms.idx of state.mvOn says this code did so
// already in this run. slow is where the code leaves to Go instead (the
// caller emits it), done where it goes on.
func (c *compiler) mapValueFast(dst Reg, ms mapStorage, off uint32, slow, done Label) bool {
	if !grantable(len(ms.storage)) {
		return false
	}
	a := &c.a
	base := addrOfSlice(ms.storage)
	appendL := a.NewLabel()
	have := a.NewLabel()
	bit := ms.idx < 64
	if bit {
		a.LeaRIP(RCX, c.startLbl)
		a.ALURM(W64, CMP, RCX, M(regState, offMvOwner))
		a.Jcc(CondNE, appendL)
		a.MovImm(R11, int64(uint64(1)<<ms.idx))
		a.Load(W64, RCX, M(regState, offMvOn))
		a.TestRR(W64, RCX, R11)
		a.Jcc(CondNE, have)
	}
	a.Bind(appendL)
	c.pendRoom(slow)
	// pendRegion clobbers rax (r0): keep it in tmp.
	a.Store(W64, M(regState, offTmp), RAX)
	a.MovImm(RCX, int64(base))
	c.pendRegion(int32(len(ms.storage)), false)
	a.Load(W64, RAX, M(regState, offTmp))
	if bit {
		a.LeaRIP(RCX, c.startLbl)
		a.ALURM(W64, CMP, RCX, M(regState, offMvOwner))
		a.Jcc(CondNE, have)
		a.MovImm(R11, int64(uint64(1)<<ms.idx))
		a.ALURM(W64, OR, R11, M(regState, offMvOn))
		a.Store(W64, M(regState, offMvOn), R11)
	}
	a.Bind(have)
	a.MovImm(dst, int64(base+uint64(off)))
	a.Jmp(done)
	return true
}

// lookupFast emits map_lookup_elem for the array maps in c.opts.arrays,
// as helperMapLookup makes it: the 4-byte key at r2 must lie in the stack
// region (anything else is left to Go, which gives interp's error), an
// index past max_entries gives NULL, any other the element's address and
// a region for the element; and for the hash maps in c.opts.hashes
// (hashLookupCase). slow is where the code leaves to Go (the caller emits
// it after this), done where it goes on.
func (c *compiler) lookupFast(slow, done Label) {
	a := &c.a
	h, known := c.callMap()
	var arrs []arrayMap
	for _, m := range c.opts.arrays {
		if grantable(int(m.valueSize)) && (!known || m.handle == h) {
			arrs = append(arrs, m)
		}
	}
	var hashes []hashMap
	for _, m := range c.opts.hashes {
		if !known || m.handle == h {
			hashes = append(hashes, m)
		}
	}
	if len(arrs) == 0 && len(hashes) == 0 {
		return
	}
	a.Load(W64, RCX, M(regState, offStdOK))
	a.ALURI(W32, AND, RCX, engine.StdMapLookup)
	a.Jcc(CondE, slow)
	c.pendRoom(slow)
	null := a.NewLabel()
	found := a.NewLabel()
	for _, m := range hashes {
		next := a.NewLabel()
		c.hashLookupCase(m, known, next, slow, null, found)
		a.Bind(next)
	}
	if len(arrs) > 0 {
		c.keyCheck(insn.R2, 4, slow) // the key
	}
	for _, m := range arrs {
		next := a.NewLabel()
		c.arrayCase(m, known, next, slow)
		c.elemAddr(m, null)
		c.pendRegion(m.valueSize, false)
		a.Jmp(found)
		a.Bind(next)
	}
	a.Jmp(slow)
	a.Bind(null)
	a.ALURR(W32, XOR, RCX, RCX)
	a.Bind(found)
	a.MovRR(W64, RAX, RCX)
	a.Jmp(done)
}

// fastOptions sets the options of the fast paths for ivm's program.
func fastOptions(o *compileOptions, ivm *engine.VM) {
	o.mapStorage = func(i insn.Instruction) (mapStorage, bool) {
		idx, err := mapIndex(ivm, i)
		if err != nil {
			return mapStorage{}, false
		}
		// What interp's LD_IMM64 map value load grants (the engine's
		// mapValueAddr).
		arr, ok := ivm.Maps()[idx].(*maps.Array)
		if !ok {
			return mapStorage{}, false
		}
		return mapStorage{idx: idx, storage: arr.Storage(0)}, true
	}
	o.arrays = inlineArrays(ivm)
	o.hashes = inlineHashes(ivm)
}

// maxInlineArrays bounds the array maps a map_lookup_elem call site
// compares r1 with, to keep the code of each call short.
const maxInlineArrays = 8

// inlineArrays returns the array maps of ivm whose map_lookup_elem the
// code may make itself: plain and per-CPU arrays with 4-byte keys whose
// values the program may write (engine.LookupPerm), with their values for
// the VM's CPU.
func inlineArrays(ivm *engine.VM) []arrayMap {
	var out []arrayMap
	cpu := engine.CPU(ivm)
	for idx, m := range ivm.Maps() {
		arr, ok := m.(*maps.Array)
		ms := m.MapSpec()
		if !ok || (ms.Type != prog.Array && ms.Type != prog.PerCPUArray) || ms.KeySize != 4 ||
			engine.LookupPerm(m) != engine.PermRead|engine.PermWrite || ms.ValueSize == 0 || ms.ValueSize > 1<<30 {
			continue
		}
		st := arr.Storage(cpu)
		if st == nil || arr.ElemSize() > 1<<30 {
			continue
		}
		out = append(out, arrayMap{
			handle: engine.MapHandle(idx), storage: st, maxEntries: ms.MaxEntries,
			stride: int32(arr.ElemSize()), valueSize: int32(ms.ValueSize),
			percpu: ms.Type == prog.PerCPUArray, cpu: int32(cpu),
		})
		if len(out) == maxInlineArrays {
			break
		}
	}
	return out
}

// callMap returns the handle r1 holds at the helper call being compiled,
// when the value facts know it (an LD_IMM64 of the map on every path).
func (c *compiler) callMap() (uint64, bool) {
	f, ok := c.opts.facts.calls[c.cur]
	if !ok || f[1].kind != factMap {
		return 0, false
	}
	return engine.MapHandle(f[1].idx), true
}

// keyCheck emits stackCheck for the n bytes at reg, a pointer argument of
// the helper call being compiled, unless the value facts show them in the
// frame: reg holds r10 plus a constant on every path, and the bytes lie
// within the bytes the program's main frame reaches below r10
// (compileOptions.stackDepth), which are in the stack region whatever the
// call depth (a callee's frame is whole, the main frame's region is those
// bytes, and a tail call's target runs in a frame reached whole).
func (c *compiler) keyCheck(reg insn.Register, n int32, fail Label) {
	f, ok := c.opts.facts.calls[c.cur]
	if g := f[reg]; ok && reg <= insn.R9 && g.kind == factStack && g.off >= -int64(c.opts.stackDepth) && g.off+int64(n) <= 0 {
		return
	}
	c.stackCheck(bpfReg[reg], n, fail)
}

// stackCheck emits a jump to fail unless the n bytes at reg lie in the
// stack region [stkLo, stkTop). It clobbers rcx and r11.
func (c *compiler) stackCheck(reg Reg, n int32, fail Label) {
	a := &c.a
	a.MovRR(W64, R11, reg)
	a.ALURM(W64, SUB, R11, M(regState, offStkLo))
	a.Load(W64, RCX, M(regState, offStkTop))
	a.ALURM(W64, SUB, RCX, M(regState, offStkLo))
	a.ALURR(W64, CMP, R11, RCX)
	a.Jcc(CondAE, fail)
	a.ALURR(W64, SUB, RCX, R11)
	a.ALURI(W64, CMP, RCX, n)
	a.Jcc(CondB, fail)
}

// maxInlineUpdate is the largest value an inline map_update_elem copies.
const maxInlineUpdate = 128

// updateFast emits map_update_elem for the array maps in c.opts.arrays
// with values of at most maxInlineUpdate bytes, as helperMapUpdate makes
// it when it succeeds: flags BPF_ANY or BPF_EXIST, the 4-byte key at r2
// and the value at r3 in the stack region, and an index in range; then
// the value is copied into the element and r0 = 0. Anything else (other
// flags, E2BIG, pointers elsewhere) is left to Go. slow is where the code
// leaves to Go (the caller emits it after this), done where it goes on.
func (c *compiler) updateFast(slow, done Label) {
	a := &c.a
	h, known := c.callMap()
	var arrs []arrayMap
	for _, m := range c.opts.arrays {
		if m.valueSize > 0 && m.valueSize <= maxInlineUpdate && (!known || m.handle == h) {
			arrs = append(arrs, m)
		}
	}
	if len(arrs) == 0 {
		return
	}
	r3, r4 := bpfReg[insn.R3], bpfReg[insn.R4]
	a.Load(W64, RCX, M(regState, offStdOK))
	a.ALURI(W32, AND, RCX, engine.StdMapUpdate)
	a.Jcc(CondE, slow)
	// Flags 0 (BPF_ANY) or 2 (BPF_EXIST).
	a.MovRR(W64, RCX, r4)
	a.ALURI(W64, AND, RCX, ^int32(prog.UpdateExist))
	a.Jcc(CondNE, slow)
	c.keyCheck(insn.R2, 4, slow) // the key
	for _, m := range arrs {
		next := a.NewLabel()
		c.arrayCase(m, known, next, slow)
		c.keyCheck(insn.R3, m.valueSize, slow) // the value
		c.elemAddr(m, slow)                    // E2BIG: Go gives the errno
		for off := int32(0); off < m.valueSize; {
			w, n := W64, int32(8)
			switch left := m.valueSize - off; {
			case left >= 8:
			case left >= 4:
				w, n = W32, 4
			case left >= 2:
				w, n = W16, 2
			default:
				w, n = W8, 1
			}
			a.Load(w, R11, M(r3, off))
			a.Store(w, M(RCX, off), R11)
			off += n
		}
		a.ALURR(W32, XOR, RAX, RAX)
		a.Jmp(done)
		a.Bind(next)
	}
	a.Jmp(slow)
}

// arrayCase emits the dispatch of a map helper call on r1 to array map m:
// a jump to next unless r1 is m's handle (known: the value facts say it
// is), and to slow when m is per-CPU and the run's CPU is not the one
// m's values were taken for.
func (c *compiler) arrayCase(m arrayMap, known bool, next, slow Label) {
	a := &c.a
	if !known {
		a.MovImm(RCX, int64(m.handle))
		a.ALURR(W64, CMP, bpfReg[insn.R1], RCX)
		a.Jcc(CondNE, next)
	}
	if m.percpu {
		a.Load(W64, RCX, M(regState, offCPU))
		a.ALURI(W64, CMP, RCX, m.cpu)
		a.Jcc(CondNE, slow)
	}
}

// elemAddr emits rcx = the address of m's element at the index the key
// at r2 holds (which stackCheck found readable), or a jump to outOfRange
// when the index is max_entries or more. It clobbers r11.
func (c *compiler) elemAddr(m arrayMap, outOfRange Label) {
	a := &c.a
	a.Load(W32, RCX, M(bpfReg[insn.R2], 0))
	a.ALURI(W32, CMP, RCX, int32(m.maxEntries))
	a.Jcc(CondAE, outOfRange)
	a.IMulRRI(W64, RCX, RCX, m.stride)
	a.MovImm(R11, int64(addrOfSlice(m.storage)))
	a.ALURR(W64, ADD, RCX, R11)
}
