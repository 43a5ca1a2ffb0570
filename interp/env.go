package interp

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
}

// Env is the state of one run: the region table, the stack, the context
// and the packet. Helpers receive it to access program memory. A VM keeps a
// pool of them; the JIT uses the same type through VM.AcquireEnv,
// Env.Bind* and VM.ReleaseEnv. An Env is used by one goroutine at a time.
type Env struct {
	vm      *VM
	regions []Region // regions[0] is the stack, from the current frame up
	fixed   int      // regions set up by Bind*; the rest are helper-made
	// hot is the data of the read-write region (other than the stack)
	// that matched last, and hotLo its address: exec's fast path checks
	// it inline.
	hot   []byte
	hotLo uint64

	stack     []byte // MaxCallFrames * StackSize bytes
	stackBase uint64 // address of stack[0]

	ctxKind contextKind
	ctxAddr uint64
	skb     [skbSize]byte
	regs    [ptRegsSize]byte
	packet  []byte
	mem     []byte

	tailCalls int
	executed  uint64

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
}

func addrOf(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

func newEnv(vm *VM) *Env {
	e := &Env{vm: vm, stack: make([]byte, MaxCallFrames*StackSize)}
	e.stackBase = addrOf(e.stack)
	e.regions = make([]Region, 0, 16)
	return e
}

// reset clears the region table and installs the stack with one frame.
func (e *Env) reset() {
	clear(e.regions[:cap(e.regions)]) // drop references to helper regions
	top := e.stackBase + uint64(len(e.stack))
	e.regions = append(e.regions[:0], Region{Start: top - StackSize, End: top, Perm: PermRead | PermWrite, data: e.stack})
	clear(e.stack[len(e.stack)-StackSize:])
	e.hot, e.hotLo = nil, 0
	e.tailCalls = 0
	e.packet, e.mem = nil, nil
	e.ctxAddr = 0
}

// StackTop returns the address r10 holds in the main program's frame.
func (e *Env) StackTop() uint64 { return e.stackBase + uint64(len(e.stack)) }

// Regions returns the region table. Element 0 is the stack; its Start
// moves down by StackSize per active bpf-to-bpf call.
func (e *Env) Regions() []Region { return e.regions }

// addRegion appends a region after the fixed ones; duplicates are reused so
// that repeated map lookups do not grow the table.
func (e *Env) addRegion(b []byte, perm Perm) uint64 {
	start := addrOf(b)
	end := start + uint64(len(b))
	for k := e.fixed; k < len(e.regions); k++ {
		r := &e.regions[k]
		if r.Start == start && r.End == end {
			r.Perm |= perm
			return start
		}
	}
	e.regions = append(e.regions, Region{Start: start, End: end, Perm: perm, data: b})
	return start
}

// AddRegion grants the program access to b for the rest of the run and
// returns b's address. Helpers that return pointers (map lookups, ring
// buffer reservations) use it.
func (e *Env) AddRegion(b []byte, perm Perm) uint64 {
	if len(b) == 0 {
		return 0
	}
	return e.addRegion(b, perm)
}

// removeRegion revokes the region starting at addr (ring buffer
// submit/discard).
func (e *Env) removeRegion(addr uint64) bool {
	for k := e.fixed; k < len(e.regions); k++ {
		if e.regions[k].Start == addr {
			e.regions = append(e.regions[:k], e.regions[k+1:]...)
			e.regions[len(e.regions):cap(e.regions)][0] = Region{}
			e.hot, e.hotLo = nil, 0
			return true
		}
	}
	return false
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

// find is the slow path of a memory check.
func (e *Env) find(addr uint64, n int, write bool) ([]byte, error) {
	size := uint64(n)
	for k := range e.regions {
		r := &e.regions[k]
		if addr-r.Start >= r.End-r.Start || r.End-addr < size {
			continue
		}
		need := PermRead
		if write {
			need = PermWrite
		}
		off := addr - r.Start
		if r.check != nil {
			if err := r.check(off, n, write); err != nil {
				return nil, err
			}
		} else if r.Perm&need == 0 {
			return nil, accessErr(write, n, addr, "region is read-only")
		}
		base := uint64(len(r.data)) - (r.End - r.Start) // stack region: Start above data[0]
		if k > 0 && r.check == nil && r.Perm == PermRead|PermWrite {
			e.hot, e.hotLo = r.data, r.Start
		}
		return r.data[base+off : base+off+size : base+off+size], nil
	}
	return nil, accessErr(write, n, addr, "")
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

// VM returns the VM the run belongs to.
func (e *Env) VM() *VM { return e.vm }

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
	return e.packet
}
