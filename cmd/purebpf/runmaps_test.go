package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// counter updates a hash map through map_fd and an array's value through
// map_value, so that both kinds of map reference reach a declared map.
const counter = `; map counts hash key=4 value=8 entries=16
; map totals array key=4 value=16 entries=1
; a comment that is not a declaration
r6 = 7
*(u32 *)(r10 - 4) = r6
r1 = 42
*(u64 *)(r10 - 16) = r1
r1 = map_fd(counts) ll
r2 = r10
r2 += -4
r3 = r10
r3 += -16
r4 = 0
call map_update_elem
r1 = map_value(totals, 8) ll
r2 = 5
lock *(u64 *)(r1 + 0) += r2
r0 = 1
exit
`

const counterDump = `r0 = 0x1
map counts: hash key 4 value 8 max_entries 16, 1 entry
  key 07 00 00 00  value 2a 00 00 00 00 00 00 00
map totals: array key 4 value 16 max_entries 1, 1 entry
  key 00 00 00 00  value 00 00 00 00 00 00 00 00 05 00 00 00 00 00 00 00
`

func TestRunMaps(t *testing.T) {
	src := write(t, "counter.s", counter)
	for _, engine := range []string{"interp", "jit"} {
		code, out, stderr := purebpf(t, "run", "--engine", engine, "--dump-maps", src)
		if code != 0 || out != counterDump {
			t.Errorf("%s: exit %d, stderr %q\n%s\nwant\n%s", engine, code, stderr, out, counterDump)
		}
	}
	// Without --dump-maps only r0 is printed; --jit is --engine jit.
	if code, out, stderr := purebpf(t, "run", "--jit", src); code != 0 || out != "r0 = 0x1\n" {
		t.Errorf("--jit: exit %d %q %s", code, out, stderr)
	}
	// The maps keep every run's effects: the first run, the timed ones
	// and the calibration runs before them each add 5.
	code, out, stderr := purebpf(t, "run", "--repeat", "3", "--dump-maps", src)
	var total uint64
	if i := strings.Index(out, "value 00 00 00 00 00 00 00 00 "); i >= 0 {
		fmt.Sscanf(out[i+len("value 00 00 00 00 00 00 00 00 "):], "%x", &total)
	}
	if code != 0 || !strings.Contains(out, "ns per run over 3 runs") || total < 4*5 || total%5 != 0 {
		t.Errorf("--repeat --dump-maps: exit %d %s, total %d\n%s", code, stderr, total, out)
	}
}

func TestRunMapFlag(t *testing.T) {
	// Without its declaration, the program names totals on line 15.
	undeclared := write(t, "undeclared.s", strings.Replace(counter, "; map totals array key=4 value=16 entries=1\n", "\n", 1))
	code, _, stderr := purebpf(t, "run", undeclared)
	if code != 1 || !strings.Contains(stderr, `undeclared.s:15: map "totals" is not declared`) || !strings.Contains(stderr, "--map totals:TYPE:KEY:VALUE:ENTRIES") {
		t.Errorf("undeclared map: exit %d %q", code, stderr)
	}
	for _, engine := range []string{"interp", "jit"} {
		code, out, stderr := purebpf(t, "run", "--engine", engine, "--map", "totals:array:4:16:1", "--dump-maps", undeclared)
		if code != 0 || out != counterDump {
			t.Errorf("--map, %s: exit %d %s\n%s", engine, code, stderr, out)
		}
	}
	// A flag replaces the file's declaration of the same name.
	src := write(t, "counter.s", counter)
	code, out, stderr := purebpf(t, "run", "--map", "counts:lru_hash:4:8:2", "--dump-maps", src)
	if code != 0 || !strings.Contains(out, "map counts: lru_hash key 4 value 8 max_entries 2, 1 entry\n") {
		t.Errorf("--map replacing a declaration: exit %d %s\n%s", code, stderr, out)
	}
}

