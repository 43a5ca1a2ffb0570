//go:build linux

package bpftest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/tcctx"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/perf"
	"github.com/purebpf/purebpf/prog"
)

var kernelProbe struct {
	once sync.Once
	err  error
}

// KernelAvailable returns nil when this process may load XDP and socket
// filter programs and run them with BPF_PROG_TEST_RUN (root, or CAP_BPF
// with CAP_NET_ADMIN), and otherwise an error that says why not. It asks
// the kernel once, by loading and running two-instruction programs.
func KernelAvailable() error {
	kernelProbe.once.Do(func() {
		for _, t := range []prog.Type{prog.XDP, prog.SocketFilter} {
			p, err := prog.NewProgram(&prog.Spec{Name: "bpftest_probe", Type: t, License: "GPL", Instructions: insn.Instructions{
				insn.Mov.Imm(insn.R0, 2),
				insn.Exit(),
			}}, nil)
			if err != nil {
				kernelProbe.err = fmt.Errorf("load a %s program: %w", t, err)
				return
			}
			_, err = p.Run(&prog.RunOptions{Data: make([]byte, 64)})
			p.Close()
			if err != nil {
				kernelProbe.err = fmt.Errorf("test-run a %s program: %w", t, err)
				return
			}
		}
	})
	return kernelProbe.err
}

// kernelUnusable says why the kernel cannot run inputs of kind, or "".
func kernelUnusable(kind Kind) string {
	switch kind {
	case Memory, Kprobe:
		return fmt.Sprintf("BPF_PROG_TEST_RUN cannot run %s programs", kind)
	}
	if err := KernelAvailable(); err != nil {
		return err.Error()
	}
	return ""
}

// kernelEngine is the program loaded into the kernel, with readers on
// its perf event arrays and ring buffers.
type kernelEngine struct {
	coll    *prog.Collection
	prog    *prog.Program
	cpu     int
	perf    map[string]*perf.PerfReader
	ringbuf map[string]*perf.RingBufReader
	out     []byte
}

// newKernel loads program name of spec into the kernel and returns it
// with the CPU its runs are pinned to: the first this thread may run on.
func newKernel(spec *prog.CollectionSpec, name string, h *Harness) (*kernelEngine, int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, 0, fmt.Errorf("bpftest: sched_getaffinity: %w", err)
	}
	cpu := 0
	for cpu < 1024 && !set.IsSet(cpu) {
		cpu++
	}
	coll, err := prog.NewCollection(spec, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("bpftest: the kernel cannot load program %q: %w", name, err)
	}
	k := &kernelEngine{coll: coll, prog: coll.Programs[name], cpu: cpu,
		perf: map[string]*perf.PerfReader{}, ringbuf: map[string]*perf.RingBufReader{}, out: make([]byte, max(interp.XDPMaxFragsFrame, interp.TCMaxLen)+4096)}
	for mname, m := range coll.Maps {
		if h.ignore[mname] {
			continue
		}
		switch m.MapSpec().Type {
		case prog.PerfEventArray:
			r, err := perf.NewPerfReader(m, perf.PerfReaderOptions{Pages: perfPages})
			if err != nil {
				k.close()
				return nil, 0, fmt.Errorf("bpftest: perf reader for map %q: %w", mname, err)
			}
			k.perf[mname] = r
		case prog.RingBuf:
			r, err := perf.NewRingBufReader(m)
			if err != nil {
				k.close()
				return nil, 0, fmt.Errorf("bpftest: ring buffer reader for map %q: %w", mname, err)
			}
			k.ringbuf[mname] = r
		}
	}
	return k, cpu, nil
}

func (k *kernelEngine) engine() Engine { return Kernel }

