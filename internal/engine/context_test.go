package engine

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

func sfVM(t testing.TB, opts *Options, is ...insn.Instruction) *VM {
	t.Helper()
	vm, err := New(&prog.Spec{Name: "sf", Type: prog.SocketFilter, Instructions: is}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func TestSKBFields(t *testing.T) {
	meta := &SKBMeta{
		PktType: 3, Mark: 0x11, QueueMapping: 0x22, Protocol: 0x0800, VLANPresent: true,
		VLANTCI: 0x33, VLANProto: 0x8100, Priority: 0x44, IngressIfindex: 0x55, Ifindex: 0x66,
		TCIndex: 0x77, CB: [5]uint32{1, 2, 3, 4, 5}, Hash: 0x88, NapiID: 0x99,
		GSOSegs: 0x13, GSOSize: 0x14,
	}
	pkt := make([]byte, 60)
	// The kernel keeps protocol and vlan_proto as __be16 and loads them
	// into a u32 as stored: the network-order bytes read natively.
	be16 := func(v uint16) uint64 {
		var b [2]byte
		binary.BigEndian.PutUint16(b[:], v)
		return uint64(binary.NativeEndian.Uint16(b[:]))
	}
	cb01 := uint64(1) | 2<<32 // cb[0] and cb[1] read as one native-endian dword
	if !hostLittle {
		cb01 = 1<<32 | 2
	}
	fields := []struct {
		name string
		off  int16
		size insn.Size
		want uint64
	}{
		{"len", 0, insn.W, 60}, {"pkt_type", 4, insn.W, 3}, {"mark", 8, insn.W, 0x11},
		{"queue_mapping", 12, insn.W, 0x22}, {"protocol", 16, insn.W, be16(0x0800)},
		{"vlan_present", 20, insn.W, 1}, {"vlan_tci", 24, insn.W, 0x33}, {"vlan_proto", 28, insn.W, be16(0x8100)},
		{"priority", 32, insn.W, 0x44}, {"ingress_ifindex", 36, insn.W, 0x55}, {"ifindex", 40, insn.W, 0x66},
		{"tc_index", 44, insn.W, 0x77}, {"cb[0]", 48, insn.W, 1}, {"cb[4]", 64, insn.W, 5},
		{"hash", 68, insn.W, 0x88}, {"napi_id", 84, insn.W, 0x99},
		{"gso_segs", 164, insn.W, 0x13}, {"sk", 168, insn.DW, 0}, {"gso_size", 176, insn.W, 0x14},
		{"len low half", 0, insn.H, 60}, {"mark byte 1", 9, insn.B, 0}, {"cb[0..1] as u64", 48, insn.DW, cb01},
	}
	for _, f := range fields {
		// The verdict is a u32: a dword field's upper half is read
		// shifted down by a second program.
		vm := sfVM(t, nil, insn.LoadMem(r0, r1, f.off, f.size), insn.Exit())
		got, err := vm.RunSocketFilter(pkt, meta)
		if err != nil || got != uint32(f.want) {
			t.Errorf("%s: r0 = %#x, %v; want %#x", f.name, got, err, uint32(f.want))
		}
		if f.size != insn.DW {
			continue
		}
		vm = sfVM(t, nil, insn.LoadMem(r0, r1, f.off, f.size), insn.RSh.Imm(r0, 32), insn.Exit())
		if got, err := vm.RunSocketFilter(pkt, meta); err != nil || got != uint32(f.want>>32) {
			t.Errorf("%s, upper half: r0 = %#x, %v; want %#x", f.name, got, err, uint32(f.want>>32))
		}
	}
	denied := []struct {
		name string
		off  int16
		size insn.Size
	}{
		{"data", 76, insn.W}, {"data_end", 80, insn.W}, {"data_meta", 140, insn.W}, {"tc_classid", 72, insn.W},
		{"family", 88, insn.W}, {"remote_ip4", 92, insn.W}, {"local_port", 136, insn.W}, {"flow_keys", 144, insn.DW},
		{"sk", 168, insn.W}, {"padding", 181, insn.B}, {"tstamp", 152, insn.DW}, {"wire_len", 160, insn.W},
		{"tstamp_type", 180, insn.B}, {"hwtstamp", 184, insn.DW}, {"len", 0, insn.DW}, {"mark", 10, insn.W},
	}
	for _, f := range denied {
		vm := sfVM(t, nil, insn.LoadMem(r0, r1, f.off, f.size), insn.Exit())
		_, err := vm.RunSocketFilter(pkt, meta)
		if !errors.Is(err, ErrContext) || !strings.Contains(err.Error(), f.name) {
			t.Errorf("load of %s: err = %v, want ErrContext naming the field", f.name, err)
		}
	}
	// Only cb[] is writable.
	vm := sfVM(t, nil, insn.StoreImm(r1, 56, 9, insn.W), insn.LoadMem(r0, r1, 56, insn.W), insn.Exit())
	if got, err := vm.RunSocketFilter(pkt, meta); err != nil || got != 9 {
		t.Errorf("cb[2] write: %d, %v", got, err)
	}
	if meta.CB[2] != 3 {
		t.Errorf("the caller's SKBMeta changed")
	}
	vm = sfVM(t, nil, insn.StoreImm(r1, 8, 9, insn.W), insn.Mov.Imm(r0, 0), insn.Exit())
	if _, err := vm.RunSocketFilter(pkt, meta); !errors.Is(err, ErrContext) || !strings.Contains(err.Error(), "mark") {
		t.Errorf("mark write: %v", err)
	}
	// Past the end of the context.
	vm = sfVM(t, nil, insn.LoadMem(r0, r1, 192, insn.W), insn.Exit())
	if _, err := vm.RunSocketFilter(pkt, nil); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("load past __sk_buff: %v", err)
	}
	// Len override and nil meta.
	vm = sfVM(t, nil, insn.LoadMem(r0, r1, 0, insn.W), insn.Exit())
	if got, _ := vm.RunSocketFilter(pkt, &SKBMeta{Len: 1000}); got != 1000 {
		t.Errorf("Len override: %d", got)
	}
	if got, _ := vm.RunSocketFilter(pkt[:5], nil); got != 5 {
		t.Errorf("nil meta: len %d", got)
	}
}

func TestLdAbsInd(t *testing.T) {
	pkt := []byte{0x10, 0x20, 0x30, 0x40, 0x50, 0x60}
	cases := []struct {
		name string
		is   insn.Instructions
		want uint64
	}{
		{"abs b", insn.Instructions{insn.LoadAbs(1, insn.B), insn.Exit()}, 0x20},
		{"abs h big-endian", insn.Instructions{insn.LoadAbs(1, insn.H), insn.Exit()}, 0x2030},
		{"abs w big-endian", insn.Instructions{insn.LoadAbs(2, insn.W), insn.Exit()}, 0x30405060},
		{"ind", insn.Instructions{insn.Mov.Imm(r7, 3), insn.LoadInd(r7, 1, insn.H), insn.Exit()}, 0x5060},
		{"abs out of bounds ends with 0", insn.Instructions{insn.LoadAbs(3, insn.W), insn.Mov.Imm(r0, 99), insn.Exit()}, 0},
		{"ind negative ends with 0", insn.Instructions{insn.Mov.Imm(r7, -1), insn.LoadInd(r7, 0, insn.B), insn.Mov.Imm(r0, 99), insn.Exit()}, 0},
		{"ind wraps in 32 bits", insn.Instructions{insn.LoadImm64(r7, 0x1_0000_0002), insn.LoadInd(r7, 0, insn.B), insn.Exit()}, 0x30},
		{"skb_load_bytes", insn.Instructions{
			insn.Mov.Imm(r2, 2), insn.Mov.Reg(r3, r10), insn.Add.Imm(r3, -4), insn.Mov.Imm(r4, 4),
			insn.Call(int32(insn.FnSKBLoadBytes)), insn.Mov.Reg(r6, r0),
			insn.LoadMem(r0, r10, -4, insn.W), insn.Add.Reg(r0, r6), insn.Exit()}, uint64(binary.NativeEndian.Uint32(pkt[2:]))},
		{"skb_load_bytes past end", insn.Instructions{
			insn.StoreImm(r10, -8, -1, insn.DW),
			insn.Mov.Imm(r2, 3), insn.Mov.Reg(r3, r10), insn.Add.Imm(r3, -8), insn.Mov.Imm(r4, 4),
			insn.Call(int32(insn.FnSKBLoadBytes)), insn.LoadMem(r1, r10, -8, insn.W), insn.Add.Reg(r0, r1), insn.Exit()}, Errno(14)},
	}
	for _, c := range cases {
		vm := sfVM(t, nil, c.is...)
		if got, err := vm.RunSocketFilter(pkt, nil); err != nil || got != uint32(c.want) {
			t.Errorf("%s: r0 = %#x, %v; want %#x", c.name, got, err, uint32(c.want))
		}
	}
	// Raw-memory programs read their memory with LD_ABS, as uBPF does.
	if got := run(t, pkt, insn.LoadAbs(0, insn.H), insn.Exit()); got != 0x1020 {
		t.Errorf("LD_ABS on raw memory: %#x", got)
	}
	// The packet is not a region a socket filter can dereference.
	vm := sfVM(t, nil, insn.LoadImm64(r2, int64(addrOf(pkt))), insn.LoadMem(r0, r2, 0, insn.B), insn.Exit())
	if _, err := vm.RunSocketFilter(pkt, nil); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("direct packet load: %v", err)
	}
}

