//go:build linux

package prog

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/internal/testenv"
)

func corpusPath(name string) string { return filepath.Join("testdata", "bpf", name+".bpf.o") }

func mustSpec(t testing.TB, name string) *CollectionSpec {
	t.Helper()
	cs, err := LoadCollectionSpec(corpusPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func mustCollection(t testing.TB, cs *CollectionSpec, opts *CollectionOptions) *Collection {
	t.Helper()
	c, err := NewCollection(cs, opts)
	if err != nil {
		t.Fatalf("NewCollection: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// xlated returns bpftool's translated dump of a program, with map ids
// replaced by map names and helper and kfunc addresses dropped, so that
// two loads of the same object compare equal.
func xlated(t *testing.T, bpftool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bpftool, append([]string{"prog", "dump", "xlated"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("bpftool prog dump xlated %v: %v\n%s", args, err, out)
	}
	return normaliseXlated(t, bpftool, string(out))
}

var (
	mapIDRe      = regexp.MustCompile(`map\[id:(\d+)\]`)
	xlatedCallRe = regexp.MustCompile(`(call [A-Za-z_0-9]+)#-?\d+`)
	addrRe       = regexp.MustCompile(`= 0x[0-9a-f]{16}`)
)

func normaliseXlated(t *testing.T, bpftool, s string) string {
	names := map[string]string{}
	s = mapIDRe.ReplaceAllStringFunc(s, func(m string) string {
		id := mapIDRe.FindStringSubmatch(m)[1]
		if n, ok := names[id]; ok {
			return n
		}
		out, err := exec.Command(bpftool, "map", "show", "id", id).Output()
		name := "?"
		if err == nil {
			if f := regexp.MustCompile(`name (\S+)`).FindSubmatch(out); f != nil {
				name = string(f[1])
			}
		}
		names[id] = "map[" + name + "]"
		return names[id]
	})
	s = xlatedCallRe.ReplaceAllString(s, "$1")
	return addrRe.ReplaceAllString(s, "= ADDR")
}

// TestCollectionCorpusXlated loads each corpus object with libbpf (bpftool
// prog loadall) and with NewCollection. Where both load it, the kernel's
// translated instructions of every program must be the same; where the
// kernel refuses it (a kfunc, attach point or kallsyms entry it lacks),
// both must fail. Objects libbpf 1.1 refuses when it opens them are
// refused here too, except those using conventions newer than libbpf
// 1.1, which purebpf reads.
func TestCollectionCorpusXlated(t *testing.T) {
	testenv.RequireRoot(t)
	bpftool := requireBpftool(t)
	defer os.Remove(filepath.Join(BPFFSPath, "pinned_total"))
	for _, tc := range []struct {
		name string
		// path is the object's path, corpusPath(name) if "".
		path string
		// libbpf: a substring of libbpf 1.1's refusal of the object
		// itself, "" when it goes as far as the kernel.
		libbpf string
		// purebpf: a substring of purebpf's refusal, "" when it goes
		// as far as the kernel.
		purebpf string
	}{
		// autoload is left out: bpftool 7.1's loadall fails on its "?"
		// program ("can't pin program that wasn't loaded").
		{name: "bootstrap"},
		{name: "globals"},
		{name: "kfuncs"},
		{name: "ksyms"},
		{name: "ksym_vars"},
		{name: "maps"},
		{name: "minimal"},
		{name: "sections"},
		{name: "sections_tracing"},
		{name: "struct_ops"},
		{name: "subprogs"},
		{name: "tailcall"},
		{name: "typeless_ksyms"},
		{name: "unknown_section", libbpf: "failed to guess program type", purebpf: "names no program type"},
		{name: "static_in_section", libbpf: "is static and not supported", purebpf: "is static"},
		// Newer than libbpf 1.1: purebpf reads them.
		{name: "legacy_maps", libbpf: "legacy map definitions"},
		{name: "sections_new", libbpf: "failed to guess program type"},
		// btf's CO-RE test objects: every relocation kind, against
		// vmlinux.h and against hand-written flavours.
		{name: "core_vmlinux", path: "../btf/testdata/core_vmlinux.bpf.o"},
		{name: "core_flavors", path: "../btf/testdata/core_flavors.bpf.o"},
	} {
		if tc.path == "" {
			tc.path = corpusPath(tc.name)
		}
		t.Run(tc.name, func(t *testing.T) {
			dir := pinDir(t)
			if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
				t.Fatal(err)
			}
			out, lerr := exec.Command(bpftool, "prog", "loadall", tc.path, dir).CombinedOutput()
			if tc.libbpf != "" && (lerr == nil || !strings.Contains(string(out), tc.libbpf)) {
				t.Fatalf("bpftool prog loadall: %v\n%s\nwant a refusal containing %q", lerr, out, tc.libbpf)
			}
			if tc.name == "struct_ops" {
				// libbpf loads but does not register (that is
				// bpf_map__attach_struct_ops); NewCollection registers
				// and Close unregisters.
				waitCCGone(t, "purebpf_cc")
			}
			cs, err := LoadCollectionSpec(tc.path)
			var c *Collection
			if err == nil {
				c, err = NewCollection(cs, nil)
			}
			if err == nil {
				defer c.Close()
			}
			switch {
			case tc.purebpf != "":
				if err == nil || !strings.Contains(err.Error(), tc.purebpf) {
					t.Fatalf("purebpf: %v; want an error containing %q", err, tc.purebpf)
				}
				return
			case tc.libbpf != "":
				// libbpf refuses the object; purebpf loads it unless the
				// kernel is too old for it.
				if err != nil && (errors.Is(err, ErrInvalidObject) || errors.Is(err, ErrInvalidSpec)) {
					t.Fatalf("purebpf refuses the object: %v", err)
				}
				if err != nil {
					t.Logf("the kernel refuses it: %.300s", err)
				}
				return
			case (lerr == nil) != (err == nil):
				t.Fatalf("libbpf: %v\n%.2000s\npurebpf: %v", lerr, out, err)
			case err != nil:
				t.Logf("the kernel refuses it from both loaders; purebpf says: %.300s", err)
				return
			}
			for name, p := range c.Programs {
				info, err := p.Info()
				if err != nil {
					t.Fatal(err)
				}
				ours := xlated(t, bpftool, "id", strconv.Itoa(int(info.ID)))
				theirs := xlated(t, bpftool, "pinned", filepath.Join(dir, name))
				if ours != theirs {
					t.Errorf("program %s: translated instructions differ\n--- purebpf\n%s\n--- libbpf\n%s", name, ours, theirs)
				}
				if info.BTFID == 0 {
					t.Errorf("program %s: loaded without BTF", name)
				}
			}
		})
	}
}

// TestCollectionGlobals sets const volatile configuration before load,
// runs the program and reads and writes .data and .bss through the
// variables' memory mapping.
func TestCollectionGlobals(t *testing.T) {
	testenv.RequireRoot(t)
	cs := mustSpec(t, "globals")
	if err := cs.Variables["cfg_mult"].Set(uint32(3)); err != nil {
		t.Fatal(err)
	}
	if err := cs.Variables["cfg_add"].Set(uint64(5)); err != nil {
		t.Fatal(err)
	}
	if err := cs.Variables["cfg_mult"].Set(uint64(3)); err == nil {
		t.Fatal("setting a 4-byte variable from 8 bytes succeeded")
	}
	var tag [8]byte
	if err := cs.Variables["cfg_tag"].Get(&tag); err != nil || string(tag[:7]) != "default" {
		t.Fatalf("cfg_tag = %q, %v", tag, err)
	}
	c := mustCollection(t, cs, nil)
	res, err := c.Programs["compute"].Run(&RunOptions{Data: make([]byte, 64)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Retval != 64*3+5 {
		t.Fatalf("retval %d, want %d", res.Retval, 64*3+5)
	}
	var runs, last, counter uint64
	var hist [4]uint64
	for _, v := range []struct {
		name string
		out  any
	}{{"runs", &runs}, {"last_len", &last}, {"custom_counter", &counter}, {"hist", &hist}} {
		if err := c.Variables[v.name].Get(v.out); err != nil {
			t.Fatal(err)
		}
	}
	if runs != 1 || last != 64 || counter != 7+42 || hist != [4]uint64{1 + 10, 2, 3, 4} {
		t.Fatalf("runs %d last_len %d custom_counter %d hist %v", runs, last, counter, hist)
	}
	if err := c.Variables["seed"].Set(uint32(1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Programs["compute"].Run(&RunOptions{Data: make([]byte, 65)}); err != nil {
		t.Fatal(err)
	}
	c.Variables["custom_counter"].Get(&counter)
	c.Variables["hist"].Get(&hist)
	if counter != 7+42+1000 || hist[1] != 2+20 {
		t.Fatalf("after Set: custom_counter %d, hist %v", counter, hist)
	}
	if err := c.Variables["cfg_mult"].Set(uint32(1)); err == nil {
		t.Fatal("writing a .rodata variable after load succeeded")
	}
	var mult uint32
	if err := c.Variables["cfg_mult"].Get(&mult); err != nil || mult != 3 {
		t.Fatalf("cfg_mult after load = %d, %v", mult, err)
	}
	if err := c.Maps[".rodata"].Update(uint32(0), make([]byte, 24), UpdateAny); err == nil {
		t.Fatal(".rodata is not frozen")
	}
	c.Close()
	if err := c.Variables["runs"].Get(&runs); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}

// TestCollectionSubprogs runs programs that share .text subprograms and
// pass callbacks to bpf_loop and bpf_for_each_map_elem.
func TestCollectionSubprogs(t *testing.T) {
	testenv.RequireRoot(t)
	c := mustCollection(t, mustSpec(t, "subprogs"), nil)
	pkt := make([]byte, 64)
	for _, name := range []string{"xdp_first", "xdp_second", "xdp_third"} {
		res, err := c.Programs[name].Run(&RunOptions{Data: pkt})
		if err != nil {
			t.Fatal(err)
		}
		if res.Retval != 2 { // XDP_PASS
			t.Errorf("%s returned %d, want XDP_PASS", name, res.Retval)
		}
	}
	var loop, each uint64
	c.Variables["loop_sum"].Get(&loop)
	c.Variables["each_sum"].Get(&each)
	if loop != 0+1+4+9+16 || each != 100+(0+1+2+3+4+5+6+7) {
		t.Fatalf("loop_sum %d each_sum %d", loop, each)
	}
	res, err := c.Programs["sock_uses_text"].Run(&RunOptions{Data: pkt})
	if err != nil || res.Retval != 50+4 { // skb->len excludes the Ethernet header
		t.Fatalf("sock_uses_text: %v, %v", res, err)
	}
}

// TestCollectionTailCall follows tail calls through a prog array filled
// by its initialiser and uses a map-in-map filled by its initialiser.
func TestCollectionTailCall(t *testing.T) {
	testenv.RequireRoot(t)
	c := mustCollection(t, mustSpec(t, "tailcall"), nil)
	res, err := c.Programs["entry"].Run(&RunOptions{Data: make([]byte, 64)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Retval != 33 {
		t.Fatalf("entry returned %d, want 33 (entry -> tail_0 -> tail_1)", res.Retval)
	}
	var v uint32
	if err := c.Maps["inner_a"].Lookup(uint32(0), &v); err != nil || v != 1 {
		t.Fatalf("inner_a[0] = %d, %v; want 1", v, err)
	}
	var id uint32
	if err := c.Maps["outer_arr"].Lookup(uint32(2), &id); err != nil {
		t.Fatalf("outer_arr[2]: %v", err)
	}
	info, _ := c.Maps["inner_b"].Info()
	if id != info.ID {
		t.Fatalf("outer_arr[2] holds map id %d, want inner_b's %d", id, info.ID)
	}
}

// TestCollectionMapsBTF checks that maps carry BTF key and value types.
func TestCollectionMapsBTF(t *testing.T) {
	testenv.RequireRoot(t)
	c := mustCollection(t, mustSpec(t, "maps"), &CollectionOptions{PinPath: pinDir(t)})
	for _, name := range []string{"by_key", "by_class", "recent"} {
		info, err := c.Maps[name].Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.BTFID == 0 {
			t.Errorf("map %s has no BTF", name)
		}
	}
	if _, err := c.Programs["count_packets"].Run(&RunOptions{Data: make([]byte, 100)}); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := c.Maps["by_class"].Lookup(uint32(1), &n); err != nil || n != 1 {
		t.Fatalf("by_class[1] = %d, %v", n, err)
	}
}

// TestCollectionPinning reuses a compatible pinned map, refuses an
// incompatible one saying why, and leaves no pin after a failed load.
func TestCollectionPinning(t *testing.T) {
	testenv.RequireRoot(t)
	dir := pinDir(t)
	c1 := mustCollection(t, mustSpec(t, "maps"), &CollectionOptions{PinPath: dir})
	c2 := mustCollection(t, mustSpec(t, "maps"), &CollectionOptions{PinPath: dir})
	i1, _ := c1.Maps["pinned_total"].Info()
	i2, _ := c2.Maps["pinned_total"].Info()
	if i1.ID != i2.ID {
		t.Fatalf("second load made a new map (%d, first %d) instead of reusing the pin", i2.ID, i1.ID)
	}
	c1.Close()
	c2.Close()
	os.Remove(filepath.Join(dir, "pinned_total"))

	other, err := NewMap(&MapSpec{Name: "pinned_total", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Pin(filepath.Join(dir, "pinned_total")); err != nil {
		t.Fatal(err)
	}
	_, err = NewCollection(mustSpec(t, "maps"), &CollectionOptions{PinPath: dir})
	if err == nil || !strings.Contains(err.Error(), "incompatible") || !strings.Contains(err.Error(), "type hash, want array") {
		t.Fatalf("incompatible pin: %v", err)
	}
	other.Unpin()

	// A failure after the maps are created leaves no pin.
	cs := mustSpec(t, "maps")
	cs.Programs["count_packets"].Type = XDP // the verifier refuses __sk_buff accesses
	if _, err := NewCollection(cs, &CollectionOptions{PinPath: dir}); err == nil {
		t.Fatal("socket filter loaded as XDP")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("pins left behind after a failed load: %v", ents)
	}
}

// TestCollectionReplaceMap gives the collection an existing map.
func TestCollectionReplaceMap(t *testing.T) {
	testenv.RequireRoot(t)
	repl, err := NewMap(&MapSpec{Name: "repl", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer repl.Close()
	c := mustCollection(t, mustSpec(t, "maps"), &CollectionOptions{PinPath: pinDir(t), Maps: map[string]*Map{"by_class": repl}})
	if _, err := c.Programs["count_packets"].Run(&RunOptions{Data: make([]byte, 30)}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	var n uint64
	if err := repl.Lookup(uint32(0), &n); err != nil || n != 1 {
		t.Fatalf("replacement map [0] = %d, %v", n, err)
	}
	bad, _ := NewMap(&MapSpec{Name: "bad", Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	defer bad.Close()
	_, err = NewCollection(mustSpec(t, "maps"), &CollectionOptions{PinPath: pinDir(t), Maps: map[string]*Map{"by_class": bad}})
	if err == nil || !strings.Contains(err.Error(), "value size 4, want 8") {
		t.Fatalf("incompatible replacement: %v", err)
	}
}

// TestCollectionKconfig checks the .kconfig map against the kernel's
// configuration, and that the kfuncs and a missing __weak ksym resolve.
func TestCollectionKconfig(t *testing.T) {
	testenv.RequireRoot(t)
	var opts *CollectionOptions
	cfg, err := HostKernelConfig()
	if err != nil {
		// Kernels without /proc/config.gz or /boot (the test VM): the
		// caller supplies the configuration.
		t.Logf("no kernel config (%v); supplying one", err)
		cfg = map[string]string{"CONFIG_HZ": "300", "CONFIG_BPF_SYSCALL": "y", "CONFIG_LOCALVERSION": `"-purebpf"`}
		opts = &CollectionOptions{KernelConfig: cfg}
	}
	cs := mustSpec(t, "ksyms")
	c := mustCollection(t, cs, opts)
	val := make([]byte, cs.Maps[".kconfig"].ValueSize)
	if err := c.Maps[".kconfig"].Lookup(uint32(0), val); err != nil {
		t.Fatal(err)
	}
	ext := map[string]*Extern{}
	for _, e := range cs.Externs {
		ext[e.Name] = e
	}
	u32 := func(name string) uint32 { return binary.LittleEndian.Uint32(val[ext[name].Offset:]) }
	hz, _ := strconv.Atoi(cfg["CONFIG_HZ"])
	if int(u32("CONFIG_HZ")) != hz || u32("LINUX_KERNEL_VERSION") != kernelCode() {
		t.Fatalf("CONFIG_HZ %d (want %d), LINUX_KERNEL_VERSION %#x (want %#x)", u32("CONFIG_HZ"), hz, u32("LINUX_KERNEL_VERSION"), kernelCode())
	}
	if val[ext["CONFIG_BPF_SYSCALL"].Offset] != 1 || val[ext["CONFIG_PUREBPF_DOES_NOT_EXIST"].Offset] != 0 {
		t.Fatal("bool kconfig values wrong")
	}
	lv := ext["CONFIG_LOCALVERSION"]
	want, _ := strconv.Unquote(cfg["CONFIG_LOCALVERSION"])
	if got := strings.TrimRight(string(val[lv.Offset:lv.Offset+lv.Size]), "\x00"); got != want {
		t.Fatalf("CONFIG_LOCALVERSION %q, want %q", got, want)
	}
	// A strong kconfig extern the configuration lacks is an error.
	_, err = NewCollection(mustSpec(t, "ksyms"), &CollectionOptions{KernelConfig: map[string]string{"CONFIG_HZ": "100"}})
	if err == nil || !strings.Contains(err.Error(), "the kernel configuration does not set it") {
		t.Fatalf("missing kconfig: %v", err)
	}
}

// TestCollectionCloseLeavesNoFD checks that Close releases every fd a
// collection holds, and that a load failing half way (the last program
// refused after the maps, the BTF and the other programs are in the
// kernel) leaves none behind.
func TestCollectionCloseLeavesNoFD(t *testing.T) {
	testenv.RequireRoot(t)
	for _, obj := range []string{"tailcall", "bootstrap", "globals"} {
		cs := mustSpec(t, obj)
		before := testenv.OpenFDs(t)
		c, err := NewCollection(cs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if testenv.OpenFDs(t) <= before {
			t.Fatalf("%s: no fds opened", obj)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if after := testenv.OpenFDs(t); after != before {
			t.Fatalf("%s: %d fds open after Close, %d before", obj, after, before)
		}
	}
	cs := mustSpec(t, "tailcall")
	cs.Programs["tail_1"].Type = XDP // loaded last; the verifier refuses __sk_buff as XDP's context
	cs.Programs["tail_1"].Instructions = cs.Programs["entry"].Instructions
	before := testenv.OpenFDs(t)
	if _, err := NewCollection(cs, nil); err == nil {
		t.Fatal("loaded")
	}
	if after := testenv.OpenFDs(t); after != before {
		t.Fatalf("%d fds open after a failed load, %d before", after, before)
	}
}

// TestCollectionCORETarget relocates against a caller-supplied target
// BTF: a task_struct without real_parent poisons the reads of it, and the
// load error names the relocation.
func TestCollectionCORETarget(t *testing.T) {
	testenv.RequireRoot(t)
	u32 := &btf.Int{Name: "unsigned int", Size: 4, Bits: 32}
	target, err := btf.NewSpec(&btf.Struct{Name: "task_struct", Size: 8, Members: []btf.Member{
		{Name: "exit_code", Type: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed, Bits: 32}, Offset: 32},
		{Name: "flags", Type: u32},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewCollection(mustSpec(t, "bootstrap"), &CollectionOptions{CORETargets: []*btf.Spec{target}})
	if err == nil || !strings.Contains(err.Error(), "found no target") || !strings.Contains(err.Error(), "STRUCT 'task_struct', access") {
		t.Fatalf("load against a task_struct without real_parent: %v", err)
	}
	t.Logf("%.400s", err)
}

// TestCollectionTypelessKsym checks a typeless ksym's address against
// /proc/kallsyms and that a missing __weak one reads as 0.
func TestCollectionTypelessKsym(t *testing.T) {
	testenv.RequireRoot(t)
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		t.Fatal(err)
	}
	want, err := parseKallsyms(f, map[string]bool{"bpf_prog_put": true})
	f.Close()
	if err != nil || want["bpf_prog_put"] == 0 {
		t.Fatalf("kallsyms: %v, %v", want, err)
	}
	c := mustCollection(t, mustSpec(t, "typeless_ksyms"), nil)
	if _, err := c.Programs["read_addrs"].Run(&RunOptions{Data: make([]byte, 64)}); err != nil {
		t.Fatal(err)
	}
	var addr, missing uint64
	c.Variables["addr"].Get(&addr)
	c.Variables["missing"].Get(&missing)
	if addr != want["bpf_prog_put"] || missing != 0 {
		t.Fatalf("addr %#x (kallsyms %#x), missing %#x", addr, want["bpf_prog_put"], missing)
	}
}

// TestCollectionVerifierLogHasSource checks that programs are loaded with
// line info: the verifier's log of a refused program quotes the C source.
func TestCollectionVerifierLogHasSource(t *testing.T) {
	testenv.RequireRoot(t)
	cs := mustSpec(t, "maps")
	cs.Programs["count_packets"].Type = XDP // the verifier refuses __sk_buff accesses
	_, err := NewCollection(cs, &CollectionOptions{PinPath: pinDir(t)})
	var ve *VerifierError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *VerifierError", err)
	}
	if !strings.Contains(ve.Log, "; struct pkt_key k = { .proto = skb->protocol") {
		t.Fatalf("verifier log quotes no C source:\n%s", ve.Log)
	}
}

// TestCollectionAutoload leaves out programs of "?" sections unless the
// caller turns their Autoload on.
func TestCollectionAutoload(t *testing.T) {
	testenv.RequireRoot(t)
	cs := mustSpec(t, "autoload")
	if cs.Programs["optional"].Autoload || !cs.Programs["loaded"].Autoload || cs.Programs["optional"].Type != SocketFilter {
		t.Fatalf("optional %+v", cs.Programs["optional"])
	}
	c := mustCollection(t, cs, nil)
	if c.Programs["optional"] != nil || c.Programs["loaded"] == nil {
		t.Fatalf("loaded %v", c.Programs)
	}
	cs.Programs["optional"].Autoload = true
	c2 := mustCollection(t, cs, nil)
	if res, err := c2.Programs["optional"].Run(&RunOptions{Data: make([]byte, 64)}); err != nil || res.Retval != 2 {
		t.Fatalf("optional: %v, %v", res, err)
	}
}

// TestLoadAndAssign fills a struct the way bpf2go's generated code does.
func TestLoadAndAssign(t *testing.T) {
	testenv.RequireRoot(t)
	var objs struct {
		Entry    *Program `ebpf:"entry"`
		JumpTab  *Map     `ebpf:"jump_table"`
		InnerA   *Map     `ebpf:"inner_a"`
		Untagged int
	}
	before := testenv.OpenFDs(t)
	if err := mustSpec(t, "tailcall").LoadAndAssign(&objs, nil); err != nil {
		t.Fatal(err)
	}
	res, err := objs.Entry.Run(&RunOptions{Data: make([]byte, 64)})
	if err != nil || res.Retval != 33 {
		t.Fatalf("entry: %v, %v", res, err)
	}
	var n uint32
	if err := objs.InnerA.Lookup(uint32(0), &n); err != nil || n != 1 {
		t.Fatalf("inner_a[0] = %d, %v", n, err)
	}
	for _, c := range []interface{ Close() error }{objs.Entry, objs.JumpTab, objs.InnerA} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if after := testenv.OpenFDs(t); after != before {
		t.Fatalf("%d fds open after closing the assigned objects, %d before", after, before)
	}
	var bad struct {
		P *Program `ebpf:"no_such_program"`
	}
	if err := mustSpec(t, "tailcall").LoadAndAssign(&bad, nil); err == nil || !strings.Contains(err.Error(), "no_such_program") {
		t.Fatalf("missing program: %v", err)
	}
}

// TestCollectionStructOps registers a TCP congestion control written as
// struct_ops programs, and unregisters it by closing the collection.
func TestCollectionStructOps(t *testing.T) {
	testenv.RequireRoot(t)
	const avail = "/proc/sys/net/ipv4/tcp_available_congestion_control"
	cs := mustSpec(t, "struct_ops")
	so := cs.Maps["purebpf_cc"].StructOps
	if so == nil || so.TypeName != "tcp_congestion_ops" || so.Programs["ssthresh"] != "pb_ssthresh" || len(so.Programs) != 3 {
		t.Fatalf("struct_ops spec %+v", so)
	}
	waitCCGone(t, "purebpf_cc")
	c, err := NewCollection(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(avail)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "purebpf_cc") {
		t.Fatalf("purebpf_cc is not registered: %s", b)
	}
	c.Close()
	waitCCGone(t, "purebpf_cc")
}

// waitCCGone waits until a TCP congestion control is no longer
// registered: the kernel unregisters a struct_ops map's structure when
// the map is freed, after an RCU grace period.
func waitCCGone(t *testing.T, name string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_available_congestion_control")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), name) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still registered: %s", name, b)
		}
	}
}

// TestCollectionPinMapExtra: as libbpf's map_is_reuse_compat, a pinned
// map is reused only if its map_extra matches too (here a bloom filter's
// number of hash functions).
func TestCollectionPinMapExtra(t *testing.T) {
	testenv.RequireRoot(t)
	dir := pinDir(t)
	bloom := func(hashes uint64) *CollectionSpec {
		return &CollectionSpec{Maps: map[string]*ObjectMapSpec{"seen": {
			MapSpec: MapSpec{Name: "seen", Type: BloomFilter, ValueSize: 8, MaxEntries: 64},
			Pinning: PinByName, MapExtra: hashes,
		}}}
	}
	c1, err := NewCollection(bloom(3), &CollectionOptions{PinPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	c1.Close()
	c2, err := NewCollection(bloom(3), &CollectionOptions{PinPath: dir})
	if err != nil {
		t.Fatalf("same map_extra: %v", err)
	}
	c2.Close()
	_, err = NewCollection(bloom(5), &CollectionOptions{PinPath: dir})
	if err == nil || !strings.Contains(err.Error(), "incompatible") || !strings.Contains(err.Error(), "map_extra 0x3, want 0x5") {
		t.Fatalf("pinned bloom filter with 3 hashes reused for one with 5: %v", err)
	}
}

// TestNewCollectionNilEntries: a hand-built spec with a nil program or
// map, or a program without instructions, gives an error naming it, not
// a panic or the kernel's E2BIG.
func TestNewCollectionNilEntries(t *testing.T) {
	for _, tc := range []struct {
		cs   *CollectionSpec
		want string
	}{
		{&CollectionSpec{Programs: map[string]*ProgramSpec{"p": nil}}, `program "p" is a nil *ProgramSpec`},
		{&CollectionSpec{Maps: map[string]*ObjectMapSpec{"m": nil}}, `map "m" is a nil *ObjectMapSpec`},
		{&CollectionSpec{Programs: map[string]*ProgramSpec{"p": {Spec: Spec{Name: "p", Type: SocketFilter}, Autoload: true}}}, `program "p" (section "") has no instructions`},
	} {
		_, err := NewCollection(tc.cs, nil)
		if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewCollection: %v, want ErrInvalidSpec and %q", err, tc.want)
		}
	}
}
