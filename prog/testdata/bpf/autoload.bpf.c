// SPDX-License-Identifier: GPL-2.0
/* autoload: a "?" before a section name turns automatic loading off
 * (libbpf 1.0+): NewCollection loads loaded() but not optional(). */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

SEC("socket") int loaded(struct __sk_buff *skb) { return 1; }
SEC("?socket") int optional(struct __sk_buff *skb) { return 2; }
