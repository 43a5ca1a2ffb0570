//go:build linux

package link

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestXDPPassDropRewrite(t *testing.T) {
	for _, mode := range []XDPMode{XDPGeneric, XDPDriver} {
		t.Run(mode.String(), func(t *testing.T) {
			v := newVeth(t)
			pass := xdpProgram(t, "xdp_pass", v.port, xdpPass)
			drop := xdpProgram(t, "xdp_drop", v.port, xdpDrop)
			rewrite := xdpProgram(t, "xdp_rewrite", v.port, xdpRewrite)

			var l Link
			if err := inNetns(v.nsB, func() (err error) {
				l, err = AttachXDP(pass, v.ifB, &XDPOptions{Mode: mode})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			info, err := l.Info()
			if err != nil {
				t.Fatal(err)
			}
			pinfo, _ := pass.Info()
			if info.Type != TypeXDP || info.Ifindex != v.ifB || info.ProgramID != pinfo.ID || info.ID == 0 {
				t.Fatalf("Info = %+v, want xdp on ifindex %d running program %d", info, v.ifB, pinfo.ID)
			}

			if got := v.exchange(t, 3, "pass"); len(got) != 3 {
				t.Fatalf("pass program: %d of 3 datagrams arrived", len(got))
			}
			if n := counter(t, pass, 0); n != 3 {
				t.Fatalf("pass program counted %d datagrams, want 3", n)
			}

			// Replacement: swap in the drop program atomically.
			if err := l.Update(drop); err != nil {
				t.Fatal(err)
			}
			if got := v.exchange(t, 3, "drop"); len(got) != 0 {
				t.Fatalf("drop program: %d datagrams arrived: %q", len(got), got)
			}
			if n := counter(t, drop, 0); n != 3 {
				t.Fatalf("drop program counted %d datagrams, want 3", n)
			}

			if err := l.Update(rewrite); err != nil {
				t.Fatal(err)
			}
			got := v.exchange(t, 2, "rewrite")
			if len(got) != 2 {
				t.Fatalf("rewrite program: %d of 2 datagrams arrived", len(got))
			}
			for _, s := range got {
				if !strings.HasPrefix(s, "Xewrite ") {
					t.Fatalf("datagram %q was not rewritten", s)
				}
			}
			if info, _ := l.Info(); info == nil || info.ProgramID == pinfo.ID {
				t.Fatalf("after Update, Info still reports the first program")
			}

			// A second XDP attachment on the same interface fails.
			err = inNetns(v.nsB, func() error {
				l2, err := AttachXDP(pass, v.ifB, &XDPOptions{Mode: mode})
				if err == nil {
					l2.Close()
				}
				return err
			})
			if !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EEXIST) {
				t.Fatalf("second attach: %v, want EBUSY", err)
			}

			// Close detaches: datagrams arrive untouched again.
			id := info.ID
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			waitGone(t, id)
			got = v.exchange(t, 2, "after")
			if len(got) != 2 || !strings.HasPrefix(got[0], "after ") {
				t.Fatalf("after Close: %q, want two untouched datagrams", got)
			}
			if err := l.Close(); !errors.Is(err, os.ErrClosed) {
				t.Fatalf("second Close: %v, want os.ErrClosed", err)
			}
		})
	}
}

func TestXDPBadInput(t *testing.T) {
	v := newVeth(t)
	p := xdpProgram(t, "xdp_pass", v.port, xdpPass)

	t.Run("unknown interface", func(t *testing.T) {
		err := inNetns(v.nsB, func() error {
			_, err := AttachXDP(p, 4242, nil)
			return err
		})
		if !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), "ifindex 4242") {
			t.Fatalf("got %v, want ENODEV naming ifindex 4242", err)
		}
	})
	t.Run("wrong program type", func(t *testing.T) {
		_, err := AttachXDP(socketFilter(t), v.ifB, nil)
		if !errors.Is(err, ErrProgramType) || !strings.Contains(err.Error(), "socket_filter") || !strings.Contains(err.Error(), "xdp") {
			t.Fatalf("got %v, want ErrProgramType naming socket_filter and xdp", err)
		}
	})
	t.Run("mode the driver lacks", func(t *testing.T) {
		// lo has no ndo_bpf: no driver-mode XDP.
		err := inNetns(v.nsB, func() error {
			l, err := AttachXDP(p, 1, &XDPOptions{Mode: XDPDriver})
			if err == nil {
				l.Close()
			}
			return err
		})
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "driver mode") {
			t.Fatalf("got %v, want ErrNotSupported naming driver mode", err)
		}
		// veth cannot offload.
		err = inNetns(v.nsB, func() error {
			l, err := AttachXDP(p, v.ifB, &XDPOptions{Mode: XDPOffload})
			if err == nil {
				l.Close()
			}
			return err
		})
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "offload mode") {
			t.Fatalf("got %v, want ErrNotSupported naming offload mode", err)
		}
	})
	t.Run("closed program", func(t *testing.T) {
		q := xdpProgram(t, "xdp_closed", v.port, xdpPass)
		q.Close()
		_, err := AttachXDP(q, v.ifB, nil)
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("got %v, want os.ErrClosed", err)
		}
		var l Link
		if err := inNetns(v.nsB, func() (err error) {
			l, err = AttachXDP(p, v.ifB, &XDPOptions{Mode: XDPGeneric})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if err := l.Update(q); !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Update with a closed program: %v, want os.ErrClosed", err)
		}
		if err := l.Update(socketFilter(t)); !errors.Is(err, ErrProgramType) {
			t.Fatalf("Update with a socket filter: %v, want ErrProgramType", err)
		}
	})
	t.Run("bad mode", func(t *testing.T) {
		_, err := AttachXDP(p, v.ifB, &XDPOptions{Mode: 17})
		if !errors.Is(err, unix.EINVAL) {
			t.Fatalf("got %v, want EINVAL", err)
		}
	})
}
