package engine

import (
	"bytes"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// The modes of stalePktProg, chosen by the frame's byte 14.
const (
	staleWrite    = 1 // expose all the room the helpers give, fill it with 0xff
	staleReadHead = 2 // expose the headroom (and the tail), write nothing
	staleReadMeta = 3 // expose metadata in front of the packet, write nothing
)

// stalePktProg is an XDP (xdp) or tc (!xdp) program that, by the frame's
// byte 14, either takes all the headroom and tailroom its helpers give
// and fills the packet with 0xff (staleWrite), or only exposes that room
// and returns, so that the output shows what the room held
// (staleReadHead, staleReadMeta: the kernel's test run gives zeros).
func stalePktProg(xdp bool) insn.Instructions {
	call := func(fn insn.HelperFunc, arg int32) insn.Instructions {
		return insn.Instructions{insn.Mov.Reg(r1, r6), insn.Mov.Imm(r2, arg), insn.Mov.Imm(r3, 0), insn.Call(int32(fn))}
	}
	// The packet pointers: xdp_md data 0, data_end 4; __sk_buff data 76,
	// data_end 80.
	dataOff, endOff := int16(0), int16(4)
	var grow, read, meta insn.Instructions
	if xdp {
		// data from 256 to 40 (sizeof(struct xdp_frame)); data_end to
		// the page's last byte before the tailroom.
		grow = append(call(insn.FnXDPAdjustHead, -(XDPHeadroom-xdpFrameStruct)), call(insn.FnXDPAdjustTail, int32(XDPMaxFrame-60))...)
		read = grow
		meta = call(insn.FnXDPAdjustMeta, -32)
	} else {
		dataOff, endOff = 76, 80
		grow = append(call(insn.FnSKBChangeHead, 1024), call(insn.FnSKBChangeTail, 3000)...)
		read = grow
		meta = grow
	}
	is := insn.Instructions{
		insn.Mov.Reg(r6, r1),
		insn.LoadMem(r2, r6, dataOff, insn.W),
		insn.LoadMem(r7, r2, 14, insn.B),
		insn.JEq.Imm(r7, staleWrite, "write"),
		insn.JEq.Imm(r7, staleReadHead, "head"),
		insn.JEq.Imm(r7, staleReadMeta, "meta"),
		insn.Ja("out"),
	}
	is = append(is, grow...)
	is[len(is)-len(grow)] = is[len(is)-len(grow)].WithLabel("write")
	is = append(is,
		insn.LoadMem(r2, r6, dataOff, insn.W),
		insn.LoadMem(r3, r6, endOff, insn.W),
		insn.JGE.Reg(r2, r3, "out").WithLabel("fill"),
		insn.StoreImm(r2, 0, 0xff, insn.B),
		insn.Add.Imm(r2, 1),
		insn.Ja("fill"),
	)
	n := len(is)
	is = append(is, read...)
	is[n] = is[n].WithLabel("head")
	is = append(is, insn.Ja("out"))
	n = len(is)
	is = append(is, meta...)
	is[n] = is[n].WithLabel("meta")
	ret := int32(XDPPass)
	if !xdp {
		ret = 0 // TC_ACT_OK
	}
	return append(is, insn.Mov.Imm(r0, ret).WithLabel("out"), insn.Exit())
}

func staleFrame(mode byte) []byte {
	f := make([]byte, 60)
	for k := range f {
		f[k] = byte(k + 1)
	}
	f[12], f[13] = 0x88, 0xb5 // a local experimental ethertype
	f[14] = mode
	return f
}

// TestRunnerPacketNoStaleBytes runs programs that fill every byte of
// headroom, metadata room and tailroom their helpers give (bpf_xdp_adjust_head,
// bpf_xdp_adjust_tail; bpf_skb_change_head, bpf_skb_change_tail) and then,
// in the next run of the same Runner (which keeps its XDP page or tc
// buffer), programs that only expose that room (adjust_head, adjust_tail,
// adjust_meta; change_head, change_tail) and return the packet: the
// output must hold none of the earlier run's bytes, exactly what VM runs
// (a fresh copy) and the kernel's test run (a zeroed page) give. It also
// checks that runs allocate nothing and that an output is a view valid
// until the next run.
func TestRunnerPacketNoStaleBytes(t *testing.T) {
	for _, xdp := range []bool{true, false} {
		name, typ := "xdp", prog.XDP
		if !xdp {
			name, typ = "tc", prog.SchedCLS
		}
		t.Run(name, func(t *testing.T) {
			vm, err := New(&prog.Spec{Name: "stale", Type: typ, Instructions: stalePktProg(xdp)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			rn, err := vm.NewRunner()
			if err != nil {
				t.Fatal(err)
			}
			defer rn.Close()
			runVM := func(f []byte) (uint32, []byte, error) {
				if xdp {
					return vm.RunXDP(f, nil)
				}
				return vm.RunTC(f, nil)
			}
			runR := func(f []byte) (uint32, []byte, error) {
				if xdp {
					return rn.RunXDP(f, nil)
				}
				return rn.RunTC(f, nil)
			}
			for k, mode := range []byte{staleWrite, staleReadHead, staleWrite, staleReadMeta, staleWrite, staleWrite, staleReadHead, staleReadMeta, 0, staleReadHead} {
				f := staleFrame(mode)
				wv, want, werr := runVM(f)
				gv, got, gerr := runR(f)
				if werr != nil || gerr != nil || gv != wv || !bytes.Equal(got, want) {
					t.Fatalf("run %d (mode %d): Runner %d, %v, % x\nVM %d, %v, % x", k, mode, gv, gerr, got, wv, werr, want)
				}
				if mode != staleReadHead && mode != staleReadMeta {
					continue
				}
				// The room in front of the frame and after it is zero.
				at := bytes.Index(got, f)
				if at <= 0 || len(got)-at-len(f) < 0 {
					t.Fatalf("run %d (mode %d): the frame is not inside the output (at %d), or no room was exposed: % x", k, mode, at, got)
				}
				if mode == staleReadHead && len(got) == at+len(f) {
					t.Fatalf("run %d: no tailroom exposed", k)
				}
				if !allZero(got[:at]) || !allZero(got[at+len(f):]) {
					t.Fatalf("run %d (mode %d): a byte of an earlier run is visible: % x", k, mode, got)
				}
			}
			// An output is a view of the Runner's buffer, valid until
			// its next run; VM outputs are copies.
			_, vout, _ := runVM(staleFrame(0))
			_, out, _ := runR(staleFrame(0))
			keep := bytes.Clone(out)
			runR(staleFrame(staleWrite))
			_, vout2, _ := runVM(staleFrame(staleWrite))
			if bytes.Equal(out, keep) || !bytes.Equal(vout, keep) || bytes.Equal(vout, vout2) {
				t.Errorf("a Runner's output should be overwritten by its next run, a VM's never")
			}
			f := staleFrame(staleReadHead)
			if n := testing.AllocsPerRun(100, func() { runR(f) }); n != 0 {
				t.Errorf("Runner run allocates %.1f times", n)
			}
		})
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
