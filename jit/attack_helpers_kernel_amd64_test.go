//go:build amd64 && unix

package jit_test

import (
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/bpftest"
	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// hostileArgs are 64-bit helper arguments at the edges of the checks the
// tc and XDP helpers make: negative as 32 and as 64 bits, past INT_MAX,
// past 0xffff, just inside and past the packet, and values whose low 32
// bits are small but whose high bits are set.
var hostileArgs = []uint64{
	0, 1, 12, 13, 14, 52, 53, 56, 59, 60, 61, 64, 0xfff, 0x1000, 0xffff, 0x10000,
	0x7fffffff, 0x80000000, 0xfffffff8, 0xffffffff,
	0x1_0000_0000, 0x1_0000_0004, 0xffff_ffff_ffff_fffc, 0xffff_ffff_ffff_ffff, 0x8000_0000_0000_0000,
	uint64(1<<64 - 60), uint64(1<<64 - 14),
}

// hostileCall is a program that calls fn with r1 = ctx, its argument
// number argN (2 to 5) = cb[1]<<32 | cb[0] and the others as given, and
// returns the helper's result (and writes it to mark, so that the high
// half shows in ctx_out too).
func hostileCall(fn HelperFunc, argN Register, fixed map[Register]int32, stackArg Register) Instructions {
	is := Instructions{
		Mov.Reg(R6, R1),
		StoreImm(R10, -8, 0x11223344, DW),
		StoreImm(R10, -16, 0x55667788, DW),
		StoreImm(R10, -24, 0x01020304, DW),
		StoreImm(R10, -32, 0x05060708, DW),
		LoadMem(R7, R6, 48, W),
		LoadMem(R8, R6, 52, W),
		LSh.Imm(R8, 32),
		Or.Reg(R7, R8),
	}
	for r := R2; r <= R5; r++ {
		switch {
		case r == argN:
			is = append(is, Mov.Reg(r, R7))
		case r == stackArg:
			is = append(is, Mov.Reg(r, R10), Add.Imm(r, -32))
		default:
			is = append(is, Mov.Imm(r, fixed[r]))
		}
	}
	return append(is,
		Mov.Reg(R1, R6),
		Call(int32(fn)),
		StoreMem(R6, 8, R0, W),
		Exit(),
	)
}

// TestAttackTCHelperArgs runs the tc helpers that take offsets and
// lengths with hostile 64-bit values in the kernel (BPF_PROG_TEST_RUN),
// interp and jit: results, output packets and ctx_out must agree. Needs
// root.
func TestAttackTCHelperArgs(t *testing.T) {
	testenv.RequireRoot(t)
	cases := map[string]Instructions{
		"skb_load_bytes offset":          hostileCall(FnSKBLoadBytes, R2, map[Register]int32{R4: 8}, R3),
		"skb_store_bytes offset":         hostileCall(FnSKBStoreBytes, R2, map[Register]int32{R4: 8}, R3),
		"skb_store_bytes flags":          hostileCall(FnSKBStoreBytes, R5, map[Register]int32{R2: 14, R4: 8}, R3),
		"l3_csum_replace offset":         hostileCall(FnL3CsumReplace, R2, map[Register]int32{R3: 0, R4: 0x1234, R5: 2}, 0),
		"l3_csum_replace flags":          hostileCall(FnL3CsumReplace, R5, map[Register]int32{R2: 24, R3: 0, R4: 0x1234}, 0),
		"l4_csum_replace offset":         hostileCall(FnL4CsumReplace, R2, map[Register]int32{R3: 0, R4: 0x1234, R5: 0x22}, 0),
		"l4_csum_replace diff":           hostileCall(FnL4CsumReplace, R4, map[Register]int32{R2: 50, R3: 0, R5: 0x30}, 0),
		"load_bytes_relative offset mac": hostileCall(FnSKBLoadBytesRelative, R2, map[Register]int32{R4: 8, R5: 0}, R3),
		"load_bytes_relative offset net": hostileCall(FnSKBLoadBytesRelative, R2, map[Register]int32{R4: 8, R5: 1}, R3),
		"load_bytes_relative start":      hostileCall(FnSKBLoadBytesRelative, R5, map[Register]int32{R2: 0, R4: 8}, R3),
		"change_tail len":                hostileCall(FnSKBChangeTail, R2, map[Register]int32{R3: 0}, 0),
		"change_tail flags":              hostileCall(FnSKBChangeTail, R3, map[Register]int32{R2: 100}, 0),
		"change_head len":                hostileCall(FnSKBChangeHead, R2, map[Register]int32{R3: 0}, 0),
		"adjust_room diff net":           hostileCall(FnSKBAdjustRoom, R2, map[Register]int32{R3: 0, R4: 0}, 0),
		"adjust_room diff mac":           hostileCall(FnSKBAdjustRoom, R2, map[Register]int32{R3: 1, R4: 0}, 0),
		"adjust_room mode":               hostileCall(FnSKBAdjustRoom, R3, map[Register]int32{R2: 8, R4: 0}, 0),
		"adjust_room flags":              hostileCall(FnSKBAdjustRoom, R4, map[Register]int32{R2: 8, R3: 0}, 0),
		"pull_data len":                  hostileCall(FnSKBPullData, R2, map[Register]int32{}, 0),
		"vlan_push proto":                hostileCall(FnSKBVLANPush, R2, map[Register]int32{R3: 7}, 0),
		"vlan_push tci":                  hostileCall(FnSKBVLANPush, R3, map[Register]int32{R2: 0x0081}, 0),
		"change_proto":                   hostileCall(FnSKBChangeProto, R2, map[Register]int32{R3: 0}, 0),
		"change_type":                    hostileCall(FnSKBChangeType, R2, map[Register]int32{}, 0),
	}
	// An IPv4/UDP frame of 60 bytes.
	frame := make([]byte, 60)
	for k := range frame {
		frame[k] = byte(k*7 + 3)
	}
	frame[12], frame[13], frame[14], frame[23] = 0x08, 0x00, 0x45, 17
	for name, is := range cases {
		t.Run(name, func(t *testing.T) {
			spec := &prog.Spec{Name: "hostile", Type: prog.SchedCLS, License: "GPL", Instructions: is}
			h, err := bpftest.NewProgram(spec, &bpftest.Options{Kernel: bpftest.KernelRequired})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			var ins []bpftest.Input
			for _, v := range hostileArgs {
				ins = append(ins, bpftest.Input{Packet: frame, TC: &interp.TCMeta{CB: [5]uint32{uint32(v), uint32(v >> 32)}}})
			}
			res, err := h.Run(ins...)
			if err != nil {
				t.Fatal(err)
			}
			checkKernelResult(t, res)
		})
	}
}

// hostileXDPCall is an XDP program that calls fn with r1 = ctx and
// argument argN = the u64 at packet offset 16 (the others as given, a
// stack buffer of 32 bytes in stackArg) and returns the helper's result.
func hostileXDPCall(fn HelperFunc, argN Register, fixed map[Register]int32, stackArg Register) Instructions {
	is := Instructions{
		Mov.Reg(R6, R1),
		StoreImm(R10, -8, 0x11223344, DW),
		StoreImm(R10, -16, 0x55667788, DW),
		StoreImm(R10, -24, 0x01020304, DW),
		StoreImm(R10, -32, 0x05060708, DW),
		LoadMem(R2, R6, 0, W),
		LoadMem(R3, R6, 4, W),
		Mov.Reg(R4, R2),
		Add.Imm(R4, 24),
		Mov.Imm(R0, 0),
		JGT.Reg(R4, R3, "out"),
		LoadMem(R7, R2, 16, DW),
	}
	for r := R2; r <= R5; r++ {
		switch {
		case r == argN:
			is = append(is, Mov.Reg(r, R7))
		case r == stackArg:
			is = append(is, Mov.Reg(r, R10), Add.Imm(r, -32))
		default:
			is = append(is, Mov.Imm(r, fixed[r]))
		}
	}
	return append(is,
		Mov.Reg(R1, R6),
		Call(int32(fn)),
		Exit().WithLabel("out"),
	)
}

// TestAttackXDPHelperArgs runs the XDP helpers that take offsets and
// deltas with hostile 64-bit values, on single-buffer frames and on
// multi-buffer ones (a program loaded with BPF_F_XDP_HAS_FRAGS, frames
// longer than the linear part), in the kernel, interp and jit. Needs
// root.
func TestAttackXDPHelperArgs(t *testing.T) {
	testenv.RequireRoot(t)
	cases := map[string]Instructions{
		"adjust_head":          hostileXDPCall(FnXDPAdjustHead, R2, nil, 0),
		"adjust_tail":          hostileXDPCall(FnXDPAdjustTail, R2, nil, 0),
		"adjust_meta":          hostileXDPCall(FnXDPAdjustMeta, R2, nil, 0),
		"xdp_load_bytes off":   hostileXDPCall(FnXDPLoadBytes, R2, map[Register]int32{R4: 32}, R3),
		"xdp_store_bytes off":  hostileXDPCall(FnXDPStoreBytes, R2, map[Register]int32{R4: 32}, R3),
		"xdp_load_bytes len 1": hostileXDPCall(FnXDPLoadBytes, R2, map[Register]int32{R4: 1}, R3),
	}
	vals := append([]uint64{}, hostileArgs...)
	for _, v := range []int64{-40, -216, -256, -3500, -3519, -3520, -4986, -5000, -9986, 3500, 3519, 3520, 3521, 4096, 4990, 5000, 9999, 10000} {
		vals = append(vals, uint64(v))
	}
	frame := func(n int, v uint64) []byte {
		f := make([]byte, n)
		for k := range f {
			f[k] = byte(k*5 + 1)
		}
		f[12], f[13] = 0x08, 0x01
		for k := range 8 {
			f[16+k] = byte(v >> (8 * k))
		}
		return f
	}
	for name, is := range cases {
		for _, frags := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/frags=%v", name, frags), func(t *testing.T) {
				ps := &prog.ProgramSpec{Spec: prog.Spec{Name: "hostile", Type: prog.XDP, License: "GPL", Instructions: is}, SectionName: "xdp", Autoload: true}
				sizes := []int{24, 60, 3520}
				if frags {
					ps.SectionName, ps.Flags = "xdp.frags", prog.ProgramXDPHasFrags
					sizes = []int{3521, 5000, 10000}
				}
				cs := &prog.CollectionSpec{Programs: map[string]*prog.ProgramSpec{"hostile": ps}, Maps: map[string]*prog.ObjectMapSpec{}, License: "GPL"}
				h, err := bpftest.New(cs, "hostile", &bpftest.Options{Kernel: bpftest.KernelRequired})
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				var ins []bpftest.Input
				for _, n := range sizes {
					for _, v := range vals {
						ins = append(ins, bpftest.Input{Packet: frame(n, v)})
					}
				}
				res, err := h.Run(ins...)
				if err != nil {
					t.Fatal(err)
				}
				checkKernelResult(t, res)
			})
		}
	}
}

// checkKernelResult fails t unless the kernel ran every input of res as
// the reference and interp and jit agreed with it; it logs the kernel's
// results.
func checkKernelResult(t *testing.T, res *bpftest.Result) {
	t.Helper()
	if len(res.Engines) != 3 || res.Engines[0] != bpftest.Kernel {
		t.Fatalf("engines %v, skipped %v", res.Engines, res.Skipped)
	}
	rets := map[uint64]int{}
	for _, o := range res.Outcomes {
		if o[0].Err != nil || o[0].KernelSkipped != "" {
			t.Fatalf("the kernel did not run an input: %v %s", o[0].Err, o[0].KernelSkipped)
		}
		rets[o[0].Ret]++
	}
	t.Logf("kernel results: %v", rets)
	if !res.OK() {
		t.Error(res)
	}
}
