// Command vmtest runs privileged Go tests inside throwaway VMs booted
// with Debian 12's cloud kernels, 6.1 and 6.12 one after the other, so
// that kernel features missing from the host kernel (kprobes above all)
// get tested, features older kernels lack are tested for their fallbacks
// (tc without tcx on 6.1), and every privileged test sees two more
// kernels.
//
// Usage, from anywhere inside the module:
//
//	go run ./internal/vmtest [flags] [packages]
//	go run ./internal/vmtest -pkgs ./perf/...,./sys/...
//	go run ./internal/vmtest -kernels 6.12 ./link/...
//
// Steps:
//
//  1. Kernels: unless -kernel names a bzImage or -kernel-pkg a package,
//     for each series in -kernels (default "6.1,6.12") the newest
//     linux-image-6.1.0-N-cloud-amd64-unsigned or
//     linux-image-6.12.N+deb12-cloud-amd64-unsigned package known to
//     apt-cache is fetched with "apt-get download" into
//     <module>/.cache/vmtest/<pkg>/, and its vmlinuz, config and modules
//     are extracted (dpkg-deb --fsys-tarfile). The config must enable the
//     options in [requiredConfig]; the modules in [requiredModules]
//     (veth, sch_ingress, cls_bpf) are resolved with their dependencies
//     from each module's .modinfo (xz-compressed ones read through xz).
//  2. Build: every listed package with tests is compiled with
//     "go test -c" (CGO_ENABLED=0, static); the init program
//     (internal/vmtest/init) is built likewise.
//  3. Pack, once per kernel: binaries, each package's testdata directory
//     and the objects and C sources of its bpf directory, the conformance suite when it is beside the repository (as
//     /shared/conformance/tests, where internal/conformance finds it),
//     /dev/console, the kernel's modules and the plan
//     (internal/vmtest/plan) go into a gzipped newc cpio initramfs
//     (internal/vmtest/cpio).
//  4. Boot each kernel in turn: qemu-system-x86_64 -kernel ... -initrd ...
//     -nographic -no-reboot, with -enable-kvm -cpu host when /dev/kvm can
//     be opened. The serial console is streamed to stdout; init loads the
//     modules (finit_module, compressed ones decompressed by the kernel),
//     runs each binary with -test.v and CI=true, prints a result line per
//     binary, and powers off.
//
// The exit status is 0 only when every binary passed on every kernel; a
// timeout, kernel panic or missing result is a failure. Each VM run ends
// with "vmtest: N passed, M failed, K skipped" counting top-level tests;
// the last line printed is "vmtest: kernels <release>: ok, ...".
//
// Host requirements: go, apt-get and dpkg-deb (Debian), xz (xz-utils),
// and the qemu-system-x86 package.
//
// Dependencies: the Go standard library, golang.org/x/sys/unix and the
// internal/vmtest/cpio, internal/vmtest/plan and internal/conformance
// packages.
package main
