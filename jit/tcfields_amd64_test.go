//go:build amd64 && unix

package jit

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/tcctx"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestTCContextReads reads every __sk_buff field a tc program may read,
// at every size and offset the verifier takes (narrow reads too), after
// the helpers and stores set them, in the kernel (BPF_PROG_TEST_RUN),
// interp and jit. The kernel's narrow reads have a quirk the engines
// mirror: a read as wide as a field's kernel size (2 bytes for protocol,
// queue_mapping, vlan_tci, vlan_proto, tc_index, tc_classid, gso_segs,
// gso_size; 1 for pkt_type) at a higher offset of the __u32 gives the
// whole value, not its upper bytes. Needs root.
func TestTCContextReads(t *testing.T) {
	testenv.RequireRoot(t)
	frame := make([]byte, 80)
	frame[0] = 1 // a multicast destination: pkt_type 2
	frame[12], frame[13] = 0x86, 0xdd
	frame[14] = 0x60
	ctx := tcctx.In(&interp.TCMeta{Mark: 0x11223344, Priority: 0x55667788, IngressIfindex: 3, CB: [5]uint32{1, 2, 3, 4, 5},
		Tstamp: 0x0102030405060708, WireLen: 200, GSOSegs: 0x1234, HWTstamp: 0x1112131415161718})
	kv := tcctx.KernelVersion()
	prologue := insn.Instructions{
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.Mov.Imm(insn.R2, int32(0xa888)), // htons(ETH_P_8021AD)
		insn.Mov.Imm(insn.R3, 0x1234),
		insn.FnSKBVLANPush.Call(),
		insn.Mov.Reg(insn.R1, insn.R6),
		insn.Mov.Imm(insn.R2, int32(0x789abcde)),
		insn.FnSetHash.Call(),
		// Stores from registers: Linux 6.1 refuses BPF_ST to the context.
		insn.Mov.Imm(insn.R2, 0x2345),
		insn.StoreMem(insn.R6, 44, insn.R2, insn.W), // tc_index
		insn.Mov.Imm(insn.R2, 0x6789),
		insn.StoreMem(insn.R6, 72, insn.R2, insn.W), // tc_classid
		insn.Mov.Imm(insn.R2, 0x0abc),
		insn.StoreMem(insn.R6, 12, insn.R2, insn.W), // queue_mapping
	}
	sizes := []insn.Size{insn.B, insn.H, insn.W, insn.DW}
	n := 0
	for off := int16(0); off < 192; off++ {
		for _, sz := range sizes {
			if int(off)%sz.Bytes() != 0 {
				continue
			}
			is := append(append(insn.Instructions{}, prologue...), insn.LoadMem(insn.R0, insn.R6, off, sz), insn.Exit())
			spec := &prog.Spec{Name: "rd", Type: prog.SchedCLS, License: "GPL", Instructions: is}
			p, err := prog.NewProgram(spec, nil)
			if err != nil {
				// The verifier refuses it: so do the engines.
				iv, ierr := interp.New(spec, nil)
				if ierr != nil {
					t.Fatal(ierr)
				}
				if _, _, err := iv.RunTC(frame, nil); !errors.Is(err, interp.ErrContext) && !errors.Is(err, interp.ErrMemoryAccess) {
					t.Errorf("load of %d bytes at %d: the verifier refuses it, interp: %v", sz.Bytes(), off, err)
				}
				continue
			}
			res, err := p.Run(&prog.RunOptions{Data: frame, DataOut: make([]byte, 200), Context: ctx, ContextOut: make([]byte, 192)})
			p.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("%#x", res.Retval)
			if off >= 76 && off < 84 || off == 140 { // data, data_end, data_meta: pointers
				want = "pointer"
			}
			if off == 168 { // sk: the kernel's test run has a dummy socket, userspace none
				want = "pointer"
			}
			iv, err := interp.New(spec, &interp.Options{KernelVersion: kv})
			if err != nil {
				t.Fatal(err)
			}
			jv, err := New(spec, &Options{Interp: &interp.Options{KernelVersion: kv}})
			if err != nil {
				t.Fatal(err)
			}
			m := interp.TCMeta{Mark: 0x11223344, Priority: 0x55667788, IngressIfindex: 3, CB: [5]uint32{1, 2, 3, 4, 5},
				Tstamp: 0x0102030405060708, WireLen: 200, GSOSegs: 0x1234, HWTstamp: 0x1112131415161718}
			for name, vm := range map[string]interp.Program{"interp": iv, "jit": jv} {
				mm := m
				got, _, err := vm.RunTC(frame, &mm)
				if err != nil {
					t.Errorf("%s: load of %d bytes at %d: %v", name, sz.Bytes(), off, err)
					continue
				}
				g := fmt.Sprintf("%#x", got)
				if want == "pointer" {
					if off != 168 && got == 0 || off == 168 && got != 0 {
						t.Errorf("%s: load of %d bytes at %d: %s", name, sz.Bytes(), off, g)
					}
					continue
				}
				if g != want {
					t.Errorf("%s: load of %d bytes at %d (%s): %s, kernel %s", name, sz.Bytes(), off, "", g, want)
				}
			}
			jv.Close()
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d reads loaded", n)
	}
}

// TestTCBounds checks the sandbox of the tc context in interp and jit
// (direct and through a Runner): the packet pointers of __sk_buff reach
// exactly [data, data_end), also after a helper shrank the packet (a
// pointer kept from before reaches no further than the new end); loads
// and stores the verifier refuses (read-only and hidden fields, wrong
// sizes) fail with ErrContext and name the field; a frame the kernel's
// test run refuses and a program of another type fail with ErrContext.
func TestTCBounds(t *testing.T) {
	const D, DE, DM = 76, 80, 140
	ld := func(field int16, off int16, sz insn.Size) insn.Instructions {
		return insn.Instructions{
			insn.LoadMem(insn.R2, insn.R1, field, insn.W),
			insn.LoadMem(insn.R0, insn.R2, off, sz),
			insn.Exit(),
		}
	}
	st := func(off int16, sz insn.Size) insn.Instructions {
		return insn.Instructions{insn.StoreImm(insn.R1, off, 1, sz), insn.Mov.Imm(insn.R0, 0), insn.Exit()}
	}
	rd := func(off int16, sz insn.Size) insn.Instructions {
		return insn.Instructions{insn.LoadMem(insn.R0, insn.R1, off, sz), insn.Exit()}
	}
	frame := make([]byte, 60)
	for i := range frame {
		frame[i] = byte(i + 1)
	}
	frame[12], frame[13] = 0x12, 0x34
	shrunk := insn.Instructions{ // keep data, cut the packet to 20 bytes, read byte 30 through the old pointer
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.LoadMem(insn.R7, insn.R1, D, insn.W),
		insn.Mov.Imm(insn.R2, 20),
		insn.Mov.Imm(insn.R3, 0),
		insn.FnSKBChangeTail.Call(),
		insn.LoadMem(insn.R0, insn.R7, 30, insn.B),
		insn.Exit(),
	}
	cases := []struct {
		name  string
		is    insn.Instructions
		frame []byte
		want  uint32
		err   error
		msg   string
	}{
		{"first byte", ld(D, 0, insn.B), frame, 1, nil, ""},
		{"last byte", ld(D, 59, insn.B), frame, 60, nil, ""},
		{"data_meta is data", ld(DM, 0, insn.B), frame, 1, nil, ""},
		{"at data_end", ld(D, 60, insn.B), frame, 0, interp.ErrMemoryAccess, ""},
		{"straddles data_end", ld(D, 58, insn.W), frame, 0, interp.ErrMemoryAccess, ""},
		{"data_end itself", ld(DE, 0, insn.B), frame, 0, interp.ErrMemoryAccess, ""},
		{"before data", ld(D, -1, insn.B), frame, 0, interp.ErrMemoryAccess, ""},
		{"headroom", ld(D, -64, insn.DW), frame, 0, interp.ErrMemoryAccess, ""},
		{"far past the packet", ld(D, 4000, insn.DW), frame, 0, interp.ErrMemoryAccess, ""},
		{"store past the packet", insn.Instructions{insn.LoadMem(insn.R2, insn.R1, D, insn.W), insn.StoreImm(insn.R2, 60, 1, insn.B), insn.Exit()}, frame, 0, interp.ErrMemoryAccess, ""},
		{"stale pointer past the shrunk packet", shrunk, frame, 0, interp.ErrMemoryAccess, ""},
		{"store to len", st(0, insn.W), frame, 0, interp.ErrContext, "__sk_buff offset 0 (len)"},
		{"store to protocol", st(16, insn.W), frame, 0, interp.ErrContext, "(protocol)"},
		{"store to data", st(D, insn.W), frame, 0, interp.ErrContext, "(data)"},
		{"store to hash", st(68, insn.W), frame, 0, interp.ErrContext, "(hash)"},
		{"2-byte store to mark", st(8, insn.H), frame, 0, interp.ErrContext, "(mark)"},
		{"4-byte store to tstamp", st(152, insn.W), frame, 0, interp.ErrContext, "(tstamp)"},
		{"store to hwtstamp", st(184, insn.DW), frame, 0, interp.ErrContext, "(hwtstamp)"},
		{"load of family", rd(88, insn.W), frame, 0, interp.ErrContext, "(family)"},
		{"load of local_port", rd(136, insn.W), frame, 0, interp.ErrContext, "(local_port)"},
		{"load of flow_keys", rd(144, insn.DW), frame, 0, interp.ErrContext, "(flow_keys)"},
		{"narrow load of data", rd(D, insn.H), frame, 0, interp.ErrContext, "(data)"},
		{"8-byte load of mark", rd(8, insn.DW), frame, 0, interp.ErrContext, "(mark)"},
		{"4-byte load of sk", rd(168, insn.W), frame, 0, interp.ErrContext, "(sk)"},
		{"padding", rd(182, insn.H), frame, 0, interp.ErrContext, "(padding)"},
		{"misaligned", rd(9, insn.H), frame, 0, interp.ErrContext, "(mark)"},
		{"past __sk_buff", rd(192, insn.W), frame, 0, interp.ErrMemoryAccess, ""},
		{"13-byte frame", rd(0, insn.W), make([]byte, 13), 0, interp.ErrContext, "Ethernet header"},
		{"IPv4 frame without an IP header", rd(0, insn.W), append(make([]byte, 12), 8, 0, 0x45), 0, interp.ErrContext, "IP header"},
		{"len", rd(0, insn.W), frame, 60, nil, ""},
		{"ifindex (the loopback by default)", rd(40, insn.W), frame, 1, nil, ""},
		{"sk reads as NULL", rd(168, insn.DW), frame, 0, nil, ""},
	}
	for _, c := range cases {
		spec := &prog.Spec{Name: "b", Type: prog.SchedCLS, License: "GPL", Instructions: c.is}
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
			for name, run := range map[string]func([]byte, *interp.TCMeta) (uint32, []byte, error){
				"interp": iv.RunTC, "jit": jv.RunTC, "interp Runner": ir.RunTC, "jit Runner": jr.RunTC,
			} {
				got, out, err := run(c.frame, nil)
				if c.err != nil {
					if !errors.Is(err, c.err) || !strings.Contains(fmt.Sprint(err), c.msg) || out != nil {
						t.Errorf("%s: %s: err %v (out % x), want %v naming %q", c.name, name, err, out, c.err, c.msg)
					}
					continue
				}
				if err != nil || got != c.want || !bytes.Equal(out, c.frame) {
					t.Errorf("%s: %s: %d % x %v, want %d", c.name, name, got, out, err, c.want)
				}
			}
		}
		ir.Close()
		jr.Close()
		jv.Close()
	}
	xdp, err := interp.New(&prog.Spec{Name: "x", Type: prog.XDP, License: "GPL", Instructions: rd(0, insn.W)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := xdp.RunTC(frame, nil); !errors.Is(err, interp.ErrContext) {
		t.Fatalf("RunTC of an XDP program: %v", err)
	}
}

// TestTCContextWrites stores to every __sk_buff offset at every size: a
// store the verifier accepts changes the fields ctx_out gives back (and
// those the program reads back) as in the kernel, and one it refuses
// fails with ErrContext in interp and jit. Needs root.
func TestTCContextWrites(t *testing.T) {
	testenv.RequireRoot(t)
	frame := make([]byte, 60)
	frame[12], frame[13] = 0x88, 0xb5
	sizes := []insn.Size{insn.B, insn.H, insn.W, insn.DW}
	accepted := 0
	for off := int16(0); off < 192; off++ {
		for _, sz := range sizes {
			if int(off)%sz.Bytes() != 0 {
				continue
			}
			for _, v := range []int32{0x7edcba98, -1, 0xfffe} {
				// Store v, then return the field's low bits as the program reads them back.
				back := insn.LoadMem(insn.R0, insn.R1, off&^3, insn.W)
				if off == 152 {
					back = insn.LoadMem(insn.R0, insn.R1, 152, insn.DW)
				}
				is := insn.Instructions{
					insn.Mov.Imm(insn.R2, v),
					insn.StoreMem(insn.R1, off, insn.R2, sz),
					back,
					insn.Exit(),
				}
				spec := &prog.Spec{Name: "wr", Type: prog.SchedCLS, License: "GPL", Instructions: is}
				iv, err := interp.New(spec, nil)
				if err != nil {
					t.Fatal(err)
				}
				jv, err := New(spec, nil)
				if err != nil {
					t.Fatal(err)
				}
				p, kerr := prog.NewProgram(spec, nil)
				var res *prog.RunResult
				if kerr == nil {
					res, err = p.Run(&prog.RunOptions{Data: frame, Context: make([]byte, 192), ContextOut: make([]byte, 192)})
					p.Close()
					if err != nil {
						t.Fatal(err)
					}
					accepted++
				}
				for name, vm := range map[string]interp.Program{"interp": iv, "jit": jv} {
					var m interp.TCMeta
					got, _, err := vm.RunTC(frame, &m)
					if kerr != nil {
						if !errors.Is(err, interp.ErrContext) && !errors.Is(err, interp.ErrMemoryAccess) {
							t.Errorf("%s: store of %d bytes at %d: the verifier refuses it, userspace: %v", name, sz.Bytes(), off, err)
						}
						continue
					}
					if err != nil {
						t.Errorf("%s: store of %d bytes at %d: %v", name, sz.Bytes(), off, err)
						continue
					}
					if got != res.Retval || tcctx.OutFields(m) != tcctx.Out(res.ContextOut) {
						t.Errorf("%s: store of %d bytes of %#x at %d: read back %#x, ctx_out %+v; kernel %#x, %+v", name, sz.Bytes(), v, off, got, tcctx.OutFields(m), res.Retval, tcctx.Out(res.ContextOut))
					}
				}
				jv.Close()
			}
		}
	}
	if accepted < 60 {
		t.Fatalf("only %d stores accepted", accepted)
	}
}

// Options.KernelVersion gives the tc helpers an older kernel's semantics,
// in interp and in the JIT: bpf_csum_diff before 6.13 refuses a size that
// is not a multiple of 4 and returns the unfolded sum;
// bpf_skb_adjust_room before 6.3 refuses the decap flags; before 6.2
// bpf_skb_vlan_pop of an offloaded tag leaves vlan_tci, and vlan_present
// is a 1-byte field for narrow reads; before 6.12 bpf_skb_vlan_push leaves
// the network header after a tag it writes into the packet.
func TestTCKernelVersionOption(t *testing.T) {
	diff := func(size int32) insn.Instructions {
		return insn.Instructions{
			insn.StoreImm(insn.R10, -8, -1, insn.DW),
			insn.Mov.Reg(insn.R1, insn.R10),
			insn.Add.Imm(insn.R1, -8),
			insn.Mov.Imm(insn.R2, 0),
			insn.Mov.Reg(insn.R3, insn.R10),
			insn.Add.Imm(insn.R3, -8),
			insn.Mov.Imm(insn.R4, size),
			insn.Mov.Imm(insn.R5, 0),
			insn.FnCsumDiff.Call(),
			insn.Exit(),
		}
	}
	decap := insn.Instructions{
		insn.Mov.Imm(insn.R2, -4),
		insn.Mov.Imm(insn.R3, 1),
		insn.Mov.Imm(insn.R4, 1<<7),
		insn.FnSKBAdjustRoom.Call(),
		insn.Exit(),
	}
	pop := insn.Instructions{ // push a tag, pop it, read vlan_tci
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.Mov.Imm(insn.R2, 0x81),
		insn.Mov.Imm(insn.R3, 7),
		insn.FnSKBVLANPush.Call(),
		insn.Mov.Reg(insn.R1, insn.R6),
		insn.FnSKBVLANPop.Call(),
		insn.LoadMem(insn.R0, insn.R6, 24, insn.W),
		insn.Exit(),
	}
	present := insn.Instructions{ // push a tag, read byte 1 of vlan_present
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.Mov.Imm(insn.R2, 0x81),
		insn.Mov.Imm(insn.R3, 7),
		insn.FnSKBVLANPush.Call(),
		insn.LoadMem(insn.R0, insn.R6, 21, insn.B),
		insn.Exit(),
	}
	relative := insn.Instructions{ // push two tags, load 2 bytes at the network header
		insn.Mov.Reg(insn.R6, insn.R1),
		insn.Mov.Imm(insn.R2, 0x81),
		insn.Mov.Imm(insn.R3, 7),
		insn.FnSKBVLANPush.Call(),
		insn.Mov.Reg(insn.R1, insn.R6),
		insn.Mov.Imm(insn.R2, 0x81),
		insn.Mov.Imm(insn.R3, 8),
		insn.FnSKBVLANPush.Call(),
		insn.StoreImm(insn.R10, -8, 0, insn.DW),
		insn.Mov.Reg(insn.R1, insn.R6),
		insn.Mov.Imm(insn.R2, 0),
		insn.Mov.Reg(insn.R3, insn.R10),
		insn.Add.Imm(insn.R3, -8),
		insn.Mov.Imm(insn.R4, 2),
		insn.Mov.Imm(insn.R5, 1), // BPF_HDR_START_NET
		insn.FnSKBLoadBytesRelative.Call(),
		insn.LoadMem(insn.R0, insn.R10, -8, insn.H),
		insn.Exit(),
	}
	const v61, v612 = 6<<16 | 1<<8, 6<<16 | 12<<8
	frame := make([]byte, 64)
	frame[14], frame[15] = 0xaa, 0xbb
	for _, c := range []struct {
		name    string
		is      insn.Instructions
		version uint32
		want    int32
	}{
		{"csum_diff of 2 bytes", diff(2), 0, 0xffff},
		{"csum_diff of 2 bytes on 6.12", diff(2), v612, -22},
		{"csum_diff of 8 bytes", diff(8), 0, 0xffff},
		{"csum_diff of 8 bytes on 6.12 (unfolded)", diff(8), v612, -1},
		{"adjust_room decap of a frame that is not IP", decap, 0, -524},
		{"adjust_room decap on 6.12", decap, v612, -524},
		{"adjust_room decap on 6.1", decap, v61, -22},
		{"vlan_tci after vlan_pop", pop, 0, 0},
		{"vlan_tci after vlan_pop on 6.1", pop, v61, 7},
		{"network header after a tag went into the packet", relative, 0, 0x0700}, // the inserted TCI
		{"network header after a tag went into the packet on 6.1", relative, v61, 0xbbaa},
		{"byte 1 of vlan_present", present, 0, 0},
		{"byte 1 of vlan_present on 6.1 (a 1-byte field)", present, v61, 1},
	} {
		spec := &prog.Spec{Name: "kv", Type: prog.SchedCLS, License: "GPL", Instructions: c.is}
		opts := &interp.Options{KernelVersion: c.version}
		ivm, err := interp.New(spec, opts)
		if err != nil {
			t.Fatal(err)
		}
		jvm, err := New(spec, &Options{Interp: opts})
		if err != nil {
			t.Fatal(err)
		}
		for name, vm := range map[string]interp.Program{"interp": ivm, "jit": jvm} {
			got, _, err := vm.RunTC(frame, nil)
			if err != nil || int32(got) != c.want {
				t.Errorf("%s: %s = %d, %v; want %d", name, c.name, int32(got), err, c.want)
			}
		}
		jvm.Close()
	}
}

// TestTCConcurrent runs tc_ops.c from several goroutines at once on one
// interp VM and one JIT VM (each run takes its own Env and packet
// buffer): every run gives what a run alone gives.
func TestTCConcurrent(t *testing.T) {
	cs := loadTCOps(t)
	ins := tcInputs(rand.New(rand.NewPCG(15, 31)), 200)
	ins = slices.DeleteFunc(ins, checkTCFrameErr)
	for _, useJIT := range []bool{false, true} {
		p, _ := loadColl(t, cs, nil, useJIT, "tc_ops")
		want := make([][]byte, len(ins))
		wantV := make([]uint32, len(ins))
		for k, in := range ins {
			m := in.meta
			wantV[k], want[k], _ = p.RunTC(in.frame, &m)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 4)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k, in := range ins {
					m := in.meta
					v, out, err := p.RunTC(in.frame, &m)
					if err != nil || v != wantV[k] || !bytes.Equal(out, want[k]) {
						errs <- fmt.Sprintf("jit %v, input %d: %d % x %v; alone %d % x", useJIT, k, v, out, err, wantV[k], want[k])
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}
}
