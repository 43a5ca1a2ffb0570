//go:build amd64 && unix

package jit

import "unsafe"

// Exit reasons the generated code leaves in state.exit when it returns to
// the trampoline.
const (
	exitDone     = iota // the program returned; r0 is the result
	exitHelper          // call helper state.arg, then resume at state.entry
	exitCallX           // like exitHelper, but the number came from a register
	exitMiss            // no fast region matched: Go checks the access, then retries
	exitBudget          // the instruction budget ran out at state.pc
	exitDepth           // a bpf-to-bpf call would exceed MaxCallFrames
	exitAlign           // a misaligned atomic access
	exitTailCall        // tail call through prog array r2, index r3
	exitAbort           // LD_ABS/LD_IND out of the packet: the run ends with r0 = 0
	exitMapValue        // store the address of map value load state.arg in state.arg, then resume
)

// region is one entry of the table the generated code checks addresses
// against: an access of n bytes at addr is inside when
// addr-start < lim[log2(n)], where lim[k] = len-(1<<k)+1, or 0 when the
// region is shorter than the access.
type region struct {
	start uint64
	lim   [4]uint64
}

func (r *region) set(start, end uint64) {
	r.start = start
	n := end - start
	for k := range r.lim {
		size := uint64(1) << k
		if n >= size {
			r.lim[k] = n - size + 1
		} else {
			r.lim[k] = 0
		}
	}
}

func (r *region) clear() { *r = region{} }

// frameRec is a suspended caller of a bpf-to-bpf call: where to return to
// and its callee-saved registers r6-r9 and r10.
type frameRec struct {
	ret   uintptr
	saved [5]uint64
	loops uint64
	_     uint64
}

// maxRegions is the size of the region tables the generated code scans.
const maxRegions = 32

