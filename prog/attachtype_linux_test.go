//go:build linux

package prog

import (
	"testing"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/internal/testenv"
)

// Every AttachType constant is the running kernel's value of the
// enum bpf_attach_type entry it names, so no user converts a sys constant
// (the cgroup hooks used to exist only as sys.AttachCgroup*).
func TestAttachTypesMatchKernel(t *testing.T) {
	want := map[string]AttachType{
		"BPF_CGROUP_INET_INGRESS":      AttachCgroupInetIngress,
		"BPF_CGROUP_INET_EGRESS":       AttachCgroupInetEgress,
		"BPF_CGROUP_INET_SOCK_CREATE":  AttachCgroupInetSockCreate,
		"BPF_CGROUP_SOCK_OPS":          AttachCgroupSockOps,
		"BPF_CGROUP_DEVICE":            AttachCgroupDevice,
		"BPF_CGROUP_INET4_BIND":        AttachCgroupInet4Bind,
		"BPF_CGROUP_INET6_BIND":        AttachCgroupInet6Bind,
		"BPF_CGROUP_INET4_CONNECT":     AttachCgroupInet4Connect,
		"BPF_CGROUP_INET6_CONNECT":     AttachCgroupInet6Connect,
		"BPF_CGROUP_INET4_POST_BIND":   AttachCgroupInet4PostBind,
		"BPF_CGROUP_INET6_POST_BIND":   AttachCgroupInet6PostBind,
		"BPF_CGROUP_UDP4_SENDMSG":      AttachCgroupUDP4Sendmsg,
		"BPF_CGROUP_UDP6_SENDMSG":      AttachCgroupUDP6Sendmsg,
		"BPF_CGROUP_SYSCTL":            AttachCgroupSysctl,
		"BPF_CGROUP_UDP4_RECVMSG":      AttachCgroupUDP4Recvmsg,
		"BPF_CGROUP_UDP6_RECVMSG":      AttachCgroupUDP6Recvmsg,
		"BPF_CGROUP_GETSOCKOPT":        AttachCgroupGetsockopt,
		"BPF_CGROUP_SETSOCKOPT":        AttachCgroupSetsockopt,
		"BPF_CGROUP_INET_SOCK_RELEASE": AttachCgroupInetSockRelease,
		"BPF_CGROUP_INET4_GETPEERNAME": AttachCgroupInet4Getpeername,
		"BPF_CGROUP_INET6_GETPEERNAME": AttachCgroupInet6Getpeername,
		"BPF_CGROUP_INET4_GETSOCKNAME": AttachCgroupInet4Getsockname,
		"BPF_CGROUP_INET6_GETSOCKNAME": AttachCgroupInet6Getsockname,
		"BPF_CGROUP_UNIX_CONNECT":      AttachCgroupUnixConnect,
		"BPF_CGROUP_UNIX_SENDMSG":      AttachCgroupUnixSendmsg,
		"BPF_CGROUP_UNIX_RECVMSG":      AttachCgroupUnixRecvmsg,
		"BPF_CGROUP_UNIX_GETPEERNAME":  AttachCgroupUnixGetpeername,
		"BPF_CGROUP_UNIX_GETSOCKNAME":  AttachCgroupUnixGetsockname,
		"BPF_TRACE_RAW_TP":             AttachTraceRawTp,
		"BPF_TRACE_FENTRY":             AttachTraceFentry,
		"BPF_TRACE_FEXIT":              AttachTraceFexit,
		"BPF_MODIFY_RETURN":            AttachModifyReturn,
		"BPF_LSM_MAC":                  AttachLSMMac,
		"BPF_TRACE_ITER":               AttachTraceIter,
		"BPF_XDP":                      AttachXDP,
		"BPF_PERF_EVENT":               AttachPerfEvent,
		"BPF_TRACE_KPROBE_MULTI":       AttachTraceKprobeMulti,
		"BPF_NETFILTER":                AttachNetfilter,
		"BPF_TCX_INGRESS":              AttachTCXIngress,
		"BPF_TCX_EGRESS":               AttachTCXEgress,
		"BPF_TRACE_UPROBE_MULTI":       AttachTraceUprobeMulti,
		"BPF_NETKIT_PRIMARY":           AttachNetkitPrimary,
		"BPF_NETKIT_PEER":              AttachNetkitPeer,
		"BPF_TRACE_KPROBE_SESSION":     AttachTraceKprobeSession,
	}
	spec, err := btf.KernelSpec()
	if err != nil {
		testenv.SkipOrFail(t, "kernel BTF: %v", err)
	}
	typ, err := spec.TypeByName("bpf_attach_type", btf.KindEnum)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := typ.(*btf.Enum)
	if !ok {
		t.Fatalf("bpf_attach_type is %T", typ)
	}
	kernel := map[string]uint64{}
	for _, v := range e.Values {
		kernel[v.Name] = v.Value
	}
	for name, got := range want {
		k, ok := kernel[name]
		if !ok {
			t.Logf("%s: not in this kernel's enum bpf_attach_type (older kernel)", name)
			continue
		}
		if uint64(got) != k {
			t.Errorf("%s: prog's constant is %d, the kernel's %d", name, got, k)
		}
	}
}

// The update flags are the kernel's (an anonymous enum of uapi bpf.h,
// found in its BTF by the names of its values), and prog's are insn's.
func TestUpdateFlagsMatchKernel(t *testing.T) {
	want := map[string]UpdateFlags{"BPF_ANY": UpdateAny, "BPF_NOEXIST": UpdateNoExist, "BPF_EXIST": UpdateExist, "BPF_F_LOCK": UpdateLock}
	spec, err := btf.KernelSpec()
	if err != nil {
		testenv.SkipOrFail(t, "kernel BTF: %v", err)
	}
	found := 0
	for _, typ := range spec.All() {
		e, ok := typ.(*btf.Enum)
		if !ok {
			continue
		}
		for _, v := range e.Values {
			if got, ok := want[v.Name]; ok {
				found++
				if uint64(got) != v.Value {
					t.Errorf("%s: prog's constant is %d, the kernel's %d", v.Name, got, v.Value)
				}
			}
		}
	}
	if found != len(want) {
		t.Errorf("found %d of the %d update flags in kernel BTF", found, len(want))
	}
}
