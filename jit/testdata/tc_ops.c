// tc_ops.c: a tc (sched_cls) program that exercises direct packet access,
// the __sk_buff fields tc programs read and write, and the tc helpers,
// chosen by cb[0] (the helper), cb[1] and cb[2] (its arguments), for the
// differential tests of interp and jit against BPF_PROG_TEST_RUN
// (kerneldiff_amd64_test.go). Results go to the rets array: 0..3 helper results,
// 4.. fields read back after the helper.
// Build: make bpf (or make jit/testdata/tc_ops.o).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} protos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 24);
	__type(key, __u32);
	__type(value, __s64);
} rets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 64);
} events SEC(".maps");

static void put(__u32 k, __s64 v)
{
	bpf_map_update_elem(&rets, &k, &v, BPF_ANY);
}

/* fields records what the program sees of the skb after a helper. */
static __attribute__((noinline)) int fields(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	void *meta = (void *)(long)skb->data_meta;
	put(4, skb->len);
	put(5, skb->protocol);
	put(6, skb->pkt_type);
	put(7, ((__s64)skb->vlan_present << 32) | ((__s64)skb->vlan_proto << 16) | skb->vlan_tci);
	put(8, skb->hash);
	put(9, data_end - data);
	put(10, data - meta);
	put(11, skb->mark ^ ((__s64)skb->priority << 32));
	put(12, ((__s64)skb->queue_mapping << 32) | ((__s64)skb->tc_index << 16) | skb->tc_classid);
	put(13, ((__s64)skb->ifindex << 32) | skb->ingress_ifindex);
	put(14, ((__s64)skb->wire_len << 32) | skb->gso_segs);
	put(15, skb->tstamp ^ skb->hwtstamp);
	put(16, ((__s64)skb->napi_id << 32) | skb->gso_size | ((__s64)skb->tstamp_type << 24));
	/* narrow reads */
	put(17, ((__s64)*(__u8 *)&skb->len << 32) | ((__s64)*(__u16 *)&skb->protocol << 16) | *(__u8 *)((void *)&skb->mark + 1));
	if (data + 4 <= data_end)
		put(18, *(__u32 *)data);
	return 0;
}

