// SPDX-License-Identifier: GPL-2.0
/* opensnoop: reports openat(2) calls with the pid, command, flags and file
 * name, from a kprobe on the syscall (BPF_KSYSCALL handles the x86-64
 * syscall wrapper) or from the syscalls/sys_enter_openat tracepoint where
 * the kernel has no kprobes. Events go to a perf event array or, when the
 * loader sets use_ringbuf, to a BPF ring buffer.
 *
 * Build: make bpf (clang-19 -target bpf -O2 -g). The Go side embeds the
 * object and loads it with prog.LoadCollectionSpecFromReader. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* Keep in sync with the offsets in programs.go. */
struct event {
	__u32 pid;
	__u32 flags;
	char comm[16];
	char filename[256];
};

const volatile bool use_ringbuf = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events_rb SEC(".maps");

static __always_inline int emit(void *ctx, const char *filename, __u32 flags)
{
	struct event e = {};

	e.pid = bpf_get_current_pid_tgid() >> 32;
	e.flags = flags;
	bpf_probe_read_user_str(e.filename, sizeof(e.filename), filename);
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	if (use_ringbuf)
		bpf_ringbuf_output(&events_rb, &e, sizeof(e), 0);
	else
		bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

SEC("ksyscall/openat")
int BPF_KSYSCALL(kprobe_openat, int dfd, const char *filename, int flags)
{
	return emit(ctx, filename, flags);
}

SEC("tp/syscalls/sys_enter_openat")
int tracepoint_openat(struct trace_event_raw_sys_enter *ctx)
{
	return emit(ctx, (const char *)ctx->args[1], (__u32)ctx->args[2]);
}
