// SPDX-License-Identifier: GPL-2.0
/* maps: hash, array, LRU and per-CPU maps, a pinned map and a map with
 * explicit key_size/value_size. The socket filter counts packets by length
 * class so that a test can run it with BPF_PROG_TEST_RUN. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct pkt_key {
	__u32 proto;
	__u32 len_class;
};

struct counts {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct pkt_key);
	__type(value, struct counts);
} by_key SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} by_class SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counts);
} cpu_totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8);
	__uint(key_size, 4);
	__uint(value_size, 8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} lru_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_total SEC(".maps");

static __always_inline __u32 len_class(__u32 len)
{
	if (len < 64)
		return 0;
	if (len < 512)
		return 1;
	if (len < 1500)
		return 2;
	return 3;
}

SEC("socket")
int count_packets(struct __sk_buff *skb)
{
	struct pkt_key k = { .proto = skb->protocol, .len_class = len_class(skb->len) };
	struct counts zero = {}, *c;
	__u32 zero_key = 0, cls = k.len_class, len = skb->len;
	__u64 *v, one = 1;

	c = bpf_map_lookup_elem(&by_key, &k);
	if (!c) {
		bpf_map_update_elem(&by_key, &k, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&by_key, &k);
		if (!c)
			return 0;
	}
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, skb->len);

	v = bpf_map_lookup_elem(&by_class, &cls);
	if (v)
		__sync_fetch_and_add(v, 1);
	bpf_map_update_elem(&recent, &len, &one, BPF_ANY);
	c = bpf_map_lookup_elem(&cpu_totals, &zero_key);
	if (c) {
		c->packets++;
		c->bytes += skb->len;
	}
	bpf_map_update_elem(&cpu_hash, &cls, &one, BPF_ANY);
	bpf_map_update_elem(&lru_cpu, &cls, &cls, BPF_ANY);
	v = bpf_map_lookup_elem(&pinned_total, &zero_key);
	if (v)
		__sync_fetch_and_add(v, 1);
	return skb->len;
}
