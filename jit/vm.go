package jit

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// Options configures a JIT VM. A nil *Options means the defaults: checked
// mode, the default budget, interp's default helpers.
type Options struct {
	// Interp is the environment, exactly as package interp takes it:
	// helpers, maps, budget (MaxInstructions), CPU, clocks, trace output.
	// The JIT builds an interp.VM from it and runs in that VM's Envs, so
	// both engines see the same maps, helpers and regions.
	Interp *interp.Options
	// Unchecked turns off the region checks of loads, stores and atomics.
	// Only for trusted programs: an unchecked program can read and write
	// any memory of the process. Misaligned atomics are still rejected,
	// helpers still check their pointer arguments. An unchecked VM must
	// never sit in a program array that untrusted (checked) programs can
	// reach: they could forge its registers. Checked callers refuse such
	// tail calls unless they set AllowUncheckedTailCalls.
	Unchecked bool
	// NoBudget removes the instruction budget: a program that loops
	// forever then never returns, and the goroutine running it cannot be
	// preempted. Only for trusted programs.
	NoBudget bool
	// AllowUncheckedTailCalls lets this program, when it is checked,
	// tail-call VMs compiled with Unchecked. Without it such a tail call
	// fails with ErrUncheckedTailCall: a checked program is untrusted
	// code, and it could forge r1 and the other registers and hand them
	// to an unchecked program, which then reads and writes any host
	// address it is given. Set it only when every program that can reach
	// the program arrays holding unchecked VMs is trusted too.
	AllowUncheckedTailCalls bool
	// Fallback runs the program in package interp when it cannot be
	// compiled (or there is no JIT for this platform) instead of failing.
	// It is never implied: without it, anything the JIT cannot compile is
	// an error from New.
	Fallback bool
}

// VM is a program compiled to machine code, with the interp.VM that holds
// its environment. It is safe for concurrent runs from several goroutines.
// Close frees the machine code.
type VM struct {
	ivm    *engine.VM // the engine's VM: environment, maps, helpers
	pub    *interp.VM // ivm as package interp shows it (Interp)
	opts   Options
	code   *code     // nil when running in interp (Fallback)
	typ    prog.Type // the program type, which selects the context
	budget int64     // the instruction budget a run starts with
	// refs counts what may be executing the code or return into it: runs
	// in flight (their root VM and the tail-call targets they entered)
	// and open Runners. closed is set by Close; the code is unmapped
	// (free) once both say so, by whichever comes last.
	refs     atomic.Int64
	closed   atomic.Bool
	freeOnce sync.Once
	freeErr  error
	// slot holds the VM's own run state (with an Env it keeps), taken
	// with an atomic exchange by a VM run that overlaps no other and put
	// back when it ends: while it is out, the code cannot be unmapped
	// (Close finds the slot empty); slotGone says that Close (or the run
	// that put it back after Close) has removed it for good.
	slot     atomic.Pointer[run]
	slotGone atomic.Bool
}

// A *VM runs anything an *interp.VM runs, through the same interface.
var _ interp.Program = (*VM)(nil)

// New loads spec like interp.New (with the same load-time checks and
// errors) and compiles it. A compile error is a *CompileError wrapping
// ErrCompile, unless Options.Fallback is set.
func New(spec *prog.Spec, opts *Options) (*VM, error) {
	vm := &VM{}
	if opts != nil {
		vm.opts = *opts
	}
	pub, err := interp.New(spec, vm.opts.Interp)
	if err != nil {
		return nil, err
	}
	if vm.opts.Interp != nil && vm.opts.Interp.Coverage != nil {
		// Machine code does not count instructions.
		if vm.opts.Fallback {
			vm.ivm, vm.pub, vm.typ = engine.HandleVM(pub), pub, spec.Type
			vm.budget = runBudget(&vm.opts)
			return vm, nil
		}
		return nil, fmt.Errorf("jit: program %q: Options.Interp.Coverage is set, but compiled code cannot count the instructions it runs; run it in interp, or set Fallback: %w", spec.Name, ErrNotSupported)
	}
	return vm.compile(pub)
}

// compile compiles the program of pub into vm.
func (vm *VM) compile(pub *interp.VM) (*VM, error) {
	return vm.compileEngine(engine.HandleVM(pub), pub)
}

// compileEngine compiles the program of ivm, which pub (possibly nil)
// shows to users, into vm.
func (vm *VM) compileEngine(ivm *engine.VM, pub *interp.VM) (*VM, error) {
	vm.ivm, vm.pub = ivm, pub
	vm.typ = ivm.Spec().Type
	vm.budget = runBudget(&vm.opts)
	if ivm.HasCallbacks() {
		if vm.opts.Fallback {
			return vm, nil
		}
		return nil, fmt.Errorf("jit: program %q: %w", ivm.Spec().Name, ErrCallbacks)
	}
	opts := compileOptions{
		unchecked: vm.opts.Unchecked,
		noBudget:  vm.opts.NoBudget,
		mapHandle: func(i insn.Instruction) (uint64, error) {
			idx, err := mapIndex(ivm, i)
			return engine.MapHandle(idx), err
		},
	}
	fastOptions(&opts, ivm)
	factOptions(&opts, ivm)
	c, err := newCode(ivm.Instructions(), opts)
	if err != nil {
		if vm.opts.Fallback {
			return vm, nil
		}
		return nil, err
	}
	vm.code = c
	vm.slot.Store(vm.newRun())
	engine.SetCompiled(ivm, vm)
	return vm, nil
}

