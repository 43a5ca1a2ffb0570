// SPDX-License-Identifier: GPL-2.0
/* globals: .data, .bss, .rodata, custom .data.* / .rodata.* sections and
 * const volatile configuration. The tc program is run with
 * BPF_PROG_TEST_RUN and its results read back through the maps' mmap. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

/* const volatile config, set by the loader before load (.rodata). */
const volatile __u32 cfg_mult = 1;
const volatile __u64 cfg_add = 0;
const volatile char cfg_tag[8] = "default";

/* read-write state (.data and .bss). */
__u64 runs = 0;
__u64 last_len = 0;
__u32 seed = 42;
__u64 hist[4] = { 1, 2, 3, 4 };

/* custom sections become their own maps. */
__u64 custom_counter SEC(".data.custom") = 7;
const __u32 table[4] SEC(".rodata.table") = { 10, 20, 30, 40 };

static const char fixed_msg[] = "constant";

SEC("tc")
int compute(struct __sk_buff *skb)
{
	__u32 i = skb->len & 3;

	runs++;
	last_len = skb->len;
	hist[i] += table[i];
	custom_counter += seed;
	if (cfg_tag[0] == 'x')
		return fixed_msg[1];
	return skb->len * cfg_mult + cfg_add;
}
