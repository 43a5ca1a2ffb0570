// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// pktparse.c: a realistic packet parser in two forms, for the corpus-wide
// differential test and the XDP benchmarks of package bpftest.
//
// xdp_parse parses Ethernet, up to two VLAN tags (802.1Q, QinQ), IPv4
// (checking IHL and total length), IPv6 with up to four extension headers
// (hop-by-hop, routing, destination options, fragment), and TCP, UDP and
// ICMP/ICMPv6. It counts packets and bytes per protocol in a per-CPU
// array, flows in a hash map keyed by addresses and ports, drops
// malformed packets and the UDP port in .rodata, answers UDP echo (port
// 7) with XDP_TX after swapping addresses and ports, and sends a ring
// buffer record for every TCP SYN.
//
// sock_parse is a socket filter that reads the same headers with
// bpf_skb_load_bytes and keeps IPv4/IPv6 TCP and UDP packets (their
// length) and drops the rest, counting what it saw.
//
// tc_classify is a tc classifier (sched_cls) for the same headers, read
// with direct packet access: it drops malformed IPv4/IPv6 packets
// (TC_ACT_SHOT), marks every packet with its class (skb->mark, priority,
// tc_classid, cb[0]) and counts classes in a hash map, rewrites TCP source
// port 22 to 2222 as a port-mapping NAT would (bpf_skb_store_bytes and
// bpf_l4_csum_replace), lowers the IPv4 TTL of UDP packets
// (bpf_l3_csum_replace), pops the 802.1Q tag of VLANs 0-255
// (bpf_skb_vlan_pop) and tags untagged UDP DNS queries with VLAN 100
// (bpf_skb_vlan_push).
//
// Build: make bpf (or make bpftest/testdata/pktparse.o).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum {
	STAT_ALL,
	STAT_IPV4,
	STAT_IPV6,
	STAT_TCP,
	STAT_UDP,
	STAT_ICMP,
	STAT_OTHER,
	STAT_MALFORMED,
	STAT_VLAN,
	STAT_FRAG,
	STAT_MAX,
};

struct stat {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, struct stat);
} stats SEC(".maps");

struct flow {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 version;
	__u8 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, struct flow);
	__type(value, __u64);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} syns SEC(".maps");

// drop_udp_port is a .rodata setting: UDP packets to it are dropped.
const volatile __u16 drop_udp_port = 9;
// last_len is .bss: the length of the last packet parsed whole.
__u32 last_len;
// sock_seen is .data: packets sock_parse kept, from 100.
__u64 sock_seen = 100;

static __always_inline void count(__u32 idx, __u64 len)
{
	struct stat *s = bpf_map_lookup_elem(&stats, &idx);
	if (s) {
		s->packets++;
		s->bytes += len;
	}
}

