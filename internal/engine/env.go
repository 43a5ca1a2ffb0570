package engine

import (
	"fmt"
	"unsafe"

	"github.com/purebpf/purebpf/interp/maps"
)

// StackSize is the size of one stack frame, MAX_BPF_STACK (Linux 6.x).
const StackSize = 512

// MaxCallFrames is the deepest bpf-to-bpf call nesting, counting the main
// program's frame: MAX_CALL_FRAMES in include/linux/bpf_verifier.h (8 since
// Linux 4.16).
const MaxCallFrames = 8

// MaxTailCalls is how many tail calls one run may make: MAX_TAIL_CALL_CNT
// (33 since Linux 5.12).
const MaxTailCalls = 33

// MaxLoops is the number of times a may_goto falls through in one frame
// before it jumps: BPF_MAX_LOOPS = 8*1024*1024 (Linux 6.9+, the verifier's
// count-based rewrite of may_goto in do_misc_fixups, which initialises the
// counter in each subprogram's prologue).
const MaxLoops = 8 * 1024 * 1024

// Perm is the access a region grants.
type Perm uint8

// Region permissions.
const (
	PermRead  Perm = 1 << 0
	PermWrite Perm = 1 << 1
)

// Region is a range of host memory a program may access: [Start, End) in
// the host's address space, the same addresses the program sees in its
// registers. The JIT reads Start, End and Perm from machine code; a region
// with a non-nil check (the socket-filter context) needs the slow path
// through Env.Bytes.
type Region struct {
	Start, End uint64
	Perm       Perm
	data       []byte
	check      func(off uint64, n int, write bool) error
	// pending says that the region is a context whose bytes are not
	// written yet: the first access writes them (Env.fillContext).
	pending bool
}

// Checked reports whether every access to the region must go through
// Env.Bytes: it has per-field access rules (the socket-filter __sk_buff
// context) or is a context not built yet. The JIT leaves such regions out
// of the tables its code checks.
func (r *Region) Checked() bool { return r.check != nil || r.pending }

// Env is the state of one run: the region table, the stack, the context
// and the packet. Helpers receive it to access program memory. A VM keeps a
// pool of them; the JIT uses the same type through VM.AcquireEnv, the
// Bind functions and VM.ReleaseEnv (api.go). An Env is used by one
// goroutine at a time. A socket-filter or kprobe context is written on its
// first access (fillContext).
type Env struct {
	vm      *VM
	regions []Region // regions[0] is the stack, from the current frame up
	fixed   int      // regions set up by Bind*; the rest are helper-made
	// fc holds, besides what fast caches, the two hot regions (setHot,
	// dropHot).
	fc  fastCache
	reg regFile // the registers of the running program

	stack     []byte // MaxCallFrames * StackSize bytes
	stackBase uint64 // address of stack[0]

	ctxKind contextKind
	ctxAddr uint64
	skb     [skbSize]byte
	regs    [ptRegsSize]byte
	packet  []byte
	mem     []byte

	tailCalls int
	// clean says that the last run ended in the fast loop without
	// calls or tail calls, so that it left the Env as its Bind method
	// made it: Runner.keep then needs no rebindableRun check.
	clean    bool
	executed uint64

	// Run-loop state that changes rarely.
	cur       *program
	curVM     *VM
	depth     int
	frames    [MaxCallFrames - 1]frame
	loops     uint64
	budget    uint64
	rest      uint64
	tracer    Tracer
	traceRegs [11]uint64
	printBuf  []byte
	strBuf    []byte
	outBuf    []byte
	reserved  []reservation
	// The context a Bind method recorded, built on first access
	// (fillContext): ctxRegion is its region's index, -1 when it is
	// built or there is none.
	ctxRegion int
	skbMeta   *SKBMeta
	kregs     *PtRegs
	engine    any // see Engine
	xdp       xdpState
	tc        tcState
	tcCheck   func(off uint64, n int, write bool) error // e.checkTCAccess, made once
	// keepPkt (KeepPackets, a Runner's Env) says that the Env keeps the
	// XDP page (keptXDP) and tc buffer (keptTC) it first takes across
	// runs, and that a run's output packet is a view into them (or into
	// pktOut) rather than a copy.
	keepPkt         bool
	keptXDP, keptTC *lowBuf
	pktOut          []byte
	// out receives a Runner run's output packet (endXDP, endTC): a field
	// of the Env rather than a local, whose address would escape.
	out []byte
	tr  traceState // tracing contexts (trace.go)

	// cbBase is the frame depth of the innermost running callback (0
	// outside callbacks), where its exit returns to the helper that
	// called it; cbLeft hands the budget left between a helper call and
	// the callback runs inside it (callback.go).
	cbBase int
	cbLeft uint64

	// pend adds regions the program holds that the Env does not know
	// of yet (SetPendingRegions), reporting whether it added any.
	pend func() bool
	// inner are the inner maps the run reached through maps of maps
	// (mapinmap.go).
	inner []innerMap
}

