// SPDX-License-Identifier: GPL-2.0
/* task_core: CO-RE tracing programs that read a task_struct the way
 * profilers do, for interp/kmem's tests: BPF_CORE_READ (probe_read_kernel
 * and probe_read_kernel_str under relocated offsets) in a kprobe and a
 * tp_btf program, and direct BTF-pointer loads in the tp_btf program.
 * Each writes what it read to a ring buffer and an array. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct event {
	__u32 pid;
	__u32 tgid;
	__u32 ppid;   /* real_parent->tgid */
	__u32 direct; /* task->pid by a direct load (tp_btf only) */
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} last SEC(".maps");

static __always_inline int report(struct task_struct *task, __u32 direct)
{
	__u32 zero = 0;
	struct event *e = bpf_map_lookup_elem(&last, &zero);

	if (!e)
		return 1;
	e->pid = BPF_CORE_READ(task, pid);
	e->tgid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->direct = direct;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_ringbuf_output(&events, e, sizeof(*e), 0);
	return 0;
}

SEC("kprobe/wake_up_new_task")
int BPF_KPROBE(on_wake, struct task_struct *task)
{
	return report(task, 0);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	/* A direct load through the BTF pointer (BPF_PROBE_MEM in the
	 * kernel); its offset is relocated too. */
	return report(task, task->pid);
}
