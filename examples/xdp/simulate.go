//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
)

// simulate is the unprivileged fallback. It loads the embedded object
// into interp as a collection (interp.NewCollection: the program with
// userspace maps events and counts), runs its XDP program on the demo's
// requests, built in memory as the frames the client sends, reads the
// perf events the program emitted and the per-method counters from the
// userspace maps, and prints them as the privileged path does.
func simulate(cfg config, w io.Writer) error {
	spec, err := loadSpec()
	if err != nil {
		return err
	}
	ps := spec.Programs[programName]
	fmt.Fprintf(w, "object: bpf/xdp_http.o parses without privileges: program %s (%s, section %q, %d instructions), maps %s (%s) and %s (%s, %d entries)\n",
		ps.Name, ps.Type, ps.SectionName, len(ps.Instructions),
		eventsMap, spec.Maps[eventsMap].Type, countsMap, spec.Maps[countsMap].Type, spec.Maps[countsMap].MaxEntries)
	coll, err := interp.NewCollection(spec, nil)
	if err != nil {
		return fmt.Errorf("interp: %w", err)
	}
	p := coll.Programs[programName]
	events, ok := coll.Maps[eventsMap].(*maps.PerfEventArray)
	if !ok {
		return fmt.Errorf("interp: map %s is a %T, not a perf event array", eventsMap, coll.Maps[eventsMap])
	}
	fmt.Fprintf(w, "running %s in interp (no kernel) on the same %d requests, built in memory as the client's frames:\n", programName, cfg.requests)
	addr := netip.AddrPortFrom(serverIP, serverPort)
	printed := 0
	for k := 0; k < cfg.requests; k++ {
		frame, err := requestFrame(k, netip.AddrPortFrom(clientIP, uint16(40000+k)), addr)
		if err != nil {
			return err
		}
		action, _, err := p.RunXDP(frame, nil)
		if err != nil {
			return fmt.Errorf("frame %d: %w", k+1, err)
		}
		if action != interp.XDPPass {
			fmt.Fprintf(w, "note: request %d: action %d, not XDP_PASS\n", k+1, action)
		}
		n := 0
		for {
			rec, err := events.Read()
			if errors.Is(err, maps.ErrNoRecord) {
				break
			}
			if err != nil {
				return err
			}
			if rec.Sample == nil {
				continue
			}
			r, err := sampleRequest(rec.Sample, rec.CPU)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, r)
			n++
		}
		if n == 0 {
			fmt.Fprintf(w, "no event for request %d\n", k+1)
		}
		printed += n
	}
	counts := make([]uint64, len(methods))
	for i := range methods {
		v := coll.Maps[countsMap].LookupRaw(binary.NativeEndian.AppendUint32(nil, uint32(i)), 0)
		if len(v) != 8 {
			return fmt.Errorf("map %s[%d]: no value", countsMap, i)
		}
		counts[i] = binary.NativeEndian.Uint64(v)
	}
	fmt.Fprintf(w, "per-method counters (map %s): %s\n", countsMap, formatCounts(counts))
	fmt.Fprintf(w, "%d requests traced in interp\n", printed)
	return nil
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