func TestRunMapErrors(t *testing.T) {
	bin := write(t, "exit.bin", "\xb7\x00\x00\x00\x00\x00\x00\x00\x95\x00\x00\x00\x00\x00\x00\x00")
	cases := []struct {
		name, src string
		args      []string
		code      int
		msg       string
	}{
		{"unknown type", "; map m hashy key=4 value=4 entries=1\nexit\n", nil, 1, `line 1: map declaration: unknown map type "hashy"`},
		{"missing size", "r0 = 0\n# map m hash key=4 entries=1\nexit\n", nil, 1, "line 2: map declaration: value= is missing"},
		{"bad number", "// map m hash key=four value=4 entries=1\nexit\n", nil, 1, `line 1: map declaration: key "four" is not a 32-bit number`},
		{"unknown attribute", "; map m hash key=4 value=4 entries=1 colour=3\nexit\n", nil, 1, `unknown attribute "colour"`},
		{"twice", "; map m hash key=4 value=4 entries=1\n; map m array key=4 value=4 entries=1\nexit\n", nil, 1, `line 2: map "m" is already declared on line 1`},
		{"invalid spec", "; map m hash key=0 value=4 entries=1\nexit\n", nil, 1, "line 1: map declaration:"},
		{"bad --map", "r0 = 0\nexit\n", []string{"--map", "m:hash:4"}, 2, `--map "m:hash:4": want NAME:TYPE:KEY:VALUE:ENTRIES`},
		{"bad --map type", "r0 = 0\nexit\n", []string{"--map", "m:nope:4:4:1"}, 2, `unknown map type "nope"`},
	}
	for _, c := range cases {
		src := write(t, "prog.s", c.src)
		code, _, stderr := purebpf(t, append(append([]string{"run"}, c.args...), src)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, code, stderr, c.code, c.msg)
		}
	}
	if code, _, stderr := purebpf(t, "run", "--map", "m:hash:4:4:1", bin); code != 2 || !strings.Contains(stderr, "raw bytecode has no map names") {
		t.Errorf("--map with bytecode: exit %d %q", code, stderr)
	}
}

// TestRunQueueAndRingbuf dumps the maps that have no keys: a queue is
// popped, a ring buffer's records are read.
func TestRunQueueAndRingbuf(t *testing.T) {
	src := write(t, "q.s", `; map q queue value=4 entries=4
; map rb ringbuf entries=4096
r1 = 3
*(u32 *)(r10 - 4) = r1
r1 = map_fd(q) ll
r2 = r10
r2 += -4
r3 = 0
call map_push_elem
r1 = 9
*(u32 *)(r10 - 4) = r1
r1 = map_fd(q) ll
r2 = r10
r2 += -4
r3 = 0
call map_push_elem
r1 = map_fd(rb) ll
r2 = r10
r2 += -4
r3 = 4
r4 = 0
call ringbuf_output
exit
`)
	want := `r0 = 0x0
map q: queue key 0 value 4 max_entries 4, 2 entries
  value 03 00 00 00
  value 09 00 00 00
map rb: ringbuf key 0 value 0 max_entries 4096, 1 record
  record 09 00 00 00
`
	for _, engine := range []string{"interp", "jit"} {
		code, out, stderr := purebpf(t, "run", "--engine", engine, "--dump-maps", src)
		if code != 0 || out != want {
			t.Errorf("%s: exit %d %s\n%s\nwant\n%s", engine, code, stderr, out, want)
		}
	}
}

