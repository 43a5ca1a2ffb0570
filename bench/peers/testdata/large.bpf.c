// SPDX-License-Identifier: GPL-2.0
/* large: a benchmark input for LoadCollectionSpec and NewCollection, in
 * the shape of a tracing agent: 32 programs sharing a ring buffer, a
 * config array and a .rodata filter, each with its own hash map, CO-RE
 * reads of the task tree, a bounded loop and a static subprogram. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct event {
	u32 pid, ppid, id;
	u64 hash;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, u64);
} agent_config SEC(".maps");

const volatile u32 target_tgid = 0;
u64 total_events = 0;

static __noinline u64 mix(const char *comm, u64 seed)
{
	u64 h = seed ^ 0xcbf29ce484222325ULL;
	for (int i = 0; i < 16; i++) {
		h ^= (u8)comm[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define PROGRAM(N, TP)                                                        \
	struct {                                                              \
		__uint(type, BPF_MAP_TYPE_HASH);                              \
		__uint(max_entries, 1024);                                    \
		__type(key, u32);                                             \
		__type(value, u64);                                           \
	} seen_##N SEC(".maps");                                              \
	SEC("tp/" TP)                                                         \
	int prog_##N(void *ctx)                                               \
	{                                                                     \
		struct task_struct *task = (void *)bpf_get_current_task();    \
		u32 tgid = BPF_CORE_READ(task, tgid);                         \
		u32 key = N, one = 1;                                         \
		u64 *limit, *count, init = 1;                                 \
		struct event *e;                                              \
		if (target_tgid && tgid != target_tgid)                       \
			return 0;                                             \
		limit = bpf_map_lookup_elem(&agent_config, &key);                   \
		count = bpf_map_lookup_elem(&seen_##N, &tgid);                \
		if (count) {                                                  \
			__sync_fetch_and_add(count, 1);                       \
			if (limit && *limit && *count > *limit)               \
				return 0;                                     \
		} else {                                                      \
			bpf_map_update_elem(&seen_##N, &tgid, &init, BPF_NOEXIST); \
		}                                                             \
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);              \
		if (!e)                                                       \
			return 0;                                             \
		e->pid = BPF_CORE_READ(task, pid);                            \
		e->ppid = BPF_CORE_READ(task, real_parent, tgid);             \
		e->id = N;                                                    \
		bpf_get_current_comm(e->comm, sizeof(e->comm));               \
		e->hash = mix(e->comm, BPF_CORE_READ(task, start_time) + one); \
		__sync_fetch_and_add(&total_events, 1);                       \
		bpf_ringbuf_submit(e, 0);                                     \
		return 0;                                                     \
	}

PROGRAM(0, "syscalls/sys_enter_openat")
PROGRAM(1, "syscalls/sys_exit_openat")
PROGRAM(2, "syscalls/sys_enter_read")
PROGRAM(3, "syscalls/sys_exit_read")
PROGRAM(4, "syscalls/sys_enter_write")
PROGRAM(5, "syscalls/sys_exit_write")
PROGRAM(6, "syscalls/sys_enter_close")
PROGRAM(7, "syscalls/sys_exit_close")
PROGRAM(8, "syscalls/sys_enter_execve")
PROGRAM(9, "syscalls/sys_exit_execve")
PROGRAM(10, "syscalls/sys_enter_clone")
PROGRAM(11, "syscalls/sys_exit_clone")
PROGRAM(12, "syscalls/sys_enter_mmap")
PROGRAM(13, "syscalls/sys_exit_mmap")
PROGRAM(14, "syscalls/sys_enter_connect")
PROGRAM(15, "syscalls/sys_exit_connect")
PROGRAM(16, "syscalls/sys_enter_accept4")
PROGRAM(17, "syscalls/sys_exit_accept4")
PROGRAM(18, "syscalls/sys_enter_sendto")
PROGRAM(19, "syscalls/sys_exit_sendto")
PROGRAM(20, "syscalls/sys_enter_recvfrom")
PROGRAM(21, "syscalls/sys_exit_recvfrom")
PROGRAM(22, "syscalls/sys_enter_unlinkat")
PROGRAM(23, "syscalls/sys_exit_unlinkat")
PROGRAM(24, "sched/sched_process_exec")
PROGRAM(25, "sched/sched_process_exit")
PROGRAM(26, "sched/sched_process_fork")
PROGRAM(27, "sched/sched_switch")
PROGRAM(28, "sched/sched_wakeup")
PROGRAM(29, "signal/signal_generate")
PROGRAM(30, "syscalls/sys_enter_kill")
PROGRAM(31, "syscalls/sys_exit_kill")