func addrOf(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

func newEnv(vm *VM) *Env {
	e := &Env{vm: vm, stack: make([]byte, MaxCallFrames*StackSize), ctxRegion: -1}
	e.stackBase = addrOf(e.stack)
	e.regions = make([]Region, 1, 16)
	e.regions[0] = Region{data: e.stack} // the stack; reset sets its bounds
	return e
}

// reset clears the region table and installs the stack with one frame,
// zeroing the bytes of the frame the program can reach. Deeper frames are
// zeroed when a bpf-to-bpf call enters them.
func (e *Env) reset() {
	e.zeroStack(e.vm.prog)
	e.resetState()
}

// zeroStack zeroes the bytes of the main frame that p can reach (see
// program.stackReach); the rest is still zero from the Env's allocation.
func (e *Env) zeroStack(p *program) {
	switch d := int(p.stackDepth); d {
	case 0: // a program that never touches its stack
	case 8: // one slot, the common case: no call of memclr
		ne.PutUint64(e.stack[len(e.stack)-8:], 0)
	default:
		clear(e.stack[len(e.stack)-d:])
	}
}

// resetState is reset without touching the stack's contents.
func (e *Env) resetState() {
	top := e.stackBase + uint64(len(e.stack))
	// Region 0 (the stack) keeps its data from newEnv; EndEnv leaves it.
	e.regions = e.regions[:1]
	r := &e.regions[0]
	r.Start, r.End, r.Perm = e.mainLo(), top, PermRead|PermWrite
	e.dropHot()
	e.fc.ctx, e.fc.ctxLo = nil, 0
	e.tailCalls = 0
	// The packet, memory and context references are nil: EndEnv dropped
	// them when the Env's last run ended (or it never had one).
	e.ctxAddr = 0
	e.ctxRegion = -1
	if len(e.inner) > 0 { // EndEnv drops them; a rerun on the same Env too
		e.endInner()
	}
}

// mainLo is the lowest address of the main frame's region: only the bytes
// the program can reach, which every run zeroes (program.stackDepth).
func (e *Env) mainLo() uint64 {
	return e.stackBase + uint64(len(e.stack)) - uint64(e.vm.prog.stackDepth)
}

// frameLo is the lowest address of the stack region at call depth d.
func (e *Env) frameLo(d int) uint64 {
	if d == 0 {
		return e.mainLo()
	}
	return e.stackBase + uint64(len(e.stack)) - uint64(d+1)*StackSize
}

// fixedRegion appends a region for Bind* to fill in place (cheaper than
// appending a Region value) and counts it among the fixed regions. Its
// check is nil.
func (e *Env) fixedRegion() *Region {
	n := len(e.regions)
	if n < cap(e.regions) {
		e.regions = e.regions[:n+1]
	} else {
		e.regions = append(e.regions, Region{})
	}
	e.fixed = n + 1
	r := &e.regions[n]
	r.check = nil
	return r
}

// MaxDynamicRegions bounds the regions helpers may add in one run (map
// values returned by lookups, ring buffer reservations, direct map value
// storage); repeated lookups of the same value reuse its region. A helper
// that would exceed it aborts the run with an error wrapping ErrHelper.
// The bound keeps the region search fast and memory bounded.
const MaxDynamicRegions = 4096

// addRegion inserts a region into the dynamic part of the table, which is
// kept sorted by Start for binary search. A region with the same Start is
// merged (an array element and its array's whole storage start at the
// same address); other dynamic regions never overlap, being distinct
// allocations or distinct records of a ring.
func (e *Env) addRegion(b []byte, perm Perm) (uint64, error) {
	if e.pend != nil && len(e.regions)-e.fixed >= MaxDynamicRegions-MaxPendingRegions {
		e.pend() // count them as interp would have
	}
	start := addrOf(b)
	end := start + uint64(len(b))
	dyn := e.regions[e.fixed:]
	k := e.search(dyn, start)
	if k < len(dyn) && dyn[k].Start == start {
		r := &dyn[k]
		r.Perm |= perm
		if end > r.End {
			r.End, r.data = end, b
		}
		if r.Perm == PermRead|PermWrite {
			e.setHot(r.data[:r.End-r.Start], start)
		}
		return start, nil
	}
	if len(dyn) >= MaxDynamicRegions {
		return 0, fmt.Errorf("%w: the run holds more than %d map values or ring buffer samples", ErrHelper, MaxDynamicRegions)
	}
	e.regions = append(e.regions, Region{})
	dyn = e.regions[e.fixed:]
	if k < len(dyn)-1 { // not the highest: make room (the common case appends)
		copy(dyn[k+1:], dyn[k:])
	}
	r := &dyn[k]
	r.Start, r.End, r.Perm, r.data, r.check, r.pending = start, end, perm, b, nil, false
	if perm == PermRead|PermWrite {
		e.setHot(b, start) // what the program most likely accesses next
	}
	return start, nil
}

// setHot makes b, the bytes of a read-write region other than the stack
// at address lo, the hot region, and the hot region before it (unless it
// starts at lo too) the second one.
func (e *Env) setHot(b []byte, lo uint64) {
	c := &e.fc
	if lo != c.hotLo || c.hot == nil {
		c.hot2, c.hot2Lo = c.hot, c.hotLo
	}
	c.hot, c.hotLo = b, lo
}

// dropHot forgets both hot regions: a region moved, shrank or went away.
func (e *Env) dropHot() {
	c := &e.fc
	c.hot, c.hotLo, c.hot2, c.hot2Lo = nil, 0, nil, 0
}

// search returns the index of the first region in dyn whose Start is at
// least addr.
func (e *Env) search(dyn []Region, addr uint64) int {
	lo, hi := 0, len(dyn)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if dyn[m].Start < addr {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// AddRegion grants the program access to b for the rest of the run and
// returns b's address. Helpers that return pointers (map lookups, ring
// buffer reservations) use it. An empty b gives 0 (NULL).
func (e *Env) AddRegion(b []byte, perm Perm) (uint64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	return e.addRegion(b, perm)
}

// removeRegion revokes the dynamic region starting at addr (ring buffer
// submit/discard).
func (e *Env) removeRegion(addr uint64) bool {
	dyn := e.regions[e.fixed:]
	k := e.search(dyn, addr)
	if k == len(dyn) || dyn[k].Start != addr {
		return false
	}
	copy(dyn[k:], dyn[k+1:])
	dyn[len(dyn)-1] = Region{}
	e.regions = e.regions[:len(e.regions)-1]
	e.dropHot()
	return true
}

// Bytes returns the n bytes of program memory at addr, checked against
// the region table and its permissions. Helpers use it for pointer
// arguments. n may be 0 (any address is fine, the result is empty).
func (e *Env) Bytes(addr uint64, n int, write bool) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: negative size %d at 0x%x", ErrMemoryAccess, n, addr)
	}
	if n == 0 {
		return nil, nil
	}
	return e.find(addr, n, write)
}

// find is the slow path of a memory check: the fixed regions (stack,
// context, memory) in order, then a binary search of the dynamic ones.
func (e *Env) find(addr uint64, n int, write bool) ([]byte, error) {
	for k := 0; k < e.fixed; k++ {
		if r := &e.regions[k]; addr-r.Start < r.End-r.Start {
			return e.access(k, addr, n, write)
		}
	}
	dyn := e.regions[e.fixed:]
	k := e.search(dyn, addr+1) - 1 // the last region starting at or below addr
	if k >= 0 && addr-dyn[k].Start < dyn[k].End-dyn[k].Start {
		return e.access(e.fixed+k, addr, n, write)
	}
	if e.pend != nil && e.pend() {
		return e.find(addr, n, write)
	}
	if e.ctxKind >= ctxTracepoint {
		return nil, e.traceMiss(write, n, addr) // names the context offset (trace.go)
	}
	return nil, accessErr(write, n, addr, "")
}

// access checks an access of n bytes at addr, which lies in region k.
func (e *Env) access(k int, addr uint64, n int, write bool) ([]byte, error) {
	r := &e.regions[k]
	size := uint64(n)
	if r.End-addr < size {
		return nil, accessErr(write, n, addr, "")
	}
	off := addr - r.Start
	if r.pending {
		e.fillContext()
	}
	if r.check != nil {
		if err := r.check(off, n, write); err != nil {
			return nil, err
		}
	} else if need := permFor(write); r.Perm&need == 0 {
		return nil, accessErr(write, n, addr, "region is read-only")
	}
	base := uint64(len(r.data)) - (r.End - r.Start) // the stack region starts above data[0]
	if k > 0 && r.check == nil && r.Perm == PermRead|PermWrite {
		e.setHot(r.data[:r.End-r.Start], r.Start)
	}
	return r.data[base+off : base+off+size : base+off+size], nil
}

// Map returns the map behind a map handle the program holds (the value an
// LD_IMM64 map load put in a register), or an error.
func (e *Env) Map(handle uint64) (maps.Map, error) {
	vm := e.curVM // the program running now, which may be a tail-call target
	if vm == nil {
		vm = e.vm
	}
	idx := handle - mapHandleBase
	if handle < mapHandleBase || idx%mapHandleStride != 0 || idx/mapHandleStride >= uint64(len(vm.maps)) {
		if in, ok := e.innerMapOf(handle); ok {
			return in.m, nil
		}
		return nil, fmt.Errorf("%w: 0x%x is not a map pointer", ErrMemoryAccess, handle)
	}
	return vm.maps[idx/mapHandleStride], nil
}

// mapHandleBase is where map handles start: an address no user-space
// mapping can have on any 64-bit Linux, so handles never alias regions.
const (
	mapHandleBase   = 0xffff_ff80_0000_0000
	mapHandleStride = 0x1000
)

// MapHandle returns the value an LD_IMM64 map load of the VM's map number
// idx puts in a register (for the JIT).
func MapHandle(idx int) uint64 { return mapHandleBase + uint64(idx)*mapHandleStride }

// Options returns the VM's options (never nil).
func (e *Env) Options() *Options { return &e.vm.opts }

// Context returns the address of the context r1 held at entry.
func (e *Env) Context() uint64 { return e.ctxAddr }

// Packet returns the packet of a socket-filter run, or the memory of a
// raw-memory run (which LD_ABS, LD_IND and skb_load_bytes read).
func (e *Env) Packet() []byte {
	if e.ctxKind == ctxMemory {
		return e.mem
	}
	if e.ctxKind == ctxXDP && e.xdp.page != nil {
		return e.xdpPacket()
	}
	if e.ctxKind == ctxTC && e.tc.b != nil {
		return e.tc.packet()
	}
	return e.packet
}

func permFor(write bool) Perm {
	if write {
		return PermWrite
	}
	return PermRead
}

// Call calls helper fn from the running VM's registry with the
// interpreter's error handling: a helper's ErrHalt comes back as an error
// wrapping ErrHalt with r0 as the result; other errors wrap
// ErrMemoryAccess, ErrHelper or ErrContext and name the helper. For the
// JIT; the interpreter calls helpers itself.
func (e *Env) call(num int64, callx bool, r1, r2, r3, r4, r5 uint64) (uint64, error) {
	ret, err := e.callNum(num, callx, r1, r2, r3, r4, r5)
	if err == errHalted {
		return ret, ErrHalt
	}
	return ret, err
}

// MapValue returns the address of byte off of the value of the VM's
// single-entry array map number idx, as an LD_IMM64 BPF_PSEUDO_MAP_VALUE
// loads it, and grants the program that storage (for the JIT).
func (e *Env) mapValue(idx int, off uint64) (uint64, error) {
	if idx < 0 || idx >= len(e.curVM.maps) {
		return 0, fmt.Errorf("%w: no map number %d", ErrMemoryAccess, idx)
	}
	return e.mapValueAddr(e.curVM, idx, off)
}

// stackTop returns the address r10 holds in the main program's frame.
func (e *Env) stackTop() uint64 { return e.stackBase + uint64(len(e.stack)) }

// KeepPackets makes e keep the XDP page and tc packet buffer of its runs
// across runs (keep) or gives them back to their pools (!keep), and says
// whether the packet a run gives as output is a view into e's buffers,
// valid until e's next XDP or tc bind, rather than a fresh copy. Runners
// set it on their Env; an Env must not keep its buffers when it goes back
// to its VM's pool, or they are lost.
func KeepPackets(e *Env, keep bool) {
	e.keepPkt = keep
	if keep {
		return
	}
	if e.keptXDP != nil && e.keptXDP != e.xdp.page {
		xdpPages.put(e.keptXDP)
	}
	if e.keptTC != nil && e.keptTC != e.tc.b {
		tcBufs.put(e.keptTC)
	}
	e.keptXDP, e.keptTC, e.pktOut = nil, nil, nil
}

// rebindableRun reports whether the run that just ended in e (without an
// error) left the Env as StartEnv and a Bind method made it, apart from
// what the rebind methods set again (the stack's contents, the hot region,
// the context's bytes and the references to the caller's memory): no
// helper-made regions or ring buffer reservations, no tail call (which
// changes the running program), and the main frame current (a helper's
// halt or a packet load past the end can end a run in a callee). A Runner
// keeps such an Env bound for its next run.
func (e *Env) rebindableRun() bool {
	return e.ctxKind != ctxXDP && e.ctxKind != ctxTC && e.depth == 0 && e.tailCalls == 0 && len(e.regions) == e.fixed && len(e.inner) == 0 &&
		len(e.reserved) == 0 && e.cur == e.vm.prog && e.curVM == e.vm
}
