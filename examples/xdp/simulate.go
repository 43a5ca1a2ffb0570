//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

// simulate is the unprivileged fallback. It parses the embedded object
// and offers its XDP program, with the maps it refers to, to interp. Today
// interp has no XDP context (issue 15) and refuses it; the fallback says
// so and then decodes the demo's requests, built in memory as the frames
// the client sends, with the tracer's own decoder (parseFrame), cut to the
// program's capture size. No BPF code runs in this path, and there are no
// counters to show.
func simulate(cfg config, w io.Writer) error {
	spec, err := loadSpec()
	if err != nil {
		return err
	}
	ps := spec.Programs[programName]
	fmt.Fprintf(w, "object: bpf/xdp_http.o parses without privileges: program %s (%s, section %q, %d instructions), maps %s (%s) and %s (%s, %d entries)\n",
		ps.Name, ps.Type, ps.SectionName, len(ps.Instructions),
		eventsMap, spec.Maps[eventsMap].Type, countsMap, spec.Maps[countsMap].Type, spec.Maps[countsMap].MaxEntries)
	if err := tryInterp(&ps.Spec); err != nil {
		fmt.Fprintf(w, "interp: cannot run it: %v\n", err)
	} else {
		fmt.Fprintf(w, "interp: loaded the program, but this example has no XDP runner to call yet\n")
	}
	fmt.Fprintf(w, "decoding the same %d requests, built in memory as the client's frames, with the tracer's decoder (the BPF program does not run here):\n", cfg.requests)
	addr := netip.AddrPortFrom(serverIP, serverPort)
	for k := 0; k < cfg.requests; k++ {
		frame, err := requestFrame(k, netip.AddrPortFrom(clientIP, uint16(40000+k)), addr)
		if err != nil {
			return err
		}
		r, _, err := parseFrame(frame[:min(len(frame), maxCapture)])
		if err != nil {
			return fmt.Errorf("frame %d: %w", k+1, err)
		}
		fmt.Fprintln(w, r)
	}
	return nil
}

// tryInterp offers the program to interp.
func tryInterp(spec *prog.Spec) error {
	_, err := interp.New(spec, nil)
	return err
}

// requestFrame builds the Ethernet frame carrying the k-th demo request
// from src to dst: IPv4 and TCP headers (PSH|ACK) and the request as Go's
// HTTP client writes it.
func requestFrame(k int, src, dst netip.AddrPort) ([]byte, error) {
	req, err := newRequest(context.Background(), k, dst.String())
	if err != nil {
		return nil, err
	}
	var payload bytes.Buffer
	if err := req.Write(&payload); err != nil {
		return nil, err
	}
	return tcpFrame(src, dst, payload.Bytes()), nil
}

// tcpFrame builds an Ethernet, IPv4 and TCP frame with payload.
func tcpFrame(src, dst netip.AddrPort, payload []byte) []byte {
	be := binary.BigEndian
	f := make([]byte, 14+20+20, 14+20+20+len(payload))
	copy(f[0:6], []byte{0x02, 0, 0, 0, 0, 1})  // destination MAC
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, 2}) // source MAC
	be.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	be.PutUint16(ip[2:], uint16(20+20+len(payload)))
	ip[6] = 0x40 // don't fragment
	ip[8], ip[9] = 64, 6
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(be.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	be.PutUint16(ip[10:], ^uint16(sum))
	tcp := f[34:54]
	be.PutUint16(tcp[0:], src.Port())
	be.PutUint16(tcp[2:], dst.Port())
	be.PutUint32(tcp[4:], 1)
	be.PutUint32(tcp[8:], 1)
	tcp[12] = 5 << 4
	tcp[13] = 0x18 // PSH, ACK
	be.PutUint16(tcp[14:], 65535)
	return append(f, payload...)
}
