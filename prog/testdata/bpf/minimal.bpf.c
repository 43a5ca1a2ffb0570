// SPDX-License-Identifier: GPL-2.0
/* minimal: a tracepoint filtered by a const volatile pid, printing through
 * bpf_printk (a .rodata string). In the style of libbpf-bootstrap. */
#include "common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile int my_pid = 0;

SEC("tp/syscalls/sys_enter_write")
int handle_tp(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (pid != my_pid)
		return 0;
	bpf_printk("BPF triggered from PID %d.\n", pid);
	return 0;
}
