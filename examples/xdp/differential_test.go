package main

import (
	"testing"

	"github.com/purebpf/purebpf/bpftest"
	"github.com/purebpf/purebpf/internal/testenv"
)

// The tracer's program gives the same verdicts, counts and perf events
// (the http_event header and the captured packet bytes) in the kernel,
// interp and jit, request after request, over the demo's HTTP requests, an
// IPv6 request and packets it must ignore. Without root only interp and
// jit are compared, and the test then skips (fails under CI=true).
func TestTracerDifferential(t *testing.T) {
	spec, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	mode := bpftest.KernelRequired
	if bpftest.KernelAvailable() != nil {
		mode = bpftest.KernelNever
	}
	h := bpftest.NewT(t, spec, programName, &bpftest.Options{Kernel: mode})
	var frames [][]byte
	for k := range demoRequests {
		f, err := requestFrame(k, testSrc, testDst)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	frames = append(frames, ipv6Frame(t, []byte("OPTIONS * HTTP/1.1\r\nHost: v6.example\r\n\r\n")))
	syn := tcpFrame(testSrc, testDst, nil)
	lower := tcpFrame(testSrc, testDst, []byte("get / HTTP/1.1\r\n\r\n"))
	frames = append(frames, syn, lower, syn[:14], syn[:14+20+10])
	events := 0
	for k, f := range frames {
		res := h.Check(t, bpftest.PacketInput(f))
		events += res.Records[eventsMap]
		if o := res.Outcomes[0][0]; o.Err != nil || o.Ret != xdpPass {
			t.Errorf("frame %d: %v", k, o)
		}
	}
	if events != len(demoRequests)+1 {
		t.Errorf("%d events, want one per request (%d)", events, len(demoRequests)+1)
	}
	if mode == bpftest.KernelNever {
		testenv.SkipOrFail(t, "not root: the tracer ran in interp and jit only: %v", bpftest.KernelAvailable())
	}
}
