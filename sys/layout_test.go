//go:build linux

package sys

import (
	"runtime"
	"testing"
	"unsafe"
)

// The expected sizes and offsets below are literals taken from the Linux
// uapi headers by compiling a throwaway C program that printed sizeof and
// offsetof for each member (x86-64, gcc). Source headers: linux-libc-dev
// 6.12.95 (Debian bookworm-backports), i.e. include/uapi/linux/bpf.h and
// perf_event.h of Linux 6.12, the newest layout including log_true_size,
// prog_token_fd and map_token_fd. /usr/include on the development machine
// has the older linux-libc-dev 6.1.192 (Debian bookworm), which lacks those
// trailing fields; every offset it does have is identical, since the uapi
// structs only ever grow at the end.

type offset struct {
	name      string
	got, want uintptr
}

func checkLayout(t *testing.T, typ string, gotSize, wantSize uintptr, fields []offset) {
	t.Helper()
	if gotSize != wantSize {
		t.Errorf("sizeof(%s) = %d, want %d", typ, gotSize, wantSize)
	}
	for _, f := range fields {
		if f.got != f.want {
			t.Errorf("offsetof(%s, %s) = %d, want %d", typ, f.name, f.got, f.want)
		}
	}
}

func TestLayoutPointer(t *testing.T) {
	if got := unsafe.Sizeof(Pointer{}); got != 8 {
		t.Errorf("sizeof(Pointer) = %d, want 8", got)
	}
	if got := unsafe.Sizeof(ObjName{}); got != 16 {
		t.Errorf("sizeof(ObjName) = %d, want 16", got)
	}
}

func TestLayoutMapCreateAttr(t *testing.T) {
	var a MapCreateAttr
	checkLayout(t, "MapCreateAttr", unsafe.Sizeof(a), 80, []offset{
		{"map_type", unsafe.Offsetof(a.MapType), 0},
		{"key_size", unsafe.Offsetof(a.KeySize), 4},
		{"value_size", unsafe.Offsetof(a.ValueSize), 8},
		{"max_entries", unsafe.Offsetof(a.MaxEntries), 12},
		{"map_flags", unsafe.Offsetof(a.MapFlags), 16},
		{"inner_map_fd", unsafe.Offsetof(a.InnerMapFD), 20},
		{"numa_node", unsafe.Offsetof(a.NUMANode), 24},
		{"map_name", unsafe.Offsetof(a.MapName), 28},
		{"map_ifindex", unsafe.Offsetof(a.MapIfindex), 44},
		{"btf_fd", unsafe.Offsetof(a.BTFFD), 48},
		{"btf_key_type_id", unsafe.Offsetof(a.BTFKeyTypeID), 52},
		{"btf_value_type_id", unsafe.Offsetof(a.BTFValueTypeID), 56},
		{"btf_vmlinux_value_type_id", unsafe.Offsetof(a.BTFVmlinuxValueTypeID), 60},
		{"map_extra", unsafe.Offsetof(a.MapExtra), 64},
		{"value_type_btf_obj_fd", unsafe.Offsetof(a.ValueTypeBTFObjFD), 72},
		{"map_token_fd", unsafe.Offsetof(a.MapTokenFD), 76},
	})
}

func TestLayoutMapElemAttr(t *testing.T) {
	var a MapElemAttr
	checkLayout(t, "MapElemAttr", unsafe.Sizeof(a), 32, []offset{
		{"map_fd", unsafe.Offsetof(a.MapFD), 0},
		{"key", unsafe.Offsetof(a.Key), 8},
		{"value/next_key", unsafe.Offsetof(a.Value), 16},
		{"flags", unsafe.Offsetof(a.Flags), 24},
	})
	var f MapFreezeAttr
	checkLayout(t, "MapFreezeAttr", unsafe.Sizeof(f), 4, []offset{
		{"map_fd", unsafe.Offsetof(f.MapFD), 0},
	})
}

