//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
)

// metaProg stores the __sk_buff fields a socket filter sees (len,
// pkt_type, protocol, ifindex, ...) in an array map through a
// subprogram, and returns len.
const metaProg = `; map m array key=4 value=4 entries=8
r6 = r1
r1 = 0
r2 = *(u32 *)(r6 + 0)
call store
r1 = 1
r2 = *(u32 *)(r6 + 4)
call store
r1 = 2
r2 = *(u32 *)(r6 + 16)
call store
r1 = 3
r2 = *(u32 *)(r6 + 40)
call store
r0 = *(u8 *)skb[0]
r1 = 4
r2 = r0
call store
r0 = *(u32 *)(r6 + 0)
exit
store:
*(u32 *)(r10 - 4) = r1
*(u32 *)(r10 - 8) = r2
r1 = map_fd(m) ll
r2 = r10
r2 += -4
r3 = r10
r3 += -8
r4 = 0
call map_update_elem
exit
`

// TestRunEnginesAgree runs the same programs in interp, jit and the
// kernel (BPF_PROG_TEST_RUN) and wants the same output, maps included:
// an assembly socket filter with a declared map on frames with multicast,
// host and other-host destinations, and an object's socket filter with
// hash, array, LRU and per-CPU maps.
func TestRunEnginesAgree(t *testing.T) {
	testenv.RequireRoot(t)
	src := write(t, "meta.s", metaProg)
	frames := map[string]string{
		"multicast": string(testFrame),
		"broadcast": "\xff\xff\xff\xff\xff\xff\x0a\x0b\x0c\x0d\x0e\x0f\x86\xdd" + strings.Repeat("\x00", 40),
		"host":      "\x00\x00\x00\x00\x00\x00\x0a\x0b\x0c\x0d\x0e\x0f\x08\x06" + strings.Repeat("\x01", 28),
		"otherhost": "\x02\x00\x00\x00\x00\x01\x0a\x0b\x0c\x0d\x0e\x0f\x08\x00" + string(testFrame[14:]),
	}
	for name, frame := range frames {
		pkt := write(t, name+".bin", frame)
		for _, args := range [][]string{
			{"--type", "socket_filter", "--packet", pkt, "--dump-maps", src},
			{"--packet", pkt, "--dump-maps", "../../prog/testdata/bpf/maps.bpf.o:count_packets"},
		} {
			var outs []string
			for _, engine := range []string{"interp", "jit", "kernel"} {
				code, out, stderr := purebpf(t, append([]string{"run", "--engine", engine}, args...)...)
				if code != 0 {
					t.Fatalf("%s, %s %q: exit %d %s", name, engine, args, code, stderr)
				}
				outs = append(outs, out)
			}
			if outs[0] != outs[1] || outs[0] != outs[2] {
				t.Errorf("%s %q: engines differ:\ninterp:\n%s\njit:\n%s\nkernel:\n%s", name, args, outs[0], outs[1], outs[2])
			}
			if !strings.Contains(outs[0], "packet = ") || !strings.Contains(outs[0], "map ") {
				t.Errorf("%s %q: output lacks the packet or the maps:\n%s", name, args, outs[0])
			}
		}
	}
}

// TestRunKernel covers what the kernel engine runs: XDP (also in interp
// and jit: TestRunXDP) and tc
// programs, prog array initialisers, --type for an unknown section, and
// --repeat's BPF_PROG_TEST_RUN mean.
func TestRunKernel(t *testing.T) {
	testenv.RequireRoot(t)
	pkt := write(t, "pkt.bin", string(testFrame))
	const dir = "../../prog/testdata/bpf/"
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{dir + "subprogs.bpf.o:xdp_first"}, []string{"r0 = 0x2\npacket = " + hexFrame + "\n"}},
		{[]string{"--dump-maps", dir + "globals.bpf.o"}, []string{"r0 = 0x", "\nmap .rodata.table: array key 4 value 16 max_entries 1, 1 entry\n  key 00 00 00 00  value 0a 00 00 00 14 00 00 00 1e 00 00 00 28 00 00 00\n"}},
		{[]string{"--dump-maps", dir + "tailcall.bpf.o:tail_0"}, []string{"r0 = 0x21\n", "map outer_arr: array_of_maps key 4 value 4 max_entries 4, 2 entries\n  key 00 00 00 00  value map inner_a\n  key 02 00 00 00  value map inner_b\n"}},
		{[]string{"--dump-maps", dir + "tailcall.bpf.o:entry"}, []string{"r0 = 0x21\n", "map jump_table: prog_array key 4 value 4 max_entries 4, 2 entries\n  key 00 00 00 00  value", "\n  key 03 00 00 00  value"}},
		{[]string{"--type", "socket_filter", dir + "unknown_section.bpf.o"}, []string{"r0 = 0x0\npacket = " + hexFrame + "\n"}},
		{[]string{"--repeat", "100", dir + "subprogs.bpf.o:sock_uses_text"}, []string{"ns per run over 100 runs (measured by BPF_PROG_TEST_RUN)\n"}},
	}
	for _, c := range cases {
		code, out, stderr := purebpf(t, append([]string{"run", "--engine", "kernel", "--packet", pkt}, c.args...)...)
		if code != 0 {
			t.Errorf("%q: exit %d %s", c.args, code, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%q: output lacks %q:\n%s", c.args, w, out)
			}
		}
	}
	if code, _, stderr := purebpf(t, "run", "--engine", "kernel", write(t, "raw.s", "r0 = 0\nexit\n")); code != 1 || !strings.Contains(stderr, "the kernel has no raw-memory programs; set the program type with --type") {
		t.Errorf("raw-memory program in the kernel: exit %d %q", code, stderr)
	}
	// A program the verifier refuses gives its verifier line.
	bad := write(t, "bad.s", "r0 = *(u8 *)skb[0]\nexit\n")
	if code, _, stderr := purebpf(t, "run", "--engine", "kernel", "--type", "socket_filter", "--packet", pkt, bad); code != 1 || !strings.Contains(stderr, "verifier") {
		t.Errorf("verifier error: exit %d %q", code, stderr)
	}
}
