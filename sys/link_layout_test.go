//go:build linux

package sys_test

import (
	"testing"
	"unsafe"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/sys"
)

// The attributes in link.go, checked against the running kernel's BTF like
// every other layout (kernel_layout_test.go). Members newer than the
// running kernel (relative_fd, expected_revision, link_ids, revision: 6.6;
// raw_tracepoint.cookie: 6.10) are logged there and checked on newer ones.

func TestLayoutLinkUpdateAttr(t *testing.T) {
	var u sys.LinkUpdateAttr
	kernelLayout(t, "union bpf_attr", "link_update", unsafe.Sizeof(u), unsafe.Alignof(u), false, []field{
		{"link_fd", unsafe.Offsetof(u.LinkFD)},
		{"new_prog_fd/new_map_fd", unsafe.Offsetof(u.NewProgFD)},
		{"flags", unsafe.Offsetof(u.Flags)},
		{"old_prog_fd/old_map_fd", unsafe.Offsetof(u.OldProgFD)},
	})
}

func TestLayoutRawTracepointOpenAttr(t *testing.T) {
	var r sys.RawTracepointOpenAttr
	kernelLayout(t, "union bpf_attr", "raw_tracepoint", unsafe.Sizeof(r), unsafe.Alignof(r), false, []field{
		{"name", unsafe.Offsetof(r.Name)},
		{"prog_fd", unsafe.Offsetof(r.ProgFD)},
		{"cookie", unsafe.Offsetof(r.Cookie)},
	})
}

func TestLayoutProgAttachAttr(t *testing.T) {
	var a sys.ProgAttachAttr
	kernelLayout(t, "union bpf_attr", "", unsafe.Sizeof(a), unsafe.Alignof(a), false, []field{
		{"target_fd/target_ifindex", unsafe.Offsetof(a.TargetFD)},
		{"attach_bpf_fd", unsafe.Offsetof(a.AttachBPFFD)},
		{"attach_type", unsafe.Offsetof(a.AttachType)},
		{"attach_flags", unsafe.Offsetof(a.AttachFlags)},
		{"replace_bpf_fd", unsafe.Offsetof(a.ReplaceBPFFD)},
		{"relative_fd/relative_id", unsafe.Offsetof(a.RelativeFDOrID)},
		{"expected_revision", unsafe.Offsetof(a.ExpectedRevision)},
	})
}

func TestLayoutProgQueryAttr(t *testing.T) {
	var q sys.ProgQueryAttr
	kernelLayout(t, "union bpf_attr", "query", unsafe.Sizeof(q), unsafe.Alignof(q), false, []field{
		{"target_fd/target_ifindex", unsafe.Offsetof(q.TargetFD)},
		{"attach_type", unsafe.Offsetof(q.AttachType)},
		{"query_flags", unsafe.Offsetof(q.QueryFlags)},
		{"attach_flags", unsafe.Offsetof(q.AttachFlags)},
		{"prog_ids", unsafe.Offsetof(q.ProgIDs)},
		{"prog_cnt/count", unsafe.Offsetof(q.Count)},
		{"prog_attach_flags", unsafe.Offsetof(q.ProgAttachFlags)},
		{"link_ids", unsafe.Offsetof(q.LinkIDs)},
		{"link_attach_flags", unsafe.Offsetof(q.LinkAttachFlags)},
		{"revision", unsafe.Offsetof(q.Revision)},
	})
}

func TestLayoutLinkInfo(t *testing.T) {
	var i sys.LinkInfo
	var rt sys.RawTracepointLinkInfo
	for _, m := range []struct {
		name string
		got  uintptr
	}{
		{"type", unsafe.Offsetof(i.Type)},
		{"id", unsafe.Offsetof(i.ID)},
		{"prog_id", unsafe.Offsetof(i.ProgID)},
		{"raw_tracepoint.tp_name", unsafe.Offsetof(rt.TPName)},
		{"raw_tracepoint.tp_name_len", unsafe.Offsetof(rt.TPNameLen)},
	} {
		if off, _ := kernelMember(t, "struct bpf_link_info", m.name); off != m.got {
			t.Errorf("bpf_link_info %s: Go offset %d, kernel %d", m.name, m.got, off)
		}
	}
	// Extra is the union that follows prog_id; it must not reach past the
	// kernel's struct.
	union, _ := kernelMember(t, "struct bpf_link_info", "raw_tracepoint")
	if off := unsafe.Offsetof(i.Extra); off != union {
		t.Errorf("LinkInfo.Extra at %d, the kernel's union at %d", off, union)
	}
	size, err := btf.Sizeof(rootType(t, kernelSpec(t), "struct bpf_link_info"))
	if err != nil {
		t.Fatal(err)
	}
	// The union grows with new link types (48 bytes in Linux 6.1, 96 in
	// 6.18); a larger Go struct is fine on an older kernel as long as its
	// tail is zero, which bpf_check_uarg_tail_zero accepts.
	if unsafe.Sizeof(i) > uintptr(size) {
		t.Logf("LinkInfo is %d bytes, this kernel's bpf_link_info %d (an older kernel: the extra bytes stay zero)", unsafe.Sizeof(i), size)
	}
	// cgroup.attach_type is read out of Extra by LinkInfo.Cgroup.
	at, _ := kernelMember(t, "struct bpf_link_info", "cgroup.attach_type")
	i.Extra[at-union] = 7
	if _, got := i.Cgroup(); got != 7 {
		t.Errorf("LinkInfo.Cgroup reads attach_type from the wrong offset (kernel: %d)", at)
	}
}
