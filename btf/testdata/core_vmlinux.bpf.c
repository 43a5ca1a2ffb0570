// CO-RE relocations of every kind against the host kernel's types
// (vmlinux.h dumped with bpftool). Build: make -C btf/testdata (clang-19).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* A flavor of task_struct with a field no kernel has: relocations that
 * need it are poisoned, but sit behind an existence check. */
struct task_struct___missing {
	int no_such_field;
} __attribute__((preserve_access_index));

__u64 out[32];
int counter = 1;

SEC("raw_tracepoint/sys_enter")
int core_all(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct task_struct___missing *m = (void *)t;

	out[0] = BPF_CORE_READ(t, pid);
	out[1] = bpf_core_field_size(t->comm);
	out[2] = bpf_core_field_exists(t->tgid);
	out[3] = __builtin_preserve_field_info(t->pid, BPF_FIELD_SIGNED);
	out[4] = BPF_CORE_READ_BITFIELD_PROBED(t, sched_reset_on_fork);
	out[5] = bpf_core_type_id_local(struct task_struct);
	out[6] = bpf_core_type_id_kernel(struct task_struct);
	out[7] = bpf_core_type_exists(struct task_struct);
	out[8] = bpf_core_type_size(struct task_struct);
	out[9] = bpf_core_type_matches(struct list_head);
	out[10] = bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_map_lookup_elem);
	out[11] = bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_ktime_get_ns);
	out[12] = bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_KERNEL);
	out[13] = BPF_CORE_READ(t, comm[3]);
	out[14] = bpf_core_field_exists(m->no_such_field);
	if (bpf_core_field_exists(m->no_such_field))
		out[15] = BPF_CORE_READ(m, no_such_field);
	out[16] = BPF_CORE_READ(t, mm, mmap_base);
	out[17] = __builtin_preserve_field_info(t->sched_reset_on_fork, BPF_FIELD_LSHIFT_U64);
	out[18] = __builtin_preserve_field_info(t->sched_reset_on_fork, BPF_FIELD_RSHIFT_U64);
	out[19] = __builtin_preserve_field_info(t->sched_reset_on_fork, BPF_FIELD_BYTE_OFFSET);
	out[20] = __builtin_preserve_field_info(t->sched_reset_on_fork, BPF_FIELD_BYTE_SIZE);
	counter++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
