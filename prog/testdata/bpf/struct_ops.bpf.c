// SPDX-License-Identifier: GPL-2.0
/* struct_ops: a TCP congestion control ("purebpf_cc", Reno-like) written as
 * BPF struct_ops programs and registered through a SEC(".struct_ops") map. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

static inline struct tcp_sock *to_tcp_sock(struct sock *sk)
{
	return (struct tcp_sock *)sk;
}

SEC("struct_ops")
__u32 BPF_PROG(pb_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = to_tcp_sock(sk);
	__u32 half = tp->snd_cwnd >> 1;

	return half > 2 ? half : 2;
}

SEC("struct_ops")
void BPF_PROG(pb_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct tcp_sock *tp = to_tcp_sock(sk);

	if (tp->snd_cwnd < tp->snd_cwnd_clamp)
		tp->snd_cwnd++;
}

SEC("struct_ops")
__u32 BPF_PROG(pb_undo_cwnd, struct sock *sk)
{
	return to_tcp_sock(sk)->snd_cwnd;
}

SEC(".struct_ops")
struct tcp_congestion_ops purebpf_cc = {
	.ssthresh = (void *)pb_ssthresh,
	.cong_avoid = (void *)pb_cong_avoid,
	.undo_cwnd = (void *)pb_undo_cwnd,
	.name = "purebpf_cc",
};
