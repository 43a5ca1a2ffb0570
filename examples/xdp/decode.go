//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Methods in the order of the counts map's slots (enum http_method in
// bpf/xdp_http.c).
var methods = []string{"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"}

// methodIndex returns m's slot in the counts map, or -1.
func methodIndex(m string) int {
	for i, x := range methods {
		if x == m {
			return i
		}
	}
	return -1
}

// eventHeaderSize is sizeof(struct http_event).
const eventHeaderSize = 16

// maxCapture is MAX_CAPTURE in bpf/xdp_http.c.
const maxCapture = 512

// event is one perf record of xdp_http: struct http_event and the
// captured packet bytes that the kernel appended to it.
type event struct {
	pktLen     uint32 // length of the whole packet
	l3Off      uint16 // offset of the IP header in frame
	payloadOff uint16 // offset of the TCP payload in frame
	ipVersion  uint8
	method     uint8 // index into methods
	frame      []byte
}

// parseEvent splits a perf record's raw sample. The sample may end with
// padding (perf.Record.RawSample); cap_len says where the frame ends.
func parseEvent(raw []byte) (event, error) {
	if len(raw) < eventHeaderSize {
		return event{}, fmt.Errorf("event of %d bytes, shorter than its %d-byte header", len(raw), eventHeaderSize)
	}
	le := binary.LittleEndian // the BPF object is little-endian (bpfel)
	e := event{
		pktLen:     le.Uint32(raw[0:]),
		l3Off:      le.Uint16(raw[8:]),
		payloadOff: le.Uint16(raw[10:]),
		ipVersion:  raw[12],
		method:     raw[13],
	}
	capLen := le.Uint32(raw[4:])
	if capLen > maxCapture || capLen > e.pktLen || int(capLen) > len(raw)-eventHeaderSize {
		return event{}, fmt.Errorf("event claims %d captured bytes of a %d-byte packet; the record holds %d", capLen, e.pktLen, len(raw)-eventHeaderSize)
	}
	if int(e.method) >= len(methods) {
		return event{}, fmt.Errorf("event with method %d, which the program does not define", e.method)
	}
	e.frame = raw[eventHeaderSize : eventHeaderSize+capLen]
	return e, nil
}

// request is what the tracer prints for one HTTP request.
type request struct {
	src, dst netip.AddrPort
	method   string
	path     string
	host     string // "" when the captured bytes hold no Host header
	// truncated is set when the capture ended inside the request line or
	// headers.
	truncated bool
}

func (r request) String() string {
	host := r.host
	if host == "" {
		host = "-"
		if r.truncated {
			host = "(not captured)"
		}
	}
	return fmt.Sprintf("%-21s -> %-21s %-7s %-28s Host: %s", r.src, r.dst, r.method, r.path, host)
}

// decodeEvent turns an event into a request, checking the program's
// offsets and method against the tracer's own parse of the frame.
func decodeEvent(e event) (request, error) {
	r, payloadOff, err := parseFrame(e.frame)
	if err != nil {
		return request{}, err
	}
	if payloadOff != int(e.payloadOff) || e.l3Off != 14 {
		return request{}, fmt.Errorf("program put the payload at %d (IP at %d), the frame has it at %d", e.payloadOff, e.l3Off, payloadOff)
	}
	if want := methods[e.method]; r.method != want {
		return request{}, fmt.Errorf("program counted %s, the payload starts with %q", want, r.method)
	}
	return r, nil
}

var errNotHTTP = errors.New("not an HTTP request")

// parseFrame parses an Ethernet frame holding IPv4 or IPv6 (without
// extension headers), TCP and the start of an HTTP request, as
// xdp_http.c does. It returns the request and the payload's offset.
func parseFrame(f []byte) (request, int, error) {
	var r request
	if len(f) < 14 {
		return r, 0, fmt.Errorf("frame of %d bytes: %w", len(f), errNotHTTP)
	}
	be := binary.BigEndian
	off := 14
	var proto byte
	var src, dst netip.Addr
	switch be.Uint16(f[12:]) {
	case 0x0800:
		if len(f) < off+20 || f[off]>>4 != 4 || f[off]&0xf < 5 {
			return r, 0, fmt.Errorf("bad IPv4 header: %w", errNotHTTP)
		}
		proto = f[off+9]
		src, _ = netip.AddrFromSlice(f[off+12 : off+16])
		dst, _ = netip.AddrFromSlice(f[off+16 : off+20])
		off += int(f[off]&0xf) * 4
	case 0x86dd:
		if len(f) < off+40 {
			return r, 0, fmt.Errorf("bad IPv6 header: %w", errNotHTTP)
		}
		proto = f[off+6]
		src, _ = netip.AddrFromSlice(f[off+8 : off+24])
		dst, _ = netip.AddrFromSlice(f[off+24 : off+40])
		off += 40
	default:
		return r, 0, fmt.Errorf("ethertype %#04x: %w", be.Uint16(f[12:]), errNotHTTP)
	}
	if proto != 6 || len(f) < off+20 || f[off+12]>>4 < 5 {
		return r, 0, fmt.Errorf("no TCP header: %w", errNotHTTP)
	}
	r.src = netip.AddrPortFrom(src, be.Uint16(f[off:]))
	r.dst = netip.AddrPortFrom(dst, be.Uint16(f[off+2:]))
	off += int(f[off+12]>>4) * 4
	if off > len(f) {
		return r, 0, fmt.Errorf("TCP header longer than the frame: %w", errNotHTTP)
	}
	if err := parseHTTP(f[off:], &r); err != nil {
		return r, 0, err
	}
	return r, off, nil
}

// parseHTTP reads the request line and the Host header of payload, which
// may be cut short by the capture.
func parseHTTP(payload []byte, r *request) error {
	line, rest, complete := bytes.Cut(payload, []byte("\r\n"))
	method, target, ok := strings.Cut(string(line), " ")
	if !ok || methodIndex(method) < 0 {
		return fmt.Errorf("payload starts with %q: %w", truncate(line, 16), errNotHTTP)
	}
	r.method = method
	r.path, _, _ = strings.Cut(target, " ")
	if !complete {
		r.truncated = true
		return nil
	}
	for {
		var h []byte
		h, rest, complete = bytes.Cut(rest, []byte("\r\n"))
		if !complete {
			r.truncated = true
			return nil
		}
		if len(h) == 0 {
			return nil // end of the headers
		}
		name, value, ok := strings.Cut(string(h), ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "Host") {
			r.host = strings.TrimSpace(value)
			return nil
		}
	}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
