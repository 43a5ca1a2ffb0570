//go:build linux

package main

import (
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/prog"
)

// Event layout shared by the BPF programs and the decoder:
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

// Offsets in the x86-64 struct pt_regs (arch/x86/include/asm/ptrace.h).
const (
	ptregsDX = 96  // third syscall argument: flags
	ptregsSI = 104 // second syscall argument: filename
	ptregsDI = 112 // first argument of the syscall wrapper: the user regs
)

// Offsets in the syscalls/sys_enter_openat tracepoint record (see its
// tracefs format file).
const (
	tpFilename = 24
	tpFlags    = 32
)

// eventsMapName is the output map's name in both programs.
const eventsMapName = "events"

// ev is the stack offset of the event, relative to R10.
const ev = -eventSize

// Scratch slot below the event for probe_read_kernel results.
const scratch = ev - 8

// openSpec builds the opensnoop program. kprobe selects the kprobe flavour
// (arguments read through the wrapper's pt_regs); otherwise it reads the
// tracepoint record. ringbuf selects bpf_ringbuf_output over
// bpf_perf_event_output.
func openSpec(kprobe, ringbuf bool, events *prog.MapSpec) *prog.Spec {
	is := insn.Instructions{
		insn.Mov.Reg(insn.R6, insn.R1), // r6 = ctx
		insn.FnGetCurrentPIDTGID.Call(),
		insn.RSh.Imm(insn.R0, 32),
		insn.StoreMem(insn.RFP, ev+offPID, insn.R0, insn.W),
	}
	if kprobe {
		// r7 = ((struct pt_regs *)ctx)->di: the user regs of the syscall.
		is = append(is, insn.LoadMem(insn.R7, insn.R6, ptregsDI, insn.DW))
		for _, f := range []struct {
			regOff int32
			dst    int16
			size   insn.Size
		}{{ptregsDX, ev + offFlags, insn.W}, {ptregsSI, scratch, insn.DW}} {
			is = append(is,
				insn.Mov.Reg(insn.R1, insn.RFP),
				insn.Add.Imm(insn.R1, int32(scratch)),
				insn.Mov.Imm(insn.R2, 8),
				insn.Mov.Reg(insn.R3, insn.R7),
				insn.Add.Imm(insn.R3, f.regOff),
				insn.FnProbeReadKernel.Call(),
			)
			if f.dst != scratch {
				// bpf_probe_read_kernel zeroes the slot on failure.
				is = append(is,
					insn.LoadMem(insn.R1, insn.RFP, scratch, insn.DW),
					insn.StoreMem(insn.RFP, f.dst, insn.R1, f.size))
			}
		}
		is = append(is, insn.LoadMem(insn.R3, insn.RFP, scratch, insn.DW)) // filename pointer
	} else {
		is = append(is,
			insn.LoadMem(insn.R1, insn.R6, tpFlags, insn.DW),
			insn.StoreMem(insn.RFP, ev+offFlags, insn.R1, insn.W),
			insn.LoadMem(insn.R3, insn.R6, tpFilename, insn.DW),
		)
	}
	is = append(is,
		// bpf_probe_read_user_str(&e.filename, 256, filename)
		insn.Mov.Reg(insn.R1, insn.RFP),
		insn.Add.Imm(insn.R1, ev+offFilename),
		insn.Mov.Imm(insn.R2, filenameLen),
		insn.FnProbeReadUserStr.Call(),
		// bpf_get_current_comm(&e.comm, 16)
		insn.Mov.Reg(insn.R1, insn.RFP),
		insn.Add.Imm(insn.R1, ev+offComm),
		insn.Mov.Imm(insn.R2, commLen),
		insn.FnGetCurrentComm.Call(),
	)
	if ringbuf {
		is = append(is,
			insn.LoadMapPtr(insn.R1, eventsMapName),
			insn.Mov.Reg(insn.R2, insn.RFP),
			insn.Add.Imm(insn.R2, ev),
			insn.Mov.Imm(insn.R3, eventSize),
			insn.Mov.Imm(insn.R4, 0),
			insn.FnRingbufOutput.Call(),
		)
	} else {
		is = append(is,
			insn.Mov.Reg(insn.R1, insn.R6),
			insn.LoadMapPtr(insn.R2, eventsMapName),
			insn.LoadImm64(insn.R3, insn.CurrentCPU),
			insn.Mov.Reg(insn.R4, insn.RFP),
			insn.Add.Imm(insn.R4, ev),
			insn.Mov.Imm(insn.R5, eventSize),
			insn.FnPerfEventOutput.Call(),
		)
	}
	is = append(is, insn.Mov.Imm(insn.R0, 0), insn.Exit())
	typ := prog.TracePoint
	if kprobe {
		typ = prog.Kprobe
	}
	return &prog.Spec{Name: "opensnoop", Type: typ, License: "GPL", Instructions: is, Maps: []*prog.MapSpec{events}}
}

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
		insn.Mov.Imm(insn.R4, int32(prog.UpdateNoExist)),
		insn.FnMapUpdateElem.Call(),
		insn.Mov.Imm(insn.R0, 0).WithLabel("out"),
		insn.Exit(),
	}
	return &prog.Spec{Name: "callcount", Type: prog.Kprobe, License: "GPL", Instructions: is, Maps: []*prog.MapSpec{counts}}
}