func TestLayoutMapBatchAttr(t *testing.T) {
	var a MapBatchAttr
	checkLayout(t, "MapBatchAttr", unsafe.Sizeof(a), 56, []offset{
		{"in_batch", unsafe.Offsetof(a.InBatch), 0},
		{"out_batch", unsafe.Offsetof(a.OutBatch), 8},
		{"keys", unsafe.Offsetof(a.Keys), 16},
		{"values", unsafe.Offsetof(a.Values), 24},
		{"count", unsafe.Offsetof(a.Count), 32},
		{"map_fd", unsafe.Offsetof(a.MapFD), 36},
		{"elem_flags", unsafe.Offsetof(a.ElemFlags), 40},
		{"flags", unsafe.Offsetof(a.Flags), 48},
	})
}

func TestLayoutProgLoadAttr(t *testing.T) {
	var a ProgLoadAttr
	// 152 is also sizeof(union bpf_attr) in Linux 6.12: PROG_LOAD is the
	// largest member.
	checkLayout(t, "ProgLoadAttr", unsafe.Sizeof(a), 152, []offset{
		{"prog_type", unsafe.Offsetof(a.ProgType), 0},
		{"insn_cnt", unsafe.Offsetof(a.InsnCnt), 4},
		{"insns", unsafe.Offsetof(a.Insns), 8},
		{"license", unsafe.Offsetof(a.License), 16},
		{"log_level", unsafe.Offsetof(a.LogLevel), 24},
		{"log_size", unsafe.Offsetof(a.LogSize), 28},
		{"log_buf", unsafe.Offsetof(a.LogBuf), 32},
		{"kern_version", unsafe.Offsetof(a.KernVersion), 40},
		{"prog_flags", unsafe.Offsetof(a.ProgFlags), 44},
		{"prog_name", unsafe.Offsetof(a.ProgName), 48},
		{"prog_ifindex", unsafe.Offsetof(a.ProgIfindex), 64},
		{"expected_attach_type", unsafe.Offsetof(a.ExpectedAttachType), 68},
		{"prog_btf_fd", unsafe.Offsetof(a.ProgBTFFD), 72},
		{"func_info_rec_size", unsafe.Offsetof(a.FuncInfoRecSize), 76},
		{"func_info", unsafe.Offsetof(a.FuncInfo), 80},
		{"func_info_cnt", unsafe.Offsetof(a.FuncInfoCnt), 88},
		{"line_info_rec_size", unsafe.Offsetof(a.LineInfoRecSize), 92},
		{"line_info", unsafe.Offsetof(a.LineInfo), 96},
		{"line_info_cnt", unsafe.Offsetof(a.LineInfoCnt), 104},
		{"attach_btf_id", unsafe.Offsetof(a.AttachBTFID), 108},
		{"attach_prog_fd/attach_btf_obj_fd", unsafe.Offsetof(a.AttachProgOrBTFObjFD), 112},
		{"core_relo_cnt", unsafe.Offsetof(a.CoreReloCnt), 116},
		{"fd_array", unsafe.Offsetof(a.FDArray), 120},
		{"core_relos", unsafe.Offsetof(a.CoreRelos), 128},
		{"core_relo_rec_size", unsafe.Offsetof(a.CoreReloRecSize), 136},
		{"log_true_size", unsafe.Offsetof(a.LogTrueSize), 140},
		{"prog_token_fd", unsafe.Offsetof(a.ProgTokenFD), 144},
	})
}

func TestLayoutObjAttr(t *testing.T) {
	var a ObjAttr
	checkLayout(t, "ObjAttr", unsafe.Sizeof(a), 24, []offset{
		{"pathname", unsafe.Offsetof(a.Pathname), 0},
		{"bpf_fd", unsafe.Offsetof(a.BPFFD), 8},
		{"file_flags", unsafe.Offsetof(a.FileFlags), 12},
		{"path_fd", unsafe.Offsetof(a.PathFD), 16},
	})
}

