//go:build amd64 && unix

package jit

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackHashKeySizes holds the generated code's hash and key
// comparison (fastpath_hash_amd64.go) to hashprobe's Go hash, which the
// map's index is built with, for every key size the code inlines (1 to
// 128 bytes) and one past it: a key the map holds, keys one bit away from
// it in its first, middle and last byte, and a key of top-bit flips of
// two words (which hashes the same). A code hash that disagreed would
// search the wrong slot and answer NULL for a key the map holds.
func TestAttackHashKeySizes(t *testing.T) {
	for ks := 1; ks <= maxInlineHashKey+1; ks++ {
		m, err := maps.New(prog.MapSpec{Name: "h", Type: prog.Hash, KeySize: uint32(ks), ValueSize: 8, MaxEntries: 64}, nil)
		if err != nil {
			t.Fatal(err)
		}
		key := func(n int) []byte {
			k := make([]byte, ks)
			for i := range k {
				k[i] = byte(n*31 + i*7 + 1)
			}
			return k
		}
		for n := range 40 {
			v := make([]byte, 8)
			binary.LittleEndian.PutUint64(v, uint64(100+n))
			if err := m.Update(key(n), v, prog.UpdateAny); err != nil {
				t.Fatal(err)
			}
		}
		flip := func(k []byte, at int, bit byte) []byte {
			k = append([]byte(nil), k...)
			k[at] ^= bit
			return k
		}
		probes := [][]byte{key(0), key(17), key(39), flip(key(5), 0, 1), flip(key(5), ks/2, 0x10), flip(key(5), ks-1, 0x80)}
		if ks >= 16 {
			probes = append(probes, flip(flip(key(6), 7, 0x80), 15, 0x80))
			m.Update(flip(flip(key(7), 7, 0x80), 15, 0x80), make([]byte, 8), prog.UpdateAny) // a twin of key 7
			probes = append(probes, key(7), flip(flip(key(7), 7, 0x80), 15, 0x80))
		}
		for p, k := range probes {
			var is insn.Instructions
			for i, b := range k {
				is = append(is, insn.StoreImm(insn.R10, int16(i-136), int32(b), insn.B))
			}
			is = append(is, lookupWord(-136)...)
			spec, opts, ivm := hashSpec(t, m, is)
			iret, _, ierr := ivm.RunXDP(udp4Frame(), nil)
			if p == 0 && (iret != 100 || ierr != nil) {
				t.Fatalf("key size %d: interp %d, %v for a key the map holds", ks, iret, ierr)
			}
			rn := newRunner(t, spec, &Options{Interp: opts})
			for run := range 2 {
				var counts [16]uint64
				exitCounts.Store(&counts)
				rret, _, rerr := rn.RunXDP(udp4Frame(), nil)
				exitCounts.Store(nil)
				for reason, c := range counts {
					if reason != exitDone && reason != exitAbort && c != 0 && ks <= maxInlineHashKey {
						t.Errorf("key size %d, probe %d, run %d: %d exits to Go (reason %d): the lookup left the machine code", ks, p, run, c, reason)
					}
				}
				if rret != iret || fmt.Sprint(rerr) != fmt.Sprint(ierr) {
					t.Errorf("key size %d, probe %d (%x), run %d: interp %d, %v; jit Runner %d, %v", ks, p, k, run, iret, ierr, rret, rerr)
				}
			}
		}
	}
}

// TestAttackHashAimedKeys fills a hash map with 64-byte keys that share
// one home slot whatever the index's seed (top-bit flips of their words:
// hashprobe's TestHashSeedHidesCollisions) and looks up keys deep in the
// cluster, keys past it and a key absent: the code's search must stop
// after hashprobe.MaxProbe slots and leave to Go, which answers as
// interp does.
func TestAttackHashAimedKeys(t *testing.T) {
	const ks = 64
	m, err := maps.New(prog.MapSpec{Name: "h", Type: prog.Hash, KeySize: ks, ValueSize: 8, MaxEntries: 256}, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := make([]byte, ks)
	for i := range base {
		base[i] = byte(i*13 + 5)
	}
	keyOf := func(mask int) []byte {
		k := append([]byte(nil), base...)
		for w := range ks / 8 {
			if mask>>w&1 != 0 {
				k[8*w+7] ^= 0x80
			}
		}
		return k
	}
	for mask := range 200 {
		v := make([]byte, 8)
		binary.LittleEndian.PutUint64(v, uint64(mask+1))
		if err := m.Update(keyOf(mask), v, prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	for _, mask := range []int{0, 1, 15, 16, 17, 100, 199, 200, 255} {
		k := keyOf(mask)
		var is insn.Instructions
		for i := 0; i < ks; i += 8 {
			is = append(is, insn.LoadImm64(insn.R1, int64(binary.LittleEndian.Uint64(k[i:]))),
				insn.StoreMem(insn.R10, int16(i-ks), insn.R1, insn.DW))
		}
		is = append(is, lookupWord(-ks)...)
		spec, opts, ivm := hashSpec(t, m, is)
		iret, _, ierr := ivm.RunXDP(udp4Frame(), nil)
		want := uint32(mask + 1)
		if mask >= 200 {
			want = 1000
		}
		if iret != want || ierr != nil {
			t.Fatalf("key %d: interp %d, %v, want %d", mask, iret, ierr, want)
		}
		rn := newRunner(t, spec, &Options{Interp: opts})
		for run := range 2 {
			rret, _, rerr := rn.RunXDP(udp4Frame(), nil)
			if rret != iret || rerr != nil {
				t.Errorf("key %d, run %d: interp %d; jit Runner %d, %v", mask, run, iret, rret, rerr)
			}
		}
	}
}

// lookupWord returns the end of a program that looks the key at r10+off
// up in map "h" and returns the value's first word, or 1000 when it is
// not there.
func lookupWord(off int32) []insn.Instruction {
	return []insn.Instruction{
		insn.LoadMapPtr(insn.R1, "h"),
		insn.Mov.Reg(insn.R2, insn.R10),
		insn.Add.Imm(insn.R2, off),
		insn.Call(int32(insn.FnMapLookupElem)),
		insn.Mov.Imm(insn.R1, 1000),
		insn.JEq.Imm(insn.R0, 0, "out"),
		insn.LoadMem(insn.R1, insn.R0, 0, insn.W),
		insn.Mov.Reg(insn.R0, insn.R1).WithLabel("out"),
		insn.Exit(),
	}
}

// hashSpec returns the XDP spec of is with m as its map "h", the
// options that give m, and an interp VM of them.
func hashSpec(t *testing.T, m maps.Map, is insn.Instructions) (*prog.Spec, *interp.Options, *interp.VM) {
	t.Helper()
	ms := m.MapSpec()
	spec := &prog.Spec{Name: "hash", Type: prog.XDP, Instructions: is, Maps: []*prog.MapSpec{&ms}}
	opts := &interp.Options{Maps: map[string]maps.Map{"h": m}}
	ivm, err := interp.New(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	return spec, opts, ivm
}