// Load decodes raw little-endian bytecode and compiles it as a raw-memory
// program (prog.UnspecifiedProgram) with no maps, like interp.Load.
func Load(raw []byte, opts *Options) (*VM, error) {
	is, err := insn.Unmarshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", interp.ErrLoad, err)
	}
	return New(&prog.Spec{Name: "raw", Type: prog.UnspecifiedProgram, Instructions: is}, opts)
}

// Interp returns the interp.VM that holds the program's environment. Its
// Run methods interpret the same program.
func (vm *VM) Interp() *interp.VM { return vm.pub }

// ID returns a number unique to the program in this process, its
// interp.VM's ID: what program arrays report for it
// (maps.ProgArray.Lookup).
func (vm *VM) ID() uint32 { return vm.ivm.ID() }

// Compiled reports whether the program runs as machine code (false after a
// Fallback to interp).
func (vm *VM) Compiled() bool { return vm.code != nil }

// Map returns the map called name, or nil.
func (vm *VM) Map(name string) maps.Map { return vm.ivm.Map(name) }

// Close frees the machine code. It is safe while runs are in progress
// (on this VM, or in other VMs' runs that tail-called into it): runs that
// start after Close fail with an error wrapping ErrClosed, a program
// array entry holding the VM becomes empty for tail calls that follow,
// and the code is unmapped when the last run has left it and the last
// Runner is closed. Closing twice is a no-op.
func (vm *VM) Close() error {
	if vm.code == nil || vm.closed.Swap(true) {
		return nil
	}
	if vm.slot.Swap(nil) != nil { // no run holds it: remove it
		vm.slotGone.Store(true)
	}
	if vm.slotGone.Load() && vm.refs.Load() == 0 {
		return vm.free()
	}
	return nil
}

// putSlot gives back the run state taken from vm.slot. If vm was closed
// meanwhile, it removes it for good and frees the code if nothing else
// holds it.
func (vm *VM) putSlot(r *run) {
	vm.slot.Store(r)
	if vm.closed.Load() && vm.slot.Swap(nil) != nil {
		vm.slotGone.Store(true)
		if vm.refs.Load() == 0 {
			vm.free()
		}
	}
}

// acquire takes a reference that keeps the code mapped (see refs); false,
// without one, when the VM is closed.
func (vm *VM) acquire() bool {
	vm.refs.Add(1)
	if vm.closed.Load() {
		vm.release()
		return false
	}
	return true
}

// release drops a reference from acquire, freeing the code if it was
// the last one of a closed VM.
func (vm *VM) release() {
	if vm.refs.Add(-1) == 0 && vm.closed.Load() && vm.slotGone.Load() {
		vm.free()
	}
}

// free unmaps the code, once.
func (vm *VM) free() error {
	vm.freeOnce.Do(func() { vm.freeErr = vm.code.close() })
	return vm.freeErr
}

// mapIndex resolves an LD_IMM64 map reference to an index into the VM's
// maps the way interp does: by Ref (the map's name, in the order of
// spec.Maps), or for raw bytecode by the fd/index in the immediate.
func mapIndex(ivm *engine.VM, i insn.Instruction) (int, error) {
	if i.Ref != "" {
		for k, ms := range ivm.Spec().Maps {
			if ms.Name == i.Ref {
				return k, nil
			}
		}
		return 0, fmt.Errorf("map %q is not in the spec's Maps", i.Ref)
	}
	fd := int(i.MapFD())
	if fd < 0 || fd >= len(ivm.Maps()) {
		return 0, fmt.Errorf("lddw refers to map %d without a name, and the spec has %d maps", fd, len(ivm.Maps()))
	}
	return fd, nil
}

// lookupTarget returns the JIT VM a program array entry stands for: a
// *VM itself; for an *interp.VM, the JIT VM compiled from it (which the
// interp VM keeps alive while the array holds it), compiled now, checked,
// if there is none or it is closed, so that the JIT runs every program
// interp would run. nil means an empty slot.
func lookupTarget(p any) *VM {
	if t, ok := p.(*VM); ok {
		return t
	}
	ev := engine.HandleVM(p)
	if ev == nil {
		return nil
	}
	if v, ok := engine.Compiled(ev).(*VM); ok && !v.closed.Load() {
		return v
	}
	pub, _ := p.(*interp.VM)
	v := &VM{}
	if _, err := v.compileEngine(ev, pub); err != nil || v.code == nil {
		return nil
	}
	return v // compileEngine recorded it as ev's compiled program
}

func init() {
	// A program array may hold a *VM: interp runs its program too, unless
	// the VM is closed (an empty slot, as for the JIT).
	engine.RegisterHandle(func(p any) *engine.VM {
		if v, ok := p.(*VM); ok && v != nil && !v.closed.Load() {
			return v.ivm
		}
		return nil
	})
}

// runBudget is the instruction budget a run starts with.
func runBudget(opts *Options) int64 {
	if opts.NoBudget {
		return 1<<63 - 1
	}
	b := uint64(interp.DefaultMaxInstructions)
	if opts.Interp != nil && opts.Interp.MaxInstructions != 0 {
		b = opts.Interp.MaxInstructions
	}
	if b > 1<<62 {
		b = 1 << 62
	}
	return int64(b)
}
