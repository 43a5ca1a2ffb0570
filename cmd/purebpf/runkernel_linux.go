//go:build linux

package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"

	"github.com/purebpf/purebpf/prog"
	"golang.org/x/sys/unix"
)

// runKernel runs p in the kernel with BPF_PROG_TEST_RUN: an object's
// program through prog.NewCollection (with the object's maps, global
// data and initialisers), an assembly or bytecode program through
// prog.NewProgram with maps created from its declarations. It needs the
// privileges BPF_PROG_LOAD does. Maps are never pinned, and the runs
// happen on CPU 0, as in interp and jit.
//
// A socket filter runs through Program.RunSocketFilter, so that it sees
// the whole Ethernet frame as it does in interp, in jit and on a socket
// (BPF_PROG_TEST_RUN alone starts it at the network header); socket
// filters cannot change the packet, so "packet =" shows it as given.
func runKernel(p *program, in *input, o *runOptions, stdout io.Writer) error {
	t := p.spec.Type
	if t == prog.UnspecifiedProgram {
		return fmt.Errorf("--engine kernel: the kernel has no raw-memory programs; set the program type with --type")
	}
	var kp *prog.Program
	kmaps := map[string]*prog.Map{}
	var kprogs map[string]*prog.Program // an object's programs, for prog array dumps
	if p.object != nil {
		// A run leaves nothing behind: maps the object pins by name
		// are created unpinned, fresh for this run.
		for _, om := range p.object.Maps {
			om.Pinning = prog.PinNone
		}
		coll, err := prog.NewCollection(runObjectSpec(p), nil)
		if err != nil {
			return err
		}
		defer coll.Close()
		kp = coll.Programs[p.name]
		kmaps, kprogs = coll.Maps, coll.Programs
	} else {
		defer func() {
			for _, m := range kmaps {
				m.Close()
			}
		}()
		for _, ms := range p.spec.Maps {
			m, err := prog.NewMap(ms)
			if err != nil {
				return fmt.Errorf("map %q: %w", ms.Name, err)
			}
			kmaps[ms.Name] = m
		}
		var err error
		if kp, err = prog.NewProgram(p.spec, &prog.ProgramOptions{Maps: kmaps}); err != nil {
			return err
		}
		defer kp.Close()
	}
	// Runs happen on CPU 0, as in interp and jit (Options.CPU), so that
	// per-CPU maps and get_smp_processor_id agree between the engines.
	restore, err := onCPU0()
	if err != nil {
		return err
	}
	defer restore()
	res := result{hasPkt: packetProgram(t)}
	switch t {
	case prog.SocketFilter:
		r0, err := kp.RunSocketFilter(in.packet)
		if err != nil {
			return err
		}
		res.r0, res.packet = uint64(r0), in.packet
	default:
		opts := &prog.RunOptions{Data: in.packet, Context: in.ctx}
		if t == prog.SchedCLS || t == prog.SchedACT || t == prog.XDP {
			// Room for a packet the program grew (tc helpers make
			// packets of up to 16 KiB, bpf_skb_vlan_push even longer).
			opts.DataOut = make([]byte, len(in.packet)+64<<10)
		}
		rr, err := kp.Run(opts)
		if err != nil {
			return err
		}
		res.r0, res.packet = uint64(rr.Retval), rr.DataOut
	}
	res.print(stdout, t)
	if o.repeat > 0 {
		opts := &prog.RunOptions{Data: in.packet, Context: in.ctx, Repeat: uint32(min(o.repeat, 1<<31))}
		if t == prog.SocketFilter {
			// As RunSocketFilter does: the kernel consumes a copy of
			// the Ethernet header and the filter sees the whole frame.
			if len(in.packet) < 14 {
				return fmt.Errorf("--repeat: a socket filter's packet must be an Ethernet frame of at least 14 bytes, not %d", len(in.packet))
			}
			opts.Data = slices.Concat(in.packet[:14], in.packet)
		}
		rr, err := kp.Run(opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "mean %.1f ns per run over %d runs (measured by BPF_PROG_TEST_RUN)\n", float64(rr.Duration.Nanoseconds()), opts.Repeat)
	}
	if o.dumpMaps {
		cpus, err := prog.PossibleCPUs()
		if err != nil {
			return err
		}
		return dumpMaps(stdout, p.spec.Maps, func(name string) prog.Mapper {
			if m := kmaps[name]; m != nil {
				return m
			}
			return nil
		}, cpus, func(id uint32) string {
			for name, kp := range kprogs {
				if info, err := kp.Info(); err == nil && info.ID == id {
					return name
				}
			}
			return ""
		}, func(id uint32) string {
			for name, km := range kmaps {
				if info, err := km.Info(); err == nil && info.ID == id {
					return name
				}
			}
			return ""
		})
	}
	return nil
}

// onCPU0 pins the calling goroutine to its thread and the thread to CPU
// 0 (BPF_PROG_TEST_RUN runs the program on the caller's CPU; only some
// program types take BPF_F_TEST_RUN_ON_CPU). restore gives the thread its
// old affinity back and unlocks it.
func onCPU0() (restore func(), err error) {
	runtime.LockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var cpu0 unix.CPUSet
	cpu0.Set(0)
	if err := unix.SchedSetaffinity(0, &cpu0); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("running on CPU 0: sched_setaffinity: %w", err)
	}
	return func() {
		unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}, nil
}