func (k *kernelEngine) run(in Input, kind Kind) (Outcome, error) {
	var o Outcome
	var opts prog.RunOptions
	switch kind {
	case XDP:
		opts.Data = in.Packet
		if m := in.XDP; m != nil && (len(m.Meta) > 0 || m.IngressIfindex > 1 || m.RxQueueIndex != 0 || m.EgressIfindex != 0) {
			// struct xdp_md: data, data_end, data_meta,
			// ingress_ifindex, rx_queue_index, egress_ifindex; data
			// and data_end are offsets into Data, whose first
			// len(Meta) bytes become the metadata (Linux 5.15+).
			ctx := make([]byte, 24)
			binary.NativeEndian.PutUint32(ctx[0:], uint32(len(m.Meta)))
			binary.NativeEndian.PutUint32(ctx[4:], uint32(len(m.Meta)+len(in.Packet)))
			binary.NativeEndian.PutUint32(ctx[12:], m.IngressIfindex)
			binary.NativeEndian.PutUint32(ctx[16:], m.RxQueueIndex)
			binary.NativeEndian.PutUint32(ctx[20:], m.EgressIfindex)
			opts.Context = ctx
			opts.Data = append(append([]byte(nil), m.Meta...), in.Packet...)
		}
		opts.DataOut = k.out
	case SocketFilter:
		if why := SocketFilterRefused(in.Packet); why != "" {
			o.KernelSkipped = why
			return o, nil
		}
	case TC:
		if why := TCContextRefused(in.TC); why != "" {
			o.KernelSkipped = why
			return o, nil
		}
		var m interp.TCMeta
		if in.TC != nil {
			m = *in.TC
		}
		// The test run always gets a ctx_in, as interp and jit always
		// get a TCMeta: with one, a wire_len of 0 means the frame's
		// length (without, qdisc_skb_cb's pkt_len would stay 0).
		opts.Data, opts.DataOut = in.Packet, k.out
		opts.Context, opts.ContextOut = tcctx.In(&m), make([]byte, tcctx.Size)
	default:
		return o, fmt.Errorf("input kind %s not supported", kind)
	}
	unpin, err := pinCPU(k.cpu)
	if err != nil {
		return o, err
	}
	if kind == SocketFilter {
		var v uint32
		v, o.Err = k.prog.RunSocketFilter(in.Packet)
		o.Ret = uint64(v)
	} else {
		var res *prog.RunResult
		res, o.Err = k.prog.Run(&opts)
		if o.Err == nil {
			o.Ret, o.Packet = uint64(res.Retval), append([]byte(nil), res.DataOut...)
			if kind == TC {
				m := tcctx.Out(res.ContextOut)
				o.TC = &m
			}
		}
	}
	unpin()
	return o, nil
}

// pinCPU binds the calling goroutine to its thread and the thread to
// cpu, and returns the function that undoes both.
func pinCPU(cpu int) (func(), error) {
	runtime.LockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("pin to CPU %d: %w", cpu, err)
	}
	return func() {
		unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}, nil
}

func (k *kernelEngine) mapper(name string) prog.Mapper {
	if m := k.coll.Maps[name]; m != nil {
		return m
	}
	return nil
}

func (k *kernelEngine) dump(name string) (mapDump, error) {
	m := k.coll.Maps[name]
	if m == nil {
		return mapDump{}, fmt.Errorf("no such map")
	}
	d, err := dumpMapper(m)
	if err != nil {
		return d, err
	}
	if r := k.perf[name]; r != nil {
		d.padded = true
		if d.records, err = drain(r); err != nil {
			return d, err
		}
	}
	if r := k.ringbuf[name]; r != nil {
		if d.records, err = drain(r); err != nil {
			return d, err
		}
	}
	return d, nil
}

// drain reads the records r holds without waiting: samples as their
// bytes, lost-sample records as "lost N".
func drain(r interface {
	SetDeadline(time.Time)
	Read() (perf.Record, error)
}) ([]string, error) {
	var recs []string
	r.SetDeadline(time.Now())
	for {
		rec, err := r.Read()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return recs, nil
		case err != nil:
			return recs, fmt.Errorf("read records: %w", err)
		case rec.LostSamples != 0:
			recs = append(recs, fmt.Sprintf("lost %d", rec.LostSamples))
		default:
			recs = append(recs, string(rec.RawSample))
		}
	}
}

func (k *kernelEngine) close() error {
	for _, r := range k.perf {
		r.Close()
	}
	for _, r := range k.ringbuf {
		r.Close()
	}
	return k.coll.Close()
}

// kernelXDPMaxMetadata asks the running kernel for its limit on XDP
// metadata: 255 bytes on recent kernels (6.18), 32 on older ones such as
// 6.1, where xdp_metalen_invalid refuses 36 with EACCES. It returns 0
// (the engines' default, 255) when the kernel takes 36 bytes or cannot be
// asked.
func kernelXDPMaxMetadata() int {
	p, err := prog.NewProgram(&prog.Spec{Name: "meta_probe", Type: prog.XDP, License: "GPL", Instructions: insn.Instructions{
		insn.Mov.Imm(insn.R2, -36),
		insn.FnXDPAdjustMeta.Call(),
		insn.Exit(),
	}}, nil)
	if err != nil {
		return 0
	}
	defer p.Close()
	res, err := p.Run(&prog.RunOptions{Data: make([]byte, 64)})
	if err == nil && int32(res.Retval) == -13 { // -EACCES
		return 32
	}
	return 0
}

// kernelTCVersion is the tc helper semantics of the running kernel
// (tcctx.KernelVersion).
func kernelTCVersion() uint32 { return tcctx.KernelVersion() }
