// SPDX-License-Identifier: GPL-2.0
/* xdp_frags: a multi-buffer XDP program for the frags tests of interp
 * and jit against BPF_PROG_TEST_RUN (xdpfrags_test.go). The frame's
 * first bytes say what to do: byte 14 the operation, byte 15 a length
 * selector, bytes 16-19 an offset and bytes 20-23 a signed delta (both
 * little-endian). Results go to the res map; the output frame is
 * compared too.
 * Build: make bpf. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __s64);
} res SEC(".maps");

struct blob {
	__u8 b[300];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct blob);
} buf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

static __always_inline void put(__u32 k, __s64 v)
{
	bpf_map_update_elem(&res, &k, &v, BPF_ANY);
}

static __always_inline long load(struct xdp_md *ctx, __u32 off, __u8 sel, struct blob *b)
{
	switch (sel & 3) {
	case 0:
		return bpf_xdp_load_bytes(ctx, off, b->b, 1);
	case 1:
		return bpf_xdp_load_bytes(ctx, off, b->b, 8);
	case 2:
		return bpf_xdp_load_bytes(ctx, off, b->b, 64);
	}
	return bpf_xdp_load_bytes(ctx, off, b->b, 300);
}

static __always_inline long store(struct xdp_md *ctx, __u32 off, __u8 sel, struct blob *b)
{
	switch (sel & 3) {
	case 0:
		return bpf_xdp_store_bytes(ctx, off, b->b, 1);
	case 1:
		return bpf_xdp_store_bytes(ctx, off, b->b, 8);
	case 2:
		return bpf_xdp_store_bytes(ctx, off, b->b, 64);
	}
	return bpf_xdp_store_bytes(ctx, off, b->b, 300);
}

SEC("xdp.frags")
int xdp_frags(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	__u32 k0 = 0, off;
	__s32 delta;
	long r = 0;

	if (data + 24 > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&off, p + 16, 4);
	__builtin_memcpy(&delta, p + 20, 4);
	__u8 op = p[14], sel = p[15];
	struct blob *b = bpf_map_lookup_elem(&buf, &k0);
	if (!b)
		return XDP_ABORTED;
	put(0, bpf_xdp_get_buff_len(ctx));
	switch (op) {
	case 1:
		r = load(ctx, off, sel, b);
		break;
	case 2:
		r = store(ctx, off, sel, b);
		break;
	case 3:
		r = bpf_xdp_adjust_tail(ctx, delta);
		break;
	case 4: /* adjust the tail, then read what is now the frame's end */
		r = bpf_xdp_adjust_tail(ctx, delta);
		off = bpf_xdp_get_buff_len(ctx);
		put(3, bpf_xdp_load_bytes(ctx, off - 8, b->b, 8));
		break;
	case 5: /* adjust the head, then store across the linear end */
		r = bpf_xdp_adjust_head(ctx, delta);
		put(3, store(ctx, off, sel, b));
		break;
	case 6: /* a perf sample carrying the frame's first off bytes */
		r = bpf_perf_event_output(ctx, &events, ((__u64)(off & 0xffff) << 32) | BPF_F_CURRENT_CPU, &k0, 4);
		break;
	}
	put(1, r);
	put(2, bpf_xdp_get_buff_len(ctx));
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	put(4, data_end - data);
	return XDP_PASS;
}
