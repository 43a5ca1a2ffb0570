// xdp_ops.c: an XDP program that exercises direct packet access and the
// XDP helpers, chosen by the frame's first bytes, for the differential
// tests of interp and jit against BPF_PROG_TEST_RUN (xdp_amd64_test.go).
// Build: make bpf (or make jit/testdata/xdp_ops.o).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} protos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __s64);
} rets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 64);
} events SEC(".maps");

const volatile __u8 ttl_floor = 1; /* .rodata */
__u64 seen_bytes = 7;              /* .data */
__u32 frames;                      /* .bss */

static void put(__u32 k, __s64 v)
{
	bpf_map_update_elem(&rets, &k, &v, BPF_ANY);
}

SEC("xdp")
int xdp_ops(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	put(0, 0);
	put(1, 0);
	put(2, 0);
	put(3, 0);
	put(6, ctx->ingress_ifindex + ctx->rx_queue_index);
	put(7, data_end - data);
	__sync_fetch_and_add(&seen_bytes, data_end - data);
	frames++;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) <= data_end) {
			__u32 k = ip->protocol;
			__u64 one = 1, *n = bpf_map_lookup_elem(&protos, &k);
			if (n)
				__sync_fetch_and_add(n, 1);
			else
				bpf_map_update_elem(&protos, &k, &one, BPF_NOEXIST);
			if (ip->ttl <= ttl_floor)
				return XDP_DROP;
			ip->ttl--;
		}
	}
	__u8 mode = eth->h_dest[0] & 7, arg = eth->h_dest[1];
	long r;
	switch (mode) {
	case 1:
		r = bpf_xdp_adjust_head(ctx, (signed char)arg);
		put(0, r);
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + 2 <= data_end)
			((__u8 *)data)[1] = 0xee;
		return XDP_PASS;
	case 2:
		r = bpf_xdp_adjust_head(ctx, -(int)(arg & 0xfc) - 8);
		put(0, r);
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + 8 <= data_end)
			__builtin_memset(data, 0xab, 8);
		return XDP_TX;
	case 3:
		r = bpf_xdp_adjust_tail(ctx, -(int)arg);
		put(0, r);
		return XDP_PASS;
	case 4:
		r = bpf_xdp_adjust_tail(ctx, (int)arg * 16);
		put(0, r);
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + 64 <= data_end)
			((__u8 *)data)[63] = 0x5a;
		return XDP_PASS;
	case 5: {
		r = bpf_xdp_adjust_meta(ctx, -(int)(arg & 0x3c));
		put(0, r);
		r = bpf_xdp_adjust_meta(ctx, -3);
		put(1, r);
		void *meta = (void *)(long)ctx->data_meta;
		data = (void *)(long)ctx->data;
		if (meta + 4 <= data) {
			*(__u32 *)meta = 0x11223344;
			put(2, *(__u32 *)meta);
		}
		put(3, data - meta);
		return XDP_PASS;
	}
	case 6: {
		__u64 flags = BPF_F_CURRENT_CPU | ((__u64)arg << 32);
		__u32 tag = 0xfeedf00d;
		r = bpf_perf_event_output(ctx, &events, flags, &tag, sizeof(tag));
		put(0, r);
		return XDP_PASS;
	}
	case 7:
		return bpf_redirect(arg, arg & 2);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
