//go:build linux

package link

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/sys"
)

// CgroupHook is where in a cgroup a program attaches: a kernel attach
// type together with the program type it takes.
type CgroupHook struct {
	attach sys.AttachType
	prog   prog.Type
	name   string
}

// Cgroup hooks.
var (
	// CgroupInetIngress runs a cgroup_skb program on every packet a
	// socket of the cgroup receives (BPF_CGROUP_INET_INGRESS); 1 lets it
	// through, 0 drops it.
	CgroupInetIngress = CgroupHook{sys.AttachCgroupInetIngress, prog.CgroupSKB, "cgroup_skb/ingress"}
	// CgroupInetEgress runs a cgroup_skb program on every packet a socket
	// of the cgroup sends (BPF_CGROUP_INET_EGRESS).
	CgroupInetEgress = CgroupHook{sys.AttachCgroupInetEgress, prog.CgroupSKB, "cgroup_skb/egress"}
	// CgroupSockCreate runs a cgroup_sock program when a process of the
	// cgroup creates an inet socket (BPF_CGROUP_INET_SOCK_CREATE); 0
	// fails socket(2) with EPERM.
	CgroupSockCreate = CgroupHook{sys.AttachCgroupInetSockCreate, prog.CgroupSock, "cgroup/sock_create"}
	// CgroupInet4Connect runs a cgroup_sock_addr program on connect(2)
	// to an IPv4 address (BPF_CGROUP_INET4_CONNECT); the program must be
	// loaded with that expected attach type. It may rewrite the address.
	CgroupInet4Connect = CgroupHook{sys.AttachCgroupInet4Connect, prog.CgroupSockAddr, "cgroup/connect4"}
	// CgroupInet6Connect is CgroupInet4Connect for IPv6.
	CgroupInet6Connect = CgroupHook{sys.AttachCgroupInet6Connect, prog.CgroupSockAddr, "cgroup/connect6"}

	// The other cgroup_sock_addr hooks: bind(2), sendmsg(2) and
	// recvmsg(2) on UDP, getpeername(2) and getsockname(2) (Linux 5.8+),
	// and the unix socket ones (Linux 6.7+). Each program must be loaded
	// with the hook's AttachType as its expected attach type.
	CgroupInet4Bind        = CgroupHook{sys.AttachCgroupInet4Bind, prog.CgroupSockAddr, "cgroup/bind4"}
	CgroupInet6Bind        = CgroupHook{sys.AttachCgroupInet6Bind, prog.CgroupSockAddr, "cgroup/bind6"}
	CgroupUDP4Sendmsg      = CgroupHook{sys.AttachCgroupUDP4Sendmsg, prog.CgroupSockAddr, "cgroup/sendmsg4"}
	CgroupUDP6Sendmsg      = CgroupHook{sys.AttachCgroupUDP6Sendmsg, prog.CgroupSockAddr, "cgroup/sendmsg6"}
	CgroupUDP4Recvmsg      = CgroupHook{sys.AttachCgroupUDP4Recvmsg, prog.CgroupSockAddr, "cgroup/recvmsg4"}
	CgroupUDP6Recvmsg      = CgroupHook{sys.AttachCgroupUDP6Recvmsg, prog.CgroupSockAddr, "cgroup/recvmsg6"}
	CgroupInet4Getpeername = CgroupHook{sys.AttachCgroupInet4Getpeername, prog.CgroupSockAddr, "cgroup/getpeername4"}
	CgroupInet6Getpeername = CgroupHook{sys.AttachCgroupInet6Getpeername, prog.CgroupSockAddr, "cgroup/getpeername6"}
	CgroupInet4Getsockname = CgroupHook{sys.AttachCgroupInet4Getsockname, prog.CgroupSockAddr, "cgroup/getsockname4"}
	CgroupInet6Getsockname = CgroupHook{sys.AttachCgroupInet6Getsockname, prog.CgroupSockAddr, "cgroup/getsockname6"}
	CgroupUnixConnect      = CgroupHook{sys.AttachCgroupUnixConnect, prog.CgroupSockAddr, "cgroup/connect_unix"}
	CgroupUnixSendmsg      = CgroupHook{sys.AttachCgroupUnixSendmsg, prog.CgroupSockAddr, "cgroup/sendmsg_unix"}
	CgroupUnixRecvmsg      = CgroupHook{sys.AttachCgroupUnixRecvmsg, prog.CgroupSockAddr, "cgroup/recvmsg_unix"}
	CgroupUnixGetpeername  = CgroupHook{sys.AttachCgroupUnixGetpeername, prog.CgroupSockAddr, "cgroup/getpeername_unix"}
	CgroupUnixGetsockname  = CgroupHook{sys.AttachCgroupUnixGetsockname, prog.CgroupSockAddr, "cgroup/getsockname_unix"}

	// The other cgroup_sock hooks: socket release (Linux 5.9+) and the
	// moment after bind(2) has chosen the address.
	CgroupSockRelease   = CgroupHook{sys.AttachCgroupInetSockRelease, prog.CgroupSock, "cgroup/sock_release"}
	CgroupInet4PostBind = CgroupHook{sys.AttachCgroupInet4PostBind, prog.CgroupSock, "cgroup/post_bind4"}
	CgroupInet6PostBind = CgroupHook{sys.AttachCgroupInet6PostBind, prog.CgroupSock, "cgroup/post_bind6"}
	// CgroupGetsockopt and CgroupSetsockopt run a cgroup_sockopt program
	// on getsockopt(2) and setsockopt(2) (Linux 5.3+).
	CgroupGetsockopt = CgroupHook{sys.AttachCgroupGetsockopt, prog.CgroupSockopt, "cgroup/getsockopt"}
	CgroupSetsockopt = CgroupHook{sys.AttachCgroupSetsockopt, prog.CgroupSockopt, "cgroup/setsockopt"}
	// CgroupSysctl runs a cgroup_sysctl program on /proc/sys accesses.
	CgroupSysctl = CgroupHook{sys.AttachCgroupSysctl, prog.CgroupSysctl, "cgroup/sysctl"}
	// CgroupDevice runs a cgroup_device program on device accesses.
	CgroupDevice = CgroupHook{sys.AttachCgroupDevice, prog.CgroupDevice, "cgroup/dev"}
	// CgroupSockOps runs a sock_ops program on TCP events.
	CgroupSockOps = CgroupHook{sys.AttachCgroupSockOps, prog.SockOps, "sockops"}
)

