// Package unittest is the example to copy for unit-testing a clang-built
// BPF object with go test, without root.
//
// bpf/counter.bpf.c is a small XDP program: it counts IPv4 packets per IP
// protocol in the hash map "packets" and drops the protocol the .rodata
// constant blocked_proto names (ICMP by default). make bpf builds
// bpf/counter.bpf.o from it with clang -g, so that the object carries the
// .BTF.ext line info coverage needs; the object is committed beside its
// source.
//
// counter_test.go shows the four things such a test does:
//
//   - TestCounter loads the object with prog.LoadCollectionSpec and runs
//     it in the interpreter (interp.NewCollection) and the amd64 JIT
//     (jit.NewCollection) on hand-built packets, asserting on verdicts
//     and on the contents of the userspace map, after setting a .rodata
//     constant before load as a loader would;
//   - TestKernelAgrees runs the same packets through package bpftest,
//     which compares verdicts, packets and every map of interp, jit and,
//     when the process may (root), the kernel's BPF_PROG_TEST_RUN; without
//     root the kernel part skips with the reason;
//   - TestCoverage writes an lcov file of the C lines the packets ran
//     (interp.NewCoverage, Coverage.WriteLCOV), which
//     "genhtml -o report counter.lcov" turns into an HTML report.
//
// Run it with:
//
//	go test ./examples/unittest/
//	sudo go test ./examples/unittest/   # the kernel too
//
// Package unittest may import the standard library (it holds only this
// doc); its tests import prog, interp, jit, bpftest and internal/testenv.
package unittest
