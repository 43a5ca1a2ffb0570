//go:build amd64 && unix

package jit_test

import (
	"fmt"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// A clang-built tc object runs in the JIT, here through a Runner, the
// fast path for many packets on one goroutine. With cb[0] = 0 (the mode
// tc_ops.c reads from the context), tc_ops stores cb[1] to mark,
// queue_mapping and tc_index and cb[2] to priority, flips a bit of the
// ethertype with direct packet access, and returns TC_ACT_OK.
func ExampleRunner_RunTC() {
	spec, err := prog.LoadCollectionSpec("testdata/tc_ops.o")
	if err != nil {
		fmt.Println(err)
		return
	}
	coll, err := jit.NewCollection(spec, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer coll.Close()
	rn, err := coll.Programs["tc_ops"].NewRunner()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rn.Close()
	frame := make([]byte, 60)
	frame[12], frame[13] = 0x88, 0xb5 // a local experimental ethertype
	for _, mark := range []uint32{7, 0x12345} {
		meta := interp.TCMeta{CB: [5]uint32{0, mark, 3}}
		verdict, out, err := rn.RunTC(frame, &meta)
		fmt.Printf("%d %x mark %#x priority %d queue_mapping %#x tc_index %#x %v\n", verdict, out[12:14], meta.Mark, meta.Priority, meta.QueueMapping, meta.TCIndex, err)
	}
	// Output:
	// 0 88a4 mark 0x7 priority 3 queue_mapping 0x7 tc_index 0x7 <nil>
	// 0 88a4 mark 0x12345 priority 3 queue_mapping 0x0 tc_index 0x2345 <nil>
}