func TestLayoutProgTestRunAttr(t *testing.T) {
	var a ProgTestRunAttr
	checkLayout(t, "ProgTestRunAttr", unsafe.Sizeof(a), 80, []offset{
		{"prog_fd", unsafe.Offsetof(a.ProgFD), 0},
		{"retval", unsafe.Offsetof(a.Retval), 4},
		{"data_size_in", unsafe.Offsetof(a.DataSizeIn), 8},
		{"data_size_out", unsafe.Offsetof(a.DataSizeOut), 12},
		{"data_in", unsafe.Offsetof(a.DataIn), 16},
		{"data_out", unsafe.Offsetof(a.DataOut), 24},
		{"repeat", unsafe.Offsetof(a.Repeat), 32},
		{"duration", unsafe.Offsetof(a.Duration), 36},
		{"ctx_size_in", unsafe.Offsetof(a.CtxSizeIn), 40},
		{"ctx_size_out", unsafe.Offsetof(a.CtxSizeOut), 44},
		{"ctx_in", unsafe.Offsetof(a.CtxIn), 48},
		{"ctx_out", unsafe.Offsetof(a.CtxOut), 56},
		{"flags", unsafe.Offsetof(a.Flags), 64},
		{"cpu", unsafe.Offsetof(a.CPU), 68},
		{"batch_size", unsafe.Offsetof(a.BatchSize), 72},
	})
}

func TestLayoutGetIDAttr(t *testing.T) {
	var a GetIDAttr
	checkLayout(t, "GetIDAttr", unsafe.Sizeof(a), 12, []offset{
		{"start_id/prog_id/map_id/btf_id/link_id", unsafe.Offsetof(a.ID), 0},
		{"next_id", unsafe.Offsetof(a.NextID), 4},
		{"open_flags", unsafe.Offsetof(a.OpenFlags), 8},
	})
}

func TestLayoutInfoAttr(t *testing.T) {
	var a InfoAttr
	checkLayout(t, "InfoAttr", unsafe.Sizeof(a), 16, []offset{
		{"info.bpf_fd", unsafe.Offsetof(a.BPFFD), 0},
		{"info.info_len", unsafe.Offsetof(a.InfoLen), 4},
		{"info.info", unsafe.Offsetof(a.Info), 8},
	})
}

