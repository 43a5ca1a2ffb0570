package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

func call(fn insn.HelperFunc) insn.Instruction { return insn.Call(int32(fn)) }

func specVM(t testing.TB, typ prog.Type, ms []*prog.MapSpec, opts *Options, is ...insn.Instruction) *VM {
	t.Helper()
	vm, err := New(&prog.Spec{Name: "t", Type: typ, Instructions: is, Maps: ms}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func TestMapHelpers(t *testing.T) {
	ms := []*prog.MapSpec{{Name: "h", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4}}
	// key 7 := 100 (NOEXIST), again NOEXIST -> -EEXIST, lookup and add 1
	// through the returned pointer, delete twice (second -ENOENT).
	is := insn.Instructions{
		insn.StoreImm(r10, -4, 7, insn.W),
		insn.StoreImm(r10, -16, 100, insn.DW),
		insn.LoadMapPtr(r1, "h"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), insn.Mov.Reg(r3, r10), insn.Add.Imm(r3, -16), insn.Mov.Imm(r4, int32(prog.UpdateNoExist)),
		call(insn.FnMapUpdateElem),
		insn.JNE.Imm(r0, 0, "fail"),
		insn.LoadMapPtr(r1, "h"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), insn.Mov.Reg(r3, r10), insn.Add.Imm(r3, -16), insn.Mov.Imm(r4, int32(prog.UpdateNoExist)),
		call(insn.FnMapUpdateElem),
		insn.StoreMem(r10, -24, r0, insn.DW), // -EEXIST
		insn.LoadMapPtr(r1, "h"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4),
		call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "fail"),
		insn.LoadMem(r6, r0, 0, insn.DW), insn.Add.Imm(r6, 1), insn.StoreMem(r0, 0, r6, insn.DW),
		insn.LoadMem(r0, r10, -24, insn.DW),
		insn.Exit(),
		insn.Mov.Imm(r0, -1000).WithLabel("fail"),
		insn.Exit(),
	}
	vm := specVM(t, prog.UnspecifiedProgram, ms, nil, is...)
	ret, err := vm.RunMemory(nil)
	if err != nil || ret != Errno(syscall.EEXIST) {
		t.Fatalf("r0 = %d, %v; want -EEXIST", int64(ret), err)
	}
	var v uint64
	if err := vm.Map("h").Lookup(uint32(7), &v); err != nil || v != 101 {
		t.Fatalf("h[7] = %d, %v; want 101", v, err)
	}
	// Delete twice.
	del := insn.Instructions{
		insn.StoreImm(r10, -4, 7, insn.W),
		insn.LoadMapPtr(r1, "h"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), call(insn.FnMapDeleteElem),
		insn.Mov.Reg(r6, r0),
		insn.LoadMapPtr(r1, "h"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), call(insn.FnMapDeleteElem),
		insn.Add.Reg(r0, r6), insn.Exit(),
	}
	vm2 := specVM(t, prog.UnspecifiedProgram, ms, &Options{Maps: map[string]maps.Map{"h": vm.Map("h")}}, del...)
	if ret, err := vm2.RunMemory(nil); err != nil || ret != Errno(syscall.ENOENT) {
		t.Errorf("delete twice: %d, %v", int64(ret), err)
	}
	// Lookup of a missing key returns NULL; the key must be readable.
	miss := insn.Instructions{insn.StoreImm(r10, -4, 1, insn.W), insn.LoadMapPtr(r1, "h"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), call(insn.FnMapLookupElem), insn.Exit()}
	if ret, err := specVM(t, 0, ms, nil, miss...).RunMemory(nil); err != nil || ret != 0 {
		t.Errorf("missing key: %d, %v", ret, err)
	}
	badKey := insn.Instructions{insn.LoadMapPtr(r1, "h"), insn.Mov.Imm(r2, 0), call(insn.FnMapLookupElem), insn.Exit()}
	if _, err := specVM(t, 0, ms, nil, badKey...).RunMemory(nil); !errors.Is(err, ErrMemoryAccess) || !strings.Contains(err.Error(), "map_lookup_elem") {
		t.Errorf("NULL key: %v", err)
	}
	notMap := insn.Instructions{insn.Mov.Reg(r1, r10), insn.Mov.Reg(r2, r10), call(insn.FnMapLookupElem), insn.Exit()}
	if _, err := specVM(t, 0, ms, nil, notMap...).RunMemory(nil); !errors.Is(err, ErrMemoryAccess) || !strings.Contains(err.Error(), "not a map pointer") {
		t.Errorf("stack pointer as map: %v", err)
	}
}

func TestPerCPUAndArrayValue(t *testing.T) {
	ms := []*prog.MapSpec{
		{Name: "pc", Type: prog.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1},
		{Name: "g", Type: prog.Array, KeySize: 4, ValueSize: 16, MaxEntries: 1},
	}
	is := insn.Instructions{
		insn.StoreImm(r10, -4, 0, insn.W),
		insn.LoadMapPtr(r1, "pc"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), call(insn.FnMapLookupElem),
		insn.JEq.Imm(r0, 0, "out"),
		insn.StoreImm(r0, 0, 5, insn.DW),
		// global data: g's value at offset 8
		insn.LoadMapValue(r1, "g", 8), insn.StoreImm(r1, 0, 77, insn.DW), insn.LoadMem(r0, r1, 0, insn.DW),
		insn.Exit().WithLabel("out"),
	}
	vm := specVM(t, 0, ms, &Options{CPU: 1, MapOptions: &maps.Options{CPUs: 2}}, is...)
	if ret, err := vm.RunMemory(nil); err != nil || ret != 77 {
		t.Fatalf("r0 = %d, %v", ret, err)
	}
	vals := make([]uint64, 2)
	if err := vm.Map("pc").Lookup(uint32(0), vals); err != nil || vals[0] != 0 || vals[1] != 5 {
		t.Errorf("per-CPU values = %v, %v; want [0 5]", vals, err)
	}
	g := make([]byte, 16)
	if err := vm.Map("g").Lookup(uint32(0), g); err != nil || binary.NativeEndian.Uint64(g[8:]) != 77 {
		t.Errorf("g = %x, %v", g, err)
	}
	// Past the value is out of bounds; a bad offset fails at load.
	oob := insn.Instructions{insn.LoadMapValue(r1, "g", 8), insn.LoadMem(r0, r1, 8, insn.DW), insn.Exit()}
	if _, err := specVM(t, 0, ms, nil, oob...).RunMemory(nil); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("past global value: %v", err)
	}
	if _, err := New(&prog.Spec{Maps: ms, Instructions: insn.Instructions{insn.LoadMapValue(r1, "g", 16), insn.Exit()}}, nil); !errors.Is(err, ErrLoad) {
		t.Errorf("offset 16 of a 16-byte value: %v", err)
	}
	if _, err := New(&prog.Spec{Maps: ms, Instructions: insn.Instructions{insn.LoadMapValue(r1, "pc", 0), insn.Exit()}}, nil); !errors.Is(err, ErrLoad) {
		t.Errorf("direct value of a per-CPU array: %v", err)
	}
}