// state is the machine state shared between Go and the generated code.
// The trampoline and the code address it through x86 register r10; its
// layout is part of the generated code (offsets below). It lives in the Go
// heap and is kept alive by the running VM.
type state struct {
	regs   [11]uint64 // 0: BPF r0-r10, loaded at entry and saved at every exit
	budget int64      // 88: remaining instruction budget, in rdx while running
	entry  uintptr    // 96: where the trampoline jumps; the resume address after an exit
	exit   uint64     // 104: exit reason
	arg    uint64     // 112: helper number, fault address
	pc     uint64     // 120: slot of the instruction that exited
	info   uint64     // 128: access size | write<<8 for exitMiss and exitAlign
	depth  uint64     // 136: active bpf-to-bpf calls
	loops  uint64     // 144: may_goto allowance of the current frame
	tmp    uint64     // 152: scratch for division and atomics
	tmp2   uint64     // 160
	stkLo  uint64     // 168: lowest address of the stack region (moves with calls)
	stkTop uint64     // 176: one past the stack region
	pkt    uint64     // 184: packet address for LD_ABS and LD_IND
	pktLen uint64     // 192: packet length
	nread  uint64     // 200: entries in rtab
	nwrite uint64     // 208: entries in wtab
	// savedBP is the Go frame pointer enterMem keeps while the code
	// clobbers BP (BPF r10).
	savedBP uint64    // 216
	_       [2]region // free (once the most recently used regions)
	grant   region    // a one-shot grant for an access Go checked (context fields)
	grantW  uint64    // whether grant is for a store
	_       [3]uint64
	rtab    [maxRegions]region // readable regions
	wtab    [maxRegions]region // writable regions
	frames  [maxCallFrames]frameRec
	// reserve is the part of the run's budget not yet handed to the code
	// (which holds at most budgetSlice in budget); Go only.
	reserve int64
	// What enterQuick sets up a run with (run.cache): the stack top and
	// the main frame's lowest address, the budget slice and the rest of
	// the budget, the code's entry, and the stack slot to zero (or 0).
	qTop, qLo         uint64
	qBudget, qReserve int64
	qEntry, qZero     uintptr
	// The fast paths of bound runs (XDP, tc, tracing), which the code
	// takes without leaving to Go (compile_amd64.go: mapValueFast,
	// lookupFast, searchRoutine) and run.syncRegions sets up; all zero
	// (off) in other runs.
	//
	// nmax is how far Go may fill rtab and wtab after a helper's map
	// lookup without rebuilding them (run.call, addTables): the room the
	// tables and the Env have for helper-made regions.
	nmax uint64
	// stdOK has the engine.StdHelpers bits of every VM the run entered:
	// which of their map helpers the code may make itself. cpu is the
	// CPU whose per-CPU array values they use (the root VM's).
	stdOK, cpu uint64
	// mvOn has bit k set when map value loads of map k of the VM whose
	// code starts at mvOwner have put that map's storage in the tables.
	mvOwner, mvOn uint64
	// A 4-byte load at ctxStart+off with off < ctxLim, off%4 == 0 and
	// bit off/4 of ctxMask set reads the context directly
	// (engine.DirectReads).
	ctxStart, ctxLim, ctxMask uint64
	// The per-site region caches of checked accesses (compile_amd64.go:
	// addr). sites[w][k] is the offset, from zero, of the region the
	// access sites of slot k (loads for w = 0, stores for w = 1) were
	// last found in: an entry of rtab (w = 0) or wtab (w = 1), stk, or
	// zero itself (the initial value); only the search routine writes
	// slots. A site checks its access against that region only, and
	// whatever the table entry holds now, which is sound because every
	// region a slot can name is, at any time, one the access may use or
	// empty (all lims 0), so that a stale slot can only miss:
	//   - zero is never written;
	//   - entries of rtab and wtab past nread and nwrite are empty
	//     (whatever shrinks the tables clears the entries it drops:
	//     state.truncate; whatever grows them, Go's addTables, writes
	//     the entry before it counts it),
	//     and those below are regions of the run for their direction
	//     (Go rebuilds the tables whenever a region may go away:
	//     syncRegions, memTables);
	//   - stk, the stack region [stkLo, stkTop) as the search routine
	//     found it, is emptied whenever the stack region may shrink: at
	//     every bpf-to-bpf return and wherever the code ends a run
	//     (exit, LD_ABS past the packet), and by Go before every run
	//     that did not follow such an end (memTables, which every run
	//     after one that ended in Go calls as it is not run.tabOK, and
	//     syncRegions, which every bound run calls). A call only grows
	//     the region.
	// siteArg is the offset in the state of the slot the search routine
	// fills on a hit.
	zero    region
	stk     region
	siteArg int64
	sites   [2][siteSlots]int32
	// The grants the fast paths make in machine code (map value loads,
	// array and hash map lookups: fastpath_amd64.go), which the code
	// records here rather than in rtab and wtab: pend[0:npend] are
	// read-write regions [start, start+n) granted since Go last saw them,
	// which the search routine checks after the tables and which
	// run.flush gives the Env (as interp's helpers and LD_IMM64 would
	// have) at the code's next exit. Most accesses to them need no check
	// at all (valuefacts.go), so recording a grant costs a few stores,
	// not a table entry per direction. pmax is how many the code may
	// record (0 outside bound runs): at most maxPend and the room the
	// Env has for helper-made regions.
	//
	// pkeep[k] is the address of the hash map value pend[k] is, nil for
	// other grants (the code writes it with each grant). A GC scans it
	// (it is a pointer), so the value stays alive after the map drops
	// it, until flush hands it to the Env as a Go slice (and clears it);
	// see hashLookupCase for why a write without a write barrier is
	// sound here.
	pend        [maxPend]pendGrant
	pkeep       [maxPend]unsafe.Pointer
	npend, pmax uint64
	// hsave holds r1, r3, r4 and r5 while a lookup uses their registers;
	// hseq is the index's sequence number the lookup started from, hword
	// the hash word of a key shorter than 8 bytes.
	hsave       [4]uint64
	hseq, hword uint64
}

// pendGrant is a region the code granted: n bytes from start.
type pendGrant struct{ start, n uint64 }

// maxPend is the most grants the code records before Go takes them
// (engine.MaxPendingRegions bounds what one flush may add).
const maxPend = 32

// siteSlots is the number of cached regions per direction; access sites
// past it share them (site k uses slot k % siteSlots).
const siteSlots = 64

// truncate empties the entries of rtab and wtab from nread and nwrite up
// to the counts oldR and oldW they had before they shrank, so that no
// site's slot names a region the run may no longer use (state.sites).
func (st *state) truncate(oldR, oldW uint64) {
	if oldR > st.nread {
		clear(st.rtab[st.nread:oldR])
	}
	if oldW > st.nwrite {
		clear(st.wtab[st.nwrite:oldW])
	}
}

// budgetSlice is the most budget the generated code holds at a time.
// When it runs out the code leaves to Go (exitBudget), which grants the
// next slice from state.reserve and resumes, or fails the run when the
// whole budget is spent. Each such exit re-enters the code through the
// trampoline's stack check, where the goroutine can be preempted and a
// stop-the-world (a garbage collection) can proceed, so a long run lets
// the Go runtime in at least once per slice: 1<<15 budget units is at
// most a few hundred microseconds on a 2020s x86-64 core, even when each
// unit is a bpf-to-bpf call that zeroes a 512-byte frame, and costs a
// short run nothing (TestLongRunLetsGCIn measures it).
const budgetSlice = 1 << 15

