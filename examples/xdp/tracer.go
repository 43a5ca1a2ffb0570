//go:build linux

package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/internal/netns"
	"github.com/purebpf/purebpf/link"
	"github.com/purebpf/purebpf/perf"
	"github.com/purebpf/purebpf/prog"
)

//go:embed bpf/xdp_http.o
var object []byte

// Names in the object.
const (
	programName = "xdp_http"
	eventsMap   = "events"
	countsMap   = "counts"
)

// The demo's network: two namespaces joined by a veth pair.
const (
	serverIf    = "xdp0"
	clientIf    = "xdp1"
	serverPort  = 8080
	maxRequests = 1000
)

var (
	serverIP = netip.MustParseAddr("10.201.0.1")
	clientIP = netip.MustParseAddr("10.201.0.2")
)

// config is what the flags choose.
type config struct {
	requests int
	timeout  time.Duration
	interval time.Duration
	simulate bool
}

// errNoPrivilege marks a step that failed for lack of privilege.
var errNoPrivilege = errors.New("not privileged")

// errInterrupted is returned when the run was cut short by a signal or
// the timeout; everything was cleaned up all the same.
var errInterrupted = errors.New("interrupted")

func isPermission(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, os.ErrPermission)
}

// needs wraps err as errNoPrivilege, naming what was missing, when it is
// a permission error.
func needs(what string, err error) error {
	if isPermission(err) {
		return fmt.Errorf("%w: %s: %v", errNoPrivilege, what, err)
	}
	return err
}

// loadSpec parses the embedded object.
func loadSpec() (*prog.CollectionSpec, error) {
	spec, err := prog.LoadCollectionSpecFromReader(bytes.NewReader(object))
	if err != nil {
		return nil, fmt.Errorf("bpf/xdp_http.o: %w", err)
	}
	if spec.Programs[programName] == nil || spec.Maps[eventsMap] == nil || spec.Maps[countsMap] == nil {
		return nil, fmt.Errorf("bpf/xdp_http.o lacks program %s or maps %s and %s", programName, eventsMap, countsMap)
	}
	return spec, nil
}

// run traces in the kernel, or falls back to the in-memory decoding when
// asked to or when tracing is not permitted.
func run(ctx context.Context, cfg config, w io.Writer) error {
	if !cfg.simulate {
		err := trace(ctx, cfg, w)
		if !errors.Is(err, errNoPrivilege) {
			return err
		}
		fmt.Fprintf(w, "tracing needs root (CAP_BPF to load, CAP_NET_ADMIN to attach XDP, CAP_SYS_ADMIN for network namespaces): %v\n", err)
		fmt.Fprintf(w, "falling back to what runs unprivileged:\n")
	}
	return simulate(cfg, w)
}

// demoRequests are the requests the client sends, in turn.
var demoRequests = []struct{ method, path, host, body string }{
	{"GET", "/", "shop.example", ""},
	{"POST", "/api/orders", "api.shop.example", `{"item":42,"qty":1}`},
	{"GET", "/static/logo.svg?v=3", "cdn.shop.example", ""},
	{"PUT", "/api/orders/17", "api.shop.example", `{"qty":2}`},
	{"PATCH", "/api/orders/17", "api.shop.example", `{"note":"gift"}`},
	{"HEAD", "/health", "shop.example", ""},
	{"OPTIONS", "/api/orders", "api.shop.example", ""},
	{"DELETE", "/api/orders/17", "api.shop.example", ""},
}

// newRequest builds the k-th request of the demo for the server at addr.
func newRequest(ctx context.Context, k int, addr string) (*http.Request, error) {
	d := demoRequests[k%len(demoRequests)]
	var body io.Reader
	if d.body != "" {
		body = strings.NewReader(d.body)
	}
	req, err := http.NewRequestWithContext(ctx, d.method, "http://"+addr+d.path, body)
	if err != nil {
		return nil, err
	}
	req.Host = d.host
	return req, nil
}