func TestQueueHelpers(t *testing.T) {
	ms := []*prog.MapSpec{{Name: "q", Type: prog.Queue, ValueSize: 8, MaxEntries: 2}}
	push := func(v int32) insn.Instructions {
		return insn.Instructions{insn.StoreImm(r10, -8, v, insn.DW), insn.LoadMapPtr(r1, "q"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8), insn.Mov.Imm(r3, 0), call(insn.FnMapPushElem)}
	}
	var is insn.Instructions
	is = append(is, push(1)...)
	is = append(is, push(2)...)
	is = append(is, push(3)...)                           // full: -E2BIG
	is = append(is, insn.StoreMem(r10, -16, r0, insn.DW)) // save
	is = append(is,
		insn.LoadMapPtr(r1, "q"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -24), call(insn.FnMapPeekElem),
		insn.LoadMapPtr(r1, "q"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -32), call(insn.FnMapPopElem),
		insn.LoadMapPtr(r1, "q"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -40), call(insn.FnMapPopElem),
		insn.LoadMapPtr(r1, "q"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -48), call(insn.FnMapPopElem), // empty: -ENOENT
		insn.StoreMem(r1, 0, r0, insn.DW), // never reached if r1 were clobbered badly; r1 is the map handle, so use mem
		insn.Exit(),
	)
	// Replace the last store with a store into mem through r6.
	is[len(is)-2] = insn.StoreMem(r6, 0, r0, insn.DW)
	is = append(insn.Instructions{insn.Mov.Reg(r6, r1)}, is...)
	is = append(is[:len(is)-1], insn.LoadMem(r1, r10, -16, insn.DW), insn.StoreMem(r6, 8, r1, insn.DW),
		insn.LoadMem(r1, r10, -24, insn.DW), insn.StoreMem(r6, 16, r1, insn.DW),
		insn.LoadMem(r1, r10, -32, insn.DW), insn.StoreMem(r6, 24, r1, insn.DW),
		insn.LoadMem(r1, r10, -40, insn.DW), insn.StoreMem(r6, 32, r1, insn.DW),
		insn.Mov.Imm(r0, 0), insn.Exit())
	out := make([]byte, 40)
	if _, err := specVM(t, 0, ms, nil, is...).RunMemory(out); err != nil {
		t.Fatal(err)
	}
	got := make([]int64, 5)
	for k := range got {
		got[k] = int64(binary.NativeEndian.Uint64(out[8*k:]))
	}
	want := []int64{-int64(syscall.ENOENT), -int64(syscall.E2BIG), 1, 1, 2}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("results = %v, want %v (pop of empty, push to full, peek, pop, pop)", got, want)
			break
		}
	}
}

