//go:build amd64 && unix

package jit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// xdpResult is what one XDP run gives in an engine: the action, the
// packet and the rets array's 8 values afterwards.
type xdpResult struct {
	action uint32
	out    []byte
	rets   [8]int64
	err    error
}

// xdpFrames generates frames for xdp_ops.c: Ethernet frames whose first
// two bytes pick the helper and its argument, IPv4 ones (valid, with
// options, truncated) and other ethertypes, from 14 bytes to past the
// largest frame the kernel's test run takes.
func xdpFrames(rng *rand.Rand, n int) [][]byte {
	var fs [][]byte
	for k := 0; k < n; k++ {
		size := 14 + rng.IntN(120)
		switch rng.IntN(8) {
		case 0:
			size = 14 + rng.IntN(8)
		case 1:
			size = 1000 + rng.IntN(2600)
		}
		f := make([]byte, size)
		for i := range f {
			f[i] = byte(rng.Uint32())
		}
		f[0] = byte(k) // every mode in turn
		if rng.IntN(4) > 0 {
			f[12], f[13] = 0x08, 0x00
			if size >= 34 {
				f[14] = 0x45 + byte(rng.IntN(3))
				f[22] = byte(rng.IntN(4)) // ttl 0..3: some are dropped
				f[23] = []byte{1, 6, 17, 47}[rng.IntN(4)]
			}
		}
		fs = append(fs, f)
	}
	return fs
}

