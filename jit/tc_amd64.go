//go:build amd64 && unix

package jit

import (
	"github.com/purebpf/purebpf/internal/engine"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// isTC reports whether t takes the tc __sk_buff context.
func isTC(t prog.Type) bool { return t == prog.SchedCLS || t == prog.SchedACT }

// runTC is a tc run in r (see runBound): the context's bytes are written
// only on first access; ending the Env copies the packet out and the
// context's fields to *meta, which a failed run leaves as it was.
func (vm *VM) runTC(r *run, kept bool, frame []byte, meta *interp.TCMeta) (uint32, []byte, error) {
	var saved interp.TCMeta
	if meta != nil {
		saved = *meta
	}
	ret, err := vm.runBound(r, kept, true, func(e *engine.Env) (uint64, error) { return engine.BindTC(e, frame, meta, &r.out) })
	out := r.out
	r.out = nil
	if err != nil {
		if meta != nil {
			*meta = saved
		}
		return uint32(ret), nil, err
	}
	return uint32(ret), out, nil
}

// RunTC runs a sched_cls or sched_act program on frame with an __sk_buff
// context, like interp.VM.RunTC.
func (vm *VM) RunTC(frame []byte, meta *interp.TCMeta) (uint32, []byte, error) {
	if vm.code == nil {
		return vm.ivm.RunTC(frame, meta)
	}
	if !isTC(vm.typ) {
		_, _, err := vm.ivm.RunTC(frame, meta)
		return 0, nil, err
	}
	return vm.runPacket(func(r *run, kept bool) (uint32, []byte, error) { return vm.runTC(r, kept, frame, meta) })
}

// RunTC runs a tc program on frame, exactly like VM.RunTC, in the
// Runner's own state; as with RunXDP, the output packet lies in the
// Runner's packet buffer and is valid only until the Runner's next run or
// Close (see Runner).
func (rn *Runner) RunTC(frame []byte, meta *interp.TCMeta) (uint32, []byte, error) {
	r, vm := rn.r, rn.vm
	if r == nil || !isTC(vm.typ) || vm.closed.Load() {
		if rn.ir != nil {
			return rn.ir.RunTC(frame, meta)
		}
		return 0, nil, rn.otherErr(prog.SchedCLS)
	}
	return vm.runTC(r, true, frame, meta)
}
