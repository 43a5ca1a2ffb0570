//go:build linux

package sys

import (
	"testing"
	"unsafe"
)

// Offsets of the BPF_BTF_LOAD member of union bpf_attr: btf through
// btf_log_level checked with gcc against /usr/include/linux/bpf.h (Linux
// 6.1); btf_log_true_size (6.4), btf_flags and btf_token_fd (6.9) follow
// in the 6.12 header's order.
func TestLayoutBTFLoadAttr(t *testing.T) {
	var a BTFLoadAttr
	checkLayout(t, "BTFLoadAttr", unsafe.Sizeof(a), 40, []offset{
		{"btf", unsafe.Offsetof(a.BTF), 0},
		{"btf_log_buf", unsafe.Offsetof(a.BTFLogBuf), 8},
		{"btf_size", unsafe.Offsetof(a.BTFSize), 16},
		{"btf_log_size", unsafe.Offsetof(a.BTFLogSize), 20},
		{"btf_log_level", unsafe.Offsetof(a.BTFLogLevel), 24},
		{"btf_log_true_size", unsafe.Offsetof(a.BTFLogTrueSize), 28},
		{"btf_flags", unsafe.Offsetof(a.BTFFlags), 32},
		{"btf_token_fd", unsafe.Offsetof(a.BTFTokenFD), 36},
	})
}
