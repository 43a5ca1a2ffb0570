//go:build linux

package rtnl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// The attributes of a cls_bpf filter (TCA_BPF_FD 6, TCA_BPF_NAME 7,
// TCA_BPF_FLAGS 8) survive a round trip.
func TestAttrsRoundTrip(t *testing.T) {
	var a Attrs
	a.Str(unix.TCA_KIND, "bpf")
	a.Nested(unix.TCA_OPTIONS, func(o *Attrs) {
		o.U32(6, 7)
		o.Str(7, "abcde") // 6 bytes with the NUL: padded to 8
	})
	if len(a.B)%4 != 0 {
		t.Fatalf("attributes are %d bytes, not 4-aligned", len(a.B))
	}
	as := ParseAttrs(a.B)
	if len(as) != 2 || string(FindAttr(as, unix.TCA_KIND)) != "bpf\x00" {
		t.Fatalf("parsed %+v", as)
	}
	if typ := binary.NativeEndian.Uint16(a.B[8+2:]); typ&unix.NLA_F_NESTED == 0 {
		t.Fatalf("nested attribute type %#x lacks NLA_F_NESTED", typ)
	}
	in := ParseAttrs(FindAttr(as, unix.TCA_OPTIONS))
	if fd := FindAttr(in, 6); len(fd) != 4 || binary.NativeEndian.Uint32(fd) != 7 {
		t.Fatalf("TCA_BPF_FD = %v", fd)
	}
	if name := unix.ByteSliceToString(FindAttr(in, 7)); name != "abcde" {
		t.Fatalf("TCA_BPF_NAME = %q", name)
	}
	if FindAttr(in, 8) != nil {
		t.Fatal("found an attribute that is not there")
	}
}

// Attributes come from the kernel, but a malformed tail must neither
// panic nor be read past.
func TestParseAttrsMalformed(t *testing.T) {
	var a Attrs
	a.U32(1, 1)
	good := a.B
	for _, b := range [][]byte{
		nil,
		{1, 0},
		{3, 0, 1, 0},                             // length below the header
		{200, 0, 1, 0, 0, 0, 0, 0},               // length past the end
		append(bytes.Clone(good), 9, 0, 2, 0),    // second attribute truncated
		append(bytes.Clone(good), 0xff, 0xff),    // stray bytes
		append(bytes.Clone(good), 5, 0, 2, 0, 1), // unpadded last attribute
	} {
		as := ParseAttrs(b)
		for _, x := range as {
			if len(x.Data) > len(b) {
				t.Fatalf("%v: attribute longer than the input", b)
			}
		}
	}
	if as := ParseAttrs(append(bytes.Clone(good), 5, 0, 2, 0, 1)); len(as) != 2 || len(as[1].Data) != 1 {
		t.Fatalf("unpadded last attribute: %+v", as)
	}
}

// A dump of the interfaces (RTM_GETLINK, no privilege needed) lists lo,
// and a request the kernel refuses returns its errno.
func TestRequest(t *testing.T) {
	c, err := Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs, err := c.Request(unix.RTM_GETLINK, unix.NLM_F_DUMP, make([]byte, unix.SizeofIfInfomsg))
	if err != nil {
		t.Fatal(err)
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range msgs {
		if m.Type == unix.RTM_NEWLINK && len(m.Data) >= unix.SizeofIfInfomsg &&
			int(int32(binary.NativeEndian.Uint32(m.Data[4:]))) == lo.Index &&
			string(FindAttr(ParseAttrs(m.Data[unix.SizeofIfInfomsg:]), unix.IFLA_IFNAME)) == "lo\x00" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the dump of %d messages lacks lo", len(msgs))
	}
	// Deleting interface index 0x7fffffff: no such device.
	msg := make([]byte, unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(msg[4:], 0x7fffffff)
	_, err = c.Request(unix.RTM_DELLINK, 0, msg)
	var nerr *Error
	if !errors.As(err, &nerr) || !(errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EPERM)) {
		t.Fatalf("deleting a missing interface: %v, want ENODEV (or EPERM unprivileged) as *Error", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}
