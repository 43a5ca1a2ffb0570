// SPDX-License-Identifier: GPL-2.0
/* cover: XDP programs for interp's C-line coverage, tail call and devmap
 * tests (coverage_test.go, devmap_test.go) and purebpf run's tests. The
 * frame's byte 14 (after the Ethernet header) chooses what cover_main
 * does and byte 15 is its argument. A static subprogram, count, is
 * linked into both cover_main and cover_tail.
 * Build: make bpf (line info kept in .BTF.ext; DWARF stripped). */
#include "common.h"
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} ports_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

int cover_tail(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [1] = (void *)&cover_tail },
};

static __noinline int count(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &k);
	if (!v)
		return 0;
	*v += 1;
	return 1;
}

SEC("xdp")
int cover_main(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;

	if (data + 16 > data_end)
		return XDP_ABORTED;
	count(0);
	switch (p[14]) {
	case 1:
		return bpf_redirect_map(&ports, p[15], XDP_DROP);
	case 2:
		return bpf_redirect_map(&ports_hash, p[15], XDP_PASS);
	case 3:
		bpf_tail_call(ctx, &jumps, 1);
		return XDP_ABORTED;
	case 4:
		bpf_tail_call(ctx, &jumps, 0);
		return XDP_DROP;
	case 5:
		return bpf_redirect(p[15], 0);
	}
	return XDP_PASS;
}

SEC("xdp")
int cover_tail(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;

	count(1);
	if (data + 16 > data_end)
		return XDP_ABORTED;
	if (p[15] & 1)
		return XDP_TX;
	return XDP_PASS;
}

/* A section name that does not say the program type, as older XDP code
 * has (purebpf run --type xdp). */
SEC("xdp_vlan01")
int legacy_vlan(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	if (eth->h_proto == bpf_htons(0x8100))
		return XDP_DROP;
	return XDP_PASS;
}