func TestLayoutLinkAttrs(t *testing.T) {
	// sizeof(((union bpf_attr *)0)->link_create) is 64 for every variant.
	var g LinkCreateAttr
	checkLayout(t, "LinkCreateAttr", unsafe.Sizeof(g), 64, []offset{
		{"link_create.prog_fd", unsafe.Offsetof(g.ProgFD), 0},
		{"link_create.target_fd", unsafe.Offsetof(g.TargetFD), 4},
		{"link_create.attach_type", unsafe.Offsetof(g.AttachType), 8},
		{"link_create.flags", unsafe.Offsetof(g.Flags), 12},
		{"link_create.target_btf_id", unsafe.Offsetof(g.TargetBTFID), 16},
	})
	var p LinkCreatePerfEventAttr
	checkLayout(t, "LinkCreatePerfEventAttr", unsafe.Sizeof(p), 64, []offset{
		{"link_create.prog_fd", unsafe.Offsetof(p.ProgFD), 0},
		{"link_create.target_fd", unsafe.Offsetof(p.TargetFD), 4},
		{"link_create.attach_type", unsafe.Offsetof(p.AttachType), 8},
		{"link_create.flags", unsafe.Offsetof(p.Flags), 12},
		{"link_create.perf_event.bpf_cookie", unsafe.Offsetof(p.BPFCookie), 16},
	})
	var tr LinkCreateTracingAttr
	checkLayout(t, "LinkCreateTracingAttr", unsafe.Sizeof(tr), 64, []offset{
		{"link_create.prog_fd", unsafe.Offsetof(tr.ProgFD), 0},
		{"link_create.target_fd", unsafe.Offsetof(tr.TargetFD), 4},
		{"link_create.attach_type", unsafe.Offsetof(tr.AttachType), 8},
		{"link_create.flags", unsafe.Offsetof(tr.Flags), 12},
		{"link_create.tracing.target_btf_id", unsafe.Offsetof(tr.TargetBTFID), 16},
		{"link_create.tracing.cookie", unsafe.Offsetof(tr.Cookie), 24},
	})
	var it LinkCreateIterAttr
	checkLayout(t, "LinkCreateIterAttr", unsafe.Sizeof(it), 64, []offset{
		{"link_create.prog_fd", unsafe.Offsetof(it.ProgFD), 0},
		{"link_create.target_fd", unsafe.Offsetof(it.TargetFD), 4},
		{"link_create.attach_type", unsafe.Offsetof(it.AttachType), 8},
		{"link_create.flags", unsafe.Offsetof(it.Flags), 12},
		{"link_create.iter_info", unsafe.Offsetof(it.IterInfo), 16},
		{"link_create.iter_info_len", unsafe.Offsetof(it.IterInfoLen), 24},
	})
	var k LinkCreateKprobeMultiAttr
	checkLayout(t, "LinkCreateKprobeMultiAttr", unsafe.Sizeof(k), 64, []offset{
		{"link_create.prog_fd", unsafe.Offsetof(k.ProgFD), 0},
		{"link_create.target_fd", unsafe.Offsetof(k.TargetFD), 4},
		{"link_create.attach_type", unsafe.Offsetof(k.AttachType), 8},
		{"link_create.flags", unsafe.Offsetof(k.Flags), 12},
		{"link_create.kprobe_multi.flags", unsafe.Offsetof(k.KFlags), 16},
		{"link_create.kprobe_multi.cnt", unsafe.Offsetof(k.Count), 20},
		{"link_create.kprobe_multi.syms", unsafe.Offsetof(k.Syms), 24},
		{"link_create.kprobe_multi.addrs", unsafe.Offsetof(k.Addrs), 32},
		{"link_create.kprobe_multi.cookies", unsafe.Offsetof(k.Cookies), 40},
	})
	var u LinkCreateUprobeMultiAttr
	checkLayout(t, "LinkCreateUprobeMultiAttr", unsafe.Sizeof(u), 64, []offset{
		{"link_create.prog_fd", unsafe.Offsetof(u.ProgFD), 0},
		{"link_create.target_fd", unsafe.Offsetof(u.TargetFD), 4},
		{"link_create.attach_type", unsafe.Offsetof(u.AttachType), 8},
		{"link_create.flags", unsafe.Offsetof(u.Flags), 12},
		{"link_create.uprobe_multi.path", unsafe.Offsetof(u.Path), 16},
		{"link_create.uprobe_multi.offsets", unsafe.Offsetof(u.Offsets), 24},
		{"link_create.uprobe_multi.ref_ctr_offsets", unsafe.Offsetof(u.RefCtrOffsets), 32},
		{"link_create.uprobe_multi.cookies", unsafe.Offsetof(u.Cookies), 40},
		{"link_create.uprobe_multi.cnt", unsafe.Offsetof(u.Count), 48},
		{"link_create.uprobe_multi.flags", unsafe.Offsetof(u.UFlags), 52},
		{"link_create.uprobe_multi.pid", unsafe.Offsetof(u.PID), 56},
	})
	var n LinkCreateNetfilterAttr
	checkLayout(t, "LinkCreateNetfilterAttr", unsafe.Sizeof(n), 64, []offset{
		{"link_create.prog_fd", unsafe.Offsetof(n.ProgFD), 0},
		{"link_create.target_fd", unsafe.Offsetof(n.TargetFD), 4},
		{"link_create.attach_type", unsafe.Offsetof(n.AttachType), 8},
		{"link_create.flags", unsafe.Offsetof(n.Flags), 12},
		{"link_create.netfilter.pf", unsafe.Offsetof(n.PF), 16},
		{"link_create.netfilter.hooknum", unsafe.Offsetof(n.Hooknum), 20},
		{"link_create.netfilter.priority", unsafe.Offsetof(n.Priority), 24},
		{"link_create.netfilter.flags", unsafe.Offsetof(n.NFFlags), 28},
	})
	var x LinkCreateTCXAttr
	checkLayout(t, "LinkCreateTCXAttr", unsafe.Sizeof(x), 64, []offset{
		{"link_create.prog_fd", unsafe.Offsetof(x.ProgFD), 0},
		{"link_create.target_ifindex", unsafe.Offsetof(x.TargetFD), 4},
		{"link_create.attach_type", unsafe.Offsetof(x.AttachType), 8},
		{"link_create.flags", unsafe.Offsetof(x.Flags), 12},
		{"link_create.tcx.relative_fd", unsafe.Offsetof(x.RelativeFDOrID), 16},
		{"link_create.tcx.expected_revision", unsafe.Offsetof(x.ExpectedRevision), 24},
	})
	var d LinkDetachAttr
	checkLayout(t, "LinkDetachAttr", unsafe.Sizeof(d), 4, []offset{
		{"link_detach.link_fd", unsafe.Offsetof(d.LinkFD), 0},
	})
}