// String returns the hook's libbpf section name, e.g. "cgroup/connect4".
func (h CgroupHook) String() string {
	if h.name == "" {
		return "zero CgroupHook"
	}
	return h.name
}

// AttachType is the hook's kernel attach type; programs of type
// cgroup_sock_addr and some cgroup_sock hooks must be loaded with it as
// their expected attach type (ProgramOptions.ExpectedAttachType).
func (h CgroupHook) AttachType() prog.AttachType { return prog.AttachType(h.attach) }

// AttachCgroup attaches p to the cgroup (v2) directory at path through a
// BPF link (BPF_LINK_CREATE, Linux 5.7+). Links are multi-attach: other
// programs on the same hook keep running, and Close removes only this
// one. The program runs for every process in the cgroup and its
// descendants.
func AttachCgroup(p *prog.Program, path string, hook CgroupHook) (Link, error) {
	what := fmt.Sprintf("%s on cgroup %s", hook, path)
	fail := func(err error) error { return fmt.Errorf("attach %s: %w", what, err) }
	if hook.name == "" {
		return nil, fail(fmt.Errorf("use one of the Cgroup* hooks, such as CgroupInetIngress: %w", unix.EINVAL))
	}
	if err := checkProgram(p, hook.name, hook.prog); err != nil {
		return nil, fail(err)
	}
	dir, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fail(fmt.Errorf("open cgroup: %w", err))
	}
	defer unix.Close(dir)
	attr := sys.LinkCreateAttr{ProgFD: uint32(p.FD()), TargetFD: uint32(dir), AttachType: hook.attach}
	l, err := linkCreate(&attr, p, what)
	if err != nil {
		return nil, fail(err)
	}
	return l, nil
}
