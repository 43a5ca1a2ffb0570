//go:build linux

// Command xdp is purebpf's XDP HTTP tracer demo (make xdp-demo). It loads
// the clang-built object bpf/xdp_http.o (embedded; source
// bpf/xdp_http.c, rebuilt by make bpf) with prog's collection loader,
// creates two throwaway network namespaces joined by a veth pair
// (10.201.0.1/24 on the server's end xdp0, 10.201.0.2/24 on the client's
// xdp1), attaches the program to xdp0 in generic mode with link.AttachXDP,
// starts an HTTP server on 10.201.0.1:8080 and sends it a bounded number of
// requests from the client namespace. For every request the program sees
// it sends the packet's first bytes through the perf event array
// "events"; the tracer reads them with perf.PerfReader and prints one line
// per request: source, destination, method, path and Host header. It ends
// with the program's per-method counters (the array "counts") and
// detaches.
//
// The namespaces have no names: the veth pair, the addresses and the XDP
// attachment live only inside them, and the namespaces only as long as
// the process holds them, so nothing is left behind on any exit, Ctrl-C
// (SIGINT) and SIGTERM included, which stop the requests and clean up.
// No pin is made. All traffic stays between the two namespaces.
//
// Without root (CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN), or with
// -simulate, it says what is missing and falls back to what works
// unprivileged: it loads the same object into package interp as a
// collection (interp.NewCollection, with userspace maps), runs its XDP
// program (interp.VM.RunXDP) on the same requests, built in memory as the
// frames the client sends, reads the perf events the program emits and
// the per-method counters from the userspace maps, and prints them in the
// privileged path's format.
//
//	go run ./examples/xdp [-requests 8] [-timeout 30s] [-simulate]
//
// Command xdp may import prog, link, perf, interp, interp/maps, internal packages, the
// standard library and golang.org/x/sys/unix.
package main
