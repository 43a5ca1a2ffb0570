// SPDX-License-Identifier: GPL-2.0
/* ksyms: kconfig externs (LINUX_KERNEL_VERSION, CONFIG_*) and a __weak ksym
 * the kernel lacks (see ksym_vars.bpf.c for kernel variables and
 * kfuncs.bpf.c for kfunc calls). */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern char CONFIG_LOCALVERSION[16] __kconfig;
extern bool CONFIG_PUREBPF_DOES_NOT_EXIST __kconfig __weak;

extern const int purebpf_missing_var __ksym __weak;

__u64 seen_version = 0;
__u64 seen_hz = 0;
__u64 seen_flags = 0;
char seen_local[16] = {};

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	seen_version = LINUX_KERNEL_VERSION;
	seen_hz = CONFIG_HZ;
	seen_flags = (CONFIG_BPF_SYSCALL ? 1 : 0) | (CONFIG_PUREBPF_DOES_NOT_EXIST ? 2 : 0);
	__builtin_memcpy(seen_local, CONFIG_LOCALVERSION, sizeof(seen_local));

	if (&purebpf_missing_var)
		seen_flags |= 8;
	return 0;
}