func loadXDPOps(t *testing.T) *prog.CollectionSpec {
	t.Helper()
	cs, err := prog.LoadCollectionSpec("testdata/xdp_ops.o")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// userXDP runs the frames in interp (jit false) or jit, in a collection
// of the object (interp.NewCollection, NewCollection).
func userXDP(t *testing.T, cs *prog.CollectionSpec, frames [][]byte, useJIT bool) ([]xdpResult, maps.Map, *maps.PerfEventArray) {
	res, ms := userXDPColl(t, cs, frames, useJIT)
	return res, ms["protos"], ms["events"].(*maps.PerfEventArray)
}

func userXDPColl(t *testing.T, cs *prog.CollectionSpec, frames [][]byte, useJIT bool) ([]xdpResult, map[string]maps.Map) {
	t.Helper()
	copts := &interp.CollectionOptions{Program: &interp.Options{MapOptions: &maps.Options{CPUs: 1}, XDPMaxMetadata: kernelXDPMaxMetadata()}}
	var p interp.Program
	var ms map[string]maps.Map
	if useJIT {
		c, err := NewCollection(cs, copts, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		p, ms = c.Programs["xdp_ops"], c.Maps
	} else {
		c, err := interp.NewCollection(cs, copts)
		if err != nil {
			t.Fatal(err)
		}
		p, ms = c.Programs["xdp_ops"], c.Maps
	}
	var res []xdpResult
	for _, f := range frames {
		var r xdpResult
		in := append([]byte(nil), f...)
		r.action, r.out, r.err = p.RunXDP(in, nil)
		if !bytes.Equal(in, f) {
			t.Fatal("RunXDP changed its input frame")
		}
		for k := range r.rets {
			v := ms["rets"].LookupRaw(binary.NativeEndian.AppendUint32(nil, uint32(k)), 0)
			r.rets[k] = int64(binary.NativeEndian.Uint64(v))
		}
		res = append(res, r)
	}
	return res, ms
}

// TestXDPEngines runs xdp_ops.c on generated frames in interp and jit:
// actions, output packets, helper results and maps agree, perf samples
// carry the packet bytes the flags ask for, and frames the kernel's test
// run refuses are refused with ErrContext.
func TestXDPEngines(t *testing.T) {
	cs := loadXDPOps(t)
	frames := xdpFrames(rand.New(rand.NewPCG(15, 1)), 400)
	frames = append(frames, make([]byte, 13), make([]byte, interp.XDPMaxFragsFrame+1), make([]byte, interp.XDPMaxFrame), make([]byte, interp.XDPMaxFrame+1), make([]byte, 9000))
	ir, ip, iev := userXDP(t, cs, frames, false)
	jr, jp, jev := userXDP(t, cs, frames, true)
	actions := map[uint32]int{}
	for k := range frames {
		a, b := ir[k], jr[k]
		if (a.err == nil) != (b.err == nil) || a.action != b.action || !bytes.Equal(a.out, b.out) || a.rets != b.rets {
			t.Fatalf("frame %d (% x...): interp %d %v % x %v; jit %d %v % x %v", k, frames[k][:14], a.action, a.rets, a.out, a.err, b.action, b.rets, b.out, b.err)
		}
		if n := len(frames[k]); n < 14 || n > interp.XDPMaxFragsFrame {
			if !errors.Is(a.err, interp.ErrContext) {
				t.Fatalf("frame of %d bytes: err %v, want ErrContext", n, a.err)
			}
			continue
		}
		if a.err != nil {
			t.Fatalf("frame %d: %v", k, a.err)
		}
		actions[a.action]++
	}
	if len(actions) < 4 {
		t.Fatalf("actions seen: %v; want ABORTED/DROP/PASS/TX/REDIRECT variety", actions)
	}
	for key := uint32(0); key < 256; key++ {
		kb := binary.NativeEndian.AppendUint32(nil, key)
		if !bytes.Equal(ip.LookupRaw(kb, 0), jp.LookupRaw(kb, 0)) {
			t.Fatalf("protos[%d]: interp % x, jit % x", key, ip.LookupRaw(kb, 0), jp.LookupRaw(kb, 0))
		}
	}
	is, js := iev.Records(), jev.Records()
	if len(is) == 0 || len(is) != len(js) {
		t.Fatalf("perf samples: interp %d, jit %d", len(is), len(js))
	}
	// Every sample is the tag and the first arg bytes of the packet as
	// the program saw it (after the TTL decrement).
	n := 0
	for k, f := range frames {
		if len(f) < 14 || len(f) > interp.XDPMaxFragsFrame || f[0]&7 != 6 || ir[k].rets[0] != 0 || ir[k].action != interp.XDPPass {
			continue
		}
		s := is[n].Sample
		if !bytes.Equal(s, js[n].Sample) || binary.NativeEndian.Uint32(s) != 0xfeedf00d || !bytes.Equal(s[4:], ir[k].out[:f[1]]) {
			t.Fatalf("sample %d: % x; interp packet % x", n, s, ir[k].out)
		}
		n++
	}
	if n != len(is) {
		t.Fatalf("%d samples, %d expected", len(is), n)
	}
}

// TestXDPKernelDifferential runs xdp_ops.c on the same frames in the
// kernel (BPF_PROG_TEST_RUN), interp and jit: actions, output packets,
// helper results and the protos map agree. Needs root. The one
// difference normalised: bpf_perf_event_output to a perf array slot with
// no open event gives -ENOENT in the kernel, while userspace perf arrays
// always take samples (0).
func TestXDPKernelDifferential(t *testing.T) {
	testenv.RequireRoot(t)
	cs := loadXDPOps(t)
	frames := xdpFrames(rand.New(rand.NewPCG(15, 2)), 600)
	// Longer frames run as multi-buffer frames (frags), in the kernel
	// and in userspace.
	frames = append(frames, make([]byte, 13), make([]byte, interp.XDPMaxFrame), make([]byte, interp.XDPMaxFrame+1), make([]byte, 9000))
	rng := rand.New(rand.NewPCG(15, 3))
	for _, f := range frames[:60] {
		long := make([]byte, interp.XDPMaxFrame+1+rng.IntN(4*interp.XDPFragSize))
		for i := range long {
			long[i] = byte(rng.Uint32())
		}
		frames = append(frames, append(long[:0:0], append(f, long[len(f):]...)...))
	}
	coll, err := prog.NewCollection(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	kp, krets := coll.Programs["xdp_ops"], coll.Maps["rets"]
	var kr []xdpResult
	for _, f := range frames {
		var r xdpResult
		res, err := kp.Run(&prog.RunOptions{Data: f, DataOut: make([]byte, len(f)+4096)})
		r.err = err
		if err == nil {
			r.action, r.out = res.Retval, res.DataOut
		}
		for k := range r.rets {
			krets.Lookup(uint32(k), &r.rets[k])
		}
		kr = append(kr, r)
	}
	ir, ip, _ := userXDP(t, cs, frames, false)
	jr, _, _ := userXDP(t, cs, frames, true)
	mismatch := 0
	for k, f := range frames {
		a := kr[k]
		for _, u := range []xdpResult{ir[k], jr[k]} {
			if f[0]&7 == 6 && len(f) >= 14 && a.rets[0] == -2 && u.rets[0] == 0 {
				a.rets[0] = 0
			}
			if (a.err == nil) != (u.err == nil) || a.action != u.action || !bytes.Equal(a.out, u.out) || a.rets != u.rets {
				mismatch++
				if mismatch < 10 {
					t.Errorf("frame %d (%d bytes, % x): kernel %d %v %v out % x; userspace %d %v %v out % x", k, len(f), f[:min(len(f), 14)], a.action, a.rets, a.err, a.out[:min(len(a.out), 80)], u.action, u.rets, u.err, u.out[:min(len(u.out), 80)])
				}
			}
		}
	}
	if mismatch > 0 {
		t.Fatalf("%d mismatches of %d frames", mismatch, len(frames))
	}
	kprotos := coll.Maps["protos"]
	for key := uint32(0); key < 256; key++ {
		var kv uint64
		kerr := kprotos.Lookup(key, &kv)
		uv := ip.LookupRaw(binary.NativeEndian.AppendUint32(nil, key), 0)
		if (kerr == nil) != (uv != nil) || (uv != nil && kv != binary.NativeEndian.Uint64(uv)) {
			t.Fatalf("protos[%d]: kernel %d (%v), interp % x", key, kv, kerr, uv)
		}
	}
}

// TestXDPBounds checks the sandbox of the XDP context in interp and jit
// (direct and through a Runner): the packet pointers of xdp_md reach
// exactly [data_meta, data_end); a load at data_end or before data_meta,
// a store to xdp_md and a narrow or 8-byte read of its fields fail with
// ErrMemoryAccess or ErrContext, as the verifier would refuse them; the
// last byte and the metadata are reachable.
func TestXDPBounds(t *testing.T) {
	const D, DE, DM = 0, 4, 8
	ld := func(field int16, off int16, sz insn.Size) insn.Instructions {
		return insn.Instructions{
			insn.LoadMem(insn.R2, insn.R1, field, insn.W),
			insn.LoadMem(insn.R0, insn.R2, off, sz),
			insn.Exit(),
		}
	}
	frame := make([]byte, 60)
	for i := range frame {
		frame[i] = byte(i + 1)
	}
	meta := &interp.XDPMeta{Meta: []byte{0xa1, 0xa2, 0xa3, 0xa4}}
	cases := []struct {
		name string
		is   insn.Instructions
		want uint32
		err  error
	}{
		{"first byte", ld(D, 0, insn.B), 1, nil},
		{"last byte", ld(D, 59, insn.B), 60, nil},
		{"at data_end", ld(D, 60, insn.B), 0, interp.ErrMemoryAccess},
		{"straddles data_end", ld(D, 58, insn.W), 0, interp.ErrMemoryAccess},
		{"data_end itself", ld(DE, 0, insn.B), 0, interp.ErrMemoryAccess},
		{"metadata", ld(DM, 0, insn.B), 0xa1, nil},
		{"before data_meta", ld(DM, -1, insn.B), 0, interp.ErrMemoryAccess},
		{"headroom", ld(D, -100, insn.DW), 0, interp.ErrMemoryAccess},
		{"store to xdp_md", insn.Instructions{insn.StoreImm(insn.R1, 0, 0, insn.W), insn.Mov.Imm(insn.R0, 2), insn.Exit()}, 0, interp.ErrContext},
		{"narrow read of data", insn.Instructions{insn.LoadMem(insn.R0, insn.R1, 0, insn.H), insn.Exit()}, 0, interp.ErrContext},
		{"8-byte read of data", insn.Instructions{insn.LoadMem(insn.R0, insn.R1, 0, insn.DW), insn.Exit()}, 0, interp.ErrContext},
		{"past xdp_md", insn.Instructions{insn.LoadMem(insn.R0, insn.R1, 24, insn.W), insn.Exit()}, 0, interp.ErrMemoryAccess},
		{"ingress_ifindex (the loopback by default)", insn.Instructions{insn.LoadMem(insn.R0, insn.R1, 12, insn.W), insn.Exit()}, 1, nil},
	}
	for _, c := range cases {
		spec := &prog.Spec{Name: "b", Type: prog.XDP, License: "GPL", Instructions: c.is}
		iv, err := interp.New(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		jv, err := New(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		ir, _ := iv.NewRunner()
		jr, _ := jv.NewRunner()
		for k := 0; k < 2; k++ {
			for name, run := range map[string]func([]byte, *interp.XDPMeta) (uint32, []byte, error){
				"interp": iv.RunXDP, "jit": jv.RunXDP, "interp Runner": ir.RunXDP, "jit Runner": jr.RunXDP,
			} {
				got, out, err := run(frame, meta)
				if c.err != nil {
					if !errors.Is(err, c.err) {
						t.Errorf("%s: %s: err %v, want %v", c.name, name, err, c.err)
					}
					continue
				}
				if err != nil || got != c.want || !bytes.Equal(out, append(append([]byte(nil), meta.Meta...), frame...)) {
					t.Errorf("%s: %s: %d % x %v, want %d", c.name, name, got, out, err, c.want)
				}
			}
		}
		ir.Close()
		jr.Close()
		jv.Close()
	}
}

// TestCollectionGlobals loads xdp_ops.o as a collection in interp and jit:
// the global data sections are array maps with the object's bytes
// (.rodata's ttl_floor, .data's seen_bytes = 7), the programs update
// .data and .bss in them, and a .rodata value set in the spec before the
// load changes the program's verdicts. Unsupported features are errors
// that name them.
func TestCollectionGlobals(t *testing.T) {
	cs := loadXDPOps(t)
	frames := xdpFrames(rand.New(rand.NewPCG(15, 3)), 50)
	frames = slices.DeleteFunc(frames, func(f []byte) bool { return len(f) > interp.XDPMaxFrame || len(f) < 14 })
	want := uint64(7)
	for _, f := range frames {
		want += uint64(len(f))
	}
	for _, useJIT := range []bool{false, true} {
		_, ms := userXDPColl(t, cs, frames, useJIT)
		zero := make([]byte, 4)
		data, bss, ro := ms[".data"].LookupRaw(zero, 0), ms[".bss"].LookupRaw(zero, 0), ms[".rodata"].LookupRaw(zero, 0)
		if binary.NativeEndian.Uint64(data) != want || binary.NativeEndian.Uint32(bss) != uint32(len(frames)) || ro[0] != 1 {
			t.Fatalf("jit %v: .data % x (want seen_bytes %d), .bss % x (want %d frames), .rodata % x", useJIT, data, want, bss, len(frames), ro)
		}
	}
	// ttl_floor = 255 drops every IPv4 frame with a whole header.
	cs2 := loadXDPOps(t)
	v := cs2.Variables["ttl_floor"]
	cs2.Maps[v.Map].Data[v.Offset] = 255
	for _, useJIT := range []bool{false, true} {
		res, _ := userXDPColl(t, cs2, frames, useJIT)
		for k, f := range frames {
			if len(f) >= 34 && f[12] == 8 && f[13] == 0 && res[k].action != interp.XDPDrop {
				t.Fatalf("jit %v: frame %d: action %d with ttl_floor 255", useJIT, k, res[k].action)
			}
		}
	}

	bad := loadXDPOps(t)
	ps := bad.Programs["xdp_ops"]
	ps.Relocations = append(ps.Relocations, prog.Relocation{Kind: "kfunc", Target: "bpf_xdp_metadata_rx_hash"})
	if _, err := interp.NewCollection(bad, nil); !errors.Is(err, prog.ErrNotSupported) || !strings.Contains(err.Error(), "bpf_xdp_metadata_rx_hash") {
		t.Fatalf("kfunc: %v", err)
	}
	bad = loadXDPOps(t)
	bad.Maps["protos"].Type = prog.SockMap
	if _, err := NewCollection(bad, nil, nil); err == nil || !strings.Contains(err.Error(), `"protos"`) {
		t.Fatalf("sockmap: %v", err)
	}
	if _, err := interp.NewCollection(nil, nil); err == nil {
		t.Fatal("nil spec: no error")
	}
}

// kernelXDPMaxMetadata asks the running kernel for its limit on XDP
// metadata, so that the kernel differential compares like with like: 255
// bytes on recent kernels (6.18), 32 on older ones such as 6.1
// (xdp_metalen_invalid answers EACCES). It returns 0 (the engine's
// default, 255) when the kernel takes 36 bytes or cannot be asked.
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

// Options.XDPMaxMetadata gives bpf_xdp_adjust_meta an older kernel's
// limit, in interp and in the JIT.
func TestXDPMaxMetadataOption(t *testing.T) {
	spec := &prog.Spec{Name: "meta36", Type: prog.XDP, License: "GPL", Instructions: insn.Instructions{
		insn.Mov.Imm(insn.R2, -36),
		insn.FnXDPAdjustMeta.Call(),
		insn.Exit(),
	}}
	frame := make([]byte, 64)
	for _, c := range []struct {
		limit int
		want  int32
	}{{0, 0}, {32, -13}, {36, 0}} {
		ivm, err := interp.New(spec, &interp.Options{XDPMaxMetadata: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		jvm, err := New(spec, &Options{Interp: &interp.Options{XDPMaxMetadata: c.limit}})
		if err != nil {
			t.Fatal(err)
		}
		for name, vm := range map[string]interp.Program{"interp": ivm, "jit": jvm} {
			got, _, err := vm.RunXDP(frame, nil)
			if err != nil || int32(got) != c.want {
				t.Errorf("%s, XDPMaxMetadata %d: adjust_meta(-36) = %d, %v; want %d", name, c.limit, int32(got), err, c.want)
			}
		}
		jvm.Close()
	}
}