// refill handles an exitBudget: the code charged more than its slice
// (st.budget is negative). It takes the overdraft and a new slice from
// the reserve and reports whether the run may go on.
func (st *state) refill() bool {
	over := -st.budget
	if st.reserve < over {
		return false
	}
	st.reserve -= over
	st.budget = min(st.reserve, budgetSlice)
	st.reserve -= st.budget
	return true
}

// Offsets of state fields used by the generated code.
var (
	offRegs     = int32(unsafe.Offsetof(state{}.regs))
	offBudget   = int32(unsafe.Offsetof(state{}.budget))
	offEntry    = int32(unsafe.Offsetof(state{}.entry))
	offExit     = int32(unsafe.Offsetof(state{}.exit))
	offArg      = int32(unsafe.Offsetof(state{}.arg))
	offPC       = int32(unsafe.Offsetof(state{}.pc))
	offInfo     = int32(unsafe.Offsetof(state{}.info))
	offDepth    = int32(unsafe.Offsetof(state{}.depth))
	offLoops    = int32(unsafe.Offsetof(state{}.loops))
	offTmp      = int32(unsafe.Offsetof(state{}.tmp))
	offTmp2     = int32(unsafe.Offsetof(state{}.tmp2))
	offStkLo    = int32(unsafe.Offsetof(state{}.stkLo))
	offStkTop   = int32(unsafe.Offsetof(state{}.stkTop))
	offPkt      = int32(unsafe.Offsetof(state{}.pkt))
	offPktLen   = int32(unsafe.Offsetof(state{}.pktLen))
	offNRead    = int32(unsafe.Offsetof(state{}.nread))
	offNWrite   = int32(unsafe.Offsetof(state{}.nwrite))
	offGrant    = int32(unsafe.Offsetof(state{}.grant))
	offGrantW   = int32(unsafe.Offsetof(state{}.grantW))
	offRtab     = int32(unsafe.Offsetof(state{}.rtab))
	offWtab     = int32(unsafe.Offsetof(state{}.wtab))
	offFrames   = int32(unsafe.Offsetof(state{}.frames))
	offStdOK    = int32(unsafe.Offsetof(state{}.stdOK))
	offCPU      = int32(unsafe.Offsetof(state{}.cpu))
	offMvOwner  = int32(unsafe.Offsetof(state{}.mvOwner))
	offMvOn     = int32(unsafe.Offsetof(state{}.mvOn))
	offCtxStart = int32(unsafe.Offsetof(state{}.ctxStart))
	offCtxLim   = int32(unsafe.Offsetof(state{}.ctxLim))
	offCtxMask  = int32(unsafe.Offsetof(state{}.ctxMask))
	offZero     = int32(unsafe.Offsetof(state{}.zero))
	offStk      = int32(unsafe.Offsetof(state{}.stk))
	offSiteArg  = int32(unsafe.Offsetof(state{}.siteArg))
	offSites    = int32(unsafe.Offsetof(state{}.sites))
	offPend     = int32(unsafe.Offsetof(state{}.pend))
	offPKeep    = int32(unsafe.Offsetof(state{}.pkeep))
	offNPend    = int32(unsafe.Offsetof(state{}.npend))
	offPMax     = int32(unsafe.Offsetof(state{}.pmax))
	offHSave    = int32(unsafe.Offsetof(state{}.hsave))
	offHSeq     = int32(unsafe.Offsetof(state{}.hseq))
	offHWord    = int32(unsafe.Offsetof(state{}.hword))

	offFrameRet   = int32(unsafe.Offsetof(frameRec{}.ret))
	offFrameSaved = int32(unsafe.Offsetof(frameRec{}.saved))
	offFrameLoops = int32(unsafe.Offsetof(frameRec{}.loops))
)

const (
	regionSize = int32(unsafe.Sizeof(region{}))
	frameSize  = int32(unsafe.Sizeof(frameRec{}))
)

// enter runs generated code: it loads the BPF registers and the budget
// from st, calls st.entry, and stores them back when the code returns.
// Implemented in trampoline_amd64.s.
//
//go:noescape
func enter(st *state)

// enterMem starts a raw-memory run: like enter, but r1, r2 and r10 come
// as arguments, the other registers start at zero, and a run that ends
// normally stores back only r0 (trampoline_amd64.s).
//
//go:noescape
func enterMem(st *state, r1, r2, r10 uint64)

// enterQuick is enterMem for a Runner's run whose setup repeats its last
// one's: it zeroes the stack slot st.qZero (if any), sets the stack, the
// budget and the entry from st's q fields and the packet to pkt and
// pktLen, enters the code with r1 and r2, and returns r0
// (trampoline_amd64.s). It does in assembly what a Go caller would do
// before enterMem, so that its callers stay small enough to inline.
//
//go:noescape
func enterQuick(st *state, r1, r2, pkt, pktLen uint64) uint64
