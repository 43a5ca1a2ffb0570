//go:build linux

package maps

import (
	"encoding/binary"
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

const cmdObjGetInfoByFD = 15

// kmapID is the kernel's ID of m (struct bpf_map_info's id).
func kmapID(t *testing.T, m *kmap) uint32 {
	var info [88]byte // struct bpf_map_info's first fields: type, id, ...
	a := struct {
		FD, Len uint32
		Info    uint64
	}{uint32(m.fd), uint32(len(info)), ptr(info[:])}
	if _, err := bpf(cmdObjGetInfoByFD, unsafe.Pointer(&a), unsafe.Sizeof(a)); err != nil {
		t.Fatalf("map info: %v", err)
	}
	return binary.NativeEndian.Uint32(info[4:])
}

// TestOfMapsDifferentialKernel runs the same random updates (with
// matching and mismatching inner maps, every flag), deletes and lookups
// on kernel and userspace maps of maps and compares the errnos, which
// inner map each lookup finds (the kernel's ID against our Map) and the
// keys a NextKey walk gives.
func TestOfMapsDifferentialKernel(t *testing.T) {
	testenv.RequireRoot(t)
	for _, c := range []struct {
		outer prog.MapSpec
		tmpl  prog.MapSpec
	}{
		{prog.MapSpec{Name: "aom", Type: prog.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 4},
			prog.MapSpec{Name: "in", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2}},
		{prog.MapSpec{Name: "hom", Type: prog.HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 3},
			prog.MapSpec{Name: "in", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 2}},
		{prog.MapSpec{Name: "aom_inner_flag", Type: prog.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 4},
			prog.MapSpec{Name: "in", Type: prog.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2, Flags: flagInnerMap}},
	} {
		t.Run(c.outer.Name, func(t *testing.T) {
			// Candidate inner maps: two matching, then one differing in
			// each field bpf_map_meta_equal looks at.
			cands := []prog.MapSpec{c.tmpl, c.tmpl}
			mod := func(f func(*prog.MapSpec)) { s := c.tmpl; f(&s); cands = append(cands, s) }
			mod(func(s *prog.MapSpec) { s.MaxEntries = 3 })
			mod(func(s *prog.MapSpec) { s.ValueSize = 16 })
			mod(func(s *prog.MapSpec) { s.KeySize = 8; s.Type = prog.Hash; s.Flags = 0 })
			mod(func(s *prog.MapSpec) { s.Flags ^= flagRdOnlyProg })
			mod(func(s *prog.MapSpec) { s.Type = prog.PerCPUArray; s.Flags = 0; s.MaxEntries = 2 })
			var kin []*kmap
			var ids []uint32
			var uin []Map
			for _, s := range cands {
				km, err := kcreate(s)
				if err != nil {
					t.Fatalf("kernel inner %+v: %v", s, err)
				}
				defer km.Close()
				kin, ids = append(kin, km), append(ids, kmapID(t, km))
				uin = append(uin, mustNew(t, s, nil))
			}
			a := createAttr{MapType: uint32(c.outer.Type), KeySize: 4, ValueSize: 4, MaxEntries: c.outer.MaxEntries, InnerMapFD: uint32(kin[0].fd)}
			fd, err := bpf(cmdMapCreate, unsafe.Pointer(&a), unsafe.Sizeof(a))
			if err != nil {
				t.Fatalf("kernel outer: %v", err)
			}
			k := &kmap{fd: int(fd), spec: c.outer}
			defer k.Close()
			spec := c.outer
			tmpl := c.tmpl
			spec.InnerMap = &tmpl
			u := mustNew(t, spec, nil).(*OfMaps)
			rng := rand.New(rand.NewPCG(7, uint64(len(c.outer.Name))))
			for n := range 400 {
				key := uint32(rng.IntN(6))
				kb := u32(key)
				switch op := rng.IntN(4); op {
				case 0:
					i := rng.IntN(len(cands))
					flags := prog.UpdateFlags(rng.IntN(4))
					kerr := k.update(kb, u32(uint32(kin[i].fd)), uint64(flags))
					uerr := u.Set(key, uin[i], flags)
					if errnoOf(kerr) != errnoOf(uerr) {
						t.Fatalf("op %d: update %d with %+v flags %d: kernel %v, userspace %v", n, key, cands[i], flags, kerr, uerr)
					}
				case 1:
					kerr, uerr := k.delete(kb), u.Delete(key)
					if errnoOf(kerr) != errnoOf(uerr) {
						t.Fatalf("op %d: delete %d: kernel %v, userspace %v", n, key, kerr, uerr)
					}
				case 2:
					out := make([]byte, 4)
					kerr := k.lookup(kb, out)
					m, uerr := u.Inner(key)
					if errnoOf(kerr) != errnoOf(uerr) {
						t.Fatalf("op %d: lookup %d: kernel %v, userspace %v", n, key, kerr, uerr)
					}
					if kerr == nil {
						id := binary.NativeEndian.Uint32(out)
						for i := range cands {
							if ids[i] == id && uin[i] != m {
								t.Fatalf("op %d: lookup %d: kernel map %d (%+v), userspace %v", n, key, i, cands[i], m.MapSpec())
							}
						}
					}
				case 3:
					out := make([]byte, 4)
					kerr := k.lookupAndDelete(kb, out)
					var m Map
					uerr := u.LookupAndDelete(key, &m)
					if errnoOf(kerr) != errnoOf(uerr) || (kerr != nil && errnoOf(kerr) != ENOTSUPP) {
						t.Fatalf("op %d: lookup and delete %d: kernel %v, userspace %v", n, key, kerr, uerr)
					}
				}
			}
			var kkeys, ukeys []uint32
			for _, walk := range []struct {
				keys *[]uint32
				next func(key []byte, out []byte) error
			}{
				{&kkeys, k.nextKey},
				{&ukeys, func(key, out []byte) error {
					if key == nil {
						return u.NextKey(nil, out)
					}
					return u.NextKey(key, out)
				}},
			} {
				var key []byte
				for range 10 {
					out := make([]byte, 4)
					if err := walk.next(key, out); err != nil {
						if errnoOf(err) != syscall.ENOENT {
							t.Fatalf("next key: %v", err)
						}
						break
					}
					*walk.keys = append(*walk.keys, binary.NativeEndian.Uint32(out))
					key = out
				}
			}
			if len(kkeys) != len(ukeys) {
				t.Fatalf("next key walk: kernel %v, userspace %v", kkeys, ukeys)
			}
			if c.outer.Type == prog.ArrayOfMaps {
				for i := range kkeys {
					if kkeys[i] != ukeys[i] {
						t.Fatalf("next key walk: kernel %v, userspace %v", kkeys, ukeys)
					}
				}
			}
		})
	}
}
