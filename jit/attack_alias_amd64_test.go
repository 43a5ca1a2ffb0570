//go:build amd64 && unix

package jit

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// TestAttackPacketAliasing checks that the output views of two Runners
// of one VM never alias (a run of one leaves the other's last output
// alone), and that VM.RunXDP and VM.RunTC, run concurrently with Runner
// runs on many goroutines, return independent copies that later runs do
// not change. Run with -race.
func TestAttackPacketAliasing(t *testing.T) {
	for _, xdp := range []bool{true, false} {
		name, typ, is := "xdp", prog.XDP, hostileXDP()
		if !xdp {
			name, typ, is = "tc", prog.SchedCLS, hostileTC()
		}
		t.Run(name, func(t *testing.T) {
			spec := &prog.Spec{Name: "alias", Type: typ, Instructions: is}
			opts := &interp.Options{MaxInstructions: 1 << 22}
			vm, err := New(spec, &Options{Interp: opts})
			if err != nil {
				t.Fatal(err)
			}
			defer vm.Close()
			ivm := vm.Interp()
			type runner interface {
				RunXDP([]byte, *interp.XDPMeta) (uint32, []byte, error)
				RunTC([]byte, *interp.TCMeta) (uint32, []byte, error)
			}
			run := func(r runner, f []byte) []byte {
				var out []byte
				var err error
				if xdp {
					_, out, err = r.RunXDP(f, nil)
				} else {
					_, out, err = r.RunTC(f, nil)
				}
				if err != nil {
					t.Error(err)
				}
				return out
			}
			frame := func(mode byte, fillByte byte) []byte {
				f := bytes.Repeat([]byte{fillByte}, 200)
				f[12], f[13], f[14] = 0x08, 0x01, mode
				return f
			}
			// Two Runners of each engine: outputs never alias.
			for _, mk := range []func() (runner, func()){
				func() (runner, func()) { r, _ := vm.NewRunner(); return r, func() { r.Close() } },
				func() (runner, func()) { r, _ := ivm.NewRunner(); return r, func() { r.Close() } },
			} {
				a, ca := mk()
				b, cb := mk()
				outA := run(a, frame(0, 0x21))
				keep := bytes.Clone(outA)
				run(b, frame(hostileDirty, 0x22))
				run(b, frame(0, 0x23))
				if !bytes.Equal(outA, keep) {
					t.Fatalf("a run of Runner B changed Runner A's output")
				}
				ca()
				cb()
			}
			// Concurrent VM runs and Runner runs: VM outputs are copies.
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for g := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var r runner = vm
					if g == 1 {
						r = ivm
					}
					var rn interface{ Close() error }
					if g >= 4 {
						jr, err := vm.NewRunner()
						if err != nil {
							errs <- err
							return
						}
						r, rn = jr, jr
					}
					var kept [][]byte
					var want [][]byte
					for k := range 50 {
						fill := byte(0x10 + g*8 + k%8)
						mode := byte(0)
						if k%3 == 0 {
							mode = hostileDirty
						}
						out := run(r, frame(mode, fill))
						if rn == nil {
							kept = append(kept, out)
							want = append(want, bytes.Clone(out))
						}
					}
					for k := range kept {
						if !bytes.Equal(kept[k], want[k]) {
							errs <- fmt.Errorf("goroutine %d: the output of VM run %d changed later", g, k)
							return
						}
					}
					if rn != nil {
						rn.Close()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}
