// SPDX-License-Identifier: GPL-2.0
/* callbacks: bpf_loop and bpf_for_each_map_elem driven by packet bytes, so
 * that the differential corpus (bpftest) compares the kernel, interp and
 * jit on many counts: early stops, nested loops, the -EINVAL of non-zero
 * flags and the -E2BIG of too many loops, and iteration over array and
 * hash maps whose callbacks update and delete elements. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} hash SEC(".maps");

__u64 loop_ret = 0;
__u64 loop_sum = 0;
__u64 nested_ret = 0;
__u64 einval_ret = 0;
__u64 e2big_ret = 0;
__u64 arr_ret = 0;
__u64 arr_sum = 0;
__u64 hash_ret = 0;
__u64 hash_sum = 0;
__u64 runs = 0;

struct loop_ctx {
	__u64 sum;
	__u32 stop;
	__u32 inner;
};

static int sum_cb(__u32 index, struct loop_ctx *c)
{
	c->sum += index * index + 1;
	return index == c->stop ? 1 : 0;
}

static int inner_cb(__u32 index, struct loop_ctx *c)
{
	c->sum += index;
	return 0;
}

static int outer_cb(__u32 index, struct loop_ctx *c)
{
	bpf_loop(c->inner, inner_cb, c, 0);
	return 0;
}

static long arr_cb(struct bpf_map *map, __u32 *key, __u64 *val, struct loop_ctx *c)
{
	*val += *key + 1;
	c->sum += *val;
	return *key == c->stop ? 1 : 0;
}

static long hash_cb(struct bpf_map *map, __u32 *key, __u64 *val, struct loop_ctx *c)
{
	c->sum += *val * 3 + *key;
	if (*key % 3 == 0)
		bpf_map_delete_elem(map, key);
	return 0;
}

SEC("xdp")
int xdp_loops(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	struct loop_ctx c = {};
	__u32 n, k;
	__u64 v;

	if ((void *)(p + 24) > data_end)
		return XDP_ABORTED;
	runs++;
	n = p[12] + p[13];
	c.stop = p[14] % 64;
	loop_ret += bpf_loop(n, sum_cb, &c, 0);
	loop_sum += c.sum;

	c.sum = 0;
	c.inner = p[15] % 16;
	nested_ret += bpf_loop(p[16] % 8, outer_cb, &c, 0) + c.sum;

	einval_ret = bpf_loop(3, sum_cb, &c, p[17] | 1);
	e2big_ret = bpf_loop((1 << 23) + 1 + p[18], sum_cb, &c, 0);

	c.sum = 0;
	c.stop = p[19] % 20;
	arr_ret += bpf_for_each_map_elem(&arr, arr_cb, &c, 0);
	arr_sum += c.sum;

	k = p[20] % 40;
	v = p[21];
	bpf_map_update_elem(&hash, &k, &v, BPF_ANY);
	c.sum = 0;
	hash_ret += bpf_for_each_map_elem(&hash, hash_cb, &c, 0);
	hash_sum += c.sum;
	return c.sum & 1 ? XDP_PASS : XDP_DROP;
}
