// Externs and hidden functions: the .kconfig and .ksyms DATASECs and the
// linkage fix-ups FixupELF makes. Build: make -C btf/testdata (clang-19).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig __weak;
extern unsigned long long CONFIG_HZ __kconfig __weak;
extern char CONFIG_LOCALVERSION[8] __kconfig __weak;
extern unsigned short CONFIG_NR_CPUS __kconfig __weak;

extern const int bpf_prog_active __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

__u64 seen[8];

__attribute__((noinline)) __hidden int twice(int x)
{
	return x * 2;
}

__attribute__((noinline)) int thrice(int x)
{
	return x * 3;
}

SEC("tp_btf/sched_switch")
int externs(__u64 *ctx)
{
	struct task_struct *t = bpf_task_acquire((struct task_struct *)ctx[1]);

	if (t)
		bpf_task_release(t);
	seen[0] = LINUX_KERNEL_VERSION;
	seen[1] = CONFIG_BPF_SYSCALL;
	seen[2] = CONFIG_HZ;
	seen[3] = CONFIG_LOCALVERSION[0];
	seen[4] = CONFIG_NR_CPUS;
	seen[5] = (__u64)&bpf_prog_active;
	seen[6] = twice(seen[0]) + thrice(seen[1]);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
