// SPDX-License-Identifier: GPL-2.0
/* tailcall: a prog array filled by a values initialiser, and map-in-map
 * (array of maps and hash of maps) with inner map initialisers. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer_arr SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 2);
		__type(key, __u32);
		__type(value, __u64);
	});
} outer_hash SEC(".maps");

int tail_0(struct __sk_buff *skb);
int tail_1(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jump_table SEC(".maps") = {
	.values = { [0] = (void *)&tail_0, [3] = (void *)&tail_1 },
};

SEC("socket")
int tail_0(struct __sk_buff *skb)
{
	__u32 k = 0, *v;
	void *m = bpf_map_lookup_elem(&outer_arr, &k);

	if (!m)
		return 1;
	v = bpf_map_lookup_elem(m, &k);
	if (v)
		*v += 1;
	bpf_tail_call(skb, &jump_table, 3);
	return 2;
}

SEC("socket")
int tail_1(struct __sk_buff *skb)
{
	return 33;
}

SEC("socket")
int entry(struct __sk_buff *skb)
{
	__u32 k = 2;
	void *m = bpf_map_lookup_elem(&outer_hash, &k);

	if (m)
		return 4;
	bpf_tail_call(skb, &jump_table, 0);
	return 0;
}
