//go:build linux

package interp_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

// TestXDPFragsKernel runs xdp_frags on the same single- and multi-buffer
// frames in the kernel (BPF_PROG_TEST_RUN, which makes frames longer than
// a page multi-buffer ones: checked on Linux 6.18), interp and jit, and
// wants the same actions, output frames and helper results. Perf samples
// (op 6) are left out: a perf array slot with no open event gives
// -ENOENT in the kernel, while userspace perf arrays take the sample.
func TestXDPFragsKernel(t *testing.T) {
	testenv.RequireRoot(t)
	cs := loadFrags(t)
	var cases []fragsCase
	for _, c := range fragsCases(rand.New(rand.NewPCG(6, 19))) {
		if c.op != 6 {
			cases = append(cases, c)
		}
	}
	coll, err := prog.NewCollection(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	kp, kres, kbuf := coll.Programs["xdp_frags"], coll.Maps["res"], coll.Maps["buf"]
	var kr []fragsResult
	for _, c := range cases {
		if err := kbuf.Update(uint32(0), fragsBlob(), prog.UpdateAny); err != nil {
			t.Fatal(err)
		}
		var r fragsResult
		res, err := kp.Run(&prog.RunOptions{Data: c.frame, DataOut: make([]byte, len(c.frame)+8192)})
		r.err = err
		if err == nil {
			r.action, r.out = res.Retval, res.DataOut
		}
		r.res = readRes(t, kres)
		kr = append(kr, r)
	}
	ir, _ := userFrags(t, cs, cases, false)
	jr, _ := userFrags(t, cs, cases, true)
	ops := map[byte]int{}
	for k, c := range cases {
		if kr[k].err != nil {
			t.Fatalf("case %d (op %d, %d bytes): kernel: %v", k, c.op, len(c.frame), kr[k].err)
		}
		for name, u := range map[string]fragsResult{"interp": ir[k], "jit": jr[k]} {
			if u.err != nil || u.action != kr[k].action || u.res != kr[k].res || !bytes.Equal(u.out, kr[k].out) {
				t.Fatalf("case %d (op %d, %d bytes, header % x): kernel %v, %s %v", k, c.op, len(c.frame), c.frame[14:24], kr[k], name, u)
			}
		}
		ops[c.op]++
	}
	t.Logf("%d cases agree (by operation: %v)", len(cases), ops)
}
