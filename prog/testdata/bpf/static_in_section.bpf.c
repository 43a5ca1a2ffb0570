// SPDX-License-Identifier: GPL-2.0
/* static_in_section: a static function alone in an executable section
 * other than .text. libbpf 1.1 refuses it ("program 'helper' is static and
 * not supported"); so does purebpf. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

static __noinline int helper(int x) SEC(".text.helpers");
static __noinline int helper(int x) { return x + 1; }

SEC("socket") int caller(struct __sk_buff *skb) { return helper(skb->len); }
