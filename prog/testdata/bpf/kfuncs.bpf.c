// SPDX-License-Identifier: GPL-2.0
/* kfuncs: kfunc calls resolved against the kernel's BTF (bpf_task_acquire
 * and bpf_task_release, Linux 6.2+) and a __weak kfunc the kernel lacks. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void purebpf_missing_kfunc(void) __ksym __weak;

SEC("tp_btf/sched_switch")
int BPF_PROG(acquire_next, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct task_struct *t;

	if (purebpf_missing_kfunc)
		purebpf_missing_kfunc();
	t = bpf_task_acquire(next);
	if (t)
		bpf_task_release(t);
	return 0;
}
