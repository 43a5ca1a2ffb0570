// SPDX-License-Identifier: GPL-2.0
/* sections: one trivial program for each section name convention that the
 * host kernel can load without attaching and libbpf 1.1 knows (see
 * sections_new.bpf.c for newer ones). */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

SEC("socket") int s_socket(void *ctx) { return 0; }
SEC("tp/syscalls/sys_enter_getpid") int s_tp(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_getpid") int s_tracepoint(void *ctx) { return 0; }
SEC("raw_tp/sys_enter") int s_raw_tp(void *ctx) { return 0; }
SEC("raw_tracepoint/sys_exit") int s_raw_tracepoint(void *ctx) { return 0; }
SEC("tp_btf/sched_wakeup") int s_tp_btf(void *ctx) { return 0; }
SEC("iter/task") int s_iter(void *ctx) { return 0; }
SEC("xdp") int s_xdp(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp.frags") int s_xdp_frags(struct xdp_md *ctx) { return XDP_PASS; }
SEC("tc") int s_tc(struct __sk_buff *skb) { return 0; }
SEC("classifier") int s_classifier(struct __sk_buff *skb) { return 0; }
SEC("action") int s_action(struct __sk_buff *skb) { return 0; }
SEC("cgroup_skb/ingress") int s_cgroup_skb_ingress(struct __sk_buff *skb) { return 1; }
SEC("cgroup_skb/egress") int s_cgroup_skb_egress(struct __sk_buff *skb) { return 1; }
SEC("cgroup/sock_create") int s_cgroup_sock_create(struct bpf_sock *sk) { return 1; }
SEC("cgroup/connect4") int s_cgroup_connect4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sysctl") int s_cgroup_sysctl(struct bpf_sysctl *ctx) { return 1; }
SEC("cgroup/getsockopt") int s_cgroup_getsockopt(struct bpf_sockopt *ctx) { return 1; }
SEC("cgroup/dev") int s_cgroup_dev(struct bpf_cgroup_dev_ctx *ctx) { return 1; }
SEC("sockops") int s_sockops(struct bpf_sock_ops *ctx) { return 1; }
SEC("sk_skb/stream_parser") int s_sk_skb_parser(struct __sk_buff *skb) { return skb->len; }
SEC("sk_skb/stream_verdict") int s_sk_skb_verdict(struct __sk_buff *skb) { return SK_PASS; }
SEC("sk_msg") int s_sk_msg(struct sk_msg_md *msg) { return SK_PASS; }
SEC("flow_dissector") int s_flow_dissector(struct __sk_buff *skb) { return 0; }
SEC("perf_event") int s_perf_event(void *ctx) { return 0; }
SEC("sk_lookup") int s_sk_lookup(struct bpf_sk_lookup *ctx) { return SK_PASS; }
SEC("syscall") int s_syscall(void *ctx) { return 0; }
