//go:build amd64 && unix

package jit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// udp4Frame is an Ethernet/IPv4/UDP frame to port 53 with 64 bytes of
// payload (the IPv4 checksum is not checked by xdp_parse).
func udp4Frame() []byte {
	f := make([]byte, 14+20+8+64)
	copy(f, "\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01\x08\x00")
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], 20+8+64)
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(f[34:], 40000)
	binary.BigEndian.PutUint16(f[36:], 53)
	binary.BigEndian.PutUint16(f[38:], 8+64)
	return f
}

// TestXDPParseExits holds pktparse.c's xdp_parse (the XDP benchmark's
// program) to how often it leaves the machine code per packet once its
// flow is in the table: its per-CPU array lookups, global variables and
// xdp_md reads and its flow table (a hash map) lookup stay in the code
// (fastpath_hash_amd64.go): it never leaves it. The jit and interp results and maps must agree.
func TestXDPParseExits(t *testing.T) {
	cs, err := prog.LoadCollectionSpec("../bpftest/testdata/pktparse.o")
	if err != nil {
		t.Fatal(err)
	}
	jc, err := NewCollection(cs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer jc.Close()
	ic, err := interp.NewCollection(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	rn, err := jc.Programs["xdp_parse"].NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	frame := udp4Frame()
	const packets = 100
	var counts [16]uint64
	for k := 0; k < packets; k++ {
		if k == 1 {
			exitCounts.Store(&counts)
		}
		ret, out, err := rn.RunXDP(frame, nil)
		iret, iout, ierr := ic.Programs["xdp_parse"].RunXDP(frame, nil)
		if err != nil || ierr != nil || ret != iret || !bytes.Equal(out, iout) {
			t.Fatalf("packet %d: jit %d %v, interp %d %v", k, ret, err, iret, ierr)
		}
	}
	exitCounts.Store(nil)
	var total uint64
	for reason, n := range counts {
		if reason != exitDone && reason != exitAbort { // the end of a run
			total += n
		}
	}
	t.Logf("exits per packet: %.2f (by reason %v; helper %d, miss %d, map value %d, of %d packets)", float64(total)/(packets-1), counts,
		counts[exitHelper], counts[exitMiss], counts[exitMapValue], packets-1)
	if total != 0 {
		t.Errorf("%d exits to Go in %d packets, want none", total, packets-1)
	}
	for _, name := range []string{"stats", "flows", ".bss"} {
		jm, im := jc.Maps[name], ic.Maps[name]
		if jm == nil || im == nil {
			t.Fatalf("no map %s", name)
		}
		if jd, id := dumpMap(t, jm), dumpMap(t, im); jd != id {
			t.Errorf("map %s: jit %s, interp %s", name, jd, id)
		}
	}
}

// dumpMap renders an array's storage or a hash map's entries, for
// comparing two engines' maps.
func dumpMap(t *testing.T, m maps.Map) string {
	t.Helper()
	switch m := m.(type) {
	case *maps.Array:
		return fmt.Sprintf("%x", m.Storage(0))
	case *maps.Hash:
		var out []string
		for _, k := range dumpKeys(m) {
			out = append(out, fmt.Sprintf("%x=%x", k, m.LookupRaw(k, 0)))
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	t.Fatalf("dumpMap: %T", m)
	return ""
}

// TestTCOpsExits holds tc_ops (BenchmarkTC's program) to how often it
// leaves the machine code per run in its two modes: its map updates of
// the rets array and its context reads stay in the code; the exits left
// are two helpers (fields' perf output and the helper under test) and
// the context stores, narrow and 8-byte reads, which Go checks. The
// results, context fields and rets must be interp's.
func TestTCOpsExits(t *testing.T) {
	cs, err := prog.LoadCollectionSpec("testdata/tc_ops.o")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCollection(cs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ic, err := interp.NewCollection(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	rn, err := c.Programs["tc_ops"].NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	frame := make([]byte, 60)
	frame[12], frame[13], frame[14], frame[22] = 0x08, 0x00, 0x45, 64
	for _, mode := range []uint32{0, 1} {
		var counts [16]uint64
		exitCounts.Store(&counts)
		meta := interp.TCMeta{CB: [5]uint32{mode, 3, 4}}
		ret, out, err := rn.RunTC(frame, &meta)
		exitCounts.Store(nil)
		imeta := interp.TCMeta{CB: [5]uint32{mode, 3, 4}}
		iret, iout, ierr := ic.Programs["tc_ops"].RunTC(frame, &imeta)
		if err != nil || ierr != nil || ret != iret || !bytes.Equal(out, iout) || meta != imeta {
			t.Fatalf("mode %d: jit %d %v %+v, interp %d %v %+v", mode, ret, err, meta, iret, ierr, imeta)
		}
		if jd, id := dumpMap(t, c.Maps["rets"]), dumpMap(t, ic.Maps["rets"]); jd != id {
			t.Errorf("mode %d: rets: jit %s, interp %s", mode, jd, id)
		}
		t.Logf("mode %d: exits by reason %v", mode, counts)
		if counts[exitHelper] > 2 || counts[exitMapValue] != 0 {
			t.Errorf("mode %d: %d helper and %d map value exits, want at most 2 and none", mode, counts[exitHelper], counts[exitMapValue])
		}
	}
}
