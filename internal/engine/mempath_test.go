package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine/internal/optab"
)

// The paths of an access to a raw-memory program's buffer.
const (
	pathHot  = iota // the buffer is the hot region: fast
	pathHot2        // the buffer is the second hot region: fast
	pathExec        // neither: the first access leaves fast and runs in exec
)

// runPath runs a raw-memory program with the memory buffer where path
// says.
func runPath(vm *VM, mem []byte, path int) (uint64, error) {
	e := vm.AcquireEnv()
	defer vm.ReleaseEnv(e)
	r1, r2 := e.bindMemory(mem)
	switch path {
	case pathHot2:
		// Another region granted after mem's is the hot one.
		if _, err := e.AddRegion(make([]byte, 64), PermRead|PermWrite); err != nil || addrOf(e.fc.hot2) != r1 {
			return 0, fmt.Errorf("the buffer is not the second hot region (%v)", err)
		}
	case pathExec:
		e.dropHot()
	}
	return e.exec(vm.prog, r1, r2)
}

// TestMemoryPaths runs every load and store op, in every size, at aligned,
// misaligned and out-of-bounds addresses, through fast and through exec,
// and checks both against a model of the access: the same r0, the same
// memory afterwards and the same error.
func TestMemoryPaths(t *testing.T) {
	const base = 16 // r6 = r1 + base
	const val = int64(-0x778899aabbccddef)
	type access struct {
		name  string
		is    func(off int16, sz insn.Size) insn.Instruction
		sizes []insn.Size
		store bool
		sx    bool  // sign-extending load
		value int64 // what a store writes
	}
	all := []insn.Size{insn.B, insn.H, insn.W, insn.DW}
	accesses := []access{
		{"ldx", func(off int16, sz insn.Size) insn.Instruction { return insn.LoadMem(r0, r6, off, sz) }, all, false, false, 0},
		{"ldsx", func(off int16, sz insn.Size) insn.Instruction { return insn.LoadMemSX(r0, r6, off, sz) }, all[:3], false, true, 0},
		{"load-acquire", func(off int16, sz insn.Size) insn.Instruction { return insn.LoadAcquire(r0, r6, off, sz) }, all, false, false, 0},
		{"st", func(off int16, sz insn.Size) insn.Instruction { return insn.StoreImm(r6, off, -0x3f2e1d0c, sz) }, all, true, false, -0x3f2e1d0c},
		{"stx", func(off int16, sz insn.Size) insn.Instruction { return insn.StoreMem(r6, off, r2, sz) }, all, true, false, val},
		{"store-release", func(off int16, sz insn.Size) insn.Instruction { return insn.StoreRelease(r6, off, r2, sz) }, all, true, false, val},
	}
	orig := make([]byte, 40)
	for k := range orig {
		orig[k] = byte(0x80 + 7*k) // high bits set: sign extension shows
	}
	seen := map[op]bool{}
	for _, a := range accesses {
		for _, sz := range a.sizes {
			n := sz.Bytes()
			for _, off := range []int16{-base, -3, 0, 5, int16(len(orig) - base - n), int16(len(orig) - base - n + 1), -base - 1} {
				name := fmt.Sprintf("%s%d/%d", a.name, n*8, off)
				is := insn.Instructions{
					insn.Mov.Reg(r6, r1), insn.Add.Imm(r6, base),
					insn.LoadImm64(r2, val),
					a.is(off, sz),
				}
				if a.store {
					is = append(is, insn.Mov.Imm(r0, 0))
				}
				is = append(is, insn.Exit())
				vm := mustVM(t, is, nil)
				seen[vm.prog.code[4].op] = true

				// The model.
				at := base + int(off)
				inside := at >= 0 && at+n <= len(orig)
				wantMem := append([]byte(nil), orig...)
				var want uint64
				switch {
				case !inside:
				case a.store:
					var b [8]byte
					binary.NativeEndian.PutUint64(b[:], uint64(a.value))
					if !hostLittle {
						copy(b[:], b[8-n:])
					}
					copy(wantMem[at:], b[:n])
				default:
					var b [8]byte
					if hostLittle {
						copy(b[:], orig[at:at+n])
					} else {
						copy(b[8-n:], orig[at:at+n])
					}
					want = binary.NativeEndian.Uint64(b[:])
					if sh := 64 - 8*uint(n); a.sx {
						want = uint64(int64(want<<sh) >> sh)
					}
				}
				var errs [3]string
				mem := make([]byte, len(orig)) // one buffer: errors name its addresses
				for k := range errs {
					copy(mem, orig)
					got, err := runPath(vm, mem, k)
					path := [...]string{"fast", "fast, second hot region", "exec"}[k]
					if err != nil {
						errs[k] = err.Error()
					}
					switch {
					case !inside:
						if !errors.Is(err, ErrMemoryAccess) {
							t.Errorf("%s (%s): %#x, %v; want a memory access error", name, path, got, err)
						}
						if !bytes.Equal(mem, orig) {
							t.Errorf("%s (%s): memory changed by a refused access", name, path)
						}
					case err != nil:
						t.Errorf("%s (%s): %v", name, path, err)
					case got != want:
						t.Errorf("%s (%s): r0 = %#x, want %#x", name, path, got, want)
					case !bytes.Equal(mem, wantMem):
						t.Errorf("%s (%s): memory\n% x, want\n% x", name, path, mem, wantMem)
					}
				}
				if errs[0] != errs[2] || errs[1] != errs[2] {
					t.Errorf("%s: fast says %q and %q, exec %q", name, errs[0], errs[1], errs[2])
				}
			}
		}
	}
	for k, row := range optab.Ops {
		switch row.Kind {
		case optab.LoadKind, optab.LoadAcqKind, optab.StoreImmKind, optab.StoreRegKind, optab.StoreRelKind:
			if !seen[op(k)] {
				t.Errorf("op %s is not tested", op(k))
			}
		}
	}
}
