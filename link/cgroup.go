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
