package tcctx

import (
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// KernelVersion asks the running kernel which tc helper semantics it
// has, as interp.Options.KernelVersion names them, so that interp and jit
// behave as it does: before 6.13 bpf_csum_diff of 2 bytes is -EINVAL
// (6.13 takes any length); before 6.3 bpf_skb_adjust_room does not know
// BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (-EINVAL rather than -ENOTSUPP on a frame
// that is not IP). It answers 6.1 for a kernel with neither, 6.12 for one
// with the flag only (the kernels make vmtest boots), and 0 (the newest
// interp follows) for a kernel with both or when it cannot ask.
func KernelVersion() uint32 {
	run := func(is insn.Instructions) (int32, bool) {
		p, err := prog.NewProgram(&prog.Spec{Name: "tc_probe", Type: prog.SchedCLS, License: "GPL", Instructions: is}, nil)
		if err != nil {
			return 0, false
		}
		defer p.Close()
		res, err := p.Run(&prog.RunOptions{Data: make([]byte, 64)})
		if err != nil {
			return 0, false
		}
		return int32(res.Retval), true
	}
	diff, ok := run(insn.Instructions{
		insn.StoreImm(insn.R10, -8, 0, insn.DW),
		insn.Mov.Reg(insn.R1, insn.R10),
		insn.Add.Imm(insn.R1, -8),
		insn.Mov.Imm(insn.R2, 2),
		insn.Mov.Imm(insn.R3, 0),
		insn.Mov.Imm(insn.R4, 0),
		insn.Mov.Imm(insn.R5, 0),
		insn.FnCsumDiff.Call(),
		insn.Exit(),
	})
	if !ok || diff != -22 {
		return 0
	}
	decap, ok := run(insn.Instructions{
		insn.Mov.Imm(insn.R2, -4),
		insn.Mov.Imm(insn.R3, 1), // BPF_ADJ_ROOM_MAC
		insn.Mov.Imm(insn.R4, 1<<7),
		insn.FnSKBAdjustRoom.Call(),
		insn.Exit(),
	})
	if ok && decap == -22 {
		return 6<<16 | 1<<8
	}
	return 6<<16 | 12<<8
}
