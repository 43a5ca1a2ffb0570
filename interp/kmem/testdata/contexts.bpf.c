// SPDX-License-Identifier: GPL-2.0
/* contexts: one program per tracing context, reading it through the
 * kernel's own structures as clang lays them out, for the userspace
 * engines' context tests: a tracepoint record (struct
 * trace_event_raw_sys_enter), raw tracepoint arguments, perf_event's
 * struct bpf_perf_event_data. Each stores what it read in `seen`. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

__u64 seen[4] = {};

SEC("tp/raw_syscalls/sys_enter")
int on_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	/* Not ctx->ent: the verifier refuses reads of the common header. */
	seen[0] = ctx->args[1];
	seen[1] = ctx->id;
	seen[2] = ctx->args[0];
	seen[3] = ctx->args[5];
	return 1;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(on_raw_sys_enter, struct pt_regs *regs, long id)
{
	seen[0] = id;
	seen[1] = (__u64)regs;
	return 2;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	seen[0] = ctx->sample_period;
	seen[1] = ctx->addr;
	seen[2] = PT_REGS_IP(&ctx->regs);
	seen[3] = PT_REGS_PARM1(&ctx->regs);
	return 3;
}
