package prog

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/sys"
)

func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bpf", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSectionName(t *testing.T) {
	for _, tc := range []struct {
		name   string
		typ    Type
		attach sys.AttachType
		to     string
		flags  uint32
		ok     bool
	}{
		{"socket", SocketFilter, 0, "", 0, true},
		{"socket/x", 0, 0, "", 0, false},
		{"kprobe/do_unlinkat", Kprobe, 0, "do_unlinkat", 0, true},
		{"kretprobe/do_unlinkat", Kprobe, 0, "do_unlinkat", 0, true},
		{"ksyscall/openat", Kprobe, 0, "openat", 0, true},
		{"uprobe.s//bin/sh:main", Kprobe, 0, "/bin/sh:main", progFlagSleepable, true},
		{"kprobe.multi/tcp_*", Kprobe, sys.AttachTraceKprobeMulti, "tcp_*", 0, true},
		{"usdt/libc:probe", Kprobe, 0, "libc:probe", 0, true},
		{"tp/syscalls/sys_enter_write", TracePoint, 0, "syscalls/sys_enter_write", 0, true},
		{"tracepoint/sched/sched_switch", TracePoint, 0, "sched/sched_switch", 0, true},
		{"raw_tp/sys_enter", RawTracePoint, 0, "sys_enter", 0, true},
		{"raw_tp.w/sys_enter", RawTracePointWritable, 0, "sys_enter", 0, true},
		{"tp_btf/sched_switch", Tracing, sys.AttachTraceRawTp, "sched_switch", 0, true},
		{"fentry/do_unlinkat", Tracing, sys.AttachTraceFentry, "do_unlinkat", 0, true},
		{"fexit.s/do_unlinkat", Tracing, sys.AttachTraceFexit, "do_unlinkat", progFlagSleepable, true},
		{"fmod_ret/x", Tracing, sys.AttachModifyReturn, "x", 0, true},
		{"lsm/file_open", LSM, sys.AttachLSMMac, "file_open", 0, true},
		{"lsm_cgroup/socket_bind", LSM, attachLSMCgroup, "socket_bind", 0, true},
		{"iter/task", Tracing, sys.AttachTraceIter, "task", 0, true},
		{"xdp", XDP, sys.AttachXDP, "", 0, true},
		{"xdp.frags", XDP, sys.AttachXDP, "", progFlagXDPHasFrags, true},
		{"xdp/devmap", XDP, attachXDPDevmap, "", 0, true},
		{"xdpx", 0, 0, "", 0, false},
		{"tc", SchedCLS, 0, "", 0, true},
		{"tcx/ingress", SchedCLS, sys.AttachTCXIngress, "", 0, true},
		{"tcx/egress", SchedCLS, sys.AttachTCXEgress, "", 0, true},
		{"classifier", SchedCLS, 0, "", 0, true},
		{"action", SchedACT, 0, "", 0, true},
		{"cgroup_skb/ingress", CgroupSKB, attachCgroupInetIngress, "", 0, true},
		{"cgroup/connect4", CgroupSockAddr, attachCgroupInet4Connect, "", 0, true},
		{"cgroup/sock", CgroupSock, attachCgroupInetSockCreate, "", 0, true},
		{"sockops", SockOps, attachCgroupSockOps, "", 0, true},
		{"sk_skb/stream_parser", SKSKB, attachSkSKBStreamParser, "", 0, true},
		{"sk_msg", SKMsg, attachSkMsgVerdict, "", 0, true},
		{"flow_dissector", FlowDissector, attachFlowDissector, "", 0, true},
		{"perf_event", PerfEvent, 0, "", 0, true},
		{"sk_lookup", SKLookup, attachSkLookup, "", 0, true},
		{"netfilter", Netfilter, sys.AttachNetfilter, "", 0, true},
		{"syscall", Syscall, 0, "", progFlagSleepable, true},
		{"struct_ops/tcp_init", StructOps, 0, "tcp_init", 0, true},
		{".text", 0, 0, "", 0, false},
		{"", 0, 0, "", 0, false},
	} {
		st, ok := ParseSectionName(tc.name)
		if ok != tc.ok || ok && (st.Type != tc.typ || sys.AttachType(st.AttachType) != tc.attach || st.AttachTo != tc.to || uint32(st.Flags) != tc.flags) {
			t.Errorf("ParseSectionName(%q) = %+v, %v; want %v %d %q %#x %v", tc.name, st, ok, tc.typ, tc.attach, tc.to, tc.flags, tc.ok)
		}
	}
}

