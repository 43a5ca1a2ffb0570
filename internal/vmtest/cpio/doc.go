// Package cpio writes initramfs archives in the "newc" (SVR4, no CRC)
// cpio format, the format the Linux kernel unpacks at boot
// (init/initramfs.c, Documentation/driver-api/early-userspace/buffer-format.rst).
//
// It is used by the vmtest runner to pack test binaries and the init
// program into an initramfs. It writes regular files, directories, symbolic
// links and device nodes; reading archives is out of its scope.
//
// Dependencies: the Go standard library only.
package cpio