static __always_inline int malformed(__u64 len)
{
	count(STAT_MALFORMED, len);
	return XDP_DROP;
}

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 len = end - data;
	struct ethhdr *eth = data;
	struct flow f = {};
	void *l4;
	__u8 proto;

	count(STAT_ALL, len);
	if ((void *)(eth + 1) > end)
		return malformed(len);
	__u16 type = eth->h_proto;
	void *p = eth + 1;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (type != bpf_htons(ETH_P_8021Q) && type != bpf_htons(ETH_P_8021AD))
			break;
		if (p + 4 > end)
			return malformed(len);
		type = *(__u16 *)(p + 2);
		p += 4;
		if (i == 0)
			count(STAT_VLAN, len);
	}
	if (type == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = p;
		if ((void *)(ip + 1) > end)
			return malformed(len);
		if (ip->version != 4 || ip->ihl < 5)
			return malformed(len);
		__u32 hlen = ip->ihl * 4;
		__u32 tot = bpf_ntohs(ip->tot_len);
		// No frame is 4 KiB long; the bound also tells older verifiers
		// (Linux 6.1), which know nothing of a byte swap's result, that
		// p + tot is in range.
		if (tot > 0xfff || tot < hlen || p + hlen > end || p + tot > end)
			return malformed(len);
		count(STAT_IPV4, len);
		__builtin_memcpy(f.saddr, &ip->saddr, 4);
		__builtin_memcpy(f.daddr, &ip->daddr, 4);
		f.version = 4;
		proto = ip->protocol;
		if (ip->frag_off & bpf_htons(0x3fff)) {
			count(STAT_FRAG, len);
			return XDP_PASS;
		}
		l4 = p + hlen;
	} else if (type == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = p;
		if ((void *)(ip6 + 1) > end)
			return malformed(len);
		__u32 plen = bpf_ntohs(ip6->payload_len);
		if (ip6->version != 6 || plen > 0xfff || p + sizeof(*ip6) + plen > end)
			return malformed(len);
		count(STAT_IPV6, len);
		__builtin_memcpy(f.saddr, &ip6->saddr, 16);
		__builtin_memcpy(f.daddr, &ip6->daddr, 16);
		f.version = 6;
		proto = ip6->nexthdr;
		l4 = ip6 + 1;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			if (proto != IPPROTO_HOPOPTS && proto != IPPROTO_ROUTING && proto != IPPROTO_DSTOPTS &&
			    proto != IPPROTO_FRAGMENT)
				break;
			__u8 *ext = l4;
			if (l4 + 8 > end)
				return malformed(len);
			if (proto == IPPROTO_FRAGMENT) {
				if (*(__u16 *)(ext + 2) & bpf_htons(0xfff8)) {
					count(STAT_FRAG, len);
					return XDP_PASS;
				}
				proto = ext[0];
				l4 += 8;
			} else {
				proto = ext[0];
				l4 += (ext[1] + 1) * 8;
			}
		}
	} else {
		count(STAT_OTHER, len);
		return XDP_PASS;
	}
	f.proto = proto;

	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		if ((void *)(tcp + 1) > end || tcp->doff < 5)
			return malformed(len);
		count(STAT_TCP, len);
		f.sport = tcp->source;
		f.dport = tcp->dest;
		if (tcp->syn && !tcp->ack) {
			struct flow *r = bpf_ringbuf_reserve(&syns, sizeof(*r), 0);
			if (r) {
				*r = f;
				bpf_ringbuf_submit(r, 0);
			}
		}
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > end || bpf_ntohs(udp->len) < sizeof(*udp))
			return malformed(len);
		count(STAT_UDP, len);
		f.sport = udp->source;
		f.dport = udp->dest;
		if (udp->dest == bpf_htons(drop_udp_port))
			return XDP_DROP;
		if (udp->dest == bpf_htons(7)) {
			// Echo: swap MAC addresses and UDP ports, send back.
			__u8 tmp[ETH_ALEN];
			__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
			__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
			__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
			__u16 port = udp->source;
			udp->source = udp->dest;
			udp->dest = port;
			return XDP_TX;
		}
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		if (l4 + 4 > end)
			return malformed(len);
		count(STAT_ICMP, len);
	} else {
		count(STAT_OTHER, len);
	}
	__u64 one = 1, *n = bpf_map_lookup_elem(&flows, &f);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&flows, &f, &one, BPF_NOEXIST);
	last_len = len;
	return XDP_PASS;
}

SEC("socket")
int sock_parse(struct __sk_buff *skb)
{
	__u16 type;
	__u32 off = 12;
	__u8 proto;

	if (bpf_skb_load_bytes(skb, off, &type, 2) < 0)
		return 0;
	off += 2;
	if (type == bpf_htons(ETH_P_8021Q)) {
		if (bpf_skb_load_bytes(skb, off + 2, &type, 2) < 0)
			return 0;
		off += 4;
	}
	if (type == bpf_htons(ETH_P_IP)) {
		__u8 vihl;
		if (bpf_skb_load_bytes(skb, off, &vihl, 1) < 0 || (vihl & 0xf) < 5)
			return 0;
		if (bpf_skb_load_bytes(skb, off + 9, &proto, 1) < 0)
			return 0;
		off += (vihl & 0xf) * 4;
	} else if (type == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, off + 6, &proto, 1) < 0)
			return 0;
		off += 40;
	} else {
		return 0;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	__u16 ports[2];
	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) < 0)
		return 0;
	count(proto == IPPROTO_TCP ? STAT_TCP : STAT_UDP, skb->len);
	__sync_fetch_and_add(&sock_seen, 1);
	return skb->len;
}