func TestLayoutProgInfo(t *testing.T) {
	var i ProgInfo
	checkLayout(t, "ProgInfo", unsafe.Sizeof(i), 232, []offset{
		{"type", unsafe.Offsetof(i.Type), 0},
		{"id", unsafe.Offsetof(i.ID), 4},
		{"tag", unsafe.Offsetof(i.Tag), 8},
		{"jited_prog_len", unsafe.Offsetof(i.JitedProgLen), 16},
		{"xlated_prog_len", unsafe.Offsetof(i.XlatedProgLen), 20},
		{"jited_prog_insns", unsafe.Offsetof(i.JitedProgInsns), 24},
		{"xlated_prog_insns", unsafe.Offsetof(i.XlatedProgInsns), 32},
		{"load_time", unsafe.Offsetof(i.LoadTime), 40},
		{"created_by_uid", unsafe.Offsetof(i.CreatedByUID), 48},
		{"nr_map_ids", unsafe.Offsetof(i.NrMapIDs), 52},
		{"map_ids", unsafe.Offsetof(i.MapIDs), 56},
		{"name", unsafe.Offsetof(i.Name), 64},
		{"ifindex", unsafe.Offsetof(i.Ifindex), 80},
		{"gpl_compatible (bit 0 of the word)", unsafe.Offsetof(i.Flags), 84},
		{"netns_dev", unsafe.Offsetof(i.NetnsDev), 88},
		{"netns_ino", unsafe.Offsetof(i.NetnsIno), 96},
		{"nr_jited_ksyms", unsafe.Offsetof(i.NrJitedKsyms), 104},
		{"nr_jited_func_lens", unsafe.Offsetof(i.NrJitedFuncLens), 108},
		{"jited_ksyms", unsafe.Offsetof(i.JitedKsyms), 112},
		{"jited_func_lens", unsafe.Offsetof(i.JitedFuncLens), 120},
		{"btf_id", unsafe.Offsetof(i.BTFID), 128},
		{"func_info_rec_size", unsafe.Offsetof(i.FuncInfoRecSize), 132},
		{"func_info", unsafe.Offsetof(i.FuncInfo), 136},
		{"nr_func_info", unsafe.Offsetof(i.NrFuncInfo), 144},
		{"nr_line_info", unsafe.Offsetof(i.NrLineInfo), 148},
		{"line_info", unsafe.Offsetof(i.LineInfo), 152},
		{"jited_line_info", unsafe.Offsetof(i.JitedLineInfo), 160},
		{"nr_jited_line_info", unsafe.Offsetof(i.NrJitedLineInfo), 168},
		{"line_info_rec_size", unsafe.Offsetof(i.LineInfoRecSize), 172},
		{"jited_line_info_rec_size", unsafe.Offsetof(i.JitedLineInfoRecSize), 176},
		{"nr_prog_tags", unsafe.Offsetof(i.NrProgTags), 180},
		{"prog_tags", unsafe.Offsetof(i.ProgTags), 184},
		{"run_time_ns", unsafe.Offsetof(i.RunTimeNs), 192},
		{"run_cnt", unsafe.Offsetof(i.RunCnt), 200},
		{"recursion_misses", unsafe.Offsetof(i.RecursionMisses), 208},
		{"verified_insns", unsafe.Offsetof(i.VerifiedInsns), 216},
		{"attach_btf_obj_id", unsafe.Offsetof(i.AttachBTFObjID), 220},
		{"attach_btf_id", unsafe.Offsetof(i.AttachBTFID), 224},
	})
}