func TestSimpleHelpers(t *testing.T) {
	opts := &Options{
		Now: func() uint64 { return 123456789 }, Rand: func() uint32 { return 0xdeadbeef }, CPU: 3,
		PIDTGID: 0x0000_0010_0000_0011, UIDGID: 0x0000_0020_0000_0021, Comm: "averyveryverylongname",
	}
	cases := []struct {
		fn   insn.HelperFunc
		want uint64
	}{
		{insn.FnKtimeGetNs, 123456789}, {insn.FnGetPrandomU32, 0xdeadbeef}, {insn.FnGetSMPProcessorID, 3},
		{insn.FnGetCurrentPIDTGID, 0x0000_0010_0000_0011}, {insn.FnGetCurrentUIDGID, 0x0000_0020_0000_0021},
	}
	for _, c := range cases {
		vm := mustVM(t, insn.Instructions{call(c.fn), insn.Exit()}, opts)
		if got, err := vm.RunMemory(nil); err != nil || got != c.want {
			t.Errorf("%s = %#x, %v; want %#x", c.fn, got, err, c.want)
		}
	}
	// Default clock is monotonic, default random varies.
	vm := mustVM(t, insn.Instructions{call(insn.FnKtimeGetNs), insn.Mov.Reg(r6, r0), call(insn.FnKtimeGetNs), insn.Sub.Reg(r0, r6), insn.Exit()}, nil)
	if d, err := vm.RunMemory(nil); err != nil || int64(d) < 0 {
		t.Errorf("ktime went backwards: %d, %v", int64(d), err)
	}
	// get_current_comm: 15 bytes and a NUL, the rest zero-padded.
	out := bytes.Repeat([]byte{0xff}, 20)
	vm = mustVM(t, insn.Instructions{insn.Mov.Imm(r2, 20), call(insn.FnGetCurrentComm), insn.Exit()}, opts)
	if ret, err := vm.RunMemory(out); err != nil || ret != 0 {
		t.Fatalf("comm: %d, %v", ret, err)
	}
	if want := append([]byte("averyveryverylo"), 0, 0, 0, 0, 0); !bytes.Equal(out, want) {
		t.Errorf("comm = %q, want %q", out, want)
	}
	out = bytes.Repeat([]byte{0xff}, 4)
	vm = mustVM(t, insn.Instructions{insn.Mov.Imm(r2, 4), call(insn.FnGetCurrentComm), insn.Exit()}, opts)
	if _, err := vm.RunMemory(out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, []byte{'a', 'v', 'e', 0}) {
		t.Errorf("comm in 4 bytes = %q", out)
	}
}

