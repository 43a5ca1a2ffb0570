// CO-RE relocations through hand-written ___flavor types that imitate an
// older kernel's layout (no vmlinux.h). Relocated against a newer target
// they must move to the target's offsets, sizes and values.
// Build: make -C btf/testdata (clang-19).
typedef unsigned int u32;
typedef int s32;
typedef unsigned long long u64;
typedef unsigned short u16;

#define SEC(name) __attribute__((section(name), used))
#define CORE __attribute__((preserve_access_index))

static long (*bpf_probe_read_kernel)(void *dst, u32 size, const void *src) = (void *)113;
static u64 (*bpf_get_current_task)(void) = (void *)35;

struct list_head___old {
	struct list_head___old *next, *prev;
} CORE;

/* A 4.x-era task_struct: few fields, different order. */
struct task_struct___old {
	volatile long state;
	u32 flags;
	s32 pid;
	s32 tgid;
	unsigned sched_reset_on_fork:1;
	struct list_head___old tasks;
	char comm[16];
	long gone_field;
} CORE;

enum bpf_func_id___old {
	BPF_FUNC_unspec___old = 0,
	BPF_FUNC_map_lookup_elem___old = 1,
	BPF_FUNC_ktime_get_ns___old = 5,
	BPF_FUNC_no_such_helper___old = 9999,
};

enum perf_callchain_context___old {
	PERF_CONTEXT_HV___old = -32,
	PERF_CONTEXT_KERNEL___old = -128,
} __attribute__((mode(DI)));

struct not_in_any_kernel___old {
	int x;
} CORE;

u64 out[32];

SEC("raw_tracepoint/sys_enter")
int core_flavors(void *ctx)
{
	struct task_struct___old *t = (void *)bpf_get_current_task();
	s32 pid = 0;

	bpf_probe_read_kernel(&pid, sizeof(pid), &t->pid);
	out[0] = pid;
	out[1] = __builtin_preserve_field_info(t->comm, 1);
	out[2] = __builtin_preserve_field_info(t->tgid, 2);
	out[3] = __builtin_preserve_field_info(t->pid, 3);
	out[4] = __builtin_preserve_field_info(t->sched_reset_on_fork, 4);
	out[5] = __builtin_preserve_field_info(t->sched_reset_on_fork, 5);
	out[6] = __builtin_preserve_field_info(t->sched_reset_on_fork, 0);
	out[7] = __builtin_preserve_field_info(t->sched_reset_on_fork, 1);
	out[8] = __builtin_btf_type_id(*t, 0);
	out[9] = __builtin_btf_type_id(*t, 1);
	out[10] = __builtin_preserve_type_info(*t, 0);
	out[11] = __builtin_preserve_type_info(*t, 1);
	out[12] = __builtin_preserve_type_info(*(struct list_head___old *)0, 2);
	out[13] = __builtin_preserve_enum_value(*(enum bpf_func_id___old *)BPF_FUNC_ktime_get_ns___old, 1);
	out[14] = __builtin_preserve_enum_value(*(enum bpf_func_id___old *)BPF_FUNC_no_such_helper___old, 0);
	out[15] = __builtin_preserve_enum_value(*(enum perf_callchain_context___old *)PERF_CONTEXT_KERNEL___old, 1);
	out[16] = __builtin_preserve_enum_value(*(enum perf_callchain_context___old *)PERF_CONTEXT_HV___old, 0);
	out[17] = __builtin_preserve_field_info(t->gone_field, 2);
	out[18] = __builtin_preserve_type_info(*(struct not_in_any_kernel___old *)0, 0);
	out[19] = __builtin_preserve_type_info(*(struct not_in_any_kernel___old *)0, 1);
	out[20] = __builtin_preserve_field_info(t->tasks.next, 0);
	out[21] = __builtin_preserve_field_info(t->comm[5], 0);
	if (__builtin_preserve_enum_value(*(enum bpf_func_id___old *)BPF_FUNC_no_such_helper___old, 0))
		out[22] = __builtin_preserve_enum_value(*(enum bpf_func_id___old *)BPF_FUNC_no_such_helper___old, 1);
	if (__builtin_preserve_field_info(t->gone_field, 2)) {
		long g = 0;
		bpf_probe_read_kernel(&g, sizeof(g), &t->gone_field);
		out[23] = g;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
