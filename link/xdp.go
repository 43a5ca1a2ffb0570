//go:build linux

package link

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// XDPMode is where an XDP program runs.
type XDPMode int

const (
	// XDPDefault lets the kernel choose: driver mode if the driver
	// supports it, else generic.
	XDPDefault XDPMode = iota
	// XDPGeneric runs the program on the skb, after the driver
	// (XDP_FLAGS_SKB_MODE); every interface supports it.
	XDPGeneric
	// XDPDriver runs the program in the driver, before an skb exists
	// (XDP_FLAGS_DRV_MODE); the driver must implement ndo_bpf.
	XDPDriver
	// XDPOffload runs the program on the NIC (XDP_FLAGS_HW_MODE); the
	// program must have been loaded for that device.
	XDPOffload
)

// String names the mode as ip-link does ("xdpgeneric", "xdpdrv",
// "xdpoffload"), or "default".
func (m XDPMode) String() string {
	switch m {
	case XDPDefault:
		return "default mode"
	case XDPGeneric:
		return "generic (skb) mode"
	case XDPDriver:
		return "driver mode"
	case XDPOffload:
		return "offload mode"
	}
	return fmt.Sprintf("XDPMode(%d)", int(m))
}

func (m XDPMode) flags() (uint32, error) {
	switch m {
	case XDPDefault:
		return 0, nil
	case XDPGeneric:
		return sys.XDPFlagSKBMode, nil
	case XDPDriver:
		return sys.XDPFlagDrvMode, nil
	case XDPOffload:
		return sys.XDPFlagHWMode, nil
	}
	return 0, fmt.Errorf("unknown XDP mode %d: %w", int(m), unix.EINVAL)
}

// XDPOptions tunes AttachXDP. A nil *XDPOptions means the defaults.
type XDPOptions struct {
	// Mode is where the program runs; XDPDefault lets the kernel choose.
	Mode XDPMode
}

// AttachXDP attaches an XDP program to the network interface with index
// ifindex, in the calling thread's network namespace, through
// BPF_LINK_CREATE (Linux 5.9+). Close detaches it.
//
// An interface holds one XDP link per mode; attaching a second one fails
// with EBUSY: swap the program with Link.Update instead, which is
// atomic. A mode the driver lacks gives an error that names the mode and
// wraps ErrNotSupported. Look interfaces up by name with
// net.InterfaceByName.
func AttachXDP(p *prog.Program, ifindex int, opts *XDPOptions) (Link, error) {
	if opts == nil {
		opts = &XDPOptions{}
	}
	what := fmt.Sprintf("%s on ifindex %d", opts.Mode, ifindex)
	fail := func(err error) error { return fmt.Errorf("attach XDP %s: %w", what, err) }
	if err := checkInterfaceAttach(p, "XDP", prog.XDP, ifindex); err != nil {
		return nil, fail(err)
	}
	flags, err := opts.Mode.flags()
	if err != nil {
		return nil, fail(err)
	}
	attr := sys.LinkCreateAttr{
		ProgFD:     uint32(p.FD()),
		TargetFD:   uint32(ifindex),
		AttachType: sys.AttachXDP,
		Flags:      flags,
	}
	l, err := linkCreate(&attr, p, what)
	if err != nil {
		if e := noInterface(ifindex); e != nil {
			return nil, fail(e)
		}
		return nil, fail(xdpError(err, opts.Mode))
	}
	return l, nil
}

// xdpError explains the errnos dev_xdp_attach returns.
func xdpError(err error, mode XDPMode) error {
	switch {
	case errors.Is(err, unix.ENODEV):
		return fmt.Errorf("no such interface in this network namespace: %w", err)
	case errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("the driver does not support XDP in %s: %w: %w", mode, ErrNotSupported, err)
	case errors.Is(err, unix.EBUSY), errors.Is(err, unix.EEXIST):
		return fmt.Errorf("the interface already has an XDP program in this or another mode (use Link.Update to replace it): %w", err)
	case mode == XDPOffload && errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%s needs a NIC that offloads XDP and a program loaded for it: %w: %w", mode, ErrNotSupported, err)
	}
	return err
}
