//go:build amd64 && unix

package jit

import (
	"math/rand/v2"

	"github.com/purebpf/purebpf/interp"
)

// For the external tests (package jit_test), which compare the engines
// with the kernel through package bpftest, which imports jit.
var (
	XDPOpsFrames = xdpFrames
	GenALU       = genALU
)

// TCOpsInputs is tcInputs for the external tests: n frames for tc_ops.c
// and the __sk_buff fields each runs with (cb[0..2] pick the helper and
// its arguments).
func TCOpsInputs(rng *rand.Rand, n int) (frames [][]byte, metas []interp.TCMeta) {
	for _, in := range tcInputs(rng, n) {
		frames, metas = append(frames, in.frame), append(metas, in.meta)
	}
	return frames, metas
}

// TCOpsRets is the size of tc_ops.c's rets array.
const TCOpsRets = tcRets
