// SPDX-License-Identifier: GPL-2.0
/* typeless_ksyms: `extern const void sym __ksym` takes a kernel symbol's
 * address, which loaders find in /proc/kallsyms; a __weak one the kernel
 * lacks reads as 0. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

extern const void bpf_prog_put __ksym;
extern const void purebpf_no_such_symbol __ksym __weak;

__u64 addr = 0;
__u64 missing = 1;

SEC("socket")
int read_addrs(struct __sk_buff *skb)
{
	addr = (__u64)&bpf_prog_put;
	missing = (__u64)&purebpf_no_such_symbol;
	return 0;
}