// TestLoadCollectionSpecCorpus checks what the reader makes of the corpus
// without a kernel.
func TestLoadCollectionSpecCorpus(t *testing.T) {
	cs, err := LoadCollectionSpec("testdata/bpf/subprogs.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Programs) != 4 || cs.License != "GPL" || cs.ObjectName != "subprogs" {
		t.Fatalf("programs %v license %q object %q", cs.ProgramNames(), cs.License, cs.ObjectName)
	}
	// Three programs in one section, each with its own copy of the .text
	// subprograms it reaches, appended depth first.
	var labels []string
	for _, i := range cs.Programs["xdp_second"].Instructions {
		if i.Label != "" {
			labels = append(labels, i.Label)
		}
	}
	if strings.Join(labels, " ") != "xdp_second loop_cb square triple global_add" {
		t.Fatalf("xdp_second links %v", labels)
	}
	for _, p := range cs.Programs {
		if err := p.Validate(); err != nil {
			t.Fatalf("program %s: %v", p.Name, err)
		}
	}
	if m := cs.Programs["xdp_third"].Map("values"); m != &cs.Maps["values"].MapSpec {
		t.Fatalf("xdp_third's Spec.Maps does not point at the collection's map: %v", m)
	}
	if n := len(cs.Programs["xdp_second"].LineInfos()); n == 0 {
		t.Fatal("no line info")
	}
	var kinds []string
	for _, r := range cs.Programs["xdp_third"].Relocations {
		kinds = append(kinds, r.Kind+":"+r.Target)
	}
	for _, want := range []string{"map:values", "func pointer:each_cb", "map value:.bss", "call:square"} {
		if !strings.Contains(strings.Join(kinds, " "), want) {
			t.Errorf("xdp_third relocations %v lack %s", kinds, want)
		}
	}

	cs, err = LoadCollectionSpec("testdata/bpf/tailcall.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	jt := cs.Maps["jump_table"]
	if jt.Type != ProgArray || len(jt.Contents) != 2 || jt.Contents[0] != (MapEntry{0, "tail_0"}) || jt.Contents[1] != (MapEntry{3, "tail_1"}) {
		t.Fatalf("jump_table %+v", jt)
	}
	oa := cs.Maps["outer_arr"]
	if oa.InnerMap == nil || oa.InnerMap.Type != Array || oa.InnerMap.ValueSize != 4 || len(oa.Contents) != 2 || oa.Contents[1] != (MapEntry{2, "inner_b"}) {
		t.Fatalf("outer_arr %+v inner %+v", oa, oa.InnerMap)
	}
	if ih := cs.Maps["outer_hash"].InnerMap; ih == nil || ih.Type != Hash || ih.ValueSize != 8 {
		t.Fatalf("outer_hash inner %+v", ih)
	}

	cs, err = LoadCollectionSpec("testdata/bpf/maps.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	if m := cs.Maps["by_key"]; m.KeySize != 8 || m.ValueSize != 16 || m.KeyTypeID == 0 || m.ValueTypeID == 0 {
		t.Fatalf("by_key %+v", m)
	}
	if m := cs.Maps["cpu_hash"]; m.Type != PerCPUHash || m.KeySize != 4 || m.ValueSize != 8 || m.Flags != 1 {
		t.Fatalf("cpu_hash %+v", m)
	}
	if cs.Maps["pinned_total"].Pinning != PinByName {
		t.Fatal("pinned_total is not pinned by name")
	}

	cs, err = LoadCollectionSpec("testdata/bpf/legacy_maps.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	if m := cs.Maps["legacy_counts"]; m.Type != Array || m.KeySize != 4 || m.ValueSize != 8 || m.MaxEntries != 2 {
		t.Fatalf("legacy_counts %+v", m)
	}

	cs, err = LoadCollectionSpec("testdata/bpf/ksyms.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	// libbpf's kconfig layout: by alignment, size, then name.
	want := map[string]uint32{"CONFIG_HZ": 0, "LINUX_KERNEL_VERSION": 4, "CONFIG_BPF_SYSCALL": 8, "CONFIG_PUREBPF_DOES_NOT_EXIST": 9, "CONFIG_LOCALVERSION": 10}
	for _, e := range cs.Externs {
		if off, ok := want[e.Name]; ok && (e.Kind != "kconfig" || e.Offset != off) {
			t.Errorf("extern %s: %s at %d, want kconfig at %d", e.Name, e.Kind, e.Offset, off)
		}
	}
	if cs.Maps[".kconfig"].ValueSize != 26 {
		t.Fatalf(".kconfig is %d bytes, want 26", cs.Maps[".kconfig"].ValueSize)
	}
}

// patchELF returns a copy of an object with f applied to it.
func patchELF(t *testing.T, b []byte, f func(b []byte, ef *elf.File)) []byte {
	t.Helper()
	b = append([]byte(nil), b...)
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	f(b, ef)
	return b
}

// sectionHeader returns the offset of section i's header.
func sectionHeader(b []byte, i int) int {
	shoff := binary.LittleEndian.Uint64(b[0x28:])
	return int(shoff) + i*64
}

func sectionIndex(ef *elf.File, name string) int {
	for i, s := range ef.Sections {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// TestLoadCollectionSpecBadObjects feeds malformed objects to the reader:
// each gives an error naming the cause and wrapping ErrInvalidObject.
func TestLoadCollectionSpecBadObjects(t *testing.T) {
	good := readCorpus(t, "maps.bpf.o")
	bootstrap := readCorpus(t, "bootstrap.bpf.o")
	for _, tc := range []struct {
		name string
		obj  []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"truncated header", good[:40], "truncated"},
		{"truncated sections", good[:len(good)/2], "truncated"},
		{"not ELF", []byte("#!/bin/sh\necho this is not an object file\n"), "not an ELF file"},
		{"wrong machine", patchELF(t, good, func(b []byte, _ *elf.File) { binary.LittleEndian.PutUint16(b[18:], uint16(elf.EM_X86_64)) }), "machine EM_X86_64, want EM_BPF"},
		{"big-endian", readCorpus(t, "minimal.bpfeb.o"), "big-endian"},
		{"not relocatable", patchELF(t, good, func(b []byte, _ *elf.File) { binary.LittleEndian.PutUint16(b[16:], uint16(elf.ET_EXEC)) }), "want ET_REL"},
		{"missing .BTF", patchELF(t, good, func(b []byte, ef *elf.File) {
			binary.LittleEndian.PutUint32(b[sectionHeader(b, sectionIndex(ef, ".BTF")):], 0)
		}), `section ".maps" needs the object's BTF`},
		{"bad BTF magic", patchELF(t, good, func(b []byte, ef *elf.File) {
			b[ef.Section(".BTF").Offset] ^= 0xff
		}), "BTF"},
		{"bad BTF string offset", patchELF(t, good, func(b []byte, ef *elf.File) {
			off := ef.Section(".BTF").Offset
			binary.LittleEndian.PutUint32(b[off+24:], 0x7fffffff) // first type's name
		}), "BTF"},
		{"relocation to nowhere", patchELF(t, good, func(b []byte, ef *elf.File) {
			rel := ef.Section(".relsocket")
			binary.LittleEndian.PutUint32(b[rel.Offset+12:], 0xffff) // symbol index
		}), "outside the symbol table"},
		{"relocation past the section", patchELF(t, good, func(b []byte, ef *elf.File) {
			rel := ef.Section(".relsocket")
			binary.LittleEndian.PutUint64(b[rel.Offset:], 1<<20)
		}), "past the section"},
		{"relocation to the license", patchELF(t, good, func(b []byte, ef *elf.File) {
			rel := ef.Section(".relsocket")
			syms, _ := ef.Symbols()
			for i, s := range syms {
				if s.Name == "LICENSE" {
					binary.LittleEndian.PutUint32(b[rel.Offset+12:], uint32(i+1))
				}
			}
		}), `LICENSE in section "license", which is neither a map, global data nor code`},
		{"bad instruction", patchELF(t, good, func(b []byte, ef *elf.File) {
			b[ef.Section("socket").Offset+8] = 0xff // opcode of slot 1
		}), `section "socket": insn: slot 1`},
		{"function past its section", patchELF(t, good, func(b []byte, ef *elf.File) {
			syms, _ := ef.Symbols()
			symtab := ef.Section(".symtab")
			for i, s := range syms {
				if s.Name == "count_packets" {
					binary.LittleEndian.PutUint64(b[symtab.Offset+uint64(i+1)*24+16:], 1<<20) // st_size
				}
			}
		}), `function "count_packets"`},
		// As libbpf (bpf_object__relocate_core): a CO-RE record that does
		// not start an instruction is refused, not silently dropped, which
		// would leave the access unrelocated.
		{"misaligned CO-RE record", patchELF(t, bootstrap, func(b []byte, ef *elf.File) {
			binary.LittleEndian.PutUint32(b[firstCORERecord(t, b, ef):], 4) // insn_off
		}), `CO-RE relocation at byte 4 of section "tp/sched/sched_process_exec"`},
		{"CO-RE record inside LD_IMM64", patchELF(t, bootstrap, func(b []byte, ef *elf.File) {
			sec := ef.Section("tp/sched/sched_process_exec")
			code := b[sec.Offset : sec.Offset+sec.Size]
			for i := 0; i+16 <= len(code); i += 8 {
				if code[i] == 0x18 { // BPF_LD | BPF_IMM | BPF_DW
					binary.LittleEndian.PutUint32(b[firstCORERecord(t, b, ef):], uint32(i+8))
					return
				}
			}
			t.Fatal("no LD_IMM64 in tp/sched/sched_process_exec")
		}), "second half of an LD_IMM64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadCollectionSpecFromReader(bytes.NewReader(tc.obj))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalidObject) {
				t.Errorf("error %q does not wrap ErrInvalidObject", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestCorpusObjectsMatchSources rebuilds the corpus with clang-19, as
// "make bpf" does, and compares it with the committed objects byte for
// byte. clang-19 orders some BTF types by heap addresses, which depend on
// the length and depth of the build directory's path; so make and this
// test build each object in a directory of one fixed shape,
// /tmp/purebpf-bpf-XXXXXXXXXX, holding the source and the corpus headers
// at their repository paths, and the objects are the same bytes from any
// checkout.
func TestCorpusObjectsMatchSources(t *testing.T) {
	clang, err := exec.LookPath("clang-19")
	strip, err2 := exec.LookPath("llvm-strip-19")
	if err != nil || err2 != nil {
		// Not testenv.SkipOrFail: this check needs the toolchain, not
		// privilege, and the test VM (CI=true) has no clang. CI installs
		// clang-19 on the host, where it runs.
		t.Skip("skipping: clang-19 and llvm-strip-19 are needed to rebuild the BPF corpus")
	}
	// Paths relative to the repository root, where make runs clang.
	srcs, _ := filepath.Glob("testdata/bpf/*.bpf.c")
	for i, src := range srcs {
		srcs[i] = filepath.Join("prog", src)
	}
	examples, _ := filepath.Glob("../examples/*/bpf/*.bpf.c")
	for _, src := range examples {
		srcs = append(srcs, strings.TrimPrefix(src, "../"))
	}
	if len(srcs) < 15 {
		t.Fatalf("only %d corpus sources", len(srcs))
	}
	headers, _ := filepath.Glob("testdata/bpf/*.h")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range srcs {
		for _, target := range []string{"bpf", "bpfeb"} {
			obj := strings.TrimSuffix(src, ".c") + ".o"
			if target == "bpfeb" {
				if !strings.HasSuffix(src, "prog/testdata/bpf/minimal.bpf.c") {
					continue
				}
				obj = strings.TrimSuffix(src, ".bpf.c") + ".bpfeb.o"
			}
			dir := testenv.BuildDir(t, "purebpf-bpf")
			for _, f := range append([]string{src}, headers...) {
				rel := f
				if !strings.HasPrefix(f, "prog/") && !strings.HasPrefix(f, "examples/") {
					rel = filepath.Join("prog", f)
				}
				b, err := os.ReadFile(filepath.Join(root, rel))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, rel), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// The same arguments, relative paths and all, as make.
			cmd := exec.Command(clang, "-target", target, "-O2", "-g", "-D__TARGET_ARCH_x86", "-fdebug-compilation-dir=.",
				"-I"+filepath.Dir(src)+"/", "-Iprog/testdata/bpf/", "-c", src, "-o", obj)
			cmd.Dir = dir
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %v\n%s", cmd, err, b)
			}
			strip := exec.Command(strip, "-g", obj)
			strip.Dir = dir
			if b, err := strip.CombinedOutput(); err != nil {
				t.Fatalf("strip %s: %v\n%s", obj, err, b)
			}
			got, _ := os.ReadFile(filepath.Join(dir, obj))
			want, err := os.ReadFile(filepath.Join(root, obj))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s does not match %s byte for byte: run make bpf and commit the objects", obj, src)
			}
		}
	}
}

// FuzzLoadCollectionSpec feeds mutated objects to the reader: it must
// return a spec or an error, never panic, and a spec's programs must
// resolve. Run it with -fuzzminimizetime=0s: minimizing the 2-35 KB seed
// objects stalls the fuzzer for minutes per new input.
func FuzzLoadCollectionSpec(f *testing.F) {
	objs, _ := filepath.Glob("testdata/bpf/*.o")
	for _, o := range objs {
		b, err := os.ReadFile(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := LoadCollectionSpecFromReader(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrInvalidObject) {
				t.Fatalf("error %q does not wrap ErrInvalidObject", err)
			}
			return
		}
		for _, p := range cs.Programs {
			if _, err := p.Instructions.Resolve(); err != nil && !errors.Is(err, insn.ErrUnresolvedLabel) {
				t.Fatalf("program %s: %v", p.Name, err)
			}
			_ = cs.BTFSummary()
		}
	})
}

func TestCollectionSpecCopy(t *testing.T) {
	cs, err := LoadCollectionSpec("testdata/bpf/globals.bpf.o")
	if err != nil {
		t.Fatal(err)
	}
	cp := cs.Copy()
	if err := cp.Variables["cfg_mult"].Set(uint32(9)); err != nil {
		t.Fatal(err)
	}
	cp.Programs["compute"].Instructions[0].Imm = 12345
	var a, b uint32
	cs.Variables["cfg_mult"].Get(&a)
	cp.Variables["cfg_mult"].Get(&b)
	if a != 1 || b != 9 {
		t.Fatalf("cfg_mult: original %d, copy %d", a, b)
	}
	if cs.Programs["compute"].Instructions[0].Imm == 12345 {
		t.Fatal("the copy shares instructions")
	}
	if cp.Programs["compute"].Map(".rodata") != &cp.Maps[".rodata"].MapSpec {
		t.Fatal("the copy's program refers to the original's maps")
	}
}

// firstCORERecord returns the file offset of the first CO-RE relocation
// record in ef's .BTF.ext (the record for the first section listed).
func firstCORERecord(t *testing.T, b []byte, ef *elf.File) int {
	t.Helper()
	ext := ef.Section(".BTF.ext")
	if ext == nil {
		t.Fatal("no .BTF.ext")
	}
	base := int(ext.Offset)
	hdrLen := int(binary.LittleEndian.Uint32(b[base+4:]))
	if hdrLen < 32 {
		t.Fatal(".BTF.ext has no CO-RE part")
	}
	coreOff := int(binary.LittleEndian.Uint32(b[base+24:]))
	// rec_size, then sec_name_off and num_info of the first section.
	return base + hdrLen + coreOff + 4 + 8
}