// TestRunObject runs a program of a clang-built object with its maps in
// interp and jit; the kernel engine's test (Linux, privileged) checks
// that it prints the same.
func TestRunObject(t *testing.T) {
	pkt := write(t, "pkt.bin", string(testFrame))
	for _, engine := range []string{"interp", "jit"} {
		code, out, stderr := purebpf(t, "run", "--engine", engine, "--packet", pkt, "--dump-maps", "../../prog/testdata/bpf/maps.bpf.o:count_packets")
		if code != 0 {
			t.Fatalf("%s: exit %d %s", engine, code, stderr)
		}
		for _, want := range []string{
			"r0 = 0x22\npacket = " + hexFrame + "\n",
			// proto 0x0008 (ETH_P_IP as the kernel stores it), length class 0: 1 packet of 0x22 bytes.
			"map by_key: hash key 8 value 16 max_entries 64, 1 entry\n  key 08 00 00 00 00 00 00 00  value 01 00 00 00 00 00 00 00 22 00 00 00 00 00 00 00\n",
			"map by_class: array key 4 value 8 max_entries 4, 4 entries\n  key 00 00 00 00  value 01 00 00 00 00 00 00 00\n",
			"map recent: lru_hash key 4 value 8 max_entries 16, 1 entry\n  key 22 00 00 00  value 01 00 00 00 00 00 00 00\n",
			"map cpu_totals: percpu_array key 4 value 16 max_entries 1, 1 entry\n  key 00 00 00 00  value[cpu0] 01 00 00 00 00 00 00 00 22 00 00 00 00 00 00 00",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", engine, want, out)
			}
		}
	}
	// Global data maps start with the object's initial values.
	code, out, stderr := purebpf(t, "run", "--type", "socket_filter", "--packet", pkt, "--dump-maps", "../../prog/testdata/bpf/globals.bpf.o:compute")
	if code != 0 || !strings.Contains(out, "map .rodata.table: array key 4 value 16 max_entries 1, 1 entry\n  key 00 00 00 00  value 0a 00 00 00 14 00 00 00 1e 00 00 00 28 00 00 00\n") {
		t.Errorf("globals: exit %d %s\n%s", code, stderr, out)
	}
}

