// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// xdp_http traces inbound HTTP requests: for every TCP packet (IPv4, or
// IPv6 without extension headers) whose payload starts with an HTTP
// method it sends one event through the perf event array "events" and
// counts the request per method in "counts". Every packet passes.
//
// Each event is a struct http_event followed by the first
// min(packet length, MAX_CAPTURE) bytes of the packet, from the Ethernet
// header on: bpf_perf_event_output appends them itself when the length
// is in the upper 32 bits of its flags (bpf_xdp_event_output). User space
// reads addresses, ports, the request line and the Host header from
// those bytes.
//
// Build (make bpf):
//   clang-19 -target bpf -O2 -g -I/usr/include/x86_64-linux-gnu \
//     -c xdp_http.c -o xdp_http.o

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_CAPTURE 512

// Methods, in the order of the counts map's slots.
enum http_method {
	METHOD_GET,
	METHOD_POST,
	METHOD_PUT,
	METHOD_DELETE,
	METHOD_HEAD,
	METHOD_OPTIONS,
	METHOD_PATCH,
	METHOD_COUNT,
};

// http_event precedes the captured packet bytes in each perf record.
struct http_event {
	__u32 pkt_len;     // length of the whole packet
	__u32 cap_len;     // packet bytes that follow this header
	__u16 l3_off;      // offset of the IP header in the captured bytes
	__u16 payload_off; // offset of the TCP payload in the captured bytes
	__u8 ip_version;   // 4 or 6
	__u8 method;       // enum http_method
	__u8 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, METHOD_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

// starts reports whether the n bytes at p spell m; the caller has checked
// that p + 8 <= data_end.
static __always_inline int starts(const __u8 *p, const char *m, int n)
{
#pragma unroll
	for (int i = 0; i < 8; i++) {
		if (i >= n)
			break;
		if (p[i] != (__u8)m[i])
			return 0;
	}
	return 1;
}

// method_of returns the method the payload at p starts with, or -1.
// Only methods followed by a space count.
static __always_inline int method_of(const __u8 *p, const void *end)
{
	if ((const void *)(p + 8) > end)
		return -1; // shorter than "OPTIONS " or "DELETE /"
	if (starts(p, "GET ", 4))
		return METHOD_GET;
	if (starts(p, "POST ", 5))
		return METHOD_POST;
	if (starts(p, "PUT ", 4))
		return METHOD_PUT;
	if (starts(p, "DELETE ", 7))
		return METHOD_DELETE;
	if (starts(p, "HEAD ", 5))
		return METHOD_HEAD;
	if (starts(p, "OPTIONS ", 8))
		return METHOD_OPTIONS;
	if (starts(p, "PATCH ", 6))
		return METHOD_PATCH;
	return -1;
}

SEC("xdp")
int xdp_http(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct http_event ev = {};
	struct tcphdr *tcp;
	__u8 proto;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	ev.l3_off = sizeof(*eth);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return XDP_PASS;
		if (ip->frag_off & bpf_htons(0x1fff))
			return XDP_PASS; // not the first fragment: no TCP header
		proto = ip->protocol;
		tcp = (void *)ip + ip->ihl * 4;
		ev.ip_version = 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		proto = ip6->nexthdr;
		tcp = (void *)(ip6 + 1);
		ev.ip_version = 6;
	} else {
		return XDP_PASS;
	}
	if (proto != IPPROTO_TCP)
		return XDP_PASS;
	if ((void *)(tcp + 1) > end || tcp->doff < 5)
		return XDP_PASS;
	__u8 *payload = (void *)tcp + tcp->doff * 4;
	int m = method_of(payload, end);
	if (m < 0)
		return XDP_PASS;

	__u32 key = m;
	__u64 *n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		__sync_fetch_and_add(n, 1);

	__u64 len = end - data;
	__u64 cap = len < MAX_CAPTURE ? len : MAX_CAPTURE;
	ev.pkt_len = len;
	ev.cap_len = cap;
	ev.payload_off = (void *)payload - data;
	ev.method = m;
	bpf_perf_event_output(ctx, &events, (cap << 32) | BPF_F_CURRENT_CPU, &ev, sizeof(ev));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
