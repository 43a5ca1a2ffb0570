// Command vmtest runs privileged Go tests inside a throwaway VM booted
// with Debian 12's 6.1 cloud kernel, so that kernel features missing from
// the host kernel (kprobes above all) get tested, and every privileged test
// sees a second kernel.
//
// Usage, from anywhere inside the module:
//
//	go run ./internal/vmtest [flags] [packages]
//	go run ./internal/vmtest -pkgs ./perf/...,./sys/...
//
// Steps:
//
//  1. Kernel: unless -kernel names a bzImage, the newest
//     linux-image-6.1.0-N-cloud-amd64-unsigned package known to apt-cache
//     is fetched with "apt-get download" into <module>/.cache/vmtest/<pkg>/
//     and its vmlinuz and config are extracted (dpkg-deb --fsys-tarfile).
//     The config must enable the options in [requiredConfig].
//  2. Build: every listed package with tests is compiled with
//     "go test -c" (CGO_ENABLED=0, static); the init program
//     (internal/vmtest/init) is built likewise.
//  3. Pack: binaries, each package's testdata directory, the conformance
//     suite when it is beside the repository (as /shared/conformance/tests,
//     where internal/conformance finds it), /dev/console and the plan
//     (internal/vmtest/plan) go into a gzipped newc cpio initramfs
//     (internal/vmtest/cpio). No kernel modules are needed.
//  4. Boot: qemu-system-x86_64 -kernel ... -initrd ... -nographic
//     -no-reboot, with -enable-kvm -cpu host when /dev/kvm can be opened.
//     The serial console is streamed to stdout; init runs each binary
//     with -test.v and CI=true, prints a result line per binary, and
//     powers off.
//
// The exit status is 0 only when every binary passed; a timeout, kernel
// panic or missing result is a failure. The last line printed is
// "vmtest: N passed, M failed, K skipped" counting top-level tests.
//
// Host requirements: go, apt-get and dpkg-deb (Debian), and the
// qemu-system-x86 package.
//
// Dependencies: the Go standard library, golang.org/x/sys/unix and the
// internal/vmtest/cpio, internal/vmtest/plan and internal/conformance
// packages.
package main