SEC("tc")
int tc_ops(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 mode = skb->cb[0], arg = skb->cb[1], arg2 = skb->cb[2];
	__u8 buf[32] = {};
	long r = 0, r2 = 0;
	int verdict = TC_ACT_OK;

	for (__u32 k = 0; k < 4; k++)
		put(k, 0);
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_UNSPEC;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) <= data_end) {
			__u32 k = ip->protocol;
			__u64 one = 1, *n = bpf_map_lookup_elem(&protos, &k);
			if (n)
				__sync_fetch_and_add(n, 1);
			else
				bpf_map_update_elem(&protos, &k, &one, BPF_NOEXIST);
			if (ip->ttl == 0)
				return TC_ACT_SHOT;
			if (arg2 & 0x80000000) {
				/* decrement the TTL and fix the header checksum */
				__u16 old = *(__u16 *)&ip->ttl;
				ip->ttl--;
				r2 = bpf_l3_csum_replace(skb, ETH_HLEN + 10, old, *(__u16 *)&ip->ttl, 2);
				put(3, r2);
				data = (void *)(long)skb->data;
				data_end = (void *)(long)skb->data_end;
			}
		}
	}
	for (int k = 0; k < 32 && data + k + 1 <= data_end; k++)
		buf[k] = ((__u8 *)data)[k] ^ (__u8)arg;

	switch (mode & 31) {
	case 0:
		skb->mark = arg;
		skb->priority = arg2;
		skb->tc_index = arg;
		skb->tc_classid = arg2;
		skb->queue_mapping = arg;
		skb->cb[3] = arg ^ arg2;
		skb->cb[4] = skb->len;
		skb->tstamp = ((__u64)arg << 32) | arg2;
		*(__u8 *)&skb->cb[1] = 0x5a;
		break;
	case 1:
		r = bpf_skb_store_bytes(skb, arg & 0x7f, buf, 4, arg2 & 7);
		break;
	case 2:
		r = bpf_skb_load_bytes(skb, arg & 0xff, buf + 8, 8);
		put(2, *(__s64 *)(buf + 8));
		break;
	case 3:
		r = bpf_l3_csum_replace(skb, arg & 0x3f, *(__u32 *)buf, *(__u32 *)(buf + 4), arg2 & 0x1f);
		break;
	case 4:
		r = bpf_l4_csum_replace(skb, arg & 0x3f, *(__u32 *)buf, *(__u32 *)(buf + 4), arg2 & 0xff);
		break;
	case 5: {
		__u32 fs = arg & 0x1f, ts = (arg >> 8) & 0x1f;
		if (fs > 16)
			fs = 16;
		if (ts > 16)
			ts = 16;
		r = bpf_csum_diff((void *)buf, fs, (void *)(buf + 16), ts, arg2);
		r2 = bpf_csum_diff((void *)buf, 0, (void *)(buf + 16), 16, 0);
		put(2, r2);
		break;
	}
	case 6:
		r = bpf_skb_change_tail(skb, arg & 0x7fff, arg2 & 1);
		break;
	case 7:
		r = bpf_skb_change_head(skb, arg & 0x3ff, arg2 & 1);
		if (r == 0)
			put(2, load_byte(skb, 0) + load_byte(skb, (arg & 0x3ff) + 12));
		break;
	case 8: {
		__u64 flags = 0;
		switch (arg2 & 15) {
		case 1: flags = BPF_F_ADJ_ROOM_FIXED_GSO; break;
		case 2: flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4; break;
		case 3: flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV6; break;
		case 4: flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_GRE; break;
		case 5: flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP; break;
		case 6: flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP | BPF_F_ADJ_ROOM_ENCAP_L2(14) | BPF_F_ADJ_ROOM_ENCAP_L2_ETH; break;
		case 7: flags = (1ULL << 7) /* BPF_F_ADJ_ROOM_DECAP_L3_IPV4 */; break;
		case 8: flags = (1ULL << 8) /* BPF_F_ADJ_ROOM_DECAP_L3_IPV6 */; break;
		case 9: flags = BPF_F_ADJ_ROOM_NO_CSUM_RESET; break;
		case 10: flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L3_IPV6; break;
		case 11: flags = 1ULL << 20; break;
		case 12: flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L2(8) | BPF_F_ADJ_ROOM_ENCAP_L2_ETH; break;
		}
		r = bpf_skb_adjust_room(skb, (__s32)(__s16)arg, (arg2 >> 4) & 3, flags);
		if (arg2 & 0x100)
			r2 = bpf_skb_adjust_room(skb, (__s32)(__s16)(arg >> 16), (arg2 >> 4) & 3, flags);
		put(2, r2);
		put(19, bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY));
		if (r == 0 && (arg2 & 0x200))
			put(20, bpf_skb_change_tail(skb, skb->len - 1, 0));
		break;
	}
	case 9:
		r = bpf_skb_vlan_push(skb, bpf_htons(arg2 & 1 ? ETH_P_8021AD : (arg2 & 2 ? 0x1234 : ETH_P_8021Q)), arg);
		if (arg2 & 4)
			r2 = bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), arg >> 16);
		put(2, r2);
		if (arg2 & 8)
			put(19, bpf_skb_adjust_room(skb, 8, BPF_ADJ_ROOM_MAC, 0));
		if (arg2 & 16)
			put(20, bpf_skb_change_tail(skb, arg2 >> 24, 0));
		break;
	case 10:
		r = bpf_skb_vlan_pop(skb);
		r2 = bpf_skb_vlan_pop(skb);
		put(2, r2);
		if (arg2 & 8)
			put(19, bpf_skb_adjust_room(skb, -4, BPF_ADJ_ROOM_MAC, 0));
		if (arg2 & 16)
			put(20, bpf_skb_change_tail(skb, arg2 >> 24, 0));
		break;
	case 11:
		r = bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), arg);
		r2 = bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021AD), arg2);
		put(2, r2);
		put(19, bpf_skb_vlan_pop(skb));
		break;
	case 12:
		r = bpf_skb_change_proto(skb, bpf_htons(arg2 & 1 ? ETH_P_IPV6 : (arg2 & 2 ? ETH_P_ARP : ETH_P_IP)), arg2 & 4);
		put(19, bpf_skb_change_tail(skb, arg & 0xff, 0));
		break;
	case 13:
		r = bpf_skb_change_type(skb, arg & 7);
		break;
	case 14:
		if (arg2 & 1)
			r = bpf_set_hash(skb, arg);
		if (arg2 & 2)
			bpf_set_hash_invalid(skb);
		if ((arg2 & 3) == 1)
			put(19, bpf_get_hash_recalc(skb));
		if (arg2 & 4)
			put(20, bpf_skb_store_bytes(skb, 0, buf, 2, BPF_F_INVALIDATE_HASH));
		break;
	case 15:
		r = bpf_redirect(arg, arg2 & 3);
		verdict = r;
		break;
	case 16:
		r = bpf_csum_level(skb, arg & 7);
		r2 = bpf_csum_level(skb, arg2 & 7);
		put(2, r2);
		put(19, bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY));
		break;
	case 17:
		r = bpf_skb_pull_data(skb, arg & 0x1fff);
		break;
	case 18:
		r = bpf_get_cgroup_classid(skb);
		break;
	case 19:
		/* LD_ABS and LD_IND, which end the program (returning 0) past
		 * the packet. */
		r = load_byte(skb, arg & 0x7f);
		break;
	case 21:
		r = bpf_skb_load_bytes_relative(skb, arg & 0x3f, buf + 8, 8, arg2 & 3);
		put(2, *(__s64 *)(buf + 8));
		if (arg2 & 4) {
			/* after the headers moved */
			put(19, bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 5) + bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 6));
			r2 = bpf_skb_load_bytes_relative(skb, arg & 0x3f, buf + 8, 8, arg2 & 1);
			put(20, *(__s64 *)(buf + 8) + r2);
		}
		break;
	case 22: {
		/* a tag and the first arg bytes of the packet (bpf_skb_event_output) */
		__u32 tag = 0xfeedf00d;
		r = bpf_perf_event_output(skb, &events, BPF_F_CURRENT_CPU | ((__u64)(arg & 0x7f) << 32), &tag, sizeof(tag));
		break;
	}
	case 20:
		r = bpf_skb_change_tail(skb, arg & 0x7fff, 0);
		r2 = bpf_skb_change_head(skb, arg2 & 0x3f, 0);
		put(2, r2);
		/* Not past the packet's end: the kernel's memmove would read
		 * bytes there that a reallocation left uninitialised. */
		if (skb->len >= 60 + (arg2 & 0x3f))
			put(19, bpf_skb_adjust_room(skb, (__s32)(__s8)arg2, BPF_ADJ_ROOM_NET, 0));
		break;
	}
	put(0, r);
	put(1, mode);
	fields(skb);
	/* direct access after the helpers: pointers reloaded */
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + 14 <= data_end) {
		((__u8 *)data)[13] ^= 0x11;
		if (data + 15 <= data_end)
			put(21, ((__u8 *)data)[14]);
	}
	if (mode & 32)
		verdict = (int)(arg2 >> 8) & 15;
	return verdict;
}

char _license[] SEC("license") = "GPL";
