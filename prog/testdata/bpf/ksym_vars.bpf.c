// SPDX-License-Identifier: GPL-2.0
/* ksym_vars: typed ksyms for per-CPU kernel variables. The kernel resolves
 * their addresses through kallsyms, so without CONFIG_KALLSYMS_ALL both
 * libbpf and purebpf get the verifier's "failed to find the address". */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

extern const struct rq runqueues __ksym;
extern const int bpf_prog_active __ksym;

__u64 seen_cpu = 0;
__u64 seen_active = 0;

SEC("raw_tp/sys_enter")
int read_vars(void *ctx)
{
	struct rq *rq = (struct rq *)bpf_this_cpu_ptr(&runqueues);
	int *active = (int *)bpf_this_cpu_ptr(&bpf_prog_active);

	seen_cpu = rq->cpu;
	seen_active = *active;
	return 0;
}
