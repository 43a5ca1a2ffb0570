package interp_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// XDP programs that redirect into device maps load into interp and jit
// collections, return XDP_REDIRECT and report the target
// (XDPMeta.Redirect), as the kernel's bpf_redirect_info records it.
func TestXDPRedirectTarget(t *testing.T) {
	cs, err := prog.LoadCollectionSpec("testdata/cover.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	ic, jc := bothCollections(t, cs)
	for name, c := range map[string]struct {
		ms   map[string]maps.Map
		main interp.Program
	}{"interp": {ic.Maps, ic.Programs["cover_main"]}, "jit": {jc.Maps, jc.Programs["cover_main"]}} {
		if err := c.ms["ports"].Update(uint32(2), []byte{7, 0, 0, 0, 0, 0, 0, 0}, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		if err := c.ms["ports_hash"].Update(uint32(9), uint32(11), prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			mode, arg byte
			action    uint32
			target    interp.XDPTarget
		}{
			{1, 2, interp.XDPRedirect, interp.XDPTarget{Ifindex: 7, Map: "ports", Key: 2, Flags: interp.XDPDrop}},
			{1, 3, interp.XDPDrop, interp.XDPTarget{}}, // empty slot: the flags' action, no target
			{2, 9, interp.XDPRedirect, interp.XDPTarget{Ifindex: 11, Map: "ports_hash", Key: 9, Flags: interp.XDPPass}},
			{2, 8, interp.XDPPass, interp.XDPTarget{}},
			{5, 42, interp.XDPRedirect, interp.XDPTarget{Ifindex: 42}}, // bpf_redirect
			{0, 0, interp.XDPPass, interp.XDPTarget{}},
		} {
			target := interp.XDPTarget{Map: "stale"} // a run zeroes it first
			act, _, err := c.main.RunXDP(coverFrame(tc.mode, tc.arg), &interp.XDPMeta{Redirect: &target})
			if err != nil || act != tc.action || target != tc.target {
				t.Errorf("%s mode %d arg %d: action %d %+v, %v; want %d %+v", name, tc.mode, tc.arg, act, target, err, tc.action, tc.target)
			}
		}
	}
}

// A program reads a device map entry (struct bpf_devmap_val) but cannot
// write it: devmaps are BPF_F_RDONLY_PROG.
func TestDevMapLookupReadOnly(t *testing.T) {
	ms := prog.MapSpec{Name: "ports", Type: prog.DevMap, KeySize: 4, ValueSize: 8, MaxEntries: 4}
	src := `
		*(u32 *)(r10 - 4) = 2
		r1 = map_fd(ports) ll
		r2 = r10
		r2 += -4
		call map_lookup_elem
		if r0 == 0 goto miss
		r6 = r0
		r0 = *(u32 *)(r6 + 0)
		if r0 != 7 goto out
		*(u32 *)(r6 + 0) = 9
		goto out
	miss:
		r0 = 0xff
	out:
		exit
	`
	is, err := insn.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	m, err := maps.New(ms, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := &prog.Spec{Name: "devread", Type: prog.XDP, License: "GPL", Maps: []*prog.MapSpec{&ms}, Instructions: is}
	opts := &interp.Options{Maps: map[string]maps.Map{"ports": m}}
	vms := bothEngines(t, spec, opts)
	frame := coverFrame(0, 0)
	for name, vm := range vms {
		if err := m.Delete(uint32(2)); err != nil {
			t.Fatal(err)
		}
		if act, _, err := vm.RunXDP(frame, nil); err != nil || act != 0xff {
			t.Errorf("%s, empty slot: %#x %v", name, act, err)
		}
		if err := m.Update(uint32(2), []byte{8, 0, 0, 0, 0, 0, 0, 0}, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		if act, _, err := vm.RunXDP(frame, nil); err != nil || act != 8 {
			t.Errorf("%s, read: %d %v", name, act, err)
		}
		if err := m.Update(uint32(2), []byte{7, 0, 0, 0, 0, 0, 0, 0}, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		if _, _, err := vm.RunXDP(frame, nil); !errors.Is(err, interp.ErrMemoryAccess) {
			t.Errorf("%s, write: %v, want ErrMemoryAccess", name, err)
		}
	}
}

// bpf_redirect_map into a CPU map redirects to the entry's CPU.
func TestXDPRedirectCPUMap(t *testing.T) {
	ms := prog.MapSpec{Name: "cpus", Type: prog.CPUMap, KeySize: 4, ValueSize: 8, MaxEntries: 4}
	is, err := insn.Parse(`
		r1 = map_fd(cpus) ll
		r2 = 1
		r3 = 1
		call redirect_map
		exit
	`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := maps.New(ms, &maps.Options{CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	spec := &prog.Spec{Name: "tocpu", Type: prog.XDP, License: "GPL", Maps: []*prog.MapSpec{&ms}, Instructions: is}
	opts := &interp.Options{Maps: map[string]maps.Map{"cpus": m}}
	vms := bothEngines(t, spec, opts)
	for name, vm := range vms {
		if err := m.Delete(uint32(1)); err != nil {
			t.Fatal(err)
		}
		var target interp.XDPTarget
		if act, _, err := vm.RunXDP(coverFrame(0, 0), &interp.XDPMeta{Redirect: &target}); err != nil || act != interp.XDPDrop || target != (interp.XDPTarget{}) {
			t.Errorf("%s, no entry: %d %+v %v", name, act, target, err)
		}
		if err := m.Update(uint32(1), []byte{0, 1, 0, 0, 0, 0, 0, 0}, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		if act, _, err := vm.RunXDP(coverFrame(0, 0), &interp.XDPMeta{Redirect: &target}); err != nil || act != interp.XDPRedirect || target != (interp.XDPTarget{Map: "cpus", Key: 1, Flags: 1}) {
			t.Errorf("%s: %d %+v %v", name, act, target, err)
		}
	}
}

// bothCollections loads cs into interp and jit; the jit collection is
// closed when the test ends.
func bothCollections(t testing.TB, cs *prog.CollectionSpec) (*interp.Collection, *jit.Collection) {
	t.Helper()
	ic, err := interp.NewCollection(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	jc, err := jit.NewCollection(cs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jc.Close() })
	return ic, jc
}

// bothEngines loads spec with opts into interp and jit, by engine name.
func bothEngines(t testing.TB, spec *prog.Spec, opts *interp.Options) map[string]interp.Program {
	t.Helper()
	ivm, err := interp.New(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	jvm, err := jit.New(spec, &jit.Options{Interp: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jvm.Close() })
	return map[string]interp.Program{"interp": ivm, "jit": jvm}
}

// The AF_XDP pattern: redirect a frame to the socket of its receive
// queue when there is one. Tests stand sockets in with SetSocket; the
// program reads the socket's queue_id and cannot write it.
func TestXDPRedirectXSKMap(t *testing.T) {
	ms := prog.MapSpec{Name: "xsks", Type: prog.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: 8}
	is, err := insn.Parse(`
		r6 = *(u32 *)(r1 + 16)
		*(u32 *)(r10 - 4) = r6
		r1 = map_fd(xsks) ll
		r2 = r10
		r2 += -4
		call map_lookup_elem
		if r0 == 0 goto pass
		r1 = *(u32 *)(r0 + 0)
		if r1 != r6 goto write
		r1 = map_fd(xsks) ll
		r2 = r6
		r3 = 2
		call redirect_map
		exit
	write:
		*(u32 *)(r0 + 0) = r6
	pass:
		r0 = 2
		exit
	`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := maps.New(ms, nil)
	if err != nil {
		t.Fatal(err)
	}
	xsks := m.(*maps.XSKMap)
	spec := &prog.Spec{Name: "xsk", Type: prog.XDP, License: "GPL", Maps: []*prog.MapSpec{&ms}, Instructions: is}
	for name, vm := range bothEngines(t, spec, &interp.Options{Maps: map[string]maps.Map{"xsks": m}}) {
		if err := xsks.Delete(uint32(3)); err != nil {
			t.Fatal(err)
		}
		var target interp.XDPTarget
		meta := &interp.XDPMeta{RxQueueIndex: 3, Redirect: &target}
		if act, _, err := vm.RunXDP(coverFrame(0, 0), meta); err != nil || act != interp.XDPPass || target != (interp.XDPTarget{}) {
			t.Errorf("%s, no socket: %d %+v %v", name, act, target, err)
		}
		if err := xsks.SetSocket(3, 3); err != nil {
			t.Fatal(err)
		}
		if act, _, err := vm.RunXDP(coverFrame(0, 0), meta); err != nil || act != interp.XDPRedirect || target != (interp.XDPTarget{Map: "xsks", Key: 3, Flags: 2}) {
			t.Errorf("%s, socket: %d %+v %v", name, act, target, err)
		}
		if err := xsks.SetSocket(3, 5); err != nil { // queue_id 5: the program writes
			t.Fatal(err)
		}
		if _, _, err := vm.RunXDP(coverFrame(0, 0), meta); !errors.Is(err, interp.ErrMemoryAccess) {
			t.Errorf("%s, write to the socket: %v, want ErrMemoryAccess", name, err)
		}
	}
	if err := xsks.SetSocket(8, 0); !errors.Is(err, syscall.E2BIG) {
		t.Errorf("SetSocket out of range: %v", err)
	}
}
