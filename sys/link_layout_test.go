//go:build linux

package sys

import (
	"testing"
	"unsafe"
)

// Offsets of the attributes in link.go. The Linux 6.1 fields were checked
// with gcc against /usr/include/linux/bpf.h (linux-libc-dev 6.1); the
// later fields (relative_fd, expected_revision, link_ids, revision,
// raw_tracepoint.cookie) come from include/uapi/linux/bpf.h of Linux
// 6.12.

func TestLayoutLinkCommands(t *testing.T) {
	var u LinkUpdateAttr
	checkLayout(t, "LinkUpdateAttr", unsafe.Sizeof(u), 16, []offset{
		{"link_update.link_fd", unsafe.Offsetof(u.LinkFD), 0},
		{"link_update.new_prog_fd", unsafe.Offsetof(u.NewProgFD), 4},
		{"link_update.flags", unsafe.Offsetof(u.Flags), 8},
		{"link_update.old_prog_fd", unsafe.Offsetof(u.OldProgFD), 12},
	})
	var r RawTracepointOpenAttr
	checkLayout(t, "RawTracepointOpenAttr", unsafe.Sizeof(r), 24, []offset{
		{"raw_tracepoint.name", unsafe.Offsetof(r.Name), 0},
		{"raw_tracepoint.prog_fd", unsafe.Offsetof(r.ProgFD), 8},
		{"raw_tracepoint.cookie", unsafe.Offsetof(r.Cookie), 16},
	})
	var a ProgAttachAttr
	checkLayout(t, "ProgAttachAttr", unsafe.Sizeof(a), 32, []offset{
		{"target_fd", unsafe.Offsetof(a.TargetFD), 0},
		{"attach_bpf_fd", unsafe.Offsetof(a.AttachBPFFD), 4},
		{"attach_type", unsafe.Offsetof(a.AttachType), 8},
		{"attach_flags", unsafe.Offsetof(a.AttachFlags), 12},
		{"replace_bpf_fd", unsafe.Offsetof(a.ReplaceBPFFD), 16},
		{"relative_fd", unsafe.Offsetof(a.RelativeFDOrID), 20},
		{"expected_revision", unsafe.Offsetof(a.ExpectedRevision), 24},
	})
	var q ProgQueryAttr
	checkLayout(t, "ProgQueryAttr", unsafe.Sizeof(q), 64, []offset{
		{"query.target_fd", unsafe.Offsetof(q.TargetFD), 0},
		{"query.attach_type", unsafe.Offsetof(q.AttachType), 4},
		{"query.query_flags", unsafe.Offsetof(q.QueryFlags), 8},
		{"query.attach_flags", unsafe.Offsetof(q.AttachFlags), 12},
		{"query.prog_ids", unsafe.Offsetof(q.ProgIDs), 16},
		{"query.prog_cnt", unsafe.Offsetof(q.Count), 24},
		{"query.prog_attach_flags", unsafe.Offsetof(q.ProgAttachFlags), 32},
		{"query.link_ids", unsafe.Offsetof(q.LinkIDs), 40},
		{"query.link_attach_flags", unsafe.Offsetof(q.LinkAttachFlags), 48},
		{"query.revision", unsafe.Offsetof(q.Revision), 56},
	})
	var i LinkInfo
	checkLayout(t, "LinkInfo", unsafe.Sizeof(i), 64, []offset{
		{"type", unsafe.Offsetof(i.Type), 0},
		{"id", unsafe.Offsetof(i.ID), 4},
		{"prog_id", unsafe.Offsetof(i.ProgID), 8},
		{"(union)", unsafe.Offsetof(i.Extra), 16},
	})
	var rt RawTracepointLinkInfo
	checkLayout(t, "RawTracepointLinkInfo", unsafe.Sizeof(rt), 64, []offset{
		{"raw_tracepoint.tp_name", unsafe.Offsetof(rt.TPName), 16},
		{"raw_tracepoint.tp_name_len", unsafe.Offsetof(rt.TPNameLen), 24},
	})
	// cgroup.attach_type sits at 24 in struct bpf_link_info.
	i.Extra[8] = 7
	if _, at := i.Cgroup(); at != 7 {
		t.Errorf("LinkInfo.Cgroup attach_type read from the wrong offset: %d", at)
	}
}
