//go:build linux

package sys_test

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/sys"
)

// The layouts of the hand-written kernel structs are checked against the
// running kernel's own BTF (/sys/kernel/btf/vmlinux): every Go field must
// sit at the offset of the C member it mirrors, and the Go struct must end
// where its last mirrored member ends (rounded up to the Go struct's
// alignment), or, for the link_create variants, where the C struct ends.
// Structs only grow at the end, so a newer kernel checks an older layout.

// field is a Go field and the C member it mirrors. name is the member's
// path below the container ("perf_event.bpf_cookie"); "a/b" names the
// members of a union that share the offset; a bitfield member stands for
// the storage word that holds it.
type field struct {
	name string
	got  uintptr
}

func kernelSpec(t *testing.T) *btf.Spec {
	t.Helper()
	s, err := btf.KernelSpec()
	if err != nil {
		testenv.SkipOrFail(t, "kernel BTF: %v", err)
	}
	return s
}

// rootType returns "union bpf_attr" or "struct perf_event_attr".
func rootType(t *testing.T, s *btf.Spec, root string) btf.Type {
	t.Helper()
	kind, name, _ := strings.Cut(root, " ")
	k := btf.KindStruct
	if kind == "union" {
		k = btf.KindUnion
	}
	typ, err := s.TypeByName(name, k)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

// resolve finds a member path in composite typ, descending into anonymous
// members, and returns the byte offset of the member (of its storage word
// for a bitfield) and its size.
func resolve(typ btf.Type, path string) (off, size uintptr, ok bool) {
	name, rest, nested := strings.Cut(path, ".")
	for _, m := range btf.Members(typ) {
		mt, _ := btf.UnderlyingType(m.Type)
		if m.Name == "" {
			if o, sz, ok := resolve(mt, path); ok {
				return uintptr(m.Offset/8) + o, sz, true
			}
			continue
		}
		if m.Name != name {
			continue
		}
		if nested {
			o, sz, ok := resolve(mt, rest)
			return uintptr(m.Offset/8) + o, sz, ok
		}
		sz, err := btf.Sizeof(m.Type)
		if err != nil {
			return 0, 0, false
		}
		off := uintptr(m.Offset / 8)
		if m.BitfieldSize != 0 {
			off = uintptr(m.Offset) / 8 / uintptr(sz) * uintptr(sz)
		}
		return off, uintptr(sz), true
	}
	return 0, 0, false
}

// resolveAny resolves "a/b/c", requiring the alternatives that exist to
// agree.
func resolveAny(t *testing.T, typ btf.Type, name string) (off, size uintptr, ok bool) {
	t.Helper()
	for _, alt := range strings.Split(name, "/") {
		o, sz, found := resolve(typ, alt)
		if !found {
			continue
		}
		if ok && o != off {
			t.Errorf("%s: union members at %d and %d", name, off, o)
		}
		off, size, ok = o, max(size, sz), true
	}
	return off, size, ok
}

// kernelMember returns the offset and size of a member of a root type.
func kernelMember(t *testing.T, root, name string) (uintptr, uintptr) {
	t.Helper()
	off, size, ok := resolveAny(t, rootType(t, kernelSpec(t), root), name)
	if !ok {
		t.Fatalf("%s has no member %s", root, name)
	}
	return off, size
}

// kernelLayout checks a Go struct against the C struct container of root
// (a named member such as "link_create", or "" for the anonymous struct of
// root that has the most of the fields, or root itself).
//
// Members the running kernel does not have yet (newer ones take the place
// of padding, join unions or come at the end) are listed in the log and
// checked on newer kernels; the size is then only checked against a
// larger struct for link_create, whose variants the kernel pads.
func kernelLayout(t *testing.T, root, container string, goSize, goAlign uintptr, whole bool, fields []field) {
	t.Helper()
	s := kernelSpec(t)
	typ := rootType(t, s, root)
	var candidates []btf.Type
	if container != "" {
		m, ok := memberType(typ, container)
		if !ok {
			t.Fatalf("%s has no member %s", root, container)
		}
		candidates = []btf.Type{m}
	} else {
		if root != "union bpf_attr" {
			candidates = append(candidates, typ)
		}
		for _, m := range btf.Members(typ) {
			if mt, _ := btf.UnderlyingType(m.Type); m.Name == "" {
				candidates = append(candidates, mt)
			}
		}
	}
	what := root
	if container != "" {
		what += "." + container
	}
	var best btf.Type
	bestN := 0
	for _, c := range candidates {
		n := 0
		for _, f := range fields {
			if _, _, ok := resolveAny(t, c, f.name); ok {
				n++
			}
		}
		if n > bestN {
			best, bestN = c, n
		}
	}
	if best == nil || bestN < min(len(fields), 2) {
		t.Fatalf("no struct in %s has the members %v", what, fields)
	}
	kernelSize, err := btf.Sizeof(best)
	if err != nil {
		t.Fatal(err)
	}
	end := uintptr(0)
	var newer []string
	for _, f := range fields {
		off, size, ok := resolveAny(t, best, f.name)
		if !ok {
			newer = append(newer, f.name)
			continue
		}
		if f.got != off {
			t.Errorf("%s: %s at Go offset %d, kernel offset %d", what, f.name, f.got, off)
		}
		end = max(end, off+size)
	}
	if len(newer) > 0 {
		t.Logf("%s: this kernel predates %v", what, newer)
	}
	switch {
	case whole && len(newer) == 0 && goSize < uintptr(kernelSize):
		t.Errorf("%s: Go size %d, kernel %d", what, goSize, kernelSize)
	case whole && goSize > uintptr(kernelSize):
		t.Logf("%s: Go size %d, this kernel's %d (newer members)", what, goSize, kernelSize)
	case whole:
		if goSize != uintptr(kernelSize) {
			t.Errorf("%s: Go size %d, kernel %d", what, goSize, kernelSize)
		}
	case len(newer) == 0:
		if want := (end + goAlign - 1) / goAlign * goAlign; goSize != want {
			t.Errorf("%s: Go size %d, kernel %d", what, goSize, want)
		}
	}
}

func memberType(typ btf.Type, name string) (btf.Type, bool) {
	for _, m := range btf.Members(typ) {
		if m.Name == name {
			mt, err := btf.UnderlyingType(m.Type)
			return mt, err == nil
		}
	}
	return nil, false
}

func TestPerfBitPositions(t *testing.T) {
	word, _ := kernelMember(t, "struct perf_event_attr", "disabled")
	s := kernelSpec(t)
	attr := rootType(t, s, "struct perf_event_attr")
	bits := []struct {
		name string
		got  uint64
	}{
		{"disabled", sys.PerfBitDisabled}, {"inherit", sys.PerfBitInherit},
		{"pinned", sys.PerfBitPinned}, {"exclusive", sys.PerfBitExclusive},
		{"exclude_user", sys.PerfBitExcludeUser}, {"exclude_kernel", sys.PerfBitExcludeKernel},
		{"exclude_hv", sys.PerfBitExcludeHV}, {"exclude_idle", sys.PerfBitExcludeIdle},
		{"mmap", sys.PerfBitMmap}, {"comm", sys.PerfBitComm}, {"freq", sys.PerfBitFreq},
		{"inherit_stat", sys.PerfBitInheritStat}, {"enable_on_exec", sys.PerfBitEnableOnExec},
		{"task", sys.PerfBitTask}, {"watermark", sys.PerfBitWatermark},
		{"precise_ip", 1 << sys.PerfBitPreciseIPShift},
		{"mmap_data", sys.PerfBitMmapData}, {"sample_id_all", sys.PerfBitSampleIDAll},
		{"exclude_host", sys.PerfBitExcludeHost}, {"exclude_guest", sys.PerfBitExcludeGuest},
		{"exclude_callchain_kernel", sys.PerfBitExcludeCallchainKernel},
		{"exclude_callchain_user", sys.PerfBitExcludeCallchainUser},
		{"mmap2", sys.PerfBitMmap2}, {"comm_exec", sys.PerfBitCommExec},
		{"use_clockid", sys.PerfBitUseClockID}, {"context_switch", sys.PerfBitContextSwitch},
		{"write_backward", sys.PerfBitWriteBackward}, {"namespaces", sys.PerfBitNamespaces},
		{"ksymbol", sys.PerfBitKsymbol}, {"bpf_event", sys.PerfBitBPFEvent},
		{"aux_output", sys.PerfBitAuxOutput}, {"cgroup", sys.PerfBitCgroup},
		{"text_poke", sys.PerfBitTextPoke}, {"build_id", sys.PerfBitBuildID},
		{"inherit_thread", sys.PerfBitInheritThread}, {"remove_on_exec", sys.PerfBitRemoveOnExec},
		{"sigtrap", sys.PerfBitSigtrap},
	}
	if off := unsafe.Offsetof(sys.PerfEventAttr{}.Flags); off != word {
		t.Errorf("Flags at %d, the bit field word at %d", off, word)
	}
	for _, b := range bits {
		m, ok := bitMember(attr, b.name)
		if !ok {
			t.Errorf("perf_event_attr has no bit field %s", b.name)
			continue
		}
		bit := uint(m.Offset) - uint(word)*8
		if b.got != 1<<bit {
			t.Errorf("%s: bit mask %#x, kernel bit %d", b.name, b.got, bit)
		}
		if b.name == "precise_ip" && sys.PerfBitPreciseIPMask != (1<<m.BitfieldSize-1)<<bit {
			t.Errorf("PerfBitPreciseIPMask = %#x, kernel %d bits at %d", sys.PerfBitPreciseIPMask, m.BitfieldSize, bit)
		}
	}
}

func bitMember(typ btf.Type, name string) (btf.Member, bool) {
	for _, m := range btf.Members(typ) {
		if m.Name == name {
			return m, true
		}
	}
	return btf.Member{}, false
}

func TestLayoutPerfMmapPage(t *testing.T) {
	for _, w := range []struct {
		name string
		got  uintptr
	}{
		{"data_head", sys.PerfMmapPageDataHeadOffset},
		{"data_tail", sys.PerfMmapPageDataTailOffset},
		{"data_offset", sys.PerfMmapPageDataOffsetOffset},
		{"data_size", sys.PerfMmapPageDataSizeOffset},
	} {
		if off, _ := kernelMember(t, "struct perf_event_mmap_page", w.name); w.got != off {
			t.Errorf("perf_event_mmap_page %s = %d, kernel %d", w.name, w.got, off)
		}
	}
	page, err := btf.Sizeof(rootType(t, kernelSpec(t), "struct perf_event_mmap_page"))
	if err != nil {
		t.Fatal(err)
	}
	if sys.PerfMmapPageSize != uintptr(page) {
		t.Errorf("PerfMmapPageSize = %d, kernel %d", sys.PerfMmapPageSize, page)
	}
}

func TestLayoutMapCreateAttr(t *testing.T) {
	var a sys.MapCreateAttr
	kernelLayout(t, "union bpf_attr", "", unsafe.Sizeof(a), unsafe.Alignof(a), false, []field{
		{"map_type", unsafe.Offsetof(a.MapType)},
		{"key_size", unsafe.Offsetof(a.KeySize)},
		{"value_size", unsafe.Offsetof(a.ValueSize)},
		{"max_entries", unsafe.Offsetof(a.MaxEntries)},
		{"map_flags", unsafe.Offsetof(a.MapFlags)},
		{"inner_map_fd", unsafe.Offsetof(a.InnerMapFD)},
		{"numa_node", unsafe.Offsetof(a.NUMANode)},
		{"map_name", unsafe.Offsetof(a.MapName)},
		{"map_ifindex", unsafe.Offsetof(a.MapIfindex)},
		{"btf_fd", unsafe.Offsetof(a.BTFFD)},
		{"btf_key_type_id", unsafe.Offsetof(a.BTFKeyTypeID)},
		{"btf_value_type_id", unsafe.Offsetof(a.BTFValueTypeID)},
		{"btf_vmlinux_value_type_id", unsafe.Offsetof(a.BTFVmlinuxValueTypeID)},
		{"map_extra", unsafe.Offsetof(a.MapExtra)},
		{"value_type_btf_obj_fd", unsafe.Offsetof(a.ValueTypeBTFObjFD)},
		{"map_token_fd", unsafe.Offsetof(a.MapTokenFD)},
	})
}

func TestLayoutMapElemAttr(t *testing.T) {
	var a sys.MapElemAttr
	kernelLayout(t, "union bpf_attr", "", unsafe.Sizeof(a), unsafe.Alignof(a), false, []field{
		{"map_fd", unsafe.Offsetof(a.MapFD)},
		{"key", unsafe.Offsetof(a.Key)},
		{"value/next_key", unsafe.Offsetof(a.Value)},
		{"flags", unsafe.Offsetof(a.Flags)},
	})
	var f sys.MapFreezeAttr
	kernelLayout(t, "union bpf_attr", "", unsafe.Sizeof(f), unsafe.Alignof(f), false, []field{
		{"map_fd", unsafe.Offsetof(f.MapFD)},
	})
}

func TestLayoutMapBatchAttr(t *testing.T) {
	var a sys.MapBatchAttr
	kernelLayout(t, "union bpf_attr", "batch", unsafe.Sizeof(a), unsafe.Alignof(a), false, []field{
		{"in_batch", unsafe.Offsetof(a.InBatch)},
		{"out_batch", unsafe.Offsetof(a.OutBatch)},
		{"keys", unsafe.Offsetof(a.Keys)},
		{"values", unsafe.Offsetof(a.Values)},
		{"count", unsafe.Offsetof(a.Count)},
		{"map_fd", unsafe.Offsetof(a.MapFD)},
		{"elem_flags", unsafe.Offsetof(a.ElemFlags)},
		{"flags", unsafe.Offsetof(a.Flags)},
	})
}

func TestLayoutProgLoadAttr(t *testing.T) {
	var a sys.ProgLoadAttr
	// 152 is also sizeof(union bpf_attr) in Linux 6.12: PROG_LOAD is the
	// largest member.
	kernelLayout(t, "union bpf_attr", "", unsafe.Sizeof(a), unsafe.Alignof(a), false, []field{
		{"prog_type", unsafe.Offsetof(a.ProgType)},
		{"insn_cnt", unsafe.Offsetof(a.InsnCnt)},
		{"insns", unsafe.Offsetof(a.Insns)},
		{"license", unsafe.Offsetof(a.License)},
		{"log_level", unsafe.Offsetof(a.LogLevel)},
		{"log_size", unsafe.Offsetof(a.LogSize)},
		{"log_buf", unsafe.Offsetof(a.LogBuf)},
		{"kern_version", unsafe.Offsetof(a.KernVersion)},
		{"prog_flags", unsafe.Offsetof(a.ProgFlags)},
		{"prog_name", unsafe.Offsetof(a.ProgName)},
		{"prog_ifindex", unsafe.Offsetof(a.ProgIfindex)},
		{"expected_attach_type", unsafe.Offsetof(a.ExpectedAttachType)},
		{"prog_btf_fd", unsafe.Offsetof(a.ProgBTFFD)},
		{"func_info_rec_size", unsafe.Offsetof(a.FuncInfoRecSize)},
		{"func_info", unsafe.Offsetof(a.FuncInfo)},
		{"func_info_cnt", unsafe.Offsetof(a.FuncInfoCnt)},
		{"line_info_rec_size", unsafe.Offsetof(a.LineInfoRecSize)},
		{"line_info", unsafe.Offsetof(a.LineInfo)},
		{"line_info_cnt", unsafe.Offsetof(a.LineInfoCnt)},
		{"attach_btf_id", unsafe.Offsetof(a.AttachBTFID)},
		{"attach_prog_fd/attach_btf_obj_fd", unsafe.Offsetof(a.AttachProgOrBTFObjFD)},
		{"core_relo_cnt", unsafe.Offsetof(a.CoreReloCnt)},
		{"fd_array", unsafe.Offsetof(a.FDArray)},
		{"core_relos", unsafe.Offsetof(a.CoreRelos)},
		{"core_relo_rec_size", unsafe.Offsetof(a.CoreReloRecSize)},
		{"log_true_size", unsafe.Offsetof(a.LogTrueSize)},
		{"prog_token_fd", unsafe.Offsetof(a.ProgTokenFD)},
	})
}

func TestLayoutObjAttr(t *testing.T) {
	var a sys.ObjAttr
	kernelLayout(t, "union bpf_attr", "", unsafe.Sizeof(a), unsafe.Alignof(a), false, []field{
		{"pathname", unsafe.Offsetof(a.Pathname)},
		{"bpf_fd", unsafe.Offsetof(a.BPFFD)},
		{"file_flags", unsafe.Offsetof(a.FileFlags)},
		{"path_fd", unsafe.Offsetof(a.PathFD)},
	})
}

func TestLayoutProgTestRunAttr(t *testing.T) {
	var a sys.ProgTestRunAttr
	kernelLayout(t, "union bpf_attr", "test", unsafe.Sizeof(a), unsafe.Alignof(a), false, []field{
		{"prog_fd", unsafe.Offsetof(a.ProgFD)},
		{"retval", unsafe.Offsetof(a.Retval)},
		{"data_size_in", unsafe.Offsetof(a.DataSizeIn)},
		{"data_size_out", unsafe.Offsetof(a.DataSizeOut)},
		{"data_in", unsafe.Offsetof(a.DataIn)},
		{"data_out", unsafe.Offsetof(a.DataOut)},
		{"repeat", unsafe.Offsetof(a.Repeat)},
		{"duration", unsafe.Offsetof(a.Duration)},
		{"ctx_size_in", unsafe.Offsetof(a.CtxSizeIn)},
		{"ctx_size_out", unsafe.Offsetof(a.CtxSizeOut)},
		{"ctx_in", unsafe.Offsetof(a.CtxIn)},
		{"ctx_out", unsafe.Offsetof(a.CtxOut)},
		{"flags", unsafe.Offsetof(a.Flags)},
		{"cpu", unsafe.Offsetof(a.CPU)},
		{"batch_size", unsafe.Offsetof(a.BatchSize)},
	})
}

func TestLayoutGetIDAttr(t *testing.T) {
	var a sys.GetIDAttr
	kernelLayout(t, "union bpf_attr", "", unsafe.Sizeof(a), unsafe.Alignof(a), false, []field{
		{"start_id/prog_id/map_id/btf_id/link_id", unsafe.Offsetof(a.ID)},
		{"next_id", unsafe.Offsetof(a.NextID)},
		{"open_flags", unsafe.Offsetof(a.OpenFlags)},
	})
}

func TestLayoutInfoAttr(t *testing.T) {
	var a sys.InfoAttr
	kernelLayout(t, "union bpf_attr", "info", unsafe.Sizeof(a), unsafe.Alignof(a), false, []field{
		{"bpf_fd", unsafe.Offsetof(a.BPFFD)},
		{"info_len", unsafe.Offsetof(a.InfoLen)},
		{"info", unsafe.Offsetof(a.Info)},
	})
}

func TestLayoutLinkAttrs(t *testing.T) {
	// sizeof(((union bpf_attr *)0)->link_create) is 64 for every variant.
	var g sys.LinkCreateAttr
	kernelLayout(t, "union bpf_attr", "link_create", unsafe.Sizeof(g), unsafe.Alignof(g), true, []field{
		{"prog_fd", unsafe.Offsetof(g.ProgFD)},
		{"target_fd", unsafe.Offsetof(g.TargetFD)},
		{"attach_type", unsafe.Offsetof(g.AttachType)},
		{"flags", unsafe.Offsetof(g.Flags)},
		{"target_btf_id", unsafe.Offsetof(g.TargetBTFID)},
	})
	var p sys.LinkCreatePerfEventAttr
	kernelLayout(t, "union bpf_attr", "link_create", unsafe.Sizeof(p), unsafe.Alignof(p), true, []field{
		{"prog_fd", unsafe.Offsetof(p.ProgFD)},
		{"target_fd", unsafe.Offsetof(p.TargetFD)},
		{"attach_type", unsafe.Offsetof(p.AttachType)},
		{"flags", unsafe.Offsetof(p.Flags)},
		{"perf_event.bpf_cookie", unsafe.Offsetof(p.BPFCookie)},
	})
	var tr sys.LinkCreateTracingAttr
	kernelLayout(t, "union bpf_attr", "link_create", unsafe.Sizeof(tr), unsafe.Alignof(tr), true, []field{
		{"prog_fd", unsafe.Offsetof(tr.ProgFD)},
		{"target_fd", unsafe.Offsetof(tr.TargetFD)},
		{"attach_type", unsafe.Offsetof(tr.AttachType)},
		{"flags", unsafe.Offsetof(tr.Flags)},
		{"tracing.target_btf_id", unsafe.Offsetof(tr.TargetBTFID)},
		{"tracing.cookie", unsafe.Offsetof(tr.Cookie)},
	})
	var it sys.LinkCreateIterAttr
	kernelLayout(t, "union bpf_attr", "link_create", unsafe.Sizeof(it), unsafe.Alignof(it), true, []field{
		{"prog_fd", unsafe.Offsetof(it.ProgFD)},
		{"target_fd", unsafe.Offsetof(it.TargetFD)},
		{"attach_type", unsafe.Offsetof(it.AttachType)},
		{"flags", unsafe.Offsetof(it.Flags)},
		{"iter_info", unsafe.Offsetof(it.IterInfo)},
		{"iter_info_len", unsafe.Offsetof(it.IterInfoLen)},
	})
	var k sys.LinkCreateKprobeMultiAttr
	kernelLayout(t, "union bpf_attr", "link_create", unsafe.Sizeof(k), unsafe.Alignof(k), true, []field{
		{"prog_fd", unsafe.Offsetof(k.ProgFD)},
		{"target_fd", unsafe.Offsetof(k.TargetFD)},
		{"attach_type", unsafe.Offsetof(k.AttachType)},
		{"flags", unsafe.Offsetof(k.Flags)},
		{"kprobe_multi.flags", unsafe.Offsetof(k.KFlags)},
		{"kprobe_multi.cnt", unsafe.Offsetof(k.Count)},
		{"kprobe_multi.syms", unsafe.Offsetof(k.Syms)},
		{"kprobe_multi.addrs", unsafe.Offsetof(k.Addrs)},
		{"kprobe_multi.cookies", unsafe.Offsetof(k.Cookies)},
	})
	var u sys.LinkCreateUprobeMultiAttr
	kernelLayout(t, "union bpf_attr", "link_create", unsafe.Sizeof(u), unsafe.Alignof(u), true, []field{
		{"prog_fd", unsafe.Offsetof(u.ProgFD)},
		{"target_fd", unsafe.Offsetof(u.TargetFD)},
		{"attach_type", unsafe.Offsetof(u.AttachType)},
		{"flags", unsafe.Offsetof(u.Flags)},
		{"uprobe_multi.path", unsafe.Offsetof(u.Path)},
		{"uprobe_multi.offsets", unsafe.Offsetof(u.Offsets)},
		{"uprobe_multi.ref_ctr_offsets", unsafe.Offsetof(u.RefCtrOffsets)},
		{"uprobe_multi.cookies", unsafe.Offsetof(u.Cookies)},
		{"uprobe_multi.cnt", unsafe.Offsetof(u.Count)},
		{"uprobe_multi.flags", unsafe.Offsetof(u.UFlags)},
		{"uprobe_multi.pid", unsafe.Offsetof(u.PID)},
	})
	var n sys.LinkCreateNetfilterAttr
	kernelLayout(t, "union bpf_attr", "link_create", unsafe.Sizeof(n), unsafe.Alignof(n), true, []field{
		{"prog_fd", unsafe.Offsetof(n.ProgFD)},
		{"target_fd", unsafe.Offsetof(n.TargetFD)},
		{"attach_type", unsafe.Offsetof(n.AttachType)},
		{"flags", unsafe.Offsetof(n.Flags)},
		{"netfilter.pf", unsafe.Offsetof(n.PF)},
		{"netfilter.hooknum", unsafe.Offsetof(n.Hooknum)},
		{"netfilter.priority", unsafe.Offsetof(n.Priority)},
		{"netfilter.flags", unsafe.Offsetof(n.NFFlags)},
	})
	var x sys.LinkCreateTCXAttr
	kernelLayout(t, "union bpf_attr", "link_create", unsafe.Sizeof(x), unsafe.Alignof(x), true, []field{
		{"prog_fd", unsafe.Offsetof(x.ProgFD)},
		{"target_ifindex", unsafe.Offsetof(x.TargetFD)},
		{"attach_type", unsafe.Offsetof(x.AttachType)},
		{"flags", unsafe.Offsetof(x.Flags)},
		{"tcx.relative_fd", unsafe.Offsetof(x.RelativeFDOrID)},
		{"tcx.expected_revision", unsafe.Offsetof(x.ExpectedRevision)},
	})
	var d sys.LinkDetachAttr
	kernelLayout(t, "union bpf_attr", "link_detach", unsafe.Sizeof(d), unsafe.Alignof(d), false, []field{
		{"link_fd", unsafe.Offsetof(d.LinkFD)},
	})
}

func TestLayoutProgInfo(t *testing.T) {
	var i sys.ProgInfo
	kernelLayout(t, "struct bpf_prog_info", "", unsafe.Sizeof(i), unsafe.Alignof(i), false, []field{
		{"type", unsafe.Offsetof(i.Type)},
		{"id", unsafe.Offsetof(i.ID)},
		{"tag", unsafe.Offsetof(i.Tag)},
		{"jited_prog_len", unsafe.Offsetof(i.JitedProgLen)},
		{"xlated_prog_len", unsafe.Offsetof(i.XlatedProgLen)},
		{"jited_prog_insns", unsafe.Offsetof(i.JitedProgInsns)},
		{"xlated_prog_insns", unsafe.Offsetof(i.XlatedProgInsns)},
		{"load_time", unsafe.Offsetof(i.LoadTime)},
		{"created_by_uid", unsafe.Offsetof(i.CreatedByUID)},
		{"nr_map_ids", unsafe.Offsetof(i.NrMapIDs)},
		{"map_ids", unsafe.Offsetof(i.MapIDs)},
		{"name", unsafe.Offsetof(i.Name)},
		{"ifindex", unsafe.Offsetof(i.Ifindex)},
		{"gpl_compatible", unsafe.Offsetof(i.Flags)},
		{"netns_dev", unsafe.Offsetof(i.NetnsDev)},
		{"netns_ino", unsafe.Offsetof(i.NetnsIno)},
		{"nr_jited_ksyms", unsafe.Offsetof(i.NrJitedKsyms)},
		{"nr_jited_func_lens", unsafe.Offsetof(i.NrJitedFuncLens)},
		{"jited_ksyms", unsafe.Offsetof(i.JitedKsyms)},
		{"jited_func_lens", unsafe.Offsetof(i.JitedFuncLens)},
		{"btf_id", unsafe.Offsetof(i.BTFID)},
		{"func_info_rec_size", unsafe.Offsetof(i.FuncInfoRecSize)},
		{"func_info", unsafe.Offsetof(i.FuncInfo)},
		{"nr_func_info", unsafe.Offsetof(i.NrFuncInfo)},
		{"nr_line_info", unsafe.Offsetof(i.NrLineInfo)},
		{"line_info", unsafe.Offsetof(i.LineInfo)},
		{"jited_line_info", unsafe.Offsetof(i.JitedLineInfo)},
		{"nr_jited_line_info", unsafe.Offsetof(i.NrJitedLineInfo)},
		{"line_info_rec_size", unsafe.Offsetof(i.LineInfoRecSize)},
		{"jited_line_info_rec_size", unsafe.Offsetof(i.JitedLineInfoRecSize)},
		{"nr_prog_tags", unsafe.Offsetof(i.NrProgTags)},
		{"prog_tags", unsafe.Offsetof(i.ProgTags)},
		{"run_time_ns", unsafe.Offsetof(i.RunTimeNs)},
		{"run_cnt", unsafe.Offsetof(i.RunCnt)},
		{"recursion_misses", unsafe.Offsetof(i.RecursionMisses)},
		{"verified_insns", unsafe.Offsetof(i.VerifiedInsns)},
		{"attach_btf_obj_id", unsafe.Offsetof(i.AttachBTFObjID)},
		{"attach_btf_id", unsafe.Offsetof(i.AttachBTFID)},
	})
}

func TestLayoutMapInfo(t *testing.T) {
	var i sys.MapInfo
	kernelLayout(t, "struct bpf_map_info", "", unsafe.Sizeof(i), unsafe.Alignof(i), false, []field{
		{"type", unsafe.Offsetof(i.Type)},
		{"id", unsafe.Offsetof(i.ID)},
		{"key_size", unsafe.Offsetof(i.KeySize)},
		{"value_size", unsafe.Offsetof(i.ValueSize)},
		{"max_entries", unsafe.Offsetof(i.MaxEntries)},
		{"map_flags", unsafe.Offsetof(i.MapFlags)},
		{"name", unsafe.Offsetof(i.Name)},
		{"ifindex", unsafe.Offsetof(i.Ifindex)},
		{"btf_vmlinux_value_type_id", unsafe.Offsetof(i.BTFVmlinuxValueTypeID)},
		{"netns_dev", unsafe.Offsetof(i.NetnsDev)},
		{"netns_ino", unsafe.Offsetof(i.NetnsIno)},
		{"btf_id", unsafe.Offsetof(i.BTFID)},
		{"btf_key_type_id", unsafe.Offsetof(i.BTFKeyTypeID)},
		{"btf_value_type_id", unsafe.Offsetof(i.BTFValueTypeID)},
		{"btf_vmlinux_id", unsafe.Offsetof(i.BTFVmlinuxID)},
		{"map_extra", unsafe.Offsetof(i.MapExtra)},
	})
}

func TestLayoutPerfEventAttr(t *testing.T) {
	var a sys.PerfEventAttr
	kernelLayout(t, "struct perf_event_attr", "", unsafe.Sizeof(a), unsafe.Alignof(a), false, []field{
		{"type", unsafe.Offsetof(a.Type)},
		{"size", unsafe.Offsetof(a.Size)},
		{"config", unsafe.Offsetof(a.Config)},
		{"sample_period/sample_freq", unsafe.Offsetof(a.SamplePeriodOrFreq)},
		{"sample_type", unsafe.Offsetof(a.SampleType)},
		{"read_format", unsafe.Offsetof(a.ReadFormat)},
		{"disabled", unsafe.Offsetof(a.Flags)},
		{"wakeup_events/wakeup_watermark", unsafe.Offsetof(a.WakeupEventsOrWatermark)},
		{"bp_type", unsafe.Offsetof(a.BPType)},
		{"bp_addr/config1", unsafe.Offsetof(a.Config1)},
		{"bp_len/config2", unsafe.Offsetof(a.Config2)},
		{"branch_sample_type", unsafe.Offsetof(a.BranchSampleType)},
		{"sample_regs_user", unsafe.Offsetof(a.SampleRegsUser)},
		{"sample_stack_user", unsafe.Offsetof(a.SampleStackUser)},
		{"clockid", unsafe.Offsetof(a.ClockID)},
		{"sample_regs_intr", unsafe.Offsetof(a.SampleRegsIntr)},
		{"aux_watermark", unsafe.Offsetof(a.AuxWatermark)},
		{"sample_max_stack", unsafe.Offsetof(a.SampleMaxStack)},
		{"aux_sample_size", unsafe.Offsetof(a.AuxSampleSize)},
		{"aux_action", unsafe.Offsetof(a.AuxAction)},
		{"sig_data", unsafe.Offsetof(a.SigData)},
		{"config3", unsafe.Offsetof(a.Config3)},
	})
	// PerfEventAttrSize is PERF_ATTR_SIZE_VER8, which ends with config3
	// (Linux 6.3).
	off, size, ok := resolveAny(t, rootType(t, kernelSpec(t), "struct perf_event_attr"), "config3")
	if !ok {
		t.Logf("this kernel predates config3; PerfEventAttrSize is checked on newer ones")
		return
	}
	if want := off + size; sys.PerfEventAttrSize != want {
		t.Errorf("PerfEventAttrSize = %d, want %d (the end of config3)", sys.PerfEventAttrSize, want)
	}
}

func TestLayoutBTFLoadAttr(t *testing.T) {
	var a sys.BTFLoadAttr
	kernelLayout(t, "union bpf_attr", "", unsafe.Sizeof(a), unsafe.Alignof(a), false, []field{
		{"btf", unsafe.Offsetof(a.BTF)},
		{"btf_log_buf", unsafe.Offsetof(a.BTFLogBuf)},
		{"btf_size", unsafe.Offsetof(a.BTFSize)},
		{"btf_log_size", unsafe.Offsetof(a.BTFLogSize)},
		{"btf_log_level", unsafe.Offsetof(a.BTFLogLevel)},
		{"btf_log_true_size", unsafe.Offsetof(a.BTFLogTrueSize)},
		{"btf_flags", unsafe.Offsetof(a.BTFFlags)},
		{"btf_token_fd", unsafe.Offsetof(a.BTFTokenFD)},
	})
}
