// SPDX-License-Identifier: GPL-2.0
/* sections_new: section names newer than libbpf 1.1 (tcx/ and netfilter,
 * libbpf 1.3). bpftool 7.1 refuses this object; purebpf loads it. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tcx/ingress") int s_tcx_ingress(struct __sk_buff *skb) { return 0; }
SEC("tcx/egress") int s_tcx_egress(struct __sk_buff *skb) { return 0; }
SEC("netfilter") int s_netfilter(struct bpf_nf_ctx *ctx) { return 1; }
