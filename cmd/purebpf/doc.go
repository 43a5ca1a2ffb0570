// Command purebpf is purebpf's command-line tool.
//
//	purebpf asm FILE.s [-o FILE.bin]   assemble (default output FILE.bin)
//	purebpf disasm FILE.bin            disassemble raw bytecode
//	purebpf run [flags] PROGRAM        run a program in interp, jit or the kernel
//	purebpf btf dump FILE              print FILE's BTF as "bpftool btf dump file FILE" does
//	purebpf objdump [-d] FILE.o        sections, programs, maps, variables, relocations, BTF
//	purebpf loadall FILE.o DIR         load every program and pin it in DIR, like "bpftool prog loadall"
//
// # run
//
// PROGRAM is assembly (FILE.s), raw little-endian bytecode (any other
// file), or one program of a clang-built object: OBJ.o:PROG, or OBJ.o
// when the object holds a single program. Flags:
//
//	--engine interp|jit|kernel  where to run it (default interp; --jit is --engine jit;
//	                            kernel is BPF_PROG_TEST_RUN and needs privileges)
//	--type T                    the program type, by bpftool's name (socket_filter, kprobe,
//	                            xdp, sched_cls, ...), for objects whose section names do
//	                            not say it and for assembly (default: a raw-memory program)
//	--mem FILE                  a raw-memory program's memory: r1 = its address, r2 = its length
//	--packet FILE               a packet program's packet (an Ethernet frame)
//	--ctx FILE                  the context of other programs: kprobe, x86-64 struct pt_regs;
//	                            tracepoint, the raw record (common header first);
//	                            raw_tracepoint, tracing (tp_btf, fentry, fexit), lsm, the
//	                            u64 argument array; perf_event, struct bpf_perf_event_data
//	                            (all little-endian; a short pt_regs or perf event file is
//	                            zero-padded)
//	--repeat N                  run N more times and print the time per run
//	--trace                     print each executed instruction and the registers it changed, and the
//	                            C source line before its instructions for objects with line info (interp)
//	--cover FILE                write the C lines the runs executed to FILE, an lcov tracefile for
//	                            genhtml (interp; objects built with clang -g)
//	--dump                      print the machine code (jit)
//	--map NAME:TYPE:KEY:VALUE:ENTRIES   declare a map of an assembly program (repeatable)
//	--dump-maps                 after the runs, print every map's contents
//
// It prints "r0 = 0x..." and, for packet programs, "packet = HEX", the
// packet as the program left it. The format is the same for every engine,
// so that outputs can be diffed; a program of a kernel program type
// reports r0 in 32 bits, as BPF_PROG_TEST_RUN does (a raw-memory program
// in 64). A socket filter sees the whole Ethernet frame in every engine
// (in the kernel through prog.Program.RunSocketFilter), and the kernel
// engine runs on CPU 0, as interp and jit do, so that per-CPU maps agree;
// it pins no maps, whatever the object asks. interp and jit run
// raw-memory, socket_filter, kprobe, xdp, sched_cls, sched_act,
// tracepoint, raw_tracepoint, tracing, lsm and perf_event programs
// (sections xdp, tc, classifier, action, tcx/ingress, tcx/egress and the
// tracing ones; an xdp program's packet is printed from data_meta to
// data_end, a tc program's from data to data_end, as BPF_PROG_TEST_RUN
// returns them); other types run only in the kernel, which test-runs
// raw_tracepoint programs but not tracepoint or perf_event ones. With --repeat, interp and jit time batches of runs through a
// Runner and print the median per run, and the kernel prints the mean
// BPF_PROG_TEST_RUN measured; the maps keep the effects of every run, the
// calibration runs that choose the batch size included.
//
// An assembly program's maps are declared in whole-line comments whose
// first word is "map", and referred to as map_fd(NAME) or
// map_value(NAME, OFF):
//
//	; map counts hash key=4 value=8 entries=16
//	r1 = map_fd(counts) ll
//
// TYPE is a map type as bpftool names it (hash, array, percpu_array,
// lru_hash, queue, ringbuf, ...); numbers are decimal or 0x-hexadecimal;
// an optional flags=N sets map_flags. --map declares one the same way and
// replaces a declaration of the same name in the file. A reference to an
// undeclared map is an error naming the map and its line. An object's
// program gets the object's maps, with global data (.data, .rodata, .bss)
// initialised, kconfig externs set from the host's configuration and
// CO-RE relocations resolved against the running kernel's BTF (as
// interp.NewCollection does). Every engine loads the program together
// with the programs its program arrays' initialisers name (so tail calls
// work) and the maps they use, and leaves the object's other programs and
// maps out. --dump-maps prints a program array's entries as "value program
// NAME" and a map of maps' as "value map NAME", the same in every engine.
//
// --cover counts, over all the runs (--repeat's included), how often each
// C line and function of the loaded programs ran, from the object's
// .BTF.ext line_info and func_info, and writes an lcov tracefile
// (interp.Coverage.WriteLCOV) whose source names are the object's, as
// clang recorded them (relative to the directory it compiled in):
// "genhtml -o report FILE" from that directory draws the report.
//
// --dump-maps prints each map as "map NAME: TYPE key K value V
// max_entries N, M entries" followed by one line an entry ("key 01 00 00
// 00  value 2a 00 ..."; per-CPU maps print value[cpuN] for every CPU).
// Queues and stacks are popped, and the records of userspace ring buffers
// and perf event arrays are read.
//
// Errors go to standard error with exit status 1, or 2 for usage errors.
// Each subcommand lives in its own file and registers itself in
// commands; main only dispatches.
//
// It may import btf, prog, insn, interp, interp/maps, jit, sys,
// golang.org/x/sys/unix and the standard library.
package main