func TestCustomHelpersAndHalt(t *testing.T) {
	reg := DefaultHelpers()
	reg.Register(1000, func(e *Env, r1, r2, _, _, _ uint64) (uint64, error) {
		b, err := e.Bytes(r1, int(r2), false)
		if err != nil {
			return 0, err
		}
		return uint64(len(b)) + uint64(b[0]), nil
	})
	reg.Register(1001, func(_ *Env, r1, _, _, _, _ uint64) (uint64, error) { return r1, ErrHalt })
	reg.Register(1002, func(_ *Env, _, _, _, _, _ uint64) (uint64, error) { return 0, errors.New("boom") })
	mem := []byte{40, 0}
	vm := mustVM(t, insn.Instructions{call(1000), insn.Exit()}, &Options{Helpers: reg})
	if ret, err := vm.RunMemory(mem); err != nil || ret != 42 {
		t.Errorf("custom helper: %d, %v", ret, err)
	}
	if vm.Helpers() != reg {
		t.Errorf("Helpers() is not the registry given")
	}
	vm = mustVM(t, insn.Instructions{insn.Mov.Imm(r1, 9), call(1001), insn.Mov.Imm(r0, 1), insn.Exit()}, &Options{Helpers: reg})
	if ret, err := vm.RunMemory(nil); err != nil || ret != 9 {
		t.Errorf("halt: %d, %v", ret, err)
	}
	vm = mustVM(t, insn.Instructions{insn.Mov.Imm(r0, 0), call(1002), insn.Exit()}, &Options{Helpers: reg})
	_, err := vm.RunMemory(nil)
	var re *RunError
	if !errors.Is(err, ErrHelper) || !errors.As(err, &re) || re.PC != 1 || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing helper: %v", err)
	}
	// callx: the helper number is in the register; unknown is a run-time error.
	vm = mustVM(t, insn.Instructions{insn.Mov.Imm(r1, 5), insn.Mov.Imm(r6, 1001), insn.CallX(r6), insn.Exit()}, &Options{Helpers: reg})
	if ret, err := vm.RunMemory(nil); err != nil || ret != 5 {
		t.Errorf("callx: %d, %v", ret, err)
	}
	vm = mustVM(t, insn.Instructions{insn.Mov.Imm(r6, 4321), insn.CallX(r6), insn.Exit()}, &Options{Helpers: reg})
	if _, err := vm.RunMemory(nil); !errors.Is(err, ErrUnknownHelper) || !strings.Contains(err.Error(), "4321") {
		t.Errorf("callx unknown: %v", err)
	}
	// A helper removed after loading fails at run time, naming it.
	reg2 := DefaultHelpers()
	vm = mustVM(t, insn.Instructions{call(insn.FnGetPrandomU32), insn.Exit()}, &Options{Helpers: reg2})
	reg2.Register(insn.FnGetPrandomU32, nil)
	if _, err := vm.RunMemory(nil); !errors.Is(err, ErrUnknownHelper) || !strings.Contains(err.Error(), "get_prandom_u32") {
		t.Errorf("removed helper: %v", err)
	}
	// Registry bookkeeping.
	r := NewRegistry()
	r.Register(3, helperMapDelete)
	r.Register(-1, helperMapDelete)
	c := r.Clone()
	c.Register(3, nil)
	if r.Lookup(3) == nil || c.Lookup(3) != nil || len(r.Numbers()) != 1 || r.Lookup(99) != nil {
		t.Errorf("registry clone/remove/lookup misbehave")
	}
}

func TestTracePrintk(t *testing.T) {
	cases := []struct {
		fmt        string
		a1, a2, a3 int64
		want       string
		ret        int64
	}{
		{"x=%d y=%u\n", -5, -1, 0, "x=-5 y=4294967295\n", 18},
		{"%lld %llu %llx", -5, -1, 255, "-5 18446744073709551615 ff", 26},
		{"%x %i %c", 0xabc, 7, 'A', "abc 7 A", 7},
		{"%5d|%-4d|%05x", 42, 7, 0xab, "   42|7   |000ab", 16},
		{"%p", 0x1234, 0, 0, "0000000000001234", 16},
		{"100%%", 0, 0, 0, "100%", 4},
		{"%d %d %d %d", 1, 2, 3, "", -int64(syscall.EINVAL)},
		{"%q", 1, 0, 0, "", -int64(syscall.EINVAL)},
		{"bell\a", 0, 0, 0, "", -int64(syscall.EINVAL)},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		f := append([]byte(c.fmt), 0)
		vm := mustVM(t, insn.Instructions{
			insn.Mov.Imm(r2, int32(len(f))),
			insn.LoadImm64(r3, c.a1), insn.LoadImm64(r4, c.a2), insn.LoadImm64(r5, c.a3),
			call(insn.FnTracePrintk), insn.Exit()}, &Options{TraceOutput: &buf})
		ret, err := vm.RunMemory(f)
		if err != nil || int64(ret) != c.ret || buf.String() != c.want {
			t.Errorf("printk(%q) = %d %q, %v; want %d %q", c.fmt, int64(ret), buf.String(), err, c.ret, c.want)
		}
	}
	// %s reads a string from program memory; a format without its NUL is
	// -EINVAL.
	mem := []byte("s=%s\x00hello\x00")
	var buf bytes.Buffer
	vm := mustVM(t, insn.Instructions{insn.Mov.Reg(r3, r1), insn.Add.Imm(r3, 5), insn.Mov.Imm(r2, 5), call(insn.FnTracePrintk), insn.Exit()}, &Options{TraceOutput: &buf})
	if ret, err := vm.RunMemory(mem); err != nil || ret != 7 || buf.String() != "s=hello" {
		t.Errorf("%%s: %d %q %v", ret, buf.String(), err)
	}
	vm = mustVM(t, insn.Instructions{insn.Mov.Imm(r2, 4), call(insn.FnTracePrintk), insn.Exit()}, nil)
	if ret, _ := vm.RunMemory(mem); int64(ret) != -int64(syscall.EINVAL) {
		t.Errorf("unterminated format: %d", int64(ret))
	}
}

