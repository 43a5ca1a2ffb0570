// cover_main's count() increments a map value with a plain load and
// store, as the C source says: concurrent runs race on it, in the kernel
// as here, and the race detector reports that race of the program itself.
// The coverage counters are atomic; this test checks their totals.

//go:build !race

package interp_test

import (
	"sync"
	"testing"

	"github.com/purebpf/purebpf/interp"
)

// TestAttackCoverageConcurrentTailCalls runs cover_main through Runners
// and VM runs on several goroutines, half of the runs tail-calling
// cover_tail, while other goroutines read Lines, Functions and LCOV: the
// counts must come out exact (run with -race). Then Reset races with
// runs, which must neither fail nor leave a count above what ran.
func TestAttackCoverageConcurrentTailCalls(t *testing.T) {
	cov := interp.NewCoverage()
	_, c := loadCover(t, cov)
	main := c.Programs["cover_main"]
	const goroutines, runs = 4, 50
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			cov.Lines()
			cov.Functions()
		}
	}()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rn, err := main.NewRunner()
			if err != nil {
				t.Error(err)
				return
			}
			defer rn.Close()
			for k := range runs {
				mode, arg, want := byte(0), byte(0), uint32(interp.XDPPass)
				if k%2 == 1 {
					mode, arg, want = 3, 1, interp.XDPTX
				}
				run := rn.RunXDP
				if g%2 == 1 {
					run = main.RunXDP
				}
				if act, _, err := run(coverFrame(mode, arg), nil); err != nil || act != want {
					t.Errorf("goroutine %d run %d: %d, %v; want %d", g, k, act, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	got := lineCounts(t, cov)
	total := uint64(goroutines * runs)
	if got[lineCountCall] != total || got[lineTailTX] != total/2 || got[lineTailCall] != total/2 || got[lineCountBody] != total+total/2 {
		t.Errorf("counts %v; want count(0) %d, tail call %d, cover_tail's check %d", got, total, total/2, total/2)
	}
	// Reset during runs.
	var wg2 sync.WaitGroup
	for range 2 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for range runs {
				if _, _, err := main.RunXDP(coverFrame(3, 1), nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 20 {
		cov.Reset()
	}
	wg2.Wait()
	if got := lineCounts(t, cov); got[lineCountCall] > 2*runs || got[lineTailTX] > 2*runs {
		t.Errorf("after Reset during runs: %v", got)
	}
}