func TestLayoutMapInfo(t *testing.T) {
	var i MapInfo
	checkLayout(t, "MapInfo", unsafe.Sizeof(i), 88, []offset{
		{"type", unsafe.Offsetof(i.Type), 0},
		{"id", unsafe.Offsetof(i.ID), 4},
		{"key_size", unsafe.Offsetof(i.KeySize), 8},
		{"value_size", unsafe.Offsetof(i.ValueSize), 12},
		{"max_entries", unsafe.Offsetof(i.MaxEntries), 16},
		{"map_flags", unsafe.Offsetof(i.MapFlags), 20},
		{"name", unsafe.Offsetof(i.Name), 24},
		{"ifindex", unsafe.Offsetof(i.Ifindex), 40},
		{"btf_vmlinux_value_type_id", unsafe.Offsetof(i.BTFVmlinuxValueTypeID), 44},
		{"netns_dev", unsafe.Offsetof(i.NetnsDev), 48},
		{"netns_ino", unsafe.Offsetof(i.NetnsIno), 56},
		{"btf_id", unsafe.Offsetof(i.BTFID), 64},
		{"btf_key_type_id", unsafe.Offsetof(i.BTFKeyTypeID), 68},
		{"btf_value_type_id", unsafe.Offsetof(i.BTFValueTypeID), 72},
		{"btf_vmlinux_id", unsafe.Offsetof(i.BTFVmlinuxID), 76},
		{"map_extra", unsafe.Offsetof(i.MapExtra), 80},
	})
}

func TestLayoutPerfEventAttr(t *testing.T) {
	var a PerfEventAttr
	checkLayout(t, "PerfEventAttr", unsafe.Sizeof(a), 136, []offset{
		{"type", unsafe.Offsetof(a.Type), 0},
		{"size", unsafe.Offsetof(a.Size), 4},
		{"config", unsafe.Offsetof(a.Config), 8},
		{"sample_period/sample_freq", unsafe.Offsetof(a.SamplePeriodOrFreq), 16},
		{"sample_type", unsafe.Offsetof(a.SampleType), 24},
		{"read_format", unsafe.Offsetof(a.ReadFormat), 32},
		{"bit field word (disabled...)", unsafe.Offsetof(a.Flags), 40},
		{"wakeup_events/wakeup_watermark", unsafe.Offsetof(a.WakeupEventsOrWatermark), 48},
		{"bp_type", unsafe.Offsetof(a.BPType), 52},
		{"bp_addr/config1", unsafe.Offsetof(a.Config1), 56},
		{"bp_len/config2", unsafe.Offsetof(a.Config2), 64},
		{"branch_sample_type", unsafe.Offsetof(a.BranchSampleType), 72},
		{"sample_regs_user", unsafe.Offsetof(a.SampleRegsUser), 80},
		{"sample_stack_user", unsafe.Offsetof(a.SampleStackUser), 88},
		{"clockid", unsafe.Offsetof(a.ClockID), 92},
		{"sample_regs_intr", unsafe.Offsetof(a.SampleRegsIntr), 96},
		{"aux_watermark", unsafe.Offsetof(a.AuxWatermark), 104},
		{"sample_max_stack", unsafe.Offsetof(a.SampleMaxStack), 108},
		{"aux_sample_size", unsafe.Offsetof(a.AuxSampleSize), 112},
		{"aux_action", unsafe.Offsetof(a.AuxAction), 116},
		{"sig_data", unsafe.Offsetof(a.SigData), 120},
		{"config3", unsafe.Offsetof(a.Config3), 128},
	})
	if PerfEventAttrSize != 136 {
		t.Errorf("PerfEventAttrSize = %d, want 136 (PERF_ATTR_SIZE_VER8)", PerfEventAttrSize)
	}
}