func TestProbeRead(t *testing.T) {
	kmem := []MemoryRegion{{Addr: 0xffff_8880_0000_1000, Data: []byte("kernel-data\x00")}}
	umem := []MemoryRegion{{Addr: 0x7000_0000, Data: []byte("user\x00")}}
	opts := &Options{KernelMemory: kmem, UserMemory: umem}
	cases := []struct {
		name string
		fn   insn.HelperFunc
		src  uint64
		n    int32
		ret  int64
		want string
	}{
		{"kernel", insn.FnProbeReadKernel, 0xffff_8880_0000_1000, 6, 0, "kernel"},
		{"kernel fault zeroes", insn.FnProbeReadKernel, 0xffff_8880_0000_1008, 8, -int64(syscall.EFAULT), "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{"user", insn.FnProbeReadUser, 0x7000_0001, 3, 0, "ser"},
		{"user cannot read kernel", insn.FnProbeReadUser, 0xffff_8880_0000_1000, 2, -int64(syscall.EFAULT), "\x00\x00"},
		{"legacy low is user", insn.FnProbeRead, 0x7000_0000, 4, 0, "user"},
		{"legacy high is kernel", insn.FnProbeRead, 0xffff_8880_0000_1000, 4, 0, "kern"},
		{"str", insn.FnProbeReadUserStr, 0x7000_0000, 8, 5, "user\x00\xff\xff\xff"},
		{"str truncates", insn.FnProbeReadKernelStr, 0xffff_8880_0000_1000, 4, 4, "ker\x00"},
		{"str fault", insn.FnProbeReadUserStr, 0x10, 4, -int64(syscall.EFAULT), "\x00\x00\x00\x00"},
	}
	for _, c := range cases {
		out := bytes.Repeat([]byte{0xff}, int(c.n))
		if len(c.want) > len(out) {
			out = bytes.Repeat([]byte{0xff}, len(c.want))
		}
		vm := mustVM(t, insn.Instructions{insn.Mov.Imm(r2, c.n), insn.LoadImm64(r3, int64(c.src)), call(c.fn), insn.Exit()}, opts)
		ret, err := vm.RunMemory(out)
		if err != nil || int64(ret) != c.ret || string(out) != c.want {
			t.Errorf("%s: %d %q %v; want %d %q", c.name, int64(ret), out, err, c.ret, c.want)
		}
	}
	// A destination outside the program's memory aborts the run.
	vm := mustVM(t, insn.Instructions{insn.Mov.Imm(r1, 0), insn.Mov.Imm(r2, 4), insn.LoadImm64(r3, 0x7000_0000), call(insn.FnProbeReadUser), insn.Exit()}, opts)
	if _, err := vm.RunMemory(nil); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("bad destination: %v", err)
	}
}

