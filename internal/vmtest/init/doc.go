// Command init is PID 1 of the vmtest VM. The vmtest runner builds it
// statically and packs it as /init into the initramfs.
//
// It mounts devtmpfs, proc, sysfs, tracefs (/sys/kernel/tracing), debugfs
// (/sys/kernel/debug), bpffs (/sys/fs/bpf), cgroup2 and a tmpfs on /tmp,
// brings up the loopback interface, runs every test binary of the plan
// (internal/vmtest/plan, read from plan.Path) with its output on the
// console, prints one plan.ResultPrefix line per binary and a final
// plan.DonePrefix line, and powers the machine off.
//
// Dependencies: the Go standard library, golang.org/x/sys/unix and
// internal/vmtest/plan.
package main
