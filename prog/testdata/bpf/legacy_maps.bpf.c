// SPDX-License-Identifier: GPL-2.0
/* legacy_maps: a map defined in SEC("maps") with struct bpf_map_def, the
 * pre-BTF convention. libbpf 1.0 dropped it; purebpf still reads it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct legacy_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct legacy_map_def SEC("maps") legacy_counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 2,
};

char LICENSE[] SEC("license") = "GPL";

SEC("socket")
int legacy(struct __sk_buff *skb)
{
	__u32 k = 1;
	__u64 *v = bpf_map_lookup_elem(&legacy_counts, &k);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}