func TestTailCall(t *testing.T) {
	ms := []*prog.MapSpec{{Name: "jt", Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4}}
	jt, err := maps.New(*ms[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := &Options{Maps: map[string]maps.Map{"jt": jt}}
	// target: r0 = 1000 + the value in cb/mem, and it tail-calls itself
	// through slot 1 while counting in mem[0].
	self := specVM(t, 0, ms, opts,
		insn.Mov.Reg(r6, r1),
		insn.LoadMem(r2, r6, 0, insn.DW), insn.Add.Imm(r2, 1), insn.StoreMem(r6, 0, r2, insn.DW),
		insn.LoadMapPtr(r2, "jt"), insn.Mov.Imm(r3, 1), call(insn.FnTailCall),
		insn.LoadMem(r0, r6, 0, insn.DW), insn.Add.Imm(r0, 1000), insn.Exit())
	if err := jt.(*maps.ProgArray).SetProgram(1, self); err != nil {
		t.Fatal(err)
	}
	mem := make([]byte, 8)
	ret, err := self.RunMemory(mem)
	// The first run plus MaxTailCalls tail calls; the 34th falls through.
	if err != nil || ret != 1000+MaxTailCalls+1 {
		t.Errorf("self tail calls: %d, %v; want %d", ret, err, 1000+MaxTailCalls+1)
	}
	// A missing entry continues after the call; r1 is kept for the target.
	main := specVM(t, 0, ms, opts,
		insn.LoadMapPtr(r2, "jt"), insn.Mov.Imm(r3, 2), call(insn.FnTailCall), // empty slot
		insn.LoadMapPtr(r2, "jt"), insn.Mov.Imm(r3, 99), call(insn.FnTailCall), // out of range
		insn.LoadMapPtr(r2, "jt"), insn.Mov.Imm(r3, 1), call(insn.FnTailCall),
		insn.Mov.Imm(r0, 7), insn.Exit())
	clear(mem)
	if ret, err := main.RunMemory(mem); err != nil || ret != 1000+MaxTailCalls {
		t.Errorf("main -> self: %d, %v; want %d", ret, err, 1000+MaxTailCalls)
	}
}

func TestPerfAndRingbuf(t *testing.T) {
	ms := []*prog.MapSpec{
		{Name: "ev", Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		{Name: "rb", Type: prog.RingBuf, MaxEntries: 4096},
	}
	is := insn.Instructions{
		insn.Mov.Reg(r6, r1),
		insn.StoreImm(r10, -8, 0x41424344, insn.DW),
		// perf_event_output(ctx, ev, BPF_F_CURRENT_CPU, fp-8, 4)
		insn.LoadMapPtr(r2, "ev"), insn.LoadImm64(r3, 0xffffffff), insn.Mov.Reg(r4, r10), insn.Add.Imm(r4, -8), insn.Mov.Imm(r5, 4),
		call(insn.FnPerfEventOutput), insn.StoreMem(r6, 0, r0, insn.DW),
		// index 9 >= max_entries: -E2BIG
		insn.LoadMapPtr(r2, "ev"), insn.Mov.Imm(r3, 9), insn.Mov.Reg(r4, r10), insn.Add.Imm(r4, -8), insn.Mov.Imm(r5, 4),
		call(insn.FnPerfEventOutput), insn.StoreMem(r6, 8, r0, insn.DW),
		// ringbuf_output(rb, fp-8, 8, 0)
		insn.LoadMapPtr(r1, "rb"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -8), insn.Mov.Imm(r3, 8), insn.Mov.Imm(r4, 0),
		call(insn.FnRingbufOutput), insn.StoreMem(r6, 16, r0, insn.DW),
		// p = ringbuf_reserve(rb, 4, 0); *p = 0x55; submit(p)
		insn.LoadMapPtr(r1, "rb"), insn.Mov.Imm(r2, 4), insn.Mov.Imm(r3, 0), call(insn.FnRingbufReserve),
		insn.JEq.Imm(r0, 0, "out"),
		insn.Mov.Reg(r7, r0),
		insn.StoreImm(r7, 0, 0x55, insn.W),
		insn.Mov.Reg(r1, r7), insn.Mov.Imm(r2, 0), call(insn.FnRingbufSubmit),
		// q = reserve(8); discard(q)
		insn.LoadMapPtr(r1, "rb"), insn.Mov.Imm(r2, 8), insn.Mov.Imm(r3, 0), call(insn.FnRingbufReserve),
		insn.JEq.Imm(r0, 0, "out"),
		insn.Mov.Reg(r1, r0), insn.Mov.Imm(r2, 0), call(insn.FnRingbufDiscard),
		// the submitted sample is no longer accessible
		insn.LoadMem(r0, r7, 0, insn.W),
		insn.Exit().WithLabel("out"),
	}
	vm := specVM(t, 0, ms, &Options{CPU: 2}, is...)
	out := make([]byte, 24)
	_, err := vm.RunMemory(out)
	var re *RunError
	wantPC := vm.Instructions().SlotOffsets()[len(is)-2]
	if !errors.Is(err, ErrMemoryAccess) || !errors.As(err, &re) || re.PC != wantPC {
		t.Errorf("load from a submitted sample: %v (want pc %d)", err, wantPC)
	}
	res := []int64{int64(binary.NativeEndian.Uint64(out)), int64(binary.NativeEndian.Uint64(out[8:])), int64(binary.NativeEndian.Uint64(out[16:]))}
	if res[0] != 0 || res[1] != -int64(syscall.E2BIG) || res[2] != 0 {
		t.Errorf("results = %v, want [0 -E2BIG 0]", res)
	}
	recs := vm.Map("ev").(*maps.PerfEventArray).Records()
	if len(recs) != 1 || recs[0].CPU != 2 || !bytes.Equal(recs[0].Sample, []byte("DCBA")) {
		t.Errorf("perf records = %+v", recs)
	}
	rb := vm.Map("rb").(*maps.RingBuf)
	first, err1 := rb.Read()
	second, err2 := rb.Read()
	_, err3 := rb.Read()
	if err1 != nil || binary.NativeEndian.Uint64(first) != 0x41424344 || err2 != nil || binary.NativeEndian.Uint32(second) != 0x55 || !errors.Is(err3, maps.ErrNoRecord) {
		t.Errorf("ring records: %x %v, %x %v, %v", first, err1, second, err2, err3)
	}
	// Submitting something that is not a reservation aborts the run.
	vm = specVM(t, 0, ms, nil, insn.Mov.Reg(r1, r10), insn.Mov.Imm(r2, 0), call(insn.FnRingbufSubmit), insn.Exit())
	if _, err := vm.RunMemory(nil); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("submit of a stack pointer: %v", err)
	}
}

func TestManyMapValues(t *testing.T) {
	const n = MaxDynamicRegions + 10
	ms := []*prog.MapSpec{{Name: "h", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: n}}
	// for k in 0..limit: v = lookup(k); sum += *v; then re-read the first
	// value through its saved pointer.
	loop := func(limit int32) insn.Instructions {
		return insn.Instructions{
			insn.Mov.Imm(r6, 0), insn.Mov.Imm(r7, 0), insn.Mov.Imm(r8, 0),
			insn.StoreMem(r10, -4, r6, insn.W).WithLabel("loop"),
			insn.LoadMapPtr(r1, "h"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), call(insn.FnMapLookupElem),
			insn.JEq.Imm(r0, 0, "out"),
			insn.JNE.Imm(r6, 0, "skip"), insn.Mov.Reg(r8, r0),
			insn.LoadMem(r1, r0, 0, insn.DW).WithLabel("skip"), insn.Add.Reg(r7, r1),
			insn.Add.Imm(r6, 1), insn.JLT.Imm(r6, limit, "loop"),
			insn.LoadMem(r1, r8, 0, insn.DW), insn.Add.Reg(r7, r1),
			insn.Mov.Reg(r0, r7), insn.Exit().WithLabel("out"),
		}
	}
	vm := specVM(t, 0, ms, nil, loop(MaxDynamicRegions)...)
	want := uint64(0)
	for k := uint32(0); k < n; k++ {
		if err := vm.Map("h").Update(k, uint64(k)*3, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		if k < MaxDynamicRegions {
			want += uint64(k) * 3
		}
	}
	if got, err := vm.RunMemory(nil); err != nil || got != want {
		t.Fatalf("%d lookups: %d, %v; want %d", MaxDynamicRegions, got, err, want)
	}
	vm2 := specVM(t, 0, ms, &Options{Maps: map[string]maps.Map{"h": vm.Map("h")}}, loop(n)...)
	if _, err := vm2.RunMemory(nil); !errors.Is(err, ErrHelper) || !strings.Contains(err.Error(), "4096") {
		t.Fatalf("%d distinct lookups: %v", n, err)
	}
	// Looking up the same key again and again does not grow the table.
	same := specVM(t, 0, ms, &Options{Maps: map[string]maps.Map{"h": vm.Map("h")}},
		insn.Mov.Imm(r6, 0), insn.StoreImm(r10, -4, 5, insn.W),
		insn.LoadMapPtr(r1, "h").WithLabel("loop"), insn.Mov.Reg(r2, r10), insn.Add.Imm(r2, -4), call(insn.FnMapLookupElem),
		insn.Add.Imm(r6, 1), insn.JLT.Imm(r6, 3*MaxDynamicRegions, "loop"),
		insn.LoadMem(r0, r0, 0, insn.DW), insn.Exit())
	if got, err := same.RunMemory(nil); err != nil || got != 15 {
		t.Errorf("repeated lookups: %d, %v", got, err)
	}
}

func TestHelperEdges(t *testing.T) {
	// A reservation left open is discarded at the end of the run.
	ms := []*prog.MapSpec{{Name: "rb", Type: prog.RingBuf, MaxEntries: 4096}}
	vm := specVM(t, 0, ms, nil,
		insn.LoadMapPtr(r1, "rb"), insn.Mov.Imm(r2, 8), insn.Mov.Imm(r3, 0), call(insn.FnRingbufReserve),
		insn.Mov.Imm(r0, 0), insn.Exit())
	if _, err := vm.RunMemory(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.Map("rb").(*maps.RingBuf).Read(); !errors.Is(err, maps.ErrNoRecord) {
		t.Errorf("leaked reservation: %v", err)
	}
	// reserve with flags != 0 is NULL.
	vm = specVM(t, 0, ms, nil, insn.LoadMapPtr(r1, "rb"), insn.Mov.Imm(r2, 8), insn.Mov.Imm(r3, 1), call(insn.FnRingbufReserve), insn.Exit())
	if r, err := vm.RunMemory(nil); err != nil || r != 0 {
		t.Errorf("reserve with flags: %#x, %v", r, err)
	}
	// Socket filters may append packet bytes to a perf sample
	// (BPF_F_CTXLEN_MASK); other flags are -EINVAL.
	ps := []*prog.MapSpec{{Name: "ev", Type: prog.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 1}}
	sf := func(flags int64) *VM {
		return specVM(t, prog.SocketFilter, ps, nil,
			insn.StoreImm(r10, -8, 0x61, insn.DW),
			insn.LoadMapPtr(r2, "ev"), insn.LoadImm64(r3, flags), insn.Mov.Reg(r4, r10), insn.Add.Imm(r4, -8), insn.Mov.Imm(r5, 1),
			call(insn.FnPerfEventOutput), insn.Exit())
	}
	v := sf(3 << 32) // ctxlen 3 in BPF_F_CTXLEN_MASK, index 0
	if r, err := v.RunSocketFilter([]byte("xyz!"), nil); err != nil || r != 0 {
		t.Fatalf("ctxlen output: %d, %v", int64(r), err)
	}
	if recs := v.Map("ev").(*maps.PerfEventArray).Records(); len(recs) != 1 || string(recs[0].Sample) != "axyz" {
		t.Errorf("sample with packet bytes: %+v", recs)
	}
	if r, _ := sf(9<<32).RunSocketFilter([]byte("xyz!"), nil); int32(r) != -int32(syscall.EFAULT) {
		t.Errorf("ctxlen past the packet: %d", int32(r))
	}
	if r, _ := sf(1<<52).RunSocketFilter(nil, nil); int32(r) != -int32(syscall.EINVAL) {
		t.Errorf("bad flags: %d", int32(r))
	}
	// Without TraceOutput printk still returns the length; %s can read
	// simulated kernel memory.
	kmem := []MemoryRegion{{Addr: 0xffff_0000_1000, Data: []byte("kstr\x00")}}
	f := []byte("<%s>\x00")
	vm = mustVM(t, insn.Instructions{insn.Mov.Imm(r2, int32(len(f))), insn.LoadImm64(r3, 0xffff_0000_1000), call(insn.FnTracePrintk), insn.Exit()}, &Options{KernelMemory: kmem})
	if r, err := vm.RunMemory(f); err != nil || r != 6 {
		t.Errorf("printk %%s from kernel memory: %d, %v", r, err)
	}
	// A tail call to a program of another context kind falls through.
	ja := []*prog.MapSpec{{Name: "jt", Type: prog.ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 1}}
	main := specVM(t, 0, ja, nil, insn.LoadMapPtr(r2, "jt"), insn.Mov.Imm(r3, 0), call(insn.FnTailCall), insn.Mov.Imm(r0, 1), insn.Exit())
	other := specVM(t, prog.SocketFilter, nil, nil, insn.Mov.Imm(r0, 2), insn.Exit())
	if err := main.Map("jt").(*maps.ProgArray).SetProgram(0, other); err != nil {
		t.Fatal(err)
	}
	if r, err := main.RunMemory(nil); err != nil || r != 1 {
		t.Errorf("tail call across contexts: %d, %v", r, err)
	}
	// The index is the low 32 bits of r3.
	same := specVM(t, 0, nil, nil, insn.Mov.Imm(r0, 3), insn.Exit())
	if err := main.Map("jt").(*maps.ProgArray).SetProgram(0, same); err != nil {
		t.Fatal(err)
	}
	hi := specVM(t, 0, ja, &Options{Maps: map[string]maps.Map{"jt": main.Map("jt")}},
		insn.LoadMapPtr(r2, "jt"), insn.LoadImm64(r3, 1<<32), call(insn.FnTailCall), insn.Mov.Imm(r0, 1), insn.Exit())
	if r, err := hi.RunMemory(nil); err != nil || r != 3 {
		t.Errorf("tail call to index 1<<32: %d, %v; want 3 (index 0)", r, err)
	}
	// Supplied maps must match the spec.
	if _, err := New(&prog.Spec{Maps: []*prog.MapSpec{{Name: "jt", Type: prog.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1}}, Instructions: insn.Instructions{insn.Exit()}},
		&Options{Maps: map[string]maps.Map{"jt": main.Map("jt")}}); !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "the spec wants hash") {
		t.Errorf("mismatched supplied map: %v", err)
	}
	var id uint32
	if err := main.Map("jt").Lookup(uint32(0), &id); err != nil || id != same.ID() {
		t.Errorf("prog array lookup: id %d, %v; want %d", id, err, same.ID())
	}
}