func TestPerfBitPositions(t *testing.T) {
	// Bit numbers of the perf_event_attr bit field members, printed by
	// setting each member to 1 in C and locating the set bit of the word
	// at offset 40.
	bits := []struct {
		name string
		got  uint64
		bit  uint
	}{
		{"disabled", PerfBitDisabled, 0}, {"inherit", PerfBitInherit, 1},
		{"pinned", PerfBitPinned, 2}, {"exclusive", PerfBitExclusive, 3},
		{"exclude_user", PerfBitExcludeUser, 4}, {"exclude_kernel", PerfBitExcludeKernel, 5},
		{"exclude_hv", PerfBitExcludeHV, 6}, {"exclude_idle", PerfBitExcludeIdle, 7},
		{"mmap", PerfBitMmap, 8}, {"comm", PerfBitComm, 9}, {"freq", PerfBitFreq, 10},
		{"inherit_stat", PerfBitInheritStat, 11}, {"enable_on_exec", PerfBitEnableOnExec, 12},
		{"task", PerfBitTask, 13}, {"watermark", PerfBitWatermark, 14},
		{"precise_ip", 1 << PerfBitPreciseIPShift, 15},
		{"mmap_data", PerfBitMmapData, 17}, {"sample_id_all", PerfBitSampleIDAll, 18},
		{"exclude_host", PerfBitExcludeHost, 19}, {"exclude_guest", PerfBitExcludeGuest, 20},
		{"exclude_callchain_kernel", PerfBitExcludeCallchainKernel, 21},
		{"exclude_callchain_user", PerfBitExcludeCallchainUser, 22},
		{"mmap2", PerfBitMmap2, 23}, {"comm_exec", PerfBitCommExec, 24},
		{"use_clockid", PerfBitUseClockID, 25}, {"context_switch", PerfBitContextSwitch, 26},
		{"write_backward", PerfBitWriteBackward, 27}, {"namespaces", PerfBitNamespaces, 28},
		{"ksymbol", PerfBitKsymbol, 29}, {"bpf_event", PerfBitBPFEvent, 30},
		{"aux_output", PerfBitAuxOutput, 31}, {"cgroup", PerfBitCgroup, 32},
		{"text_poke", PerfBitTextPoke, 33}, {"build_id", PerfBitBuildID, 34},
		{"inherit_thread", PerfBitInheritThread, 35}, {"remove_on_exec", PerfBitRemoveOnExec, 36},
		{"sigtrap", PerfBitSigtrap, 37},
	}
	for _, b := range bits {
		if b.got != 1<<b.bit {
			t.Errorf("%s: bit mask %#x, want bit %d", b.name, b.got, b.bit)
		}
	}
	if PerfBitPreciseIPMask != 3<<15 {
		t.Errorf("PerfBitPreciseIPMask = %#x, want %#x", PerfBitPreciseIPMask, 3<<15)
	}
}

func TestLayoutPerfMmapPage(t *testing.T) {
	// struct perf_event_mmap_page: sizeof 1088, data_head 1024,
	// data_tail 1032, data_offset 1040, data_size 1048.
	want := []struct {
		name      string
		got, want uintptr
	}{
		{"data_head", PerfMmapPageDataHeadOffset, 1024},
		{"data_tail", PerfMmapPageDataTailOffset, 1032},
		{"data_offset", PerfMmapPageDataOffsetOffset, 1040},
		{"data_size", PerfMmapPageDataSizeOffset, 1048},
		{"sizeof", PerfMmapPageSize, 1088},
	}
	for _, w := range want {
		if w.got != w.want {
			t.Errorf("perf_event_mmap_page %s = %d, want %d", w.name, w.got, w.want)
		}
	}
	// Cross-check the constants against golang.org/x/sys/unix's struct.
	var p unixPerfEventMmapPage
	if got := unsafe.Offsetof(p.Data_head); got != PerfMmapPageDataHeadOffset {
		t.Errorf("unix.PerfEventMmapPage.Data_head at %d, want %d", got, PerfMmapPageDataHeadOffset)
	}
	if got := unsafe.Offsetof(p.Data_size); got != PerfMmapPageDataSizeOffset {
		t.Errorf("unix.PerfEventMmapPage.Data_size at %d, want %d", got, PerfMmapPageDataSizeOffset)
	}
}

func TestPerfIoctlNumbers(t *testing.T) {
	// _IO('$', 0), _IO('$', 1) and _IOW('$', 8, __u32) with the generic
	// ioctl encoding; powerpc, mips and sparc encode _IOW differently.
	switch runtime.GOARCH {
	case "amd64", "arm64", "386", "arm", "riscv64", "loong64", "s390x":
	default:
		t.Skip("skipping: ioctl encoding of " + runtime.GOARCH + " not recorded")
	}
	if PerfEventIOCEnable != 0x2400 || PerfEventIOCDisable != 0x2401 {
		t.Errorf("enable/disable = %#x/%#x, want 0x2400/0x2401", PerfEventIOCEnable, PerfEventIOCDisable)
	}
	if PerfEventIOCSetBPF != 0x40042408 {
		t.Errorf("set_bpf = %#x, want 0x40042408", PerfEventIOCSetBPF)
	}
}