func TestRunObjectErrors(t *testing.T) {
	pkt := write(t, "pkt.bin", string(testFrame))
	const dir = "../../prog/testdata/bpf/"
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{dir + "subprogs.bpf.o"}, 2, "holds 4 programs (sock_uses_text, xdp_first, xdp_second, xdp_third); name one as"},
		{[]string{dir + "subprogs.bpf.o:nope"}, 1, `no program "nope" (the object has sock_uses_text,`},
		{[]string{"--packet", pkt, dir + "unknown_section.bpf.o"}, 2, `section "purebpf/not_a_type" of program mystery does not say the program type; set it with --type`},
		{[]string{"--type", "frobnicator", dir + "unknown_section.bpf.o"}, 2, `unknown program type "frobnicator"`},
		{[]string{dir + "maps.bpf.o:count_packets"}, 2, "a socket_filter program needs --packet FILE"},
		{[]string{"--mem", pkt, dir + "maps.bpf.o:count_packets"}, 2, "a socket_filter program takes --packet"},
		{[]string{"--map", "m:hash:4:4:1", "--packet", pkt, dir + "maps.bpf.o:count_packets"}, 2, "an object declares its own"},
		{[]string{"--jit", "--engine", "kernel", dir + "maps.bpf.o"}, 2, "--jit and --engine kernel contradict each other"},
		{[]string{"--engine", "gpu", dir + "maps.bpf.o"}, 2, `unknown engine "gpu"`},
		{[]string{"--trace", "--engine", "kernel", dir + "maps.bpf.o"}, 2, "--trace and --kernel do not mix"},
		{[]string{"--mem", pkt, "--packet", pkt, dir + "maps.bpf.o"}, 2, "at most one of --mem, --packet and --ctx"},
		{[]string{"--packet", pkt, write(t, "raw.s", "r0 = 0\nexit\n")}, 2, "a raw-memory program takes --mem"},
	}
	for _, c := range cases {
		code, _, stderr := purebpf(t, append([]string{"run"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("run %q: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}

// TestRunMapInMap runs tailcall.bpf.o's entry, whose program array's
// targets load with it: tail_0 counts through an array of maps (filled
// by the object's initialiser) and tail calls tail_1, which returns 33,
// in interp and jit as in the kernel (runkernel_linux_test.go).
func TestRunMapInMap(t *testing.T) {
	pkt := write(t, "pkt.bin", string(testFrame))
	for _, engine := range []string{"interp", "jit"} {
		code, out, stderr := purebpf(t, "run", "--engine", engine, "--dump-maps", "--packet", pkt, "../../prog/testdata/bpf/tailcall.bpf.o:entry")
		if code != 0 || !strings.HasPrefix(out, "r0 = 0x21\n") || !strings.Contains(out, "map outer_hash: hash_of_maps key 4 value 4 max_entries 4, 0 entries\n") {
			t.Errorf("%s: exit %d, %q, %s", engine, code, out, stderr)
		}
		// tail_0's outer_arr, as the kernel engine dumps it.
		code, out, stderr = purebpf(t, "run", "--engine", engine, "--dump-maps", "--packet", pkt, "../../prog/testdata/bpf/tailcall.bpf.o:tail_0")
		if code != 0 || !strings.Contains(out, "map outer_arr: array_of_maps key 4 value 4 max_entries 4, 2 entries\n  key 00 00 00 00  value map inner_a\n  key 02 00 00 00  value map inner_b\n") {
			t.Errorf("%s: tail_0: exit %d, %q, %s", engine, code, out, stderr)
		}
	}
}

// TestRunKprobeContext runs a kprobe program on a pt_regs read from --ctx.
func TestRunKprobeContext(t *testing.T) {
	src := write(t, "kp.s", "r0 = *(u64 *)(r1 + 112)\nexit\n") // di, the first argument
	regs := make([]byte, 168)
	regs[112] = 0x2a
	ctx := write(t, "regs.bin", string(regs))
	for _, engine := range []string{"interp", "jit"} {
		code, out, stderr := purebpf(t, "run", "--engine", engine, "--type", "kprobe", "--ctx", ctx, src)
		if code != 0 || out != "r0 = 0x2a\n" {
			t.Errorf("%s: exit %d %q %s", engine, code, out, stderr)
		}
	}
	long := write(t, "long.bin", string(make([]byte, 169)))
	if code, _, stderr := purebpf(t, "run", "--type", "kprobe", "--ctx", long, src); code != 1 || !strings.Contains(stderr, "169 bytes is more than struct pt_regs (168 bytes)") {
		t.Errorf("long context: exit %d %q", code, stderr)
	}
}

// testFrame is an Ethernet frame holding a minimal IPv4/UDP-less header:
// 34 bytes, ethertype IPv4, multicast destination.
var testFrame = []byte("\x01\x02\x03\x04\x05\x06\x0a\x0b\x0c\x0d\x0e\x0f\x08\x00" +
	"\x45\x00\x00\x14\x00\x00\x00\x00\x40\x11\x00\x00\x7f\x00\x00\x01\x7f\x00\x00\x01")

const hexFrame = "0102030405060a0b0c0d0e0f08004500001400000000401100007f0000017f000001"

// TestRunXDP runs XDP programs of objects in interp and jit (and in the
// kernel when privileged): the outputs, r0 and the packet as the program
// left it, are the same text.
func TestRunXDP(t *testing.T) {
	pkt := write(t, "pkt.bin", string(testFrame))
	// xdp_ops grows the head by 128 bytes and writes into it.
	grow := write(t, "grow.bin", "\x01\x80wwwwwwwwww\x08\x00Eabcdefgh\x05\x06")
	engines := []string{"interp", "jit"}
	if os.Geteuid() == 0 {
		engines = append(engines, "kernel")
	}
	for _, c := range []struct{ pkt, obj, want string }{
		{pkt, "../../prog/testdata/bpf/subprogs.bpf.o:xdp_first", "r0 = 0x2\npacket = " + hexFrame + "\n"},
		{grow, "../../jit/testdata/xdp_ops.o:xdp_ops", "r0 = 0x2\npacket = 00ee" + strings.Repeat("00", 126) + "01807777777777777777777708004561626364656667680506\n"},
	} {
		for _, e := range engines {
			code, out, stderr := purebpf(t, "run", "--engine", e, "--packet", c.pkt, c.obj)
			if code != 0 || out != c.want {
				t.Errorf("%s on %s: exit %d %s\n%s\nwant\n%s", c.obj, e, code, stderr, out, c.want)
			}
		}
	}
}

// TestRunTC runs tc programs of objects (sections tc, classifier,
// action, tcx/ingress, tcx/egress) in interp and jit, and in the kernel
// when privileged: the outputs, r0, the packet as the program left it
// and the maps, are the same text in every engine.
func TestRunTC(t *testing.T) {
	pkt := write(t, "pkt.bin", string(testFrame))
	engines := []string{"interp", "jit"}
	if os.Geteuid() == 0 {
		engines = append(engines, "kernel")
	}
	const dir = "../../prog/testdata/bpf/"
	// tc_ops with cb[0] = 0 stores to the context and flips byte 13 of
	// the frame; globals' compute counts the run in its global data.
	flipped := hexFrame[:26] + "11" + hexFrame[28:]
	for _, c := range []struct {
		obj  string
		want []string
	}{
		// (tc_ops' perf event array has no dump in the kernel engine.)
		{"../../jit/testdata/tc_ops.o:tc_ops", []string{"r0 = 0x0\npacket = " + flipped + "\n"}},
		{dir + "globals.bpf.o:compute", []string{"r0 = 0x", "packet = " + hexFrame + "\n", "map .bss: array"}},
		{dir + "sections.bpf.o:s_tc", []string{"r0 = 0x0\npacket = " + hexFrame + "\n"}},
		{dir + "sections.bpf.o:s_classifier", []string{"r0 = 0x0\npacket = " + hexFrame + "\n"}},
		{dir + "sections.bpf.o:s_action", []string{"r0 = 0x0\npacket = " + hexFrame + "\n"}},
		{dir + "sections_new.bpf.o:s_tcx_ingress", []string{"r0 = 0x0\npacket = " + hexFrame + "\n"}},
		{dir + "sections_new.bpf.o:s_tcx_egress", []string{"r0 = 0x0\npacket = " + hexFrame + "\n"}},
	} {
		var outs []string
		for _, e := range engines {
			args := []string{"run", "--engine", e, "--packet", pkt, c.obj}
			if !strings.Contains(c.obj, "tc_ops") {
				args = append(args, "--dump-maps")
			}
			code, out, stderr := purebpf(t, args...)
			if e == "kernel" && strings.HasPrefix(c.obj, dir+"sections_new") && strings.Contains(stderr, "program type netfilter (32): not supported") {
				// The kernel engine loads the whole object, whose
				// netfilter program needs Linux 6.4.
				t.Logf("%s: %s", c.obj, stderr)
				continue
			}
			if code != 0 {
				t.Errorf("%s on %s: exit %d %s", c.obj, e, code, stderr)
				continue
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s on %s: output lacks %q:\n%s", c.obj, e, w, out)
				}
			}
			outs = append(outs, out)
		}
		for k := 1; k < len(outs); k++ {
			if outs[k] != outs[0] {
				t.Errorf("%s: %s and %s differ:\n%s\n%s", c.obj, engines[0], engines[k], outs[0], outs[k])
			}
		}
	}
	if code, _, stderr := purebpf(t, "run", "--packet", write(t, "short.bin", "\x01\x02"), "../../jit/testdata/tc_ops.o:tc_ops"); code != 1 || !strings.Contains(stderr, "shorter than an Ethernet header") {
		t.Errorf("short frame: exit %d %q", code, stderr)
	}
}