func TestKprobeContext(t *testing.T) {
	regs := &PtRegs{R15: 1, R14: 2, R13: 3, R12: 4, BP: 5, BX: 6, R11: 7, R10: 8, R9: 9, R8: 10,
		AX: 11, CX: 12, DX: 13, SI: 14, DI: 15, OrigAX: 16, IP: 17, CS: 18, Flags: 19, SP: 20, SS: 21}
	for k := 0; k < 21; k++ {
		vm, err := New(&prog.Spec{Type: prog.Kprobe, Instructions: insn.Instructions{insn.LoadMem(r0, r1, int16(8*k), insn.DW), insn.Exit()}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := vm.RunKprobe(regs); err != nil || got != uint64(k+1) {
			t.Errorf("field %d: %d, %v", k, got, err)
		}
	}
	vm, _ := New(&prog.Spec{Type: prog.Kprobe, Instructions: insn.Instructions{insn.StoreImm(r1, 0, 1, insn.DW), insn.Mov.Imm(r0, 0), insn.Exit()}}, nil)
	if _, err := vm.RunKprobe(regs); !errors.Is(err, ErrMemoryAccess) || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("pt_regs write: %v", err)
	}
	vm, _ = New(&prog.Spec{Type: prog.Kprobe, Instructions: insn.Instructions{insn.LoadMem(r0, r1, 168, insn.B), insn.Exit()}}, nil)
	if _, err := vm.RunKprobe(regs); !errors.Is(err, ErrMemoryAccess) {
		t.Errorf("load past pt_regs: %v", err)
	}
}