enum {
	CLASS_OTHER = 1,
	CLASS_TCP,
	CLASS_UDP,
	CLASS_ICMP,
	CLASS_SSH,
	CLASS_DNS,
	CLASS_VLAN = 0x10, // or-ed in
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} classes SEC(".maps");

// tc_rewrites is .bss: how many ports tc_classify rewrote.
__u64 tc_rewrites;

static __always_inline int classify(struct __sk_buff *skb, __u32 class)
{
	__u64 one = 1, *n = bpf_map_lookup_elem(&classes, &class);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&classes, &class, &one, BPF_NOEXIST);
	skb->mark = 0xc1a5500 | class;
	skb->priority = class & 0xf;
	skb->tc_classid = 0x10000 | class;
	skb->cb[0] = class;
	return class == CLASS_OTHER ? TC_ACT_UNSPEC : TC_ACT_OK;
}

SEC("tc")
int tc_classify(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 class = 0, l3, l4;
	__u16 vid = 0xffff, type; // no tag
	__u8 proto;

	if ((void *)(eth + 1) > end)
		return TC_ACT_SHOT;
	type = eth->h_proto;
	l3 = sizeof(*eth);
	if (type == bpf_htons(ETH_P_8021Q)) {
		if (data + l3 + 4 > end)
			return TC_ACT_SHOT;
		vid = bpf_ntohs(*(__u16 *)(data + l3)) & 0xfff;
		type = *(__u16 *)(data + l3 + 2);
		l3 += 4;
		class |= CLASS_VLAN;
	}
	if (type == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + l3;
		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
			return TC_ACT_SHOT;
		proto = ip->protocol;
		l4 = l3 + ip->ihl * 4;
		if (ip->frag_off & bpf_htons(0x3fff))
			return classify(skb, class | CLASS_OTHER);
	} else if (type == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + l3;
		if ((void *)(ip6 + 1) > end || ip6->version != 6)
			return TC_ACT_SHOT;
		proto = ip6->nexthdr;
		l4 = l3 + sizeof(*ip6);
	} else {
		return classify(skb, class | CLASS_OTHER);
	}

	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = data + l4;
		if ((void *)(tcp + 1) > end)
			return TC_ACT_SHOT;
		if (tcp->source != bpf_htons(22)) {
			class |= CLASS_TCP;
		} else {
			__u16 old = tcp->source, new = bpf_htons(2222);
			__u32 off = l4 + offsetof(struct tcphdr, source);
			// Helpers that change the packet make every pointer
			// into it invalid: nothing below uses data again.
			if (bpf_l4_csum_replace(skb, l4 + offsetof(struct tcphdr, check), old, new, sizeof(new)) < 0 ||
			    bpf_skb_store_bytes(skb, off, &new, sizeof(new), 0) < 0)
				return TC_ACT_SHOT;
			__sync_fetch_and_add(&tc_rewrites, 1);
			class |= CLASS_SSH;
		}
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *udp = data + l4;
		if ((void *)(udp + 1) > end)
			return TC_ACT_SHOT;
		class |= udp->dest == bpf_htons(53) ? CLASS_DNS : CLASS_UDP;
		if (type == bpf_htons(ETH_P_IP)) {
			struct iphdr *ip = data + l3;
			__u16 old = *(__u16 *)&ip->ttl;
			if (ip->ttl <= 1)
				return TC_ACT_SHOT;
			ip->ttl--;
			__u16 new = *(__u16 *)&ip->ttl;
			bpf_l3_csum_replace(skb, l3 + offsetof(struct iphdr, check), old, new, sizeof(new));
		}
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		class |= CLASS_ICMP;
	} else {
		class |= CLASS_OTHER;
	}

	if (vid < 256 && bpf_skb_vlan_pop(skb) < 0)
		return TC_ACT_SHOT;
	if (vid == 0xffff && (class & 0xf) == CLASS_DNS && bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 100) < 0)
		return TC_ACT_SHOT;
	return classify(skb, class);
}

char LICENSE[] SEC("license") = "GPL";
