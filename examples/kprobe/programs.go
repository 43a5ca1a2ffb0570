//go:build linux

package main

import (
	_ "embed"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// opensnoopObject is bpf/opensnoop.bpf.c compiled by "make bpf"
// (clang-19 -target bpf -O2 -g).
//
//go:embed bpf/opensnoop.bpf.o
var opensnoopObject []byte

// Event layout shared by opensnoop.bpf.c and the decoder:
//
//	struct event {
//	    u32  pid;            // thread group id
//	    u32  flags;          // openat flags
//	    char comm[16];
//	    char filename[256];
//	};
const (
	offPID      = 0
	offFlags    = 4
	offComm     = 8
	commLen     = 16
	offFilename = offComm + commLen
	filenameLen = 256
	eventSize   = offFilename + filenameLen
)

// countsMapName is the hash map of per-process call counts.
const countsMapName = "counts"

// countSpec builds the call counter: counts[tgid] += 1.
func countSpec(counts *prog.MapSpec) *prog.Spec {
	is := insn.Instructions{
		insn.FnGetCurrentPIDTGID.Call(),
		insn.RSh.Imm(insn.R0, 32),
		insn.StoreMem(insn.RFP, -4, insn.R0, insn.W), // key
		insn.StoreImm(insn.RFP, -16, 1, insn.DW),     // initial value
		insn.LoadMapPtr(insn.R1, countsMapName),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -4),
		insn.FnMapLookupElem.Call(),
		insn.JEq.Imm(insn.R0, 0, "insert"),
		insn.Mov.Imm(insn.R1, 1),
		insn.Atomic(insn.AtomicAdd, insn.DW, insn.R0, 0, insn.R1),
		insn.Ja("out"),
		// First call of this process: insert 1 (BPF_NOEXIST; losing a
		// race with another CPU costs one count).
		insn.LoadMapPtr(insn.R1, countsMapName).WithLabel("insert"),
		insn.Mov.Reg(insn.R2, insn.RFP),
		insn.Add.Imm(insn.R2, -4),
		insn.Mov.Reg(insn.R3, insn.RFP),
		insn.Add.Imm(insn.R3, -16),
		insn.Mov.Imm(insn.R4, insn.UpdateNoExist),
		insn.FnMapUpdateElem.Call(),
		insn.Mov.Imm(insn.R0, 0).WithLabel("out"),
		insn.Exit(),
	}
	return &prog.Spec{Name: "callcount", Type: prog.Kprobe, License: "GPL", Instructions: is, Maps: []*prog.MapSpec{counts}}
}