// trace runs the demo in the kernel.
func trace(ctx context.Context, cfg config, w io.Writer) (err error) {
	spec, err := loadSpec()
	if err != nil {
		return err
	}
	coll, err := prog.NewCollection(spec, nil)
	if err != nil {
		return needs("loading the object needs CAP_BPF", err)
	}
	defer coll.Close()
	p := coll.Programs[programName]

	server, err := netns.New()
	if err != nil {
		return needs("creating network namespaces needs CAP_SYS_ADMIN", err)
	}
	defer server.Close()
	client, err := netns.New()
	if err != nil {
		return needs("creating network namespaces needs CAP_SYS_ADMIN", err)
	}
	defer client.Close()
	if err := server.AddVeth(serverIf, client, clientIf); err != nil {
		return err
	}
	ifindex, err := server.Configure(serverIf, serverIP.AsSlice(), 24)
	if err != nil {
		return err
	}
	if _, err := client.Configure(clientIf, clientIP.AsSlice(), 24); err != nil {
		return err
	}

	// The interface index is resolved in the calling thread's namespace:
	// attach from inside the server's.
	var l link.Link
	err = server.Do(func() (err error) {
		l, err = link.AttachXDP(p, ifindex, &link.XDPOptions{Mode: link.XDPGeneric})
		return err
	})
	if err != nil {
		return needs("attaching XDP needs CAP_NET_ADMIN", err)
	}
	defer func() {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	rd, err := perf.NewPerfReader(coll.Maps[eventsMap], perf.PerfReaderOptions{})
	if err != nil {
		return err
	}
	defer rd.Close()

	// The HTTP server, listening in the server's namespace.
	var ln net.Listener
	addr := netip.AddrPortFrom(serverIP, serverPort).String()
	if err := server.Do(func() (err error) { ln, err = net.Listen("tcp4", addr); return err }); err != nil {
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
			fmt.Fprintf(rw, "%s %s seen\n", r.Method, r.URL.Path)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		<-served
	}()

	// The client dials from its namespace; one connection per request, so
	// that each line shows its own source port.
	httpc := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, address string) (c net.Conn, err error) {
				err = client.Do(func() (err error) {
					c, err = (&net.Dialer{Timeout: 3 * time.Second}).DialContext(ctx, network, address)
					return err
				})
				return c, err
			},
		},
	}

	// The reader hands decoded requests to this goroutine, which prints.
	seen := make(chan request, 16)
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() { readErr <- readEvents(rd, seen, stop) }()
	stopReader := func() error {
		close(stop)
		rd.Close()
		return <-readErr
	}
	stopped := false
	defer func() {
		if !stopped {
			stopReader()
		}
	}()

	fmt.Fprintf(w, "xdp_http attached to %s (ifindex %d, generic mode) in a new network namespace; HTTP server on %s, client %s on the veth peer\n",
		serverIf, ifindex, addr, clientIP)
	sent := make([]uint64, len(methods))
	printed := 0
	interrupted := false
	for k := 0; k < cfg.requests; k++ {
		if ctx.Err() != nil {
			interrupted = true
			break
		}
		req, err := newRequest(ctx, k, addr)
		if err != nil {
			return err
		}
		resp, err := httpc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				interrupted = true
				break
			}
			return fmt.Errorf("request %d (%s %s): %w", k+1, req.Method, req.URL.Path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		sent[methodIndex(req.Method)]++
		// The event was sent before the server read the request; wait
		// for it so that the lines follow the requests.
		select {
		case r := <-seen:
			fmt.Fprintln(w, r)
			printed++
		case <-time.After(2 * time.Second):
			fmt.Fprintf(w, "no event for request %d (%s %s) within 2s\n", k+1, req.Method, req.URL.Path)
		case <-ctx.Done():
		}
		if cfg.interval > 0 {
			select {
			case <-time.After(cfg.interval):
			case <-ctx.Done():
			}
		}
	}
	// Drain late events, then stop the reader.
	for drained := false; !drained; {
		select {
		case r := <-seen:
			fmt.Fprintln(w, r)
			printed++
		case <-time.After(200 * time.Millisecond):
			drained = true
		}
	}
	stopped = true
	if err := stopReader(); err != nil {
		return err
	}

	counts, err := readCounts(coll.Maps[countsMap])
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "per-method counters (map %s): %s\n", countsMap, formatCounts(counts))
	for i := range methods {
		if counts[i] != sent[i] {
			fmt.Fprintf(w, "note: %s counted %d, sent %d\n", methods[i], counts[i], sent[i])
		}
	}
	if lost := rd.Lost(); lost > 0 {
		fmt.Fprintf(w, "note: %d events lost in the perf rings\n", lost)
	}
	fmt.Fprintf(w, "%d requests traced; detaching and removing the veth pair and namespaces\n", printed)
	if interrupted {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w by -timeout %v after %d requests: detached and cleaned up: %w", errInterrupted, cfg.timeout, printed, ctx.Err())
		}
		return fmt.Errorf("%w after %d requests: detached and cleaned up", errInterrupted, printed)
	}
	return nil
}

// readEvents decodes perf records into seen until rd or stop is closed.
func readEvents(rd *perf.PerfReader, seen chan<- request, stop <-chan struct{}) error {
	var rec perf.Record
	for {
		if err := rd.ReadInto(&rec); err != nil {
			if errors.Is(err, perf.ErrClosed) {
				return nil
			}
			return fmt.Errorf("reading events: %w", err)
		}
		if rec.LostSamples > 0 {
			continue // counted by rd.Lost
		}
		r, err := sampleRequest(rec.RawSample, rec.CPU)
		if err != nil {
			return err
		}
		select {
		case seen <- r:
		case <-stop:
			return nil
		}
	}
}

// sampleRequest decodes the request in a perf sample the program sent
// from cpu.
func sampleRequest(raw []byte, cpu int) (request, error) {
	e, err := parseEvent(raw)
	if err != nil {
		return request{}, err
	}
	r, err := decodeEvent(e)
	if err != nil {
		return request{}, fmt.Errorf("event on CPU %d: %w", cpu, err)
	}
	return r, nil
}

// readCounts reads the per-method counters.
func readCounts(m *prog.Map) ([]uint64, error) {
	counts := make([]uint64, len(methods))
	for i := range methods {
		if err := m.Lookup(uint32(i), &counts[i]); err != nil {
			return nil, fmt.Errorf("map %s[%d]: %w", countsMap, i, err)
		}
	}
	return counts, nil
}

func formatCounts(counts []uint64) string {
	var b strings.Builder
	for i, n := range counts {
		if i > 0 {
			b.WriteString("  ")
		}
		fmt.Fprintf(&b, "%s %d", methods[i], n)
	}
	return b.String()
}
