// Package vmcheck holds only tests: they check, inside the vmtest VM,
// that the environment init promised is there (root, the booted kernel
// release, the kprobe and uprobe PMUs, tracefs, debugfs and bpffs mounted,
// loopback up). Outside the VM they skip.
//
// Dependencies: the Go standard library, golang.org/x/sys/unix and
// internal/vmtest/plan.
package vmcheck
