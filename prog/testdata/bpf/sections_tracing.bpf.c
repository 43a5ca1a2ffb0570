// SPDX-License-Identifier: GPL-2.0
/* sections_tracing: BPF trampoline programs (fentry, fexit, fmod_ret, lsm).
 * They need ftrace and the BPF LSM; where the kernel lacks them both
 * loaders fail alike. */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

SEC("fentry/do_unlinkat") int BPF_PROG(s_fentry, int dfd) { return 0; }
SEC("fexit/do_unlinkat") int BPF_PROG(s_fexit, int dfd, void *name, long ret) { return 0; }
SEC("fmod_ret/security_file_open") int BPF_PROG(s_fmod_ret, void *file) { return 0; }
SEC("lsm/file_open") int BPF_PROG(s_lsm, struct file *file) { return 0; }
