// SPDX-License-Identifier: GPL-2.0
/* unknown_section: a program in a section no convention names. libbpf 1.1
 * refuses it ("failed to guess program type"); so does purebpf. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

SEC("purebpf/not_a_type") int mystery(void *ctx) { return 0; }
