package prog_test

import (
	"fmt"

	"github.com/purebpf/purebpf/prog"
)

// ExampleLoadCollectionSpec reads a clang-built object and lists what it
// holds; no kernel is needed.
func ExampleLoadCollectionSpec() {
	spec, err := prog.LoadCollectionSpec("testdata/bpf/bootstrap.bpf.o")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range spec.ProgramNames() {
		p := spec.Programs[name]
		fmt.Printf("program %s: %s, attach to %s\n", name, p.Type, p.AttachTo)
	}
	for _, name := range spec.MapNames() {
		m := spec.Maps[name]
		fmt.Printf("map %s: %s\n", name, m.Type)
	}
	var minDuration uint64
	spec.Variables["min_duration_ns"].Get(&minDuration)
	fmt.Println("min_duration_ns =", minDuration)
	// Output:
	// program handle_exec: tracepoint, attach to sched/sched_process_exec
	// program handle_exit: tracepoint, attach to sched/sched_process_exit
	// map .rodata: array
	// map exec_start: hash
	// map exits: perf_event_array
	// map rb: ringbuf
	// min_duration_ns = 0
}
