// SPDX-License-Identifier: GPL-2.0
/* subprogs: static and global subprograms in .text and in other sections,
 * several programs in one section, and callbacks for bpf_loop and
 * bpf_for_each_map_elem (function pointer relocations). */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

__u64 loop_sum = 0;
__u64 each_sum = 0;

static __noinline __u64 square(__u64 x)
{
	return x * x;
}

__noinline int global_add(int a, int b)
{
	return a + b + (int)square(2);
}

static __noinline int triple(int x)
{
	return global_add(x, x) + x;
}

static int loop_cb(__u32 index, void *ctx)
{
	loop_sum += square(index);
	return 0;
}

static long each_cb(struct bpf_map *map, __u32 *key, __u64 *val, void *ctx)
{
	each_sum += *val + *key;
	return 0;
}

SEC("xdp")
int xdp_first(struct xdp_md *ctx)
{
	return global_add(1, 2) == 7 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int xdp_second(struct xdp_md *ctx)
{
	bpf_loop(5, loop_cb, NULL, 0);
	return triple(3) == 13 ? XDP_PASS : XDP_ABORTED;
}

SEC("xdp")
int xdp_third(struct xdp_md *ctx)
{
	__u32 k = 1;
	__u64 v = 100;

	bpf_map_update_elem(&values, &k, &v, BPF_ANY);
	bpf_for_each_map_elem(&values, each_cb, NULL, 0);
	return (int)square(ctx->data_end - ctx->data) > 0 ? XDP_PASS : XDP_DROP;
}

SEC("socket")
int sock_uses_text(struct __sk_buff *skb)
{
	return global_add(skb->len, 0);
}
