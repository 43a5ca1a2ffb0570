// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// counter.bpf.c: the XDP program examples/unittest tests. It counts IPv4
// packets per IP protocol in the hash map "packets" and drops the
// protocol named by the .rodata constant blocked_proto (ICMP unless the
// loader sets it). Frames that are not IPv4 pass uncounted; truncated
// IPv4 headers are dropped.
//
// Build: make bpf (or make examples/unittest/bpf/counter.bpf.o).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u8); // the IP protocol
	__type(value, __u64); // packets seen
} packets SEC(".maps");

// blocked_proto is the IP protocol dropped; set it before loading.
const volatile __u8 blocked_proto = 1; // IPPROTO_ICMP

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if ((void *)(ip + 1) > end)
		return XDP_DROP;

	__u8 proto = ip->protocol;
	__u64 one = 1, *n = bpf_map_lookup_elem(&packets, &proto);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&packets, &proto, &one, BPF_NOEXIST);

	if (proto == blocked_proto)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
