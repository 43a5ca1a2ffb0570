package interp_test

import (
	"bytes"
	"fmt"
	"log"
	"strings"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// Coverage of a clang-built object's C lines: load its programs with a
// Coverage, run them, and write an lcov tracefile for genhtml. In a
// test, write it to a file (os.Create("bpf.lcov")) and run
// "genhtml -o report bpf.lcov".
func ExampleCoverage() {
	spec, err := prog.LoadCollectionSpec("testdata/cover.bpf.o")
	if err != nil {
		log.Fatal(err)
	}
	cov := interp.NewCoverage()
	coll, err := interp.NewCollection(spec, &interp.CollectionOptions{
		Program: &interp.Options{Coverage: cov},
	})
	if err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, 60)
	for _, mode := range []byte{0, 3} { // 3: a tail call into cover_tail
		frame[14] = mode
		if _, _, err := coll.Programs["cover_main"].RunXDP(frame, nil); err != nil {
			log.Fatal(err)
		}
	}
	for _, l := range cov.Lines() {
		if l.Line >= 45 && l.Line <= 52 { // the subprogram count, linked into both programs
			fmt.Printf("%d %d: %s\n", l.Line, l.Count, strings.TrimSpace(l.Text))
		}
	}

	var lcov bytes.Buffer
	if err := cov.WriteLCOV(&lcov, &interp.LCOVOptions{TestName: "ExampleCoverage"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Join(strings.Split(lcov.String(), "\n")[:6], "\n"))
	// Output:
	// 45 3: static __noinline int count(__u32 k)
	// 47 3: __u64 *v = bpf_map_lookup_elem(&stats, &k);
	// 48 3: if (!v)
	// 50 3: *v += 1;
	// 52 3: }
	// TN:ExampleCoverage
	// SF:./interp/testdata/cover.bpf.c
	// FN:45,count
	// FN:55,cover_main
	// FN:85,cover_tail
	// FN:99,legacy_vlan
}
